"""Vectorised 2-D convolution (cross-correlation) and its vector-Jacobian product.

Layouts: X is NCHW, W is OIHW (out, in/groups, kh, kw), b is (O,). Arithmetic is
float64 with one rounding to the result dtype at the end.

How it is fast without a Python loop over pixels: the zero-padded input is
stored channels-last with every image flattened to one axis of rows of width
``row``. Output position ``(ho, wo)`` is then grid index ``m = ho*grid + wo``,
and kernel tap ``(i, j)`` reads the flat positions ``offset(i, j) + stride_w*m``:
a plain strided slice, i.e. a BLAS matrix of shape (Ho*grid, C). Each tap is
one matrix product with the tap's (C, O) weights, accumulated in a cache-sized
block of images (with few channels the taps are first gathered side by side,
im2col, for one wider product). Grid columns ``wo >= Wo`` are computed and thrown away
(``grid / Wo`` is about ``stride_h`` of waste; none for the common stride 1). The blocks
are shared among threads, BLAS on one thread each (:mod:`reference.parallel`); the sums
are made in block order, as on one thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.dtypes import round_to
from reference.parallel import map_blocks
from reference.shapes import ConvGeometry
from reference.validation import check_conv2d, check_tangent, result_dtype

_BLOCK_BYTES = 1 << 22  # working set of one batch block: stays in the L2/L3 caches
# Below this many input channels per group a tap's matrix product is too thin
# for BLAS, so the taps are gathered into one im2col matrix instead.
_COLUMNS_BELOW_CHANNELS = 16


@dataclass(frozen=True)
class _FlatLayout:
    """Where each kernel tap reads in the flattened, padded, channels-last input."""

    row: int  # padded row width, rounded up to a multiple of stride_w
    grid: int  # grid row length: stride_h * row / stride_w >= Wo
    length: int  # flat length per image (padded rows plus slack for the last taps)
    rows: int  # padded height
    taps: tuple[int, ...]  # flat start of each tap (i, j), row-major
    step: int  # stride_w: distance between neighbouring grid positions
    positions: int  # grid positions per image: Ho * grid

    def tap_slice(self, tap: int) -> slice:
        """The flat positions that tap reads for every grid position."""
        return slice(self.taps[tap], self.taps[tap] + self.step * (self.positions - 1) + 1, self.step)


def _flat_layout(h: int, w: int, geometry: ConvGeometry) -> _FlatLayout:
    (top, bottom), (left, right) = geometry.padding
    sh, sw = geometry.stride
    dh, dw = geometry.dilation
    kh, kw = geometry.kernel_size
    out_h, _ = geometry.output_size
    row = -(-(w + left + right) // sw) * sw
    grid = sh * row // sw
    taps = tuple(i * dh * row + j * dw for i in range(kh) for j in range(kw))
    rows = h + top + bottom
    length = max(rows * row, taps[-1] + sw * (out_h * grid - 1) + 1)
    return _FlatLayout(row, grid, length, rows, taps, sw, out_h * grid)


def _padded_flat(
    X: np.ndarray, geometry: ConvGeometry, layout: _FlatLayout, channels_last: bool
) -> np.ndarray:
    """X (n, C, H, W) as zero-padded float64, (n, length, C) or (n, C, length)."""
    n, c, h, w = X.shape
    (top, _), (left, _) = geometry.padding
    flat = np.zeros((n, layout.length, c) if channels_last else (n, c, layout.length))
    image = _image(flat, layout, channels_last)
    image[:, :, top : top + h, left : left + w] = X
    return flat


def _image(flat: np.ndarray, layout: _FlatLayout, channels_last: bool) -> np.ndarray:
    """The padded-image part of a flat buffer as an (n, C, rows, row) view."""
    n, size = flat.shape[0], layout.rows * layout.row
    if channels_last:
        return flat[:, :size].reshape(n, layout.rows, layout.row, -1).transpose(0, 3, 1, 2)
    return flat[:, :, :size].reshape(n, -1, layout.rows, layout.row)


def _unpad_flat(
    flat: np.ndarray, geometry: ConvGeometry, layout: _FlatLayout, channels_last: bool, h: int, w: int
):
    """Inverse of :func:`_padded_flat`: the (n, C, H, W) interior of a flat buffer (a view)."""
    (top, _), (left, _) = geometry.padding
    return _image(flat, layout, channels_last)[:, :, top : top + h, left : left + w]


def _tap_weights(W: np.ndarray, groups: int) -> np.ndarray:
    """OIHW weights as float64 (groups, taps*C/groups, O/groups): row ``tap*C/groups + c``."""
    o, c, kh, kw = W.shape
    per_group = W.astype(np.float64).reshape(groups, o // groups, c, kh * kw)
    return np.ascontiguousarray(per_group.transpose(0, 3, 2, 1).reshape(groups, kh * kw * c, o // groups))


def _batch_chunks(n: int, bytes_per_image: int) -> Iterator[slice]:
    size = max(1, _BLOCK_BYTES // max(1, bytes_per_image))
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _grid_to_nchw(block: np.ndarray, out_h: int, out_w: int, layout: _FlatLayout, channels_last: bool):
    """A grid block, (n, Ho*grid, O) or (n, O, Ho*grid), as (n, O, Ho, Wo) without the waste columns."""
    if channels_last:
        block = block.transpose(0, 2, 1)
    n, o, _ = block.shape
    return block.reshape(n, o, out_h, layout.grid)[..., :out_w]


# Few channels: the taps gathered side by side (im2col), channels first, so every
# copy moves whole rows of grid positions.
def _columns(flat: np.ndarray, channels: slice, layout: _FlatLayout) -> np.ndarray:
    """im2col of a channels-first flat buffer: (taps*C_g, n, positions), tap-major."""
    c_g = channels.stop - channels.start
    columns = np.empty((len(layout.taps) * c_g, flat.shape[0], layout.positions))
    for tap in range(len(layout.taps)):
        columns[tap * c_g : (tap + 1) * c_g] = flat[:, channels, layout.tap_slice(tap)].transpose(1, 0, 2)
    return columns


def _forward_columns(flat: np.ndarray, weights: np.ndarray, channels: slice, layout: _FlatLayout):
    """One group of one batch block: (n, O/groups, positions)."""
    columns = _columns(flat, channels, layout)
    depth, n, positions = columns.shape
    product = weights.T @ columns.reshape(depth, n * positions)
    return product.reshape(-1, n, positions).transpose(1, 0, 2)


def _backward_columns(flat, dY_g, weights, channels, layout, input_grad):
    """Gradients of one group of one batch block: (d flat (n, C_g, length) or None, d weights)."""
    columns = _columns(flat, channels, layout)
    depth, n, positions = columns.shape
    dY_2d = dY_g.transpose(1, 0, 2).reshape(-1, n * positions)
    dweights = columns.reshape(depth, n * positions) @ dY_2d.T
    if not input_grad:
        return None, dweights
    # Freed before the products below, which take a block of its size: with both alive, the
    # C heap gives the memory back at every block and pages it in again (3x slower here).
    del columns
    c_g = channels.stop - channels.start
    dflat = np.zeros((n, c_g, flat.shape[2]))
    # One product for every tap (a temporary the size of the columns), then each tap's rows
    # added at its offsets: LeNet's conv2 input gradient in 4.3 ms, against 7.5 ms for a
    # product per tap (25 thin products of 6 rows).
    dcolumns = (weights @ dY_2d).reshape(len(layout.taps), c_g, n, positions)
    for tap in range(len(layout.taps)):
        dflat[:, :, layout.tap_slice(tap)] += dcolumns[tap].transpose(1, 0, 2)
    return dflat, dweights


# Many channels: one matrix product per tap on the channels-last buffer.
def _forward_taps(flat: np.ndarray, weights: np.ndarray, channels: slice, layout: _FlatLayout):
    """One group of one batch block: (n, positions, O/groups)."""
    c_g = channels.stop - channels.start
    acc = np.zeros((flat.shape[0], layout.positions, weights.shape[1]))
    product = np.empty_like(acc)
    for tap in range(len(layout.taps)):
        np.matmul(flat[:, layout.tap_slice(tap), channels], weights[tap * c_g : (tap + 1) * c_g], out=product)
        acc += product
    return acc


def _backward_taps(flat, dY_g, weights, channels, layout, input_grad):
    """Gradients of one group of one batch block: (d flat (n, length, C_g) or None, d weights)."""
    c_g = channels.stop - channels.start
    dweights = np.empty_like(weights)
    for tap in range(len(layout.taps)):
        view = flat[:, layout.tap_slice(tap), channels]
        dweights[tap * c_g : (tap + 1) * c_g] = np.matmul(view.transpose(0, 2, 1), dY_g).sum(axis=0)
    if not input_grad:
        return None, dweights
    dflat = np.zeros((*flat.shape[:2], c_g))
    dcolumns = np.matmul(dY_g, weights.T)
    for tap in range(len(layout.taps)):
        dflat[:, layout.tap_slice(tap)] += dcolumns[:, :, tap * c_g : (tap + 1) * c_g]
    return dflat, dweights


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
    ``(ph, pw)``, ``((top, bottom), (left, right))``, ``"valid"``, ``"same"``
    (TensorFlow's rule for any stride; odd extra at bottom/right) or ``"same_lower"``
    (ONNX's SAME_LOWER: the same total, odd extra at top/left). Zero padding:
    the zeros take part in the sum, so a NaN or infinite weight on a tap that
    reads padding makes that output NaN (0 * inf), as with an explicitly padded X.
    ``Ho = floor((H + top + bottom - dilation*(kh-1) - 1) / stride) + 1``.
    ``b`` (O,) is added per output channel. float64 accumulation, one rounding
    to the result dtype of X, W and b.
    """
    geometry = check_conv2d(X, W, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    X, W = np.asarray(X), np.asarray(W)
    dtype = result_dtype(X, W) if b is None else result_dtype(X, W, b)
    n, _, h, w = X.shape
    o = W.shape[0]
    out_h, out_w = geometry.output_size
    layout = _flat_layout(h, w, geometry)
    weights = _tap_weights(W, groups)
    c_g, o_g = X.shape[1] // groups, o // groups
    channels_last = c_g >= _COLUMNS_BELOW_CHANNELS
    forward = _forward_taps if channels_last else _forward_columns
    Y = np.empty((n, o, out_h, out_w))

    def compute(chunk: slice) -> None:
        flat = _padded_flat(X[chunk], geometry, layout, channels_last)
        for g in range(groups):
            block = forward(flat, weights[g], slice(g * c_g, (g + 1) * c_g), layout)
            Y[chunk, g * o_g : (g + 1) * o_g] = _grid_to_nchw(block, out_h, out_w, layout, channels_last)

    map_blocks(compute, list(_batch_chunks(n, 8 * layout.positions * max(c_g * len(layout.taps), o_g))))
    if b is not None:
        Y += np.asarray(b, dtype=np.float64)[:, None, None]
    return round_to(Y, dtype)


def _conv2d_vjp_by_taps(
    X: np.ndarray, W: np.ndarray, dY: np.ndarray, geometry: ConvGeometry, input_grad: bool
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """The VJP by its definition, one strided view of the padded input per kernel tap.

    IEEE-exact where an input holds NaN or inf: only the terms of real windows
    are summed (the fast path also multiplies its waste columns, which alias
    input positions, by zeros, and 0 * inf is NaN).
    """
    n, c, h, w = X.shape
    o, c_g, kh, kw = W.shape
    groups = geometry.groups
    (top, bottom), (left, right) = geometry.padding
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    out_h, out_w = geometry.output_size
    padded = np.zeros((n, c, h + top + bottom, w + left + right))
    padded[:, :, top : top + h, left : left + w] = X
    dpadded = np.zeros_like(padded)
    dY_g = dY.astype(np.float64).reshape(n, groups, o // groups, out_h, out_w)
    W_g = W.astype(np.float64).reshape(groups, o // groups, c_g, kh, kw)
    dW = np.zeros(W_g.shape)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (out_h - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (out_w - 1) + 1, sw)
            tap = padded[:, :, rows, cols].reshape(n, groups, c_g, out_h, out_w)
            dW[..., i, j] = np.einsum("ngohw,ngchw->goc", dY_g, tap)
            if input_grad:
                dtap = np.einsum("ngohw,goc->ngchw", dY_g, W_g[..., i, j])
                dpadded[:, :, rows, cols] += dtap.reshape(n, c, out_h, out_w)
    dX = dpadded[:, :, top : top + h, left : left + w] if input_grad else None
    return dX, dW.reshape(o, c_g, kh, kw), dY.sum(axis=(0, 2, 3), dtype=np.float64)


def _conv2d_vjp(
    X: np.ndarray, W: np.ndarray, dY: np.ndarray, geometry: ConvGeometry, input_grad: bool
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    if not (np.isfinite(X).all() and np.isfinite(W).all() and np.isfinite(dY).all()):
        return _conv2d_vjp_by_taps(X, W, dY, geometry, input_grad)
    n, c, h, w = X.shape
    o, _, kh, kw = W.shape
    groups = geometry.groups
    out_h, out_w = geometry.output_size
    layout = _flat_layout(h, w, geometry)
    weights = _tap_weights(W, groups)
    c_g, o_g = c // groups, o // groups
    channels_last = c_g >= _COLUMNS_BELOW_CHANNELS
    backward = _backward_taps if channels_last else _backward_columns
    dX = np.empty((n, c, h, w)) if input_grad else None

    def compute(chunk: slice) -> list[np.ndarray]:
        """The chunk's part of dX, written in place, and its weight gradient of each group."""
        flat = _padded_flat(X[chunk], geometry, layout, channels_last)
        # dY on the grid, zero in the waste columns so they contribute nothing.
        dY_grid = np.zeros((flat.shape[0], o, out_h, layout.grid))
        dY_grid[..., :out_w] = dY[chunk]
        dY_grid = dY_grid.reshape(flat.shape[0], o, layout.positions)
        if channels_last:
            dY_grid = dY_grid.transpose(0, 2, 1)
        dweights_of_groups = []
        for g in range(groups):
            channels = slice(g * c_g, (g + 1) * c_g)
            outputs = slice(g * o_g, (g + 1) * o_g)
            dY_g = dY_grid[..., outputs] if channels_last else dY_grid[:, outputs]
            dflat, dweights_g = backward(flat, dY_g, weights[g], channels, layout, input_grad)
            dweights_of_groups.append(dweights_g)
            if dX is not None:
                dX[chunk, channels] = _unpad_flat(dflat, geometry, layout, channels_last, h, w)
        return dweights_of_groups

    chunks = list(_batch_chunks(n, 8 * layout.positions * max(c_g * len(layout.taps), o)))
    dweights = np.zeros_like(weights)
    for dweights_of_groups in map_blocks(compute, chunks):  # summed in chunk order, as one thread would
        for g, dweights_g in enumerate(dweights_of_groups):
            dweights[g] += dweights_g
    dW = dweights.reshape(groups, kh * kw, c_g, o_g).transpose(0, 3, 2, 1).reshape(o, c_g, kh, kw)
    db = dY.sum(axis=(0, 2, 3), dtype=np.float64)
    return dX, dW, db


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
    return round_to(dX, dtype), round_to(dW, dtype), round_to(db, dtype)


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
    return round_to(dW, dtype), round_to(db, dtype)


def conv2d_jvp(
    X: Any,
    W: Any,
    tX: Any,
    tW: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> np.ndarray:
    """Jacobian-vector product of :func:`conv2d` (without bias): ``conv2d(tX, W) + conv2d(X, tW)``.

    tX has X's shape (N, C, H, W) and tW W's (O, C/groups, kh, kw); the result has the
    output's shape (N, O, Ho, Wo). A bias enters linearly (its tangent is added as it is)
    and is left out. Both convolutions and their sum in float64, one rounding to the
    result dtype of X, W, tX and tW.
    """
    check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_tangent("tX", tX, X)
    check_tangent("tW", tW, W)
    dtype = result_dtype(X, W, tX, tW)
    X64, W64, tX64, tW64 = (np.asarray(a, dtype=np.float64) for a in (X, W, tX, tW))
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return round_to(conv2d(tX64, W64, **kwargs) + conv2d(X64, tW64, **kwargs), dtype)
