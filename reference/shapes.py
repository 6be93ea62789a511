"""Shape arithmetic of the chapter: output sizes, "same" padding, ceil_mode.

These helpers are pure integer functions on one spatial axis; the 2-D versions
in :mod:`reference.validation` apply them per axis after checking arguments.
"""

from __future__ import annotations

import math


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
