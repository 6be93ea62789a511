"""Argument validation: one validator per op family, shared by every backend.

Each ``check_*`` function takes the op's arguments as the user passed them,
raises ``TypeError`` (non-real dtype, non-integer size argument) or
``ValueError`` (rank, shape, size, padding, stride) with a message that names
the argument, its value and the rule, and returns the normalised geometry the
op needs. Adapters call the same functions first, so errors are identical
across backends.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.shapes import conv_output_size, pool_output_size, same_padding

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]

_REAL_KINDS = "iuf"


def result_dtype(*arrays: Any) -> np.dtype:
    """The floating result type of the inputs; integer inputs promote to float64."""
    dtype = np.result_type(*(np.asarray(a).dtype for a in arrays))
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def check_real_array(name: str, value: Any, ndim: int | None = None) -> np.ndarray:
    """``np.asarray(value)`` after checking it holds real numbers (and has ``ndim`` axes)."""
    array = np.asarray(value)
    if array.dtype.kind not in _REAL_KINDS:
        raise TypeError(f"{name} must hold real numbers (integer or floating dtype), got dtype {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {name}.shape={array.shape}")
    return array


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {name}={value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {name}={value!r}")
    return int(value)


def int_pair(name: str, value: Any, minimum: int) -> Pair:
    """Normalise an int or a pair of ints to ``(height, width)``, each ``>= minimum``."""
    if not isinstance(value, (tuple, list)):
        checked = _check_int(name, value, minimum)
        return checked, checked
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {name}={value!r}")
    items = tuple(value)
    try:
        return _check_int(name, items[0], minimum), _check_int(name, items[1], minimum)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{error} (in {name}={value!r})") from None


def _check_dy(dY: Any, expected: tuple[int, ...]) -> None:
    dY = check_real_array("dY", dY)
    if dY.shape != tuple(expected):
        raise ValueError(f"dY must have the output's shape {tuple(expected)}, got dY.shape={dY.shape}")


@dataclass(frozen=True)
class ConvGeometry:
    """Normalised conv2d arguments: explicit pads ``((top, bottom), (left, right))``."""

    stride: Pair
    padding: Pads
    dilation: Pair
    groups: int
    kernel_size: Pair
    output_size: Pair

    def output_shape(self, batch: int, out_channels: int) -> tuple[int, int, int, int]:
        """``(N, O, Ho, Wo)``."""
        return (batch, out_channels, *self.output_size)


def conv_padding(padding: Any, input_size: Pair, kernel_size: Pair, stride: Pair, dilation: Pair) -> Pads:
    """Explicit ``((top, bottom), (left, right))`` from any accepted padding form.

    Forms: int, ``(ph, pw)``, ``((top, bottom), (left, right))``, ``"valid"``
    (no padding) or ``"same"`` (TensorFlow's rule, see :func:`same_padding`).
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            return tuple(  # type: ignore[return-value]
                same_padding(n, k, s, d)
                for n, k, s, d in zip(input_size, kernel_size, stride, dilation, strict=True)
            )
        raise ValueError(
            f"padding must be an int, a pair, a pair of pairs, 'valid' or 'same', got padding={padding!r}"
        )
    if (
        isinstance(padding, (tuple, list))
        and len(padding) == 2
        and all(isinstance(p, (tuple, list)) for p in padding)
    ):
        top, bottom = int_pair("padding", padding[0], 0)
        left, right = int_pair("padding", padding[1], 0)
        return (top, bottom), (left, right)
    ph, pw = int_pair("padding", padding, 0)
    return (ph, ph), (pw, pw)


def _check_output_size(output_size: Pair, padded: Pair, span: Pair, what: str) -> None:
    for axis, out, n, k in zip(("height", "width"), output_size, padded, span, strict=True):
        if out < 1:
            raise ValueError(
                f"output {axis} must be >= 1, got {out}: the padded input {axis} {n} is smaller"
                f" than the {what} window span {k} (dilation*(kernel_size-1)+1)"
            )


def _check_rank(name: str, shape: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    shape = tuple(int(n) for n in shape)
    if len(shape) != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {name}.shape={shape}")
    return shape


def conv2d_geometry(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: Any = 1,
) -> ConvGeometry:
    """Check conv2d's shape-level rules and normalise its arguments.

    x_shape (N, C, H, W), w_shape (O, C/groups, kh, kw).
    """
    _, c, h, w = _check_rank("X", x_shape, 4)
    o, c_per_group, kh, kw = _check_rank("W", w_shape, 4)
    groups = _check_int("groups", groups, 1)
    stride = int_pair("stride", stride, 1)
    dilation = int_pair("dilation", dilation, 1)
    if c != c_per_group * groups:
        raise ValueError(
            f"X has {c} channels but W.shape={tuple(w_shape)} with groups={groups} expects"
            f" W.shape[1]*groups = {c_per_group * groups}"
        )
    if o % groups:
        raise ValueError(f"groups={groups} must divide the output channels W.shape[0]={o}")
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel must be at least 1x1, got W.shape={tuple(w_shape)}")
    pads = conv_padding(padding, (h, w), (kh, kw), stride, dilation)
    padded = (h + sum(pads[0]), w + sum(pads[1]))
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    output_size = (
        conv_output_size(h, kh, stride[0], sum(pads[0]), dilation[0]),
        conv_output_size(w, kw, stride[1], sum(pads[1]), dilation[1]),
    )
    _check_output_size(output_size, padded, span, "kernel")
    return ConvGeometry(stride, pads, dilation, groups, (kh, kw), output_size)


def conv2d_output_shape(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: Any = 1,
) -> tuple[int, int, int, int]:
    """``(N, O, Ho, Wo)`` of ``conv2d`` for these shapes and arguments.

    >>> conv2d_output_shape((1, 1, 8, 8), (1, 1, 3, 5), stride=(3, 4), padding=(0, 1))
    (1, 1, 2, 2)
    """
    geometry = conv2d_geometry(x_shape, w_shape, stride, padding, dilation, groups)
    return geometry.output_shape(int(x_shape[0]), int(w_shape[0]))


def check_conv2d(
    X: Any,
    W: Any,
    b: Any = None,
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: Any = 1,
    dY: Any = None,
) -> ConvGeometry:
    """Validate conv2d arguments: X (N, C, H, W), W (O, C/groups, kh, kw), b (O,), dY."""
    X = check_real_array("X", X, 4)
    W = check_real_array("W", W, 4)
    geometry = conv2d_geometry(X.shape, W.shape, stride, padding, dilation, groups)
    o = W.shape[0]
    if b is not None:
        b = check_real_array("b", b)
        if b.shape != (o,):
            raise ValueError(f"b must have shape ({o},) (one bias per output channel), got b.shape={b.shape}")
    if dY is not None:
        _check_dy(dY, geometry.output_shape(X.shape[0], o))
    return geometry


@dataclass(frozen=True)
class PoolGeometry:
    """Normalised pooling arguments (``padding`` per side, symmetric per axis)."""

    kernel_size: Pair
    stride: Pair
    padding: Pair
    dilation: Pair
    ceil_mode: bool
    output_size: Pair


def pool2d_geometry(
    x_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> PoolGeometry:
    """Check pooling's shape-level rules and normalise its arguments; x_shape (N, C, H, W)."""
    _, _, h, w = _check_rank("X", x_shape, 4)
    kernel = int_pair("kernel_size", kernel_size, 1)
    stride = kernel if stride is None else int_pair("stride", stride, 1)
    if isinstance(padding, str) or (
        isinstance(padding, (tuple, list)) and any(isinstance(p, (tuple, list)) for p in padding)
    ):
        raise ValueError(f"pool padding must be an int or a pair (ph, pw), got padding={padding!r}")
    pads = int_pair("padding", padding, 0)
    dilation = int_pair("dilation", dilation, 1)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"ceil_mode must be a bool, got ceil_mode={ceil_mode!r}")
    for p, k in zip(pads, kernel, strict=True):
        if p > k // 2:
            raise ValueError(
                f"pool padding must be at most half the window (kernel_size // 2) per side,"
                f" got padding={padding!r} with kernel_size={kernel_size!r}"
            )
    output_size = (
        pool_output_size(h, kernel[0], stride[0], pads[0], dilation[0], bool(ceil_mode)),
        pool_output_size(w, kernel[1], stride[1], pads[1], dilation[1], bool(ceil_mode)),
    )
    span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    _check_output_size(output_size, (h + 2 * pads[0], w + 2 * pads[1]), span, "pooling")
    return PoolGeometry(kernel, stride, pads, dilation, bool(ceil_mode), output_size)


def pool2d_output_shape(
    x_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> tuple[int, int, int, int]:
    """``(N, C, Ho, Wo)`` of max or average pooling for this input shape and arguments.

    >>> pool2d_output_shape((1, 1, 4, 4), 3, stride=2, padding=1)
    (1, 1, 2, 2)
    """
    geometry = pool2d_geometry(x_shape, kernel_size, stride, padding, dilation, ceil_mode)
    return (int(x_shape[0]), int(x_shape[1]), *geometry.output_size)


def check_pool2d(
    X: Any,
    kernel_size: Any,
    *,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    dY: Any = None,
) -> PoolGeometry:
    """Validate max/avg pooling arguments: X (N, C, H, W); padding at most half the window."""
    X = check_real_array("X", X, 4)
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"count_include_pad must be a bool, got count_include_pad={count_include_pad!r}")
    geometry = pool2d_geometry(X.shape, kernel_size, stride, padding, dilation, ceil_mode)
    if dY is not None:
        _check_dy(dY, (*X.shape[:2], *geometry.output_size))
    return geometry


def check_corr2d(X: Any, K: Any, *, channels: int = 0) -> None:
    """Validate the chapter's corr2d family: X (C, H, W) and K (..., C, kh, kw) or 2-D without C.

    ``channels`` is 0 for plain ``corr2d``, 1 for multi-input (K is 3-D), 2 for
    multi-input-multi-output (K is 4-D).
    """
    X = check_real_array("X", X, 2 if channels == 0 else 3)
    K = check_real_array("K", K, 2 + channels)
    if channels and K.shape[-3] != X.shape[0]:
        raise ValueError(
            f"K has {K.shape[-3]} input channels but X has {X.shape[0]}: X.shape={X.shape}, K.shape={K.shape}"
        )
    if K.shape[-2] > X.shape[-2] or K.shape[-1] > X.shape[-1] or min(K.shape[-2:]) < 1:
        raise ValueError(f"kernel K.shape={K.shape} must be non-empty and fit in X.shape={X.shape}")


def check_dense(X: Any, W: Any, b: Any = None, dY: Any = None) -> None:
    """Validate a dense layer: X (N, in), W (out, in), b (out,), dY (N, out)."""
    X = check_real_array("X", X, 2)
    W = check_real_array("W", W, 2)
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but W.shape={W.shape} expects W.shape[1]={X.shape[1]}")
    if b is not None and check_real_array("b", b).shape != (W.shape[0],):
        raise ValueError(f"b must have shape ({W.shape[0]},), got b.shape={np.shape(b)}")
    if dY is not None:
        _check_dy(dY, (X.shape[0], W.shape[0]))


def check_elementwise(X: Any, dY: Any = None) -> None:
    """Validate an elementwise op: X real, dY (if given) of X's shape."""
    X = check_real_array("X", X)
    if dY is not None:
        _check_dy(dY, X.shape)


def check_flatten(X: Any, dY: Any = None) -> None:
    """Validate flatten: X at least 1-D (batch first); dY (N, prod(rest))."""
    X = check_real_array("X", X)
    if X.ndim < 1:
        raise ValueError(f"X must have a batch axis, got X.shape={X.shape}")
    if dY is not None:
        _check_dy(dY, (X.shape[0], int(np.prod(X.shape[1:], dtype=np.int64))))


def check_cross_entropy(logits: Any, labels: Any) -> None:
    """Validate softmax cross-entropy: logits (N, K) real, labels integer (N,) in [0, K)."""
    logits = check_real_array("logits", logits, 2)
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.shape != (logits.shape[0],):
        raise ValueError(f"labels must have shape ({logits.shape[0]},), got labels.shape={labels.shape}")
    if logits.shape[0] < 1 or logits.shape[1] < 1:
        raise ValueError(f"logits must be non-empty, got logits.shape={logits.shape}")
    bad = (labels < 0) | (labels >= logits.shape[1])
    if bad.any():
        raise ValueError(
            f"labels must lie in [0, {logits.shape[1]}),"
            f" got label {labels[bad][0]} at index {int(np.argmax(bad))}"
        )
