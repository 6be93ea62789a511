"""Vectorised 2-D convolution (cross-correlation) and its vector-Jacobian product.

Layouts: X is NCHW, W is OIHW (out, in/groups, kh, kw), b is (O,). Arithmetic is
float64 with one rounding to the result dtype at the end.

How it is fast without a Python loop over pixels: im2col in cache-sized blocks.
A block of images is zero-padded once (float64); for a block of its output rows
every kernel tap ``(i, j)`` copies its strided window view (n, C, rows, Wo) into
a column buffer (n, C*kh*kw, rows*Wo) small enough to stay in the CPU caches,
and one matrix product with the (O, C*kh*kw) weights per group makes those
output rows. The VJP walks the same blocks: dW from dY and the columns, dX by
adding each tap's rows of ``Wᵀ dY`` back into the padded gradient (col2im).
Only real windows enter a sum: there are no padding-only or waste columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from reference.shapes import ConvGeometry
from reference.validation import check_conv2d, result_dtype

# Column bytes of one block: small enough to stay in the L2/L3 caches, large enough
# that each matrix product is big for BLAS.
_BLOCK_BYTES = 1 << 21


def _padded(X: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """X (n, C, H, W) zero-padded, as a new float64 array."""
    n, c, h, w = X.shape
    (top, bottom), (left, right) = geometry.padding
    padded = np.zeros((n, c, h + top + bottom, w + left + right))
    padded[:, :, top : top + h, left : left + w] = X
    return padded


def _blocks(n: int, geometry: ConvGeometry, columns_per_cell: int) -> Iterator[tuple[slice, list[slice]]]:
    """Blocks of images, each with its blocks of output rows, of about :data:`_BLOCK_BYTES` columns.

    ``columns_per_cell`` is the column length of one output cell (C*kh*kw).
    Small images are grouped whole; a large image is cut into blocks of rows.
    """
    out_h, out_w = geometry.output_size
    row_bytes = max(1, 8 * columns_per_cell * out_w)
    rows = max(1, min(out_h, _BLOCK_BYTES // row_bytes))
    images = max(1, _BLOCK_BYTES // (row_bytes * out_h)) if rows == out_h else 1
    row_blocks = [slice(r, min(r + rows, out_h)) for r in range(0, out_h, rows)]
    for start in range(0, n, images):
        yield slice(start, min(start + images, n)), row_blocks


def _tap_views(padded: np.ndarray, rows: slice, geometry: ConvGeometry) -> Iterator[np.ndarray]:
    """For each kernel tap, row-major, the (n, C, rows, Wo) view of the cells it reads for output ``rows``."""
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    kh, kw = geometry.kernel_size
    out_w = geometry.output_size[1]
    count = rows.stop - rows.start
    for i in range(kh):
        first = rows.start * sh + i * dh
        cells = slice(first, first + sh * (count - 1) + 1, sh)
        for j in range(kw):
            yield padded[:, :, cells, j * dw : j * dw + sw * (out_w - 1) + 1 : sw]


def _columns(padded: np.ndarray, rows: slice, geometry: ConvGeometry, groups: int) -> np.ndarray:
    """im2col of output ``rows``: (n, groups, C/groups*kh*kw, rows*Wo), column order (c, i, j) as in OIHW."""
    n, c = padded.shape[:2]
    taps = geometry.kernel_size[0] * geometry.kernel_size[1]
    count, out_w = rows.stop - rows.start, geometry.output_size[1]
    columns = np.empty((n, c, taps, count, out_w))
    for tap, view in enumerate(_tap_views(padded, rows, geometry)):
        columns[:, :, tap] = view
    return columns.reshape(n, groups, -1, count * out_w)


def _add_columns(dpadded: np.ndarray, dcolumns: np.ndarray, rows: slice, geometry: ConvGeometry) -> None:
    """col2im: add the (n, groups, C/groups*kh*kw, rows*Wo) column gradient to the cells each tap read."""
    n, c = dpadded.shape[:2]
    taps = geometry.kernel_size[0] * geometry.kernel_size[1]
    dcolumns = dcolumns.reshape(n, c, taps, rows.stop - rows.start, -1)
    for tap, view in enumerate(_tap_views(dpadded, rows, geometry)):
        view += dcolumns[:, :, tap]


def _group_weights(W: np.ndarray, groups: int) -> np.ndarray:
    """OIHW weights as float64 (groups, O/groups, C/groups*kh*kw)."""
    return W.astype(np.float64).reshape(groups, W.shape[0] // groups, -1)


def conv2d(
    X: Any,
    W: Any,
    b: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> np.ndarray:
    """2-D cross-correlation of a batch: X (N, C, H, W), W (O, C/groups, kh, kw) -> (N, O, Ho, Wo).

    ``stride`` and ``dilation`` are an int or ``(sh, sw)``. ``padding`` is an int,
    ``(ph, pw)``, ``((top, bottom), (left, right))``, ``"valid"`` or ``"same"``
    (TensorFlow's rule for any stride; odd extra at bottom/right). Zero padding:
    the zeros take part in the sum, so a NaN or infinite weight on a tap that
    reads padding makes that output NaN (0 * inf), as with an explicitly padded X.
    ``Ho = floor((H + top + bottom - dilation*(kh-1) - 1) / stride) + 1``.
    ``b`` (O,) is added per output channel. float64 accumulation, one rounding
    to the result dtype of X, W and b.
    """
    geometry = check_conv2d(X, W, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    X, W = np.asarray(X), np.asarray(W)
    dtype = result_dtype(X, W) if b is None else result_dtype(X, W, b)
    n, o = X.shape[0], W.shape[0]
    out_h, out_w = geometry.output_size
    weights = _group_weights(W, groups)
    bias = None if b is None else np.asarray(b, dtype=np.float64).reshape(groups, -1, 1)
    # (N, groups, O/groups, Ho*Wo): a block of output rows is a slice of the last axis.
    Y = np.empty((n, groups, o // groups, out_h * out_w), dtype=dtype)
    for images, row_blocks in _blocks(n, geometry, weights.shape[2] * groups):
        padded = _padded(X[images], geometry)
        for rows in row_blocks:
            product = np.matmul(weights, _columns(padded, rows, geometry, groups))
            if bias is not None:
                product += bias
            Y[images, ..., rows.start * out_w : rows.stop * out_w] = product
    return Y.reshape(n, o, out_h, out_w)


def _conv2d_vjp(
    X: np.ndarray, W: np.ndarray, dY: np.ndarray, geometry: ConvGeometry, input_grad: bool
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """float64 ``(dX or None, dW, db)``, block by block as the forward pass."""
    n, c, h, w = X.shape
    o = W.shape[0]
    groups = geometry.groups
    (top, _), (left, _) = geometry.padding
    out_h, out_w = geometry.output_size
    weights = _group_weights(W, groups)
    dY64 = np.ascontiguousarray(dY, dtype=np.float64).reshape(n, groups, o // groups, out_h * out_w)
    dweights = np.zeros_like(weights)
    dX = np.empty((n, c, h, w)) if input_grad else None
    for images, row_blocks in _blocks(n, geometry, weights.shape[2] * groups):
        padded = _padded(X[images], geometry)
        dpadded = np.zeros_like(padded) if input_grad else None
        for rows in row_blocks:
            columns = _columns(padded, rows, geometry, groups)
            dY_block = dY64[images, ..., rows.start * out_w : rows.stop * out_w]
            dweights += np.matmul(dY_block, columns.swapaxes(2, 3)).sum(axis=0)
            if dpadded is not None:
                dcolumns = np.matmul(weights.swapaxes(1, 2), dY_block)
                _add_columns(dpadded, dcolumns, rows, geometry)
        if dX is not None:
            dX[images] = dpadded[:, :, top : top + h, left : left + w]
    db = dY64.sum(axis=(0, 3)).reshape(o)
    return dX, dweights.reshape(W.shape), db


def conv2d_vjp(
    X: Any,
    W: Any,
    dY: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vector-Jacobian product of :func:`conv2d`: returns ``(dX, dW, db)``.

    dY has the output's shape (N, O, Ho, Wo); dX is (N, C, H, W), dW (O, C/groups, kh, kw)
    and db (O,) (the bias gradient, whether or not the forward pass had a bias).
    float64 accumulation, one rounding to the result dtype of X, W and dY.
    """
    geometry = check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups, dY=dY)
    X, W, dY = np.asarray(X), np.asarray(W), np.asarray(dY)
    dtype = result_dtype(X, W, dY)
    dX, dW, db = _conv2d_vjp(X, W, dY, geometry, input_grad=True)
    return dX.astype(dtype, copy=False), dW.astype(dtype, order="C"), db.astype(dtype)


def conv2d_weight_vjp(
    X: Any,
    W: Any,
    dY: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """``(dW, db)`` of :func:`conv2d_vjp` without dX: for a first layer, whose input needs none."""
    geometry = check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups, dY=dY)
    X, W, dY = np.asarray(X), np.asarray(W), np.asarray(dY)
    dtype = result_dtype(X, W, dY)
    _, dW, db = _conv2d_vjp(X, W, dY, geometry, input_grad=False)
    return dW.astype(dtype, order="C"), db.astype(dtype)
