"""Max and average pooling (NCHW) and their vector-Jacobian products.

One window core serves both: the input is padded once (with -inf for max, 0 for
average; extra rows/columns cover a ceil_mode window that hangs past the padded
input) and every window tap ``(i, j)`` is a strided view of shape
(N, C, Ho, Wo). Reductions run over the taps, so no Python loop touches pixels.

Semantics (DESIGN.md): stride defaults to the window; padding is at most half
the window per side; with ``ceil_mode`` a last window that would start in the
bottom/right padding is dropped. Max pooling is exact (no rounding): the
maximum over a window's real elements, -inf for a window with none (dilation
can place a window entirely in padding). Padding never wins a tie and never
takes a gradient; a tie sends the gradient to the first maximal real element in
row-major window order.
NaN wins: a window holding a NaN gives NaN, and its gradient goes to the first
NaN of the window (PyTorch's forward behaviour). Signed zeros: a window whose
maximum is -0.0 and that holds no +0.0 (all -0.0, or -0.0 with negatives) gives
-0.0, one whose zeros are all +0.0 gives +0.0; a window holding both zeros as its
maximum gives a zero of unspecified sign (frameworks keep the first or the
IEEE 754-2019 maximum, +0.0), and its gradient goes to the first zero. Average pooling divides by the
window area inside the padded input (``count_include_pad=True``, the ceil_mode
overhang never counts) or by the number of real input cells; sums follow IEEE
754 (a window holding +inf and -inf gives NaN, +inf alone gives +inf).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from reference.dtypes import is_floating, round_to
from reference.shapes import PoolGeometry
from reference.validation import check_pool2d, result_dtype


def _padded_shape(shape: tuple[int, ...], geometry: PoolGeometry) -> tuple[int, int, int, int]:
    """(N, C, H, W) grown by ``padding`` before and enough after to hold every window."""
    n, c, h, w = shape
    (ph, pw), (sh, sw), (dh, dw) = geometry.padding, geometry.stride, geometry.dilation
    kh, kw = geometry.kernel_size
    out_h, out_w = geometry.output_size
    height = max(h + 2 * ph, (out_h - 1) * sh + dh * (kh - 1) + 1)
    width = max(w + 2 * pw, (out_w - 1) * sw + dw * (kw - 1) + 1)
    return n, c, height, width


def _padded(X: np.ndarray, geometry: PoolGeometry, fill: float, dtype: np.dtype) -> np.ndarray:
    """X in a ``fill``-padded buffer of :func:`_padded_shape`; X itself (as ``dtype``) if none is needed."""
    shape = _padded_shape(X.shape, geometry)
    if shape == X.shape:
        return X.astype(dtype, copy=False)
    padded = np.full(shape, fill, dtype=dtype)
    _crop(padded, geometry, X.shape)[...] = X
    return padded


def _taps(padded: np.ndarray, geometry: PoolGeometry) -> Iterator[np.ndarray]:
    """A view (N, C, Ho, Wo) for every window tap, row-major."""
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    kh, kw = geometry.kernel_size
    out_h, out_w = geometry.output_size
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (out_h - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (out_w - 1) + 1, sw)
            yield padded[:, :, rows, cols]


def _crop(padded: np.ndarray, geometry: PoolGeometry, shape: tuple[int, ...]) -> np.ndarray:
    ph, pw = geometry.padding
    return padded[:, :, ph : ph + shape[2], pw : pw + shape[3]]


def _window_max(padded: np.ndarray, geometry: PoolGeometry) -> np.ndarray:
    """(N, C, Ho, Wo) maximum of every window of a -inf-padded buffer; NaN wins."""
    Y = None
    for values in _taps(padded, geometry):
        Y = values.copy() if Y is None else np.maximum(Y, values, out=Y)
    return Y


def max_pool2d(
    X: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Max pooling: X (N, C, H, W) -> (N, C, Ho, Wo), exact: each window's maximum over its real elements.

    Padding only places windows: a window with no real element (possible with
    dilation) gives -inf. NaN wins. ``ceil_mode`` windows that reach past the
    padded input take the maximum over what they cover.

    ``kernel_size``, ``stride`` (default: the window), ``padding`` (each side,
    at most ``kernel_size // 2``) and ``dilation`` are an int or a pair.
    """
    geometry = check_pool2d(
        X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )
    X = np.asarray(X)
    return _window_max(_padded(X, geometry, -np.inf, result_dtype(X)), geometry)


def max_pool2d_vjp(
    X: Any,
    dY: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Vector-Jacobian product of :func:`max_pool2d`: dX (N, C, H, W).

    Each window's gradient goes to its first maximal real element in row-major
    window order (the first NaN if it holds one); padding never takes it, so a
    window whose real elements are all -inf sends it to the first of them and a
    window with no real element (possible with dilation) sends none.
    Overlapping windows accumulate in float64, rounded once.
    """
    geometry = check_pool2d(
        X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode, dY=dY
    )
    X, dY = np.asarray(X), np.asarray(dY)
    dtype = result_dtype(X, dY)
    padded = _padded(X, geometry, -np.inf, result_dtype(X))
    Y = _window_max(padded, geometry)
    has_nan = bool(np.isnan(Y).any()) if is_floating(Y.dtype) else False
    unassigned = np.ones(Y.shape, dtype=bool)  # windows whose first maximum is still to come
    # Windows no wider than the stride never share a cell: each tap's cells are written once.
    sizes = zip(geometry.stride, geometry.dilation, geometry.kernel_size, strict=True)
    disjoint = all(s >= d * (k - 1) + 1 for s, d, k in sizes)
    dpadded = np.zeros(padded.shape)
    dY64 = dY.astype(np.float64)
    # Padding places windows but never wins: only real cells may take a window's gradient.
    real = _padded(np.ones(X.shape, dtype=bool), geometry, False, np.dtype(bool))
    taps = zip(_taps(padded, geometry), _taps(real, geometry), _taps(dpadded, geometry), strict=True)
    # Taps in row-major window order; a window's maximum is Y (NaN if it holds one).
    for values, is_real, view in taps:
        first = values == Y
        if has_nan:
            first |= np.isnan(values)
        first &= is_real
        first &= unassigned
        unassigned ^= first
        if disjoint:
            view[...] = np.where(first, dY64, 0.0)
        else:
            view += np.where(first, dY64, 0.0)
    return round_to(_crop(dpadded, geometry, X.shape), dtype)


def _divisor(geometry: PoolGeometry, size: tuple[int, int], count_include_pad: bool) -> np.ndarray:
    """(Ho, Wo) average-pool divisors (PyTorch's rule, separable per axis)."""
    counts = []
    for n, k, s, p, out in zip(
        size, geometry.kernel_size, geometry.stride, geometry.padding, geometry.output_size, strict=True
    ):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, n + p)  # the ceil_mode overhang never counts
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    return np.outer(counts[0], counts[1]).astype(np.float64)


def avg_pool2d(
    X: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Average pooling: X (N, C, H, W) -> (N, C, Ho, Wo), zero padding.

    The divisor is the window area inside the padded input
    (``count_include_pad=True``, as PyTorch and MXNet default) or the number of
    real input cells in the window (``False``, as TensorFlow). float64 sums,
    one rounding.
    """
    geometry = check_pool2d(
        X,
        kernel_size,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )
    X = np.asarray(X)
    total = np.zeros((*X.shape[:2], *geometry.output_size))
    for values in _taps(_padded(X, geometry, 0.0, np.float64), geometry):
        total += values
    total /= _divisor(geometry, X.shape[2:], count_include_pad)
    return round_to(total, result_dtype(X))


def avg_pool2d_vjp(
    X: Any,
    dY: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Vector-Jacobian product of :func:`avg_pool2d`: dX (N, C, H, W)."""
    geometry = check_pool2d(
        X,
        kernel_size,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        dY=dY,
    )
    X, dY = np.asarray(X), np.asarray(dY)
    share = dY.astype(np.float64) / _divisor(geometry, X.shape[2:], count_include_pad)
    dpadded = np.zeros(_padded_shape(X.shape, geometry))
    for view in _taps(dpadded, geometry):
        view += share
    return round_to(_crop(dpadded, geometry, X.shape), result_dtype(X, dY))
