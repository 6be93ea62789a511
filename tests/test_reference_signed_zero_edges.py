"""Signed zeros where the reference defines them (activations.py, pool.py and dense.py docstrings).

ReLU is IEEE 754-2019's maximum(x, +0.0), which orders -0.0 below +0.0: no result
carries a sign bit. A max-pool window whose maximum is -0.0 with no +0.0 gives
-0.0, one whose zeros are all +0.0 gives +0.0. flatten moves values unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_of_minus_zero_is_plus_zero(dtype):
    Y = reference.relu(np.array([-0.0, 0.0, -1.0, -np.inf], dtype=dtype))
    np.testing.assert_array_equal(Y, 0.0)
    assert not np.signbit(Y).any()


def test_max_pool_keeps_minus_zero_when_no_plus_zero_competes():
    X = np.array([[-0.0, -1.0, 0.0, -2.0], [-3.0, -0.0, -1.0, 0.0]]).reshape(1, 1, 2, 4)
    Y = reference.max_pool2d(X, 2)
    np.testing.assert_array_equal(Y, 0.0)
    np.testing.assert_array_equal(np.signbit(Y), [[[[True, False]]]])


def test_flatten_moves_minus_zero_unchanged():
    X = np.array([-0.0, 0.0, -0.0, 1.0]).reshape(1, 2, 2)
    np.testing.assert_array_equal(np.signbit(reference.flatten(X)), [[True, False, True, False]])
    dY = np.array([[-0.0, 0.0, -0.0, 1.0]])
    np.testing.assert_array_equal(np.signbit(reference.flatten_vjp(X, dY)), [[[True, False], [True, False]]])
