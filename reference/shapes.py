"""Shape arithmetic of the chapter, in one place: output sizes, padding forms, "same"
padding, ceil_mode windows, and the normalised geometry of conv2d and pooling.

The one-axis helpers are pure integer functions; :func:`conv2d_geometry` and
:func:`pool2d_geometry` check the shape-level rules of their op (raising
``TypeError`` for a non-integer size argument, ``ValueError`` for a bad rank,
size, padding or stride, naming the argument) and apply the helpers per axis.
The reference and every adapter use these functions.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]


def conv_output_size(
    size: int, kernel_size: int, stride: int = 1, pad_total: int = 0, dilation: int = 1
) -> int:
    """Output length of a convolution along one axis.

    ``floor((size + pad_total - dilation*(kernel_size-1) - 1) / stride) + 1``,
    the chapter's ``floor((n - k + p + s) / s)`` generalised to dilation.

    >>> conv_output_size(8, 3, stride=2, pad_total=2)   # chapter: 8x8, pad 1, stride 2
    4
    >>> conv_output_size(8, 5, pad_total=4)
    8
    """
    span = dilation * (kernel_size - 1) + 1
    return (size + pad_total - span) // stride + 1


def same_padding(size: int, kernel_size: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "same" padding ``(before, after)`` along one axis, for any stride.

    Output length ``ceil(size / stride)``; the total padding is
    ``max((ceil(size/stride) - 1)*stride + dilation*(kernel_size-1) + 1 - size, 0)``
    and an odd total puts the extra row or column after (bottom/right).

    >>> same_padding(224, 7, stride=2)
    (2, 3)
    >>> same_padding(5, 3)
    (1, 1)
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + dilation * (kernel_size - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def pool_output_size(
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of a pooling window along one axis (``padding`` on each side).

    Floor rounding by default. With ``ceil_mode`` the length is rounded up, but a
    last window that would start in the after-padding (or beyond) is dropped:

    >>> pool_output_size(5, 2, stride=2)
    2
    >>> pool_output_size(5, 2, stride=2, ceil_mode=True)   # window at 4 covers row 4
    3
    >>> pool_output_size(5, 2, stride=2, padding=1, ceil_mode=True)   # start 6 is padding
    3
    """
    stride = kernel_size if stride is None else stride
    span = dilation * (kernel_size - 1) + 1
    numerator = size + 2 * padding - span
    if ceil_mode:
        out = -(-numerator // stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
        return out
    return numerator // stride + 1


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int after checking it is an integer (not a bool) ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {name}={value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {name}={value!r}")
    return int(value)


def int_pair(name: str, value: Any, minimum: int) -> Pair:
    """Normalise an int or a pair of ints to ``(height, width)``, each ``>= minimum``."""
    if not isinstance(value, (tuple, list)):
        checked = check_int(name, value, minimum)
        return checked, checked
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {name}={value!r}")
    items = tuple(value)
    try:
        return check_int(name, items[0], minimum), check_int(name, items[1], minimum)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{error} (in {name}={value!r})") from None


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


def check_rank(name: str, shape: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    """``shape`` as a tuple of ints after checking it has ``ndim`` axes."""
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
    _, c, h, w = check_rank("X", x_shape, 4)
    o, c_per_group, kh, kw = check_rank("W", w_shape, 4)
    groups = check_int("groups", groups, 1)
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


@dataclass(frozen=True)
class PoolGeometry:
    """Normalised pooling arguments (``padding`` per side, symmetric per axis)."""

    kernel_size: Pair
    stride: Pair
    padding: Pair
    dilation: Pair
    ceil_mode: bool
    output_size: Pair

    def empty_windows(self, input_size: Pair) -> np.ndarray:
        """(Ho, Wo) bool: the windows with no real element, every tap in padding or past the
        padded input (possible with dilation, or a ceil_mode window)."""
        empty = []
        for n, k, s, p, d, out in zip(
            input_size,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.output_size,
            strict=True,
        ):
            taps = np.arange(out)[:, None] * s - p + np.arange(k)[None, :] * d
            empty.append(~((taps >= 0) & (taps < n)).any(axis=1))
        return empty[0][:, None] | empty[1][None, :]


def pool2d_geometry(
    x_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> PoolGeometry:
    """Check pooling's shape-level rules and normalise its arguments; x_shape (N, C, H, W)."""
    _, _, h, w = check_rank("X", x_shape, 4)
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
