"""Pooling's padding forms on inputs small enough to work out by hand.

Each expected value is counted from the window's cells: which rows and columns a window covers,
which of them are real, and what the divisor counts.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference

IMAGE_6 = np.arange(36.0).reshape(1, 1, 6, 6)  # row r, column c holds 6r + c


def test_same_puts_the_odd_pad_bottom_right_and_same_lower_top_left() -> None:
    # 6 rows, window 3, stride 2: 3 outputs, total pad (3 - 1)*2 + 3 - 6 = 1.
    # "same": (0, 1), the first window rows 0-2 (max 6*2 + 2 = 14), the last rows 4-6 (6 is padding).
    # "same_lower": (1, 0), the first window rows -1..1 (max 6*1 + 1 = 7), the last rows 3-5.
    same = reference.max_pool2d(IMAGE_6, 3, stride=2, padding="same")
    lower = reference.max_pool2d(IMAGE_6, 3, stride=2, padding="same_lower")
    np.testing.assert_array_equal(same[0, 0], [[14, 16, 17], [26, 28, 29], [32, 34, 35]])
    np.testing.assert_array_equal(lower[0, 0], [[7, 9, 11], [19, 21, 23], [31, 33, 35]])
    assert lower.shape == same.shape == reference.max_pool2d(IMAGE_6, 3, 2, "same", ceil_mode=True).shape


def test_tensorflow_same_average_counts_real_cells_only() -> None:
    # 5x5 ones, window 3, stride 2, "same": pads (1, 1); a corner window holds 4 real cells of 9.
    ones = np.ones((1, 1, 5, 5))
    real_only = reference.avg_pool2d(ones, 3, stride=2, padding="same", count_include_pad=False)
    counted = reference.avg_pool2d(ones, 3, stride=2, padding="same", count_include_pad=True)
    np.testing.assert_array_equal(real_only, np.ones((1, 1, 3, 3)))
    edge, corner = 6 / 9, 4 / 9  # an edge window holds 2 x 3 real cells
    np.testing.assert_allclose(
        counted[0, 0], [[corner, edge, corner], [edge, 1, edge], [corner, edge, corner]], rtol=1e-15
    )


@pytest.mark.parametrize(("count_include_pad", "expected"), [(True, 0.5), (False, 1.0)])
def test_asymmetric_divisor(count_include_pad: bool, expected: float) -> None:
    # 3x3 ones, window 2, stride 1, one pad row above and one pad column right: 3x3 outputs.
    # Window (0, 0) covers rows -1..0 and columns 0..1: 2 real cells of 4 inside the padded input.
    Y = reference.avg_pool2d(
        np.ones((1, 1, 3, 3)), 2, stride=1, padding=((1, 0), (0, 1)), count_include_pad=count_include_pad
    )
    assert Y.shape == (1, 1, 3, 3)
    assert Y[0, 0, 0, 0] == expected
    assert Y[0, 0, 1, 0] == 1.0  # rows 0..1, columns 0..1: all real


def test_pads_up_to_the_window_minus_one() -> None:
    # 3x3 image 0..8, window 3, stride 1, pad 2 (over PyTorch's half-window limit, under ONNX's):
    # 5x5 outputs; window (0, 0) covers rows and columns -2..0, so only X[0, 0] = 0 is real.
    X = np.arange(9.0).reshape(1, 1, 3, 3)
    Y = reference.max_pool2d(X, 3, stride=1, padding=2)
    assert Y.shape == (1, 1, 5, 5)
    assert (Y[0, 0, 0, 0], Y[0, 0, 4, 4], Y[0, 0, 2, 2]) == (0.0, 8.0, 8.0)
    A = reference.avg_pool2d(X, 3, stride=1, padding=2, count_include_pad=True)
    assert A[0, 0, 0, 0] == 0.0 and A[0, 0, 4, 4] == 8 / 9
    with pytest.raises(ValueError, match="padding"):
        reference.max_pool2d(X, 3, padding=3)


def test_ceil_mode_with_asymmetric_pads_drops_a_window_starting_in_the_after_padding() -> None:
    # 6 rows, window 2, stride 3, one pad row: ceil((6 + 1 - 2) / 3) + 1 = 3 windows rounded up.
    # Pad above (1, 0): windows start at rows -1, 2, 5; the last covers row 5 and hangs past: kept.
    # Pad below (0, 1): windows start at 0, 3, 6; row 6 is the bottom padding: dropped.
    assert reference.pool_output_size(6, 2, 3, (1, 0), ceil_mode=True) == 3
    assert reference.pool_output_size(6, 2, 3, (0, 1), ceil_mode=True) == 2
    assert reference.pool_output_size(6, 2, 3, (1, 0)) == reference.pool_output_size(6, 2, 3, (0, 1)) == 2
    X = np.arange(6.0).reshape(1, 1, 6, 1)
    Y = reference.max_pool2d(X, (2, 1), stride=(3, 1), padding=((1, 0), (0, 0)), ceil_mode=True)
    np.testing.assert_array_equal(Y[0, 0, :, 0], [0, 3, 5])  # rows {-1, 0}, {2, 3}, {5, 6 past}
