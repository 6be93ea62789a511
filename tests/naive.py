"""Naive, obviously-correct loop implementations: the oracle for the reference's tests.

Written independently of ``reference/`` from DESIGN.md and the chapter. Every
function loops over output pixels in plain Python, computes in float64 and
returns a float64 array (pool windows and the max-pool gradient included), so
a reader can check each line against the definition. Speed is not a goal:
call these on small arrays only.

Conventions: images NCHW, conv weights OIHW (out, in/groups, kh, kw).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "avg_pool2d",
    "conv2d",
    "conv2d_padding",
    "conv_output_size",
    "linear",
    "max_pool2d",
    "max_pool2d_grad",
    "pair",
    "pool_output_size",
    "pool_window_starts",
    "pool_windows",
    "same_padding",
    "sigmoid",
    "softmax_cross_entropy",
]


def pair(value):
    """``3 -> (3, 3)``; a pair stays a pair (height, width)."""
    if isinstance(value, int | np.integer):
        return (int(value), int(value))
    first, second = value
    return (int(first), int(second))


# --------------------------------------------------------------------------
# Shape arithmetic, written from the definitions
# --------------------------------------------------------------------------


def conv_output_size(size, kernel_size, stride=1, pad_total=0, dilation=1):
    """Count the window positions: start at 0, step ``stride``, the window's
    last tap ``start + dilation*(kernel_size-1)`` must stay inside the padded
    input of length ``size + pad_total``."""
    padded = size + pad_total
    count = 0
    start = 0
    while start + dilation * (kernel_size - 1) <= padded - 1:
        count += 1
        start += stride
    return count


def same_padding(size, kernel_size, stride=1, dilation=1):
    """TensorFlow 'SAME': one output per stride step over the input (``ceil(size/stride)``
    outputs), with the least total padding whose window count (:func:`conv_output_size`)
    reaches it, found by trying 0, 1, 2, ...; the odd extra pad goes last."""
    outputs = len(range(0, size, stride))
    total = 0
    while conv_output_size(size, kernel_size, stride, total, dilation) < outputs:
        total += 1
    before = total // 2
    return (before, total - before)


def pool_window_starts(size, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    """The first tap of every pooling window along one axis, in input coordinates
    (the left padding is ``-padding .. -1``), found by stepping, not by a formula.

    Windows start at ``-padding``, ``-padding + stride``, ... and cover
    ``span = dilation*(kernel_size-1) + 1`` cells. floor mode: a window is kept
    while it fits in the padded input ``[-padding, size + padding)``. ceil mode
    (DESIGN.md, PyTorch's rule): rounding the window count up lets the last
    window hang past the padded input, by less than one stride (at most
    ``stride - 1`` cells), and a window must start inside the input or the left
    padding (``start < size``): one starting in the trailing padding is dropped.
    """
    before, after = pair(padding)  # an int pads both sides alike; a pair is (before, after)
    span = dilation * (kernel_size - 1) + 1
    overhang = stride - 1 if ceil_mode else 0
    starts = []
    start = -before
    while start + span <= size + after + overhang and (not ceil_mode or start < size):
        starts.append(start)
        start += stride
    return starts


def pool_output_size(size, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    """Pool output length along one axis: the number of windows :func:`pool_window_starts` finds."""
    return len(pool_window_starts(size, kernel_size, stride, padding, dilation, ceil_mode))


# --------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------


def conv2d_padding(padding, in_hw, kernel_hw, stride_hw, dilation_hw):
    """Any accepted padding form -> ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding in ("same", "same_lower"):
            pads = [
                same_padding(n, k, s, d)
                for n, k, s, d in zip(in_hw, kernel_hw, stride_hw, dilation_hw, strict=True)
            ]
            # ONNX SAME_LOWER: the same total, the odd extra pad first.
            return tuple(pad[::-1] if padding == "same_lower" else pad for pad in pads)
        raise ValueError(f"naive: unknown padding {padding!r}")
    if isinstance(padding, int | np.integer):
        return ((int(padding), int(padding)), (int(padding), int(padding)))
    first, second = padding
    if isinstance(first, int | np.integer):
        return ((int(first), int(first)), (int(second), int(second)))
    return (pair(first), pair(second))


def conv2d(X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, o, i, j] = b[o] + sum over the input channels c of o's group and the
    taps (p, q) of x_padded[n, c, i*sh + p*dh, j*sw + q*dw] * W[o, c_local, p, q].
    """
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    N, C, H, Wd = X.shape
    C_out, C_per_group, kh, kw = W.shape
    sh, sw = pair(stride)
    dh, dw = pair(dilation)
    (top, bottom), (left, right) = conv2d_padding(padding, (H, Wd), (kh, kw), (sh, sw), (dh, dw))
    assert C_per_group * groups == C and C_out % groups == 0
    C_out_per_group = C_out // groups
    Ho = conv_output_size(H, kh, sh, top + bottom, dh)
    Wo = conv_output_size(Wd, kw, sw, left + right, dw)

    def x_padded(n, c, row, col):
        # row, col are padded coordinates; outside the real input the value is 0.
        r, s = row - top, col - left
        if 0 <= r < H and 0 <= s < Wd:
            return X[n, c, r, s]
        return 0.0

    Y = np.zeros((N, C_out, Ho, Wo), dtype=np.float64)
    for n in range(N):
        for o in range(C_out):
            group = o // C_out_per_group
            for i in range(Ho):
                for j in range(Wo):
                    total = 0.0 if b is None else float(b[o])
                    for c_local in range(C_per_group):
                        c = group * C_per_group + c_local
                        for p in range(kh):
                            for q in range(kw):
                                total += (
                                    x_padded(n, c, i * sh + p * dh, j * sw + q * dw) * W[o, c_local, p, q]
                                )
                    Y[n, o, i, j] = total
    return Y


# --------------------------------------------------------------------------
# Pooling: one window core for max, average and the max-pool gradient
# --------------------------------------------------------------------------


def pool_windows(H, W, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Yield ``(i, j, cells, padded_count)`` for every output pixel.

    Window ``(i, j)`` starts at the ``i``-th row and ``j``-th column start of
    :func:`pool_window_starts`. ``cells`` lists the window's taps that fall on
    the real input, as (row, col) in row-major window order; ``padded_count``
    counts the taps that fall on the padded input (real or padding), i.e. not
    on the part of a ceil_mode window that hangs past the padded input.
    """
    kh, kw = pair(kernel_size)
    sh, sw = pair(kernel_size if stride is None else stride)
    dh, dw = pair(dilation)
    (pt, pb), (pl, pr) = conv2d_padding(padding, (H, W), (kh, kw), (sh, sw), (dh, dw))
    row_starts = pool_window_starts(H, kh, sh, (pt, pb), dh, ceil_mode)
    col_starts = pool_window_starts(W, kw, sw, (pl, pr), dw, ceil_mode)
    for i, top in enumerate(row_starts):
        for j, left in enumerate(col_starts):
            cells = []
            padded_count = 0
            for p in range(kh):
                for q in range(kw):
                    row = top + p * dh  # in real-input coordinates
                    col = left + q * dw
                    if -pt <= row < H + pb and -pl <= col < W + pr:
                        padded_count += 1
                    if 0 <= row < H and 0 <= col < W:
                        cells.append((row, col))
            yield i, j, cells, padded_count


def _output_hw(X, kernel_size, stride, padding, dilation, ceil_mode):
    kh, kw = pair(kernel_size)
    sh, sw = pair(kernel_size if stride is None else stride)
    dh, dw = pair(dilation)
    H, W = X.shape[2:]
    rows, cols = conv2d_padding(padding, (H, W), (kh, kw), (sh, sw), (dh, dw))
    return (
        pool_output_size(H, kh, sh, rows, dh, ceil_mode),
        pool_output_size(W, kw, sw, cols, dw, ceil_mode),
    )


def _argmax_cell(values, cells):
    """The first maximal cell in window order; a NaN counts as maximal, so the
    first NaN wins. ``None`` for a window without real cells (all padding)."""
    best = None
    for cell in cells:
        value = values[cell]
        if best is None:
            best = cell
        elif math.isnan(values[best]):
            break
        elif math.isnan(value) or value > values[best]:
            best = cell
    return best


def max_pool2d(X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max over each window's taps; padding acts as -inf (never selected)."""
    X = np.asarray(X, dtype=np.float64)
    N, C, H, W = X.shape
    Y = np.empty((N, C, *_output_hw(X, kernel_size, stride, padding, dilation, ceil_mode)))
    for n in range(N):
        for c in range(C):
            plane = X[n, c]
            for i, j, cells, _ in pool_windows(H, W, kernel_size, stride, padding, dilation, ceil_mode):
                best = _argmax_cell(plane, cells)
                Y[n, c, i, j] = -math.inf if best is None else plane[best]
    return Y


def max_pool2d_grad(X, dY, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """dX: each dY[n, c, i, j] goes to the first maximal cell of its window;
    overlapping windows accumulate."""
    X = np.asarray(X, dtype=np.float64)
    dY = np.asarray(dY, dtype=np.float64)
    N, C, H, W = X.shape
    dX = np.zeros((N, C, H, W), dtype=np.float64)
    for n in range(N):
        for c in range(C):
            plane = X[n, c]
            for i, j, cells, _ in pool_windows(H, W, kernel_size, stride, padding, dilation, ceil_mode):
                best = _argmax_cell(plane, cells)
                if best is not None:
                    dX[n, c, best[0], best[1]] += dY[n, c, i, j]
    return dX


def max_pool2d_tangent(X, tX, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """tY: each window takes tX at its first maximal cell (its first NaN); 0 without real cells."""
    X = np.asarray(X, dtype=np.float64)
    tX = np.asarray(tX, dtype=np.float64)
    N, C, H, W = X.shape
    tY = np.zeros((N, C, *_output_hw(X, kernel_size, stride, padding, dilation, ceil_mode)))
    for n in range(N):
        for c in range(C):
            for i, j, cells, _ in pool_windows(H, W, kernel_size, stride, padding, dilation, ceil_mode):
                best = _argmax_cell(X[n, c], cells)
                if best is not None:
                    tY[n, c, i, j] = tX[n, c, best[0], best[1]]
    return tY


def avg_pool2d(X, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Sum of the window's real cells divided by the number of taps on the
    padded input (count_include_pad) or by the number of real cells."""
    X = np.asarray(X, dtype=np.float64)
    N, C, H, W = X.shape
    Y = np.empty((N, C, *_output_hw(X, kernel_size, stride, padding, 1, ceil_mode)))
    for n in range(N):
        for c in range(C):
            for i, j, cells, padded_count in pool_windows(H, W, kernel_size, stride, padding, 1, ceil_mode):
                total = sum(X[n, c, r, s] for r, s in cells)
                divisor = padded_count if count_include_pad else len(cells)
                Y[n, c, i, j] = total / divisor
    return Y


def avg_pool2d_grad(X, dY, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """dX: each window's real cells receive dY / divisor (the forward's divisor)."""
    X = np.asarray(X, dtype=np.float64)
    dY = np.asarray(dY, dtype=np.float64)
    N, C, H, W = X.shape
    dX = np.zeros((N, C, H, W), dtype=np.float64)
    for n in range(N):
        for c in range(C):
            for i, j, cells, padded_count in pool_windows(H, W, kernel_size, stride, padding, 1, ceil_mode):
                divisor = padded_count if count_include_pad else len(cells)
                for r, s in cells:
                    dX[n, c, r, s] += dY[n, c, i, j] / divisor
    return dX


# --------------------------------------------------------------------------
# Dense layer, activations, loss
# --------------------------------------------------------------------------


def linear(X, W, b=None):
    """y[n, o] = b[o] + sum_i X[n, i] * W[o, i]."""
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    N, _ = X.shape
    C_out, C_in = W.shape
    Y = np.zeros((N, C_out))
    for n in range(N):
        for o in range(C_out):
            total = 0.0 if b is None else float(b[o])
            for i in range(C_in):
                total += X[n, i] * W[o, i]
            Y[n, o] = total
    return Y


def sigmoid(X):
    """1 / (1 + exp(-x)), elementwise, written to avoid overflow for large |x|."""
    X = np.asarray(X, dtype=np.float64)
    out = np.empty_like(X)
    for index, x in np.ndenumerate(X):
        if x >= 0:
            out[index] = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            out[index] = e / (1.0 + e)
    return out


def softmax_cross_entropy(logits, labels):
    """mean_n [ logsumexp(logits[n]) - logits[n, labels[n]] ], max-shifted."""
    logits = np.asarray(logits, dtype=np.float64)
    losses = []
    for row, label in zip(logits, labels, strict=True):
        top = max(row)
        log_sum_exp = top + math.log(math.fsum(math.exp(v - top) for v in row))
        losses.append(log_sum_exp - row[int(label)])
    return math.fsum(losses) / len(losses)
