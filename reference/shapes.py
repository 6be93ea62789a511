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
from collections.abc import Iterator
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
    padding: int | tuple[int, int] = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of a pooling window along one axis.

    ``padding`` is an int (each side) or ``(before, after)``. Floor rounding by
    default: ``floor((size + before + after - span) / stride) + 1`` with
    ``span = dilation*(kernel_size-1) + 1``. With ``ceil_mode`` the length is
    rounded up, but a last window that would start in the after-padding (or
    beyond, ``start >= size + before``) is dropped: PyTorch's rule, which ONNX
    adopted for ``ceil_mode`` with explicit pads.

    >>> pool_output_size(5, 2, stride=2)
    2
    >>> pool_output_size(5, 2, stride=2, ceil_mode=True)   # window at 4 covers row 4
    3
    >>> pool_output_size(5, 2, stride=2, padding=1, ceil_mode=True)   # start 6 is padding
    3
    >>> pool_output_size(5, 3, stride=2, padding=(0, 2), ceil_mode=True)   # starts 0, 2, 4
    3
    """
    stride = kernel_size if stride is None else stride
    before, after = (padding, padding) if isinstance(padding, numbers.Integral) else padding
    span = dilation * (kernel_size - 1) + 1
    numerator = size + before + after - span
    if ceil_mode:
        out = -(-numerator // stride) + 1
        if (out - 1) * stride >= size + before:
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


PADDING_STRINGS = ("valid", "same", "same_lower")


def conv_padding(padding: Any, input_size: Pair, kernel_size: Pair, stride: Pair, dilation: Pair) -> Pads:
    """Explicit ``((top, bottom), (left, right))`` from any accepted padding form.

    Forms: int, ``(ph, pw)``, ``((top, bottom), (left, right))``, ``"valid"``
    (no padding), ``"same"`` (TensorFlow's rule, ONNX's SAME_UPPER: the odd extra
    pad at the bottom/right, see :func:`same_padding`) or ``"same_lower"`` (ONNX's
    SAME_LOWER: the same total, the odd extra at the top/left). Pooling and
    convolution share the forms.

    >>> conv_padding("same", (224, 224), (7, 7), (2, 2), (1, 1))
    ((2, 3), (2, 3))
    >>> conv_padding("same_lower", (224, 224), (7, 7), (2, 2), (1, 1))
    ((3, 2), (3, 2))
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding in ("same", "same_lower"):
            axes = zip(input_size, kernel_size, stride, dilation, strict=True)
            pads = [same_padding(n, k, s, d) for n, k, s, d in axes]
            if padding == "same_lower":
                pads = [(after, before) for before, after in pads]
            return pads[0], pads[1]
        raise ValueError(
            "padding must be an int, a pair, a pair of pairs, 'valid', 'same' or 'same_lower',"
            f" got padding={padding!r}"
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
    """Normalised pooling arguments: explicit pads ``((top, bottom), (left, right))``."""

    kernel_size: Pair
    stride: Pair
    padding: Pads
    dilation: Pair
    ceil_mode: bool
    output_size: Pair

    def _axes(self) -> Iterator[tuple[int, int, Pair, int, int]]:
        """Per axis: kernel, stride, (before, after) pads, dilation, output length."""
        return zip(self.kernel_size, self.stride, self.padding, self.dilation, self.output_size, strict=True)

    def symmetric_padding(self) -> Pair | None:
        """``(ph, pw)`` when each axis is padded alike on both sides, else None."""
        (top, bottom), (left, right) = self.padding
        return (top, left) if top == bottom and left == right else None

    def window_padding(self, input_size: Pair) -> Pads:
        """Explicit pads that hold every window whole: ``padding``, the after-side grown by what
        a ceil_mode window hangs past the padded input. Pooling the input padded so (with -inf
        for max, zeros for average) at padding 0 in floor mode gives exactly ``output_size``.

        >>> pool2d_geometry((1, 1, 5, 5), 2, ceil_mode=True).window_padding((5, 5))
        ((0, 1), (0, 1))
        >>> pool2d_geometry((1, 1, 5, 4), 3, 2, ((1, 0), (0, 2))).window_padding((5, 4))
        ((1, 0), (0, 2))
        """
        pads = []
        for n, (k, s, (before, after), d, out) in zip(input_size, self._axes(), strict=True):
            reach = (out - 1) * s + d * (k - 1) + 1 - (n + before)
            pads.append((before, max(after, reach)))
        return pads[0], pads[1]

    def empty_windows(self, input_size: Pair) -> np.ndarray:
        """(Ho, Wo) bool: the windows with no real element, every tap in padding or past the
        padded input (possible with dilation, or a ceil_mode window)."""
        empty = []
        for n, (k, s, (before, _), d, out) in zip(input_size, self._axes(), strict=True):
            taps = np.arange(out)[:, None] * s - before + np.arange(k)[None, :] * d
            empty.append(~((taps >= 0) & (taps < n)).any(axis=1))
        return empty[0][:, None] | empty[1][None, :]

    def divisors(self, input_size: Pair, count_include_pad: bool) -> np.ndarray:
        """(Ho, Wo) float64 divisors of average pooling (which has no dilation), separable per axis.

        A window starting at ``o*stride - before`` covers ``kernel_size`` cells. With
        ``count_include_pad`` the divisor counts those inside the padded input
        ``[-before, n + after)`` (padding counts, the ceil_mode overhang past it never does: PyTorch's
        and ONNX's rule), else only the real cells ``[0, n)``. Every window holds a real cell (pads
        are below the window), so no divisor is 0.

        >>> pool2d_geometry((1, 1, 2, 2), 3, 3, 1, ceil_mode=True).divisors((2, 2), True)
        array([[9.]])
        >>> pool2d_geometry((1, 1, 4, 4), 2, 2, ((1, 0), (0, 1))).divisors((4, 4), False)
        array([[2., 2.],
               [4., 4.]])
        """
        counts = []
        for n, (k, s, (before, after), _, out) in zip(input_size, self._axes(), strict=True):
            start = np.arange(out) * s - before
            end = np.minimum(start + k, n + after)
            if not count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, n)
            counts.append(end - start)
        return np.outer(counts[0], counts[1]).astype(np.float64)


def pool2d_geometry(
    x_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> PoolGeometry:
    """Check pooling's shape-level rules and normalise its arguments; x_shape (N, C, H, W).

    ``padding`` takes every form of :func:`conv_padding`; explicit pads must stay below the
    window, at most ``kernel_size - 1`` per side (ONNX Runtime's rule: "Pad should be smaller
    than kernel"); "same" and "same_lower" pad by TensorFlow's rule (dilation included).
    """
    _, _, h, w = check_rank("X", x_shape, 4)
    kernel = int_pair("kernel_size", kernel_size, 1)
    stride = kernel if stride is None else int_pair("stride", stride, 1)
    dilation = int_pair("dilation", dilation, 1)
    pads = conv_padding(padding, (h, w), kernel, stride, dilation)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"ceil_mode must be a bool, got ceil_mode={ceil_mode!r}")
    if not isinstance(padding, str):
        for side_pads, k in zip(pads, kernel, strict=True):
            if max(side_pads) >= k:
                raise ValueError(
                    f"pool padding must be below the window, at most kernel_size - 1 per side,"
                    f" got padding={padding!r} with kernel_size={kernel_size!r}"
                )
    output_size = (
        pool_output_size(h, kernel[0], stride[0], pads[0], dilation[0], bool(ceil_mode)),
        pool_output_size(w, kernel[1], stride[1], pads[1], dilation[1], bool(ceil_mode)),
    )
    span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    _check_output_size(output_size, (h + sum(pads[0]), w + sum(pads[1])), span, "pooling")
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
