"""Deliberately wrong adapters: each is the PyTorch adapter with one classic mistake.

Loaded as a pytest plugin (``-p conformance.meta_tests.faulty_backends``), it
registers each one as a backend named ``faulty-<fault>`` so the conformance
suite can be run against it and shown to catch the fault.
"""

from __future__ import annotations

import numpy as np

import backends
from backends.torch_backend import TorchBackend
from reference.validation import check_conv2d, pool2d_geometry


class ShiftedPaddingBackend(TorchBackend):
    """Off-by-one padding: one row moved from the top to the bottom (same output shape)."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        (top, bottom), (left, right) = check_conv2d(
            X, W, b, stride=stride, padding=padding, dilation=dilation, groups=groups
        ).padding
        if top > 0:
            top, bottom = top - 1, bottom + 1
        return super().conv2d(X, W, b, stride, ((top, bottom), (left, right)), dilation, groups)


class FlippedKernelBackend(TorchBackend):
    """A true convolution (kernel flipped) instead of the chapter's cross-correlation."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        return super().conv2d(X, np.asarray(W)[:, :, ::-1, ::-1], b, stride, padding, dilation, groups)


class DroppedBiasBackend(TorchBackend):
    """conv2d that ignores its bias."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        return super().conv2d(X, W, None, stride, padding, dilation, groups)


class LastTieBackend(TorchBackend):
    """Max-pool gradient sent to the last maximal element of a tie, not the first."""

    def max_pool2d_vjp(self, X, dY, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        X = np.asarray(X)
        # A small ramp that grows in row-major order makes the last of equal values win.
        ramp = np.arange(X.shape[2] * X.shape[3], dtype=X.dtype).reshape(X.shape[2:]) * 1e-6
        return super().max_pool2d_vjp(X + ramp, dY, kernel_size, stride, padding, dilation, ceil_mode)


class NoCeilDropBackend(TorchBackend):
    """ceil_mode that keeps a last window starting in the padding (rounds up, never drops)."""

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        if not ceil_mode:
            return super().max_pool2d(X, kernel_size, stride, padding, dilation)
        geometry = pool2d_geometry(np.shape(X), kernel_size, stride, padding, dilation)
        extra = []
        for n, k, s, p, d in zip(
            np.shape(X)[2:],
            geometry.kernel_size,
            geometry.stride,
            geometry.padding,
            geometry.dilation,
            strict=True,
        ):
            out = -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1
            extra.append(max(0, (out - 1) * s + d * (k - 1) + 1 - (n + 2 * p)))
        X = np.pad(np.asarray(X), ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), constant_values=-np.inf)
        return super().max_pool2d(X, kernel_size, stride, padding, dilation)


class Float32As64Backend(TorchBackend):
    """conv2d computed in float32 and returned as float64."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        args = [None if a is None else np.asarray(a, dtype=np.float32) for a in (X, W, b)]
        return super().conv2d(*args, stride, padding, dilation, groups).astype(np.result_type(X, W))


FAULTS = {
    "shifted-padding": ShiftedPaddingBackend,
    "flipped-kernel": FlippedKernelBackend,
    "dropped-bias": DroppedBiasBackend,
    "last-tie": LastTieBackend,
    "no-ceil-drop": NoCeilDropBackend,
    "float32-as-float64": Float32As64Backend,
}

for _fault, _cls in FAULTS.items():
    _cls.name = f"faulty-{_fault}"
    backends.register(_cls.name, __name__, _cls.__name__, "torch")
