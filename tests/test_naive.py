"""The oracle checked by hand: tests/naive.py on tiny cases worked out on paper.

Each expected array below is written out from the definition (the working is
in the comment), so a bug in the oracle cannot hide behind a bug in the
reference. The pooling cases worked by hand (dilation, ceil_mode and padding
together) also hold the reference's closed-form output size and pooling to
the same numbers.
"""

import math

import numpy as np
import pytest

import reference
from tests import naive

ARANGE_3x3 = np.arange(9.0).reshape(1, 1, 3, 3)  # [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
K_CHAPTER = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])


def test_conv2d_chapter_figure():
    # 0*0 + 1*1 + 3*2 + 4*3 = 19 and so on (conv-layer.md).
    Y = naive.conv2d(ARANGE_3x3, K_CHAPTER)
    np.testing.assert_array_equal(Y, [[[[19, 25], [37, 43]]]])


def test_conv2d_padding_one():
    # y[i, j] = 1*x[i-1, j] + 2*x[i, j-1] + 3*x[i, j] with x = 0 outside, x[r, c] = 3r + c.
    Y = naive.conv2d(ARANGE_3x3, K_CHAPTER, padding=1)
    expected = [[0, 3, 8, 4], [9, 19, 25, 10], [21, 37, 43, 16], [6, 7, 8, 0]]
    np.testing.assert_array_equal(Y[0, 0], expected)


def test_conv2d_stride_figure():
    # padding-and-strides.md figure: stride 3 down, 2 across, padding 1:
    # 0*0 + 0*1 + 1*2 + 2*3 = 8 and 0*0 + 6*1 + 0*2 + 0*3 = 6.
    Y = naive.conv2d(ARANGE_3x3, K_CHAPTER, padding=1, stride=(3, 2))
    np.testing.assert_array_equal(Y[0, 0], [[0, 8], [6, 8]])


def test_conv2d_dilation_two_picks_the_corners():
    Y = naive.conv2d(ARANGE_3x3, np.ones((1, 1, 2, 2)), dilation=2)
    np.testing.assert_array_equal(Y, [[[[0 + 2 + 6 + 8]]]])


def test_conv2d_asymmetric_padding_and_bias():
    # ((0, 1), (2, 0)): one zero row below, two zero columns on the left.
    X = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    Y = naive.conv2d(X, np.ones((1, 1, 2, 2)), b=[10.0], padding=((0, 1), (2, 0)))
    # padded rows: [0 0 1 2], [0 0 3 4], [0 0 0 0]
    np.testing.assert_array_equal(Y[0, 0], [[10, 14, 20], [10, 13, 17]])


def test_conv2d_groups_keep_channels_apart():
    X = np.stack([np.ones((2, 2)), 10 * np.ones((2, 2))])[None]
    W = np.array([2.0, 3.0]).reshape(2, 1, 1, 1)
    Y = naive.conv2d(X, W, groups=2)
    np.testing.assert_array_equal(Y[0, :, 0, 0], [2.0, 30.0])


def test_conv2d_same_padding_odd_extra_goes_bottom_right():
    # H = 4, k = 2, s = 1: total pad 1, all of it after.
    X = np.arange(4.0).reshape(1, 1, 2, 2)
    Y = naive.conv2d(X, np.ones((1, 1, 2, 2)), padding="same")
    np.testing.assert_array_equal(Y[0, 0], [[6, 4], [5, 3]])


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation", "expected"),
    [
        (224, 7, 2, 1, (2, 3)),  # TensorFlow 'SAME', DESIGN.md
        (5, 3, 1, 1, (1, 1)),
        (4, 2, 1, 1, (0, 1)),
        (6, 1, 2, 1, (0, 0)),
        (5, 3, 2, 2, (2, 2)),  # out 3: (3-1)*2 + 2*2 + 1 - 5 = 4
        (3, 5, 4, 1, (1, 1)),  # out 1: total 5 - 3 = 2
    ],
)
def test_same_padding(size, kernel, stride, dilation, expected):
    assert naive.same_padding(size, kernel, stride, dilation) == expected


def test_conv_output_size_matches_chapter_formula():
    # floor((n - k + p + s) / s) for dilation 1, p the total padding.
    for n in range(1, 9):
        for k in range(1, n + 3):
            for p in range(3):
                for s in range(1, 4):
                    expected = max((n - k + p + s) // s, 0)
                    assert naive.conv_output_size(n, k, s, p) == expected


# Pool windows along one axis, worked by hand: (size, kernel, stride, padding,
# dilation, ceil_mode) and the start of each window in input coordinates (the
# left padding is -padding..-1). span = dilation*(kernel-1) + 1 cells; floor mode
# keeps a window that fits in the padded input [-p, size + p); ceil mode lets it
# hang past that end by at most stride - 1 cells, and drops one that starts in
# the trailing padding (start >= size). The ceil cases with dilation were also
# run through PyTorch 2's F.max_pool2d(ceil_mode=True): the same counts.
POOL_WINDOWS = [
    (4, 3, 3, 0, 1, False, [0]),  # [0, 3) fits; [3, 6) does not
    (4, 3, 2, 1, 1, False, [-1, 1]),  # padded [-1, 5): [-1, 2), [1, 4); [3, 6) does not fit
    (5, 2, 2, 0, 1, False, [0, 2]),
    (5, 2, 2, 0, 1, True, [0, 2, 4]),  # [4, 6) hangs 1 past the input [0, 5)
    (5, 3, 3, 1, 1, True, [-1, 2]),  # start 5 would be in the trailing padding: dropped
    (4, 3, 2, 1, 1, True, [-1, 1, 3]),  # [3, 6) hangs 1 past the padded [-1, 5), starts at 3 < 4
    # dilation with ceil_mode and padding:
    # span 3, padded [-1, 7): taps {-1, 1}, {1, 3}, {3, 5} fit; ceil adds {5, 7}, 7 one past
    # the padded end (stride 2 allows 1), and stops at start 7 >= 6.
    (6, 2, 2, 1, 2, False, [-1, 1, 3]),
    (6, 2, 2, 1, 2, True, [-1, 1, 3, 5]),
    # span 3, padded [-1, 6): {-1, 1}, {2, 4}; the next window {5, 7} would hang 2 past
    # (stride 3 allows 2) but starts at 5 = size, in the trailing padding: dropped, so
    # ceil_mode adds nothing (the rounded-up formula alone would give 3).
    (5, 2, 3, 1, 2, False, [-1, 2]),
    (5, 2, 3, 1, 2, True, [-1, 2]),
    # span 5, padded [-1, 5): floor keeps {-1, 1, 3} only; ceil adds {1, 3, 5} (5 one past)
    # but not {3, 5, 7} (7 three past, stride 2 allows 1).
    (4, 3, 2, 1, 2, False, [-1]),
    (4, 3, 2, 1, 2, True, [-1, 1]),
    # span 5, padded [-1, 8): {-1, 1, 3}, {2, 4, 6}; ceil adds {5, 7, 9} (9 two past,
    # stride 3 allows 2): floor((7+2-5)/3)+1 = 2 windows, ceil(4/3)+1 = 3.
    (7, 3, 3, 1, 2, False, [-1, 2]),
    (7, 3, 3, 1, 2, True, [-1, 2, 5]),
    # span 4, padded [-1, 3): the one window taps -1 and 2, both padding (max pooling
    # gives -inf there); the next would start at 2 = size: dropped.
    (2, 2, 3, 1, 3, True, [-1]),
    # span 3 in [0, 5): {0, 2}, {2, 4}; {4, 6} would hang 2 past, stride 2 allows 1.
    (5, 2, 2, 0, 2, True, [0, 2]),
    # stride 1 allows no overhang: ceil_mode changes nothing. span 4 in [-1, 6).
    (5, 2, 1, 1, 3, True, [-1, 0, 1, 2]),
]


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation", "ceil_mode", "starts"), POOL_WINDOWS
)
def test_pool_windows_worked_by_hand(size, kernel, stride, padding, dilation, ceil_mode, starts):
    assert naive.pool_window_starts(size, kernel, stride, padding, dilation, ceil_mode) == starts
    assert naive.pool_output_size(size, kernel, stride, padding, dilation, ceil_mode) == len(starts)
    # the reference's closed formula agrees with the enumeration on every worked case
    assert reference.pool_output_size(size, kernel, stride, padding, dilation, ceil_mode) == len(starts)


def test_max_pool_dilation_ceil_mode_and_padding_by_hand():
    # X[r, c] = 6r + c (4 x 6), kernel 2, stride 2, padding 1, dilation 2, ceil_mode.
    # Rows (size 4, padded [-1, 5)): taps {-1, 1}, {1, 3}, {3, 5} (5 one past: ceil) -> real
    # rows {1}, {1, 3}, {3}. Columns (size 6): taps {-1, 1}, {1, 3}, {3, 5}, {5, 7} -> real
    # {1}, {1, 3}, {3, 5}, {5}. X grows along both axes, so each window's maximum sits at its
    # largest real row and column: rows 1, 3, 3 and columns 1, 3, 5, 5.
    X = np.arange(24.0).reshape(1, 1, 4, 6)
    kwargs = {"kernel_size": 2, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}
    expected = [[[[7, 9, 11, 11], [19, 21, 23, 23], [19, 21, 23, 23]]]]  # 6*row + col
    np.testing.assert_array_equal(naive.max_pool2d(X, **kwargs), expected)
    np.testing.assert_array_equal(reference.max_pool2d(X, **kwargs), expected)
    # Gradient of the sum: each of the 12 windows sends 1 to its maximum, so (row, col) gets
    # (windows with that row maximum) x (windows with that column maximum).
    dX = np.zeros((1, 1, 4, 6))
    dX[0, 0, 1, [1, 3, 5]] = [1, 1, 2]
    dX[0, 0, 3, [1, 3, 5]] = [2, 2, 4]
    np.testing.assert_array_equal(naive.max_pool2d_grad(X, np.ones((1, 1, 3, 4)), **kwargs), dX)
    np.testing.assert_array_equal(reference.max_pool2d_vjp(X, np.ones((1, 1, 3, 4)), **kwargs), dX)


def test_max_pool_window_of_padding_only_gives_minus_infinity():
    # 1 x 2 input, kernel (1, 2), dilation (1, 3), stride (1, 3), padding (0, 1), ceil_mode: the
    # one window taps columns -1 and 2, both padding; the next would start at 2 (trailing
    # padding) and is dropped. No real element: -inf, and no gradient anywhere.
    X = np.array([[[[5.0, 7.0]]]])
    kwargs = {
        "kernel_size": (1, 2),
        "stride": (1, 3),
        "padding": (0, 1),
        "dilation": (1, 3),
        "ceil_mode": True,
    }
    np.testing.assert_array_equal(naive.max_pool2d(X, **kwargs), [[[[-math.inf]]]])
    np.testing.assert_array_equal(reference.max_pool2d(X, **kwargs), [[[[-math.inf]]]])
    np.testing.assert_array_equal(naive.max_pool2d_grad(X, [[[[3.0]]]], **kwargs), [[[[0.0, 0.0]]]])


def test_max_pool_chapter_values():
    np.testing.assert_array_equal(naive.max_pool2d(ARANGE_3x3, 2, stride=1), [[[[4, 5], [7, 8]]]])
    X = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(naive.max_pool2d(X, 3), [[[[10]]]])
    np.testing.assert_array_equal(naive.max_pool2d(X, 3, padding=1, stride=2), [[[[5, 7], [13, 15]]]])


def test_max_pool_ceil_mode_drops_window_starting_in_padding():
    X = np.arange(5.0).reshape(1, 1, 1, 5)
    # windows (cols) -1..1 and 2..4; one starting at col 5 (padding) is dropped
    Y = naive.max_pool2d(X, (1, 3), stride=(1, 3), padding=(0, 1), ceil_mode=True)
    np.testing.assert_array_equal(Y, [[[[1, 4]]]])


def test_max_pool_nan_wins_and_dilation():
    X = np.array([[[[1.0, math.nan, 3.0, 0.0, 7.0]]]])
    # windows [1, nan, 3], [nan, 3, 0], [3, 0, 7]
    Y = naive.max_pool2d(X, (1, 3), stride=1)
    np.testing.assert_array_equal(Y, [[[[math.nan, math.nan, 7.0]]]])
    # dilation 2 over [1, nan, 3, 0, 7]: taps cols {0, 2}, {1, 3}, {2, 4}
    Y = naive.max_pool2d(X, (1, 2), stride=1, dilation=2)
    np.testing.assert_array_equal(Y, [[[[3.0, math.nan, 7.0]]]])


def test_avg_pool_divisors():
    X = np.array([[[[1.0, 2.0, 3.0, 4.0]]]])
    # kernel 3, stride 2, padding 1, ceil: windows cols -1..1, 1..3, 3..5;
    # col 4 is padding, col 5 hangs past the padded input.
    kwargs = {"kernel_size": (1, 3), "stride": (1, 2), "padding": (0, 1), "ceil_mode": True}
    np.testing.assert_array_equal(naive.avg_pool2d(X, **kwargs), [[[[3 / 3, 9 / 3, 4 / 2]]]])
    np.testing.assert_array_equal(
        naive.avg_pool2d(X, **kwargs, count_include_pad=False), [[[[3 / 2, 9 / 3, 4 / 1]]]]
    )


def test_avg_pool_chapter_values():
    np.testing.assert_array_equal(naive.avg_pool2d(ARANGE_3x3, 2, stride=1), [[[[2, 3], [5, 6]]]])


def test_max_pool_grad_ties_first_element_and_overlap_accumulates():
    ties = np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(naive.max_pool2d_grad(ties, [[[[5.0]]]], 2), [[[[5, 0], [0, 0]]]])
    X = np.array([[[[0.0, 5.0, 0.0]]]])
    dX = naive.max_pool2d_grad(X, [[[[1.0, 10.0]]]], (1, 2), stride=1)
    np.testing.assert_array_equal(dX, [[[[0, 11, 0]]]])


def test_max_pool_grad_goes_to_first_nan():
    X = np.array([[[[1.0, math.nan, math.nan]]]])
    np.testing.assert_array_equal(naive.max_pool2d_grad(X, [[[[2.0]]]], (1, 3)), [[[[0, 2, 0]]]])


def test_avg_pool_grad_spreads_by_divisor():
    X = np.zeros((1, 1, 1, 4))
    kwargs = {"kernel_size": (1, 3), "stride": (1, 2), "padding": (0, 1), "ceil_mode": True}
    dX = naive.avg_pool2d_grad(X, [[[[3.0, 3.0, 2.0]]]], **kwargs)
    # window 0 -> cols 0, 1 get 1 each; window 1 -> cols 1, 2, 3 get 1; window 2 -> col 3 gets 1
    np.testing.assert_array_equal(dX, [[[[1, 2, 1, 2]]]])


def test_linear_sigmoid_and_loss():
    np.testing.assert_array_equal(naive.linear([[1.0, 2.0]], [[3.0, 4.0]], b=[0.5]), [[11.5]])
    np.testing.assert_allclose(naive.sigmoid(np.array([0.0, -800.0, 800.0])), [0.5, 0.0, 1.0])
    # uniform logits over K classes: loss log K
    assert naive.softmax_cross_entropy(np.zeros((2, 4)), [0, 3]) == pytest.approx(math.log(4))
    assert naive.softmax_cross_entropy([[1000.0, -1000.0]], [0]) == pytest.approx(0.0)
