"""The benchmarked layer sizes and their floating-point operation counts.

Sizes: LeNet's two convolutions and pools at batch 128 (the chapter's network),
and ResNet-like layers at batch 32 (3x3 at 64x56x56 and 128x28x28, 1x1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.shapes import conv2d_geometry, pool2d_geometry


@dataclass(frozen=True)
class ConvWorkload:
    """conv2d of X (N, C, H, W) with W (O, C, k, k); ``flops`` counts multiply and add."""

    name: str
    x_shape: tuple[int, int, int, int]
    w_shape: tuple[int, int, int, int]
    stride: int = 1
    padding: Any = 0

    @property
    def kwargs(self) -> dict[str, Any]:
        return {"stride": self.stride, "padding": self.padding}

    @property
    def flops(self) -> int:
        out_h, out_w = conv2d_geometry(self.x_shape, self.w_shape, **self.kwargs).output_size
        o, c, kh, kw = self.w_shape
        return 2 * self.x_shape[0] * o * out_h * out_w * c * kh * kw

    def arrays(self, dtype: Any = np.float64, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Random X, W and a matching dY (standard normal), in ``dtype``."""
        rng = np.random.default_rng(seed)
        out_h, out_w = conv2d_geometry(self.x_shape, self.w_shape, **self.kwargs).output_size
        dy_shape = (self.x_shape[0], self.w_shape[0], out_h, out_w)
        return tuple(rng.standard_normal(s).astype(dtype) for s in (self.x_shape, self.w_shape, dy_shape))


@dataclass(frozen=True)
class PoolWorkload:
    """max or avg pooling of X (N, C, H, W); ``flops`` counts one operation per window element."""

    name: str
    x_shape: tuple[int, int, int, int]
    kernel_size: int
    stride: int | None = None
    padding: int = 0

    @property
    def kwargs(self) -> dict[str, Any]:
        return {"stride": self.stride, "padding": self.padding}

    def output_shape(self) -> tuple[int, int, int, int]:
        out = pool2d_geometry(self.x_shape, self.kernel_size, self.stride, self.padding).output_size
        return (*self.x_shape[:2], *out)

    @property
    def flops(self) -> int:
        return int(np.prod(self.output_shape())) * self.kernel_size**2

    def arrays(self, dtype: Any = np.float64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Random X and a matching dY (standard normal), in ``dtype``."""
        rng = np.random.default_rng(seed)
        return tuple(rng.standard_normal(s).astype(dtype) for s in (self.x_shape, self.output_shape()))


LENET_CONVS = (
    ConvWorkload("lenet-conv1", (128, 1, 28, 28), (6, 1, 5, 5), padding=2),
    ConvWorkload("lenet-conv2", (128, 6, 14, 14), (16, 6, 5, 5)),
)
LARGE_CONV = ConvWorkload("resnet-64x56x56-3x3", (32, 64, 56, 56), (64, 64, 3, 3), padding=1)
RESNET_CONVS = (
    LARGE_CONV,
    ConvWorkload("resnet-128x28x28-3x3", (32, 128, 28, 28), (128, 128, 3, 3), padding=1),
    ConvWorkload("resnet-64x56x56-1x1", (32, 64, 56, 56), (256, 64, 1, 1)),
    ConvWorkload("resnet-256x56x56-1x1-s2", (32, 256, 56, 56), (128, 256, 1, 1), stride=2),
)
LENET_POOLS = (
    PoolWorkload("lenet-pool1", (128, 6, 28, 28), 2),
    PoolWorkload("lenet-pool2", (128, 16, 10, 10), 2),
)
RESNET_POOL = PoolWorkload("resnet-pool-3x3-s2", (32, 64, 112, 112), 3, stride=2, padding=1)
