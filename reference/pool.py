"""Max and average pooling (NCHW) and their vector-Jacobian products.

One window core serves both: the input is padded once (with -inf for max, 0 for
average; extra rows/columns cover a ceil_mode window that hangs past the padded
input) and every window tap ``(i, j)`` is a strided view of shape
(N, C, Ho, Wo). Reductions run over the taps, so no Python loop touches pixels.

Semantics (DESIGN.md): stride defaults to the window. Padding takes every form
conv2d takes (:func:`reference.shapes.conv_padding`): an int, ``(ph, pw)``,
``((top, bottom), (left, right))``, ``"valid"``, ``"same"`` (TensorFlow's rule
for any stride, dilation included: output ``ceil(n / stride)``, the odd extra
pad at the bottom/right; ONNX's SAME_UPPER) and ``"same_lower"`` (ONNX's
SAME_LOWER: the odd extra at the top/left). Explicit pads are at most
``kernel_size - 1`` per side (ONNX Runtime's limit; PyTorch's half-window limit
is its own, which its adapter works around). With ``ceil_mode`` the output is
``ceil((n + before + after - span) / stride) + 1`` minus a last window that
would start in the bottom/right padding (PyTorch's rule, ONNX's for explicit
pads); with "same" or "same_lower" the output is ``ceil(n / stride)`` with or
without ceil_mode (as ONNX's auto_pad). Max pooling is exact (no rounding): the
maximum over a window's real elements, -inf for a window with none (dilation
can place a window entirely in padding). Padding never wins a tie and never
takes a gradient; a tie sends the gradient to the first maximal real element in
row-major window order.
NaN wins: a window holding a NaN gives NaN, and its gradient goes to the first
NaN of the window (PyTorch's forward behaviour). Signed zeros: a window whose
maximum is -0.0 and that holds no +0.0 (all -0.0, or -0.0 with negatives) gives
-0.0, one whose zeros are all +0.0 gives +0.0; a window holding both zeros as its
maximum gives a zero of unspecified sign (frameworks keep the first or the
IEEE 754-2019 maximum, +0.0), and its gradient goes to the first zero.

Average pooling divides a window's sum by :meth:`PoolGeometry.divisors`: with
``count_include_pad=True`` the window's cells inside the padded input (padding
counts, on each side as padded, asymmetric and "same" padding included; the
ceil_mode overhang past the padded input never counts), with ``False`` the real
input cells only. TensorFlow's ``avg_pool2d(padding="SAME")`` counts real cells
only: it is ``avg_pool2d(..., padding="same", count_include_pad=False)`` here,
as ONNX's AveragePool with auto_pad SAME_UPPER and its default
count_include_pad=0; ``count_include_pad=True`` with "same" counts the pads, as
ONNX does with count_include_pad=1. Sums follow IEEE 754 (a window holding
+inf and -inf gives NaN, +inf alone gives +inf).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from reference.dtypes import is_floating, round_to
from reference.shapes import PoolGeometry
from reference.validation import check_pool2d, check_tangent, result_dtype


def _padded_shape(shape: tuple[int, ...], geometry: PoolGeometry) -> tuple[int, int, int, int]:
    """(N, C, H, W) grown by the pads that hold every window (:meth:`PoolGeometry.window_padding`)."""
    n, c, h, w = shape
    (top, bottom), (left, right) = geometry.window_padding((h, w))
    return n, c, h + top + bottom, w + left + right


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
    (top, _), (left, _) = geometry.padding
    return padded[:, :, top : top + shape[2], left : left + shape[3]]


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

    ``kernel_size``, ``stride`` (default: the window) and ``dilation`` are an int
    or a pair; ``padding`` any form of the module docstring (explicit pads at most
    ``kernel_size - 1`` per side).
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
    dY64 = dY.astype(np.float64)
    dpadded = np.zeros(_padded_shape(X.shape, geometry))
    # Windows no wider than the stride never share a cell: each tap's cells are written once.
    sizes = zip(geometry.stride, geometry.dilation, geometry.kernel_size, strict=True)
    disjoint = all(s >= d * (k - 1) + 1 for s, d, k in sizes)
    for first, view in zip(_selections(X, geometry), _taps(dpadded, geometry), strict=True):
        if disjoint:
            view[...] = np.where(first, dY64, 0.0)
        else:
            view += np.where(first, dY64, 0.0)
    return round_to(_crop(dpadded, geometry, X.shape), result_dtype(X, dY))


def _selections(X: np.ndarray, geometry: PoolGeometry) -> Iterator[np.ndarray]:
    """For every window tap, row-major, the (N, C, Ho, Wo) mask of the windows that select it:
    the first maximal real element (the first NaN if the window holds one); a window with no
    real element selects none."""
    padded = _padded(X, geometry, -np.inf, result_dtype(X))
    Y = _window_max(padded, geometry)
    has_nan = bool(np.isnan(Y).any()) if is_floating(Y.dtype) else False
    unassigned = np.ones(Y.shape, dtype=bool)  # windows whose first maximum is still to come
    # Padding places windows but never wins: only real cells may be selected.
    real = _padded(np.ones(X.shape, dtype=bool), geometry, False, np.dtype(bool))
    for values, is_real in zip(_taps(padded, geometry), _taps(real, geometry), strict=True):
        first = values == Y
        if has_nan:
            first |= np.isnan(values)
        first &= is_real
        first &= unassigned
        unassigned ^= first
        yield first


def avg_pool2d(
    X: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Average pooling: X (N, C, H, W) -> (N, C, Ho, Wo), zero padding.

    ``padding`` as for :func:`max_pool2d`. The divisor is the window area inside
    the padded input (``count_include_pad=True``, as PyTorch and MXNet default;
    the ceil_mode overhang excluded) or the number of real input cells in the
    window (``False``, as TensorFlow's "SAME" and ONNX's default).
    float64 sums, one rounding.
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
    total /= geometry.divisors(X.shape[2:], count_include_pad)
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
    share = dY.astype(np.float64) / geometry.divisors(X.shape[2:], count_include_pad)
    dpadded = np.zeros(_padded_shape(X.shape, geometry))
    for view in _taps(dpadded, geometry):
        view += share
    return round_to(_crop(dpadded, geometry, X.shape), result_dtype(X, dY))


def max_pool2d_jvp(
    X: Any,
    tX: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Jacobian-vector product of :func:`max_pool2d`: tY (N, C, Ho, Wo), exact (a selection).

    Each window's tangent is tX at the element :func:`max_pool2d_vjp` sends the
    window's gradient to: its first maximal real element in row-major window order,
    or its first NaN. At a tie the one-sided derivative would be the largest tangent
    among the tied elements; the rule instead follows the selected element, so the
    JVP stays linear in tX and is the adjoint of the VJP. A window with no real
    element (its output is the constant -inf) has tangent 0.
    """
    geometry = check_pool2d(
        X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )
    check_tangent("tX", tX, X)
    X, tX = np.asarray(X), np.asarray(tX)
    dtype = result_dtype(X, tX)
    tY = np.zeros((*X.shape[:2], *geometry.output_size), dtype=dtype)
    tangents = _taps(_padded(tX, geometry, 0.0, dtype), geometry)
    for first, values in zip(_selections(X, geometry), tangents, strict=True):
        np.copyto(tY, values, where=first)
    return tY


def avg_pool2d_jvp(
    X: Any,
    tX: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Jacobian-vector product of :func:`avg_pool2d` (a linear map): ``avg_pool2d(tX)``, (N, C, Ho, Wo).

    float64 sums, one rounding to the result dtype of X and tX.
    """
    kwargs = {"stride": stride, "padding": padding, "ceil_mode": ceil_mode,
              "count_include_pad": count_include_pad}  # fmt: skip
    check_pool2d(X, kernel_size, **kwargs)
    check_tangent("tX", tX, X)
    tY = avg_pool2d(np.asarray(tX, dtype=np.float64), kernel_size, **kwargs)
    return round_to(tY, result_dtype(X, tX))
