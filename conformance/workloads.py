"""The sizes an op is benchmarked at, and their floating-point operation counts.

Each op spec (:mod:`conformance.specs`) lists its workloads; the benchmarks
iterate them. A workload makes its input arrays and a matching output
gradient ``dY``, gives the op's keyword arguments, counts the forward's
operations and, with the op's backward-pass factor, a forward and backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.shapes import conv2d_geometry, pool2d_geometry

CONV_BACKWARD_PASSES = 3
"""Forward + dX + dW: each gradient is a convolution with the forward's multiply-adds."""

POOL_BACKWARD_PASSES = 2
"""Forward + dX: the gradient visits every window element once more."""


def _standard_normal(shapes: tuple[tuple[int, ...], ...], dtype: Any, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(s).astype(dtype) for s in shapes)


@dataclass(frozen=True)
class ConvWorkload:
    """conv2d of X (N, C, H, W) with W (O, C, k, k); ``flops`` counts multiply and add.

    ``on_reference``: also timed on the NumPy reference (``benchmarks/test_reference_ops.py``).
    """

    name: str
    x_shape: tuple[int, int, int, int]
    w_shape: tuple[int, int, int, int]
    stride: int = 1
    padding: Any = 0
    on_reference: bool = True

    @property
    def kwargs(self) -> dict[str, Any]:
        return {"stride": self.stride, "padding": self.padding}

    def output_shape(self) -> tuple[int, int, int, int]:
        out_h, out_w = conv2d_geometry(self.x_shape, self.w_shape, **self.kwargs).output_size
        return (self.x_shape[0], self.w_shape[0], out_h, out_w)

    @property
    def flops(self) -> int:
        _, o, out_h, out_w = self.output_shape()
        _, c, kh, kw = self.w_shape
        return 2 * self.x_shape[0] * o * out_h * out_w * c * kh * kw

    @property
    def backward_flops(self) -> int:
        """A forward and backward pass: :data:`CONV_BACKWARD_PASSES` times the forward."""
        return self.flops * CONV_BACKWARD_PASSES

    def arrays(self, dtype: Any = np.float64, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Random X, W and a matching dY (standard normal), in ``dtype``."""
        return _standard_normal((self.x_shape, self.w_shape, self.output_shape()), dtype, seed)


@dataclass(frozen=True)
class PoolWorkload:
    """max or avg pooling of X (N, C, H, W); ``flops`` counts one operation per window element.

    ``on_reference``: also timed on the NumPy reference (``benchmarks/test_reference_ops.py``).
    """

    name: str
    x_shape: tuple[int, int, int, int]
    kernel_size: int
    stride: int | None = None
    padding: int = 0
    on_reference: bool = True

    @property
    def kwargs(self) -> dict[str, Any]:
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding}

    def output_shape(self) -> tuple[int, int, int, int]:
        out = pool2d_geometry(self.x_shape, self.kernel_size, self.stride, self.padding).output_size
        return (*self.x_shape[:2], *out)

    @property
    def flops(self) -> int:
        return int(np.prod(self.output_shape())) * self.kernel_size**2

    @property
    def backward_flops(self) -> int:
        """A forward and backward pass: :data:`POOL_BACKWARD_PASSES` times the forward."""
        return self.flops * POOL_BACKWARD_PASSES

    def arrays(self, dtype: Any = np.float64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Random X and a matching dY (standard normal), in ``dtype``."""
        return _standard_normal((self.x_shape, self.output_shape()), dtype, seed)


Workload = ConvWorkload | PoolWorkload
