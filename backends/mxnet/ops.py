"""MXNet imported quietly, and the ops the adapter composes from ``mx.nd`` where ``Pooling`` and
``relu`` differ from the reference (see :mod:`backends.mxnet.adapter`).

The adapter, the LeNet, the plain loop and the probes import ``mx`` from here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from reference.shapes import PoolGeometry

with warnings.catch_warnings():
    # MXNet 1.9.1 uses NumPy and distutils names that were deprecated after its release.
    warnings.simplefilter("ignore", DeprecationWarning)
    import mxnet as mx

NDArray = mx.nd.NDArray


def full_convention(geometry: PoolGeometry, size: tuple[int, ...]) -> tuple[tuple[int, ...], bool]:
    """Output size of ``pooling_convention="full"`` (ceil((n + 2p - k) / s) + 1, no window
    dropped) and whether its last window hangs past the padded input; symmetric padding only."""
    padding = geometry.symmetric_padding()
    assert padding is not None, "Pooling pads symmetrically"
    axes = list(zip(size, geometry.kernel_size, geometry.stride, padding, strict=True))
    out = tuple(-(-(n + 2 * p - k) // s) + 1 for n, k, s, p in axes)
    overhang = any((o - 1) * s + k > n + 2 * p for o, (n, k, s, p) in zip(out, axes, strict=True))
    return out, overhang


def max_pool_taps(geometry: PoolGeometry) -> Callable[[NDArray], NDArray]:
    """Max pooling as a pick among the window taps: the first NaN of a window, else its first
    maximum; a window of -inf picks its first real element (never padding)."""
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    kh, kw = geometry.kernel_size
    out_h, out_w = geometry.output_size

    def pool(x: NDArray) -> NDArray:
        # -inf padding, with enough rows/columns after for a ceil_mode overhang.
        (top, bottom), (left, right) = geometry.window_padding(x.shape[2:])
        pad_width = (0, 0, 0, 0, top, bottom, left, right)

        def taps(array: NDArray) -> NDArray:
            return mx.nd.stack(
                *(
                    mx.nd.slice(
                        array,
                        begin=(None, None, i * dh, j * dw),
                        end=(None, None, i * dh + (out_h - 1) * sh + 1, j * dw + (out_w - 1) * sw + 1),
                        step=(None, None, sh, sw),
                    )
                    for i in range(kh)
                    for j in range(kw)
                )
            )

        values = taps(mx.nd.pad(x, mode="constant", constant_value=-np.inf, pad_width=pad_width))
        with mx.autograd.pause():
            # argmax keeps the first of equal values, so this is the reference's row-major rule.
            nan = values != values
            first = mx.nd.argmax(values, axis=0)
            # A padding -inf ties a real one: a window whose maximum is -inf picks its first
            # real tap (tap 0, padding, if it has none: the pad's backward drops that gradient).
            real = taps(mx.nd.pad(mx.nd.ones_like(x), mode="constant", constant_value=0, pad_width=pad_width))
            neginf = mx.nd.pick(values, first, axis=0) == -np.inf
            first = mx.nd.where(neginf, mx.nd.argmax(real, axis=0), first)
            first = mx.nd.where(mx.nd.max(nan, axis=0), mx.nd.argmax(nan, axis=0), first)
        return mx.nd.pick(values, first, axis=0)

    return pool


def relu_by_where(x: NDArray) -> NDArray:
    """ReLU whose gradient is 0 wherever ``x > 0`` is false, NaN included."""
    return mx.nd.where(x > 0, x, mx.nd.zeros_like(x))
