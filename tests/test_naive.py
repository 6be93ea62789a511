"""The oracle checked by hand: tests/naive.py on tiny cases worked out on paper.

Each expected array below is written out from the definition (the working is
in the comment), so a bug in the oracle cannot hide behind a bug in the
reference.
"""

import math

import numpy as np
import pytest

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


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "ceil_mode", "expected"),
    [
        (4, 3, 3, 0, False, 1),
        (4, 3, 2, 1, False, 2),
        (5, 2, 2, 0, False, 2),
        (5, 2, 2, 0, True, 3),  # last window [4, 5) hangs past the input
        (5, 3, 3, 1, True, 2),  # a third window would start at padded 6 = 5 + 1: dropped
        (4, 3, 2, 1, True, 3),  # third window starts at padded 4 < 4 + 1: kept
    ],
)
def test_pool_output_size(size, kernel, stride, padding, ceil_mode, expected):
    assert naive.pool_output_size(size, kernel, stride, padding, 1, ceil_mode) == expected


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
