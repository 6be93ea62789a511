"""float16 and bfloat16 in the reference: one correct rounding of the float64 value, result dtypes.

The expected roundings come from exact rational arithmetic (:class:`fractions.Fraction`,
round half to even), independent of NumPy's and ml_dtypes' casts; the expected
convolution values from the naive float64 loops of ``tests/naive.py``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

import reference
from reference.dtypes import BFLOAT16, finfo, promote, round_to
from reference.validation import result_dtype
from tests import naive

F16 = np.dtype(np.float16)
# (significand bits with the implicit one, smallest normal exponent, largest exponent)
FORMATS = {F16: (11, -14, 15), BFLOAT16: (8, -126, 127)}


def exact_round(value: float, dtype: np.dtype) -> float:
    """``value`` rounded to nearest, ties to even, in ``dtype``'s format, by exact arithmetic."""
    digits, emin, emax = FORMATS[dtype]
    if value == 0 or not math.isfinite(value):
        return value
    magnitude = abs(Fraction(value))
    exponent = max(math.floor(math.log2(magnitude)), emin)
    if Fraction(2) ** exponent > magnitude:  # log2 rounded up across a power of two
        exponent = max(exponent - 1, emin)
    ulp = Fraction(2) ** (exponent - digits + 1)
    rounded = round(magnitude / ulp) * ulp  # Fraction.__round__: half to even
    if rounded >= Fraction(2) ** (emax + 1):
        return math.copysign(math.inf, value)
    return math.copysign(float(rounded), value)


def _hard_values(dtype: np.dtype, rng: np.random.Generator) -> np.ndarray:
    """Random float64 values, and values just off and exactly on the dtype's rounding midpoints."""
    digits, emin, _ = FORMATS[dtype]
    grid = rng.integers(2 ** (digits - 1), 2**digits, size=400).astype(np.float64)
    scale = 2.0 ** rng.integers(emin - digits, 10, size=400).astype(np.float64)
    midpoints = (grid + 0.5) * scale / 2.0 ** (digits - 1)
    nudges = midpoints * 2.0**-40
    random = rng.standard_normal(400) * 2.0 ** rng.integers(-30, 20, size=400)
    values = np.concatenate([midpoints, midpoints + nudges, midpoints - nudges, random])
    return np.concatenate([values, -values, [0.0, -0.0, np.inf, -np.inf, 1e300]])


@pytest.mark.parametrize("dtype", [F16, BFLOAT16], ids=["float16", "bfloat16"])
def test_round_to_rounds_once_to_nearest_even(dtype):
    values = _hard_values(dtype, np.random.default_rng(3))
    with np.errstate(over="ignore"):  # 1e300 overflows to inf, as it must
        rounded = round_to(values, dtype)
    assert rounded.dtype == dtype
    expected = np.array([exact_round(v, dtype) for v in values])
    np.testing.assert_array_equal(rounded.astype(np.float64), expected)
    assert (np.signbit(rounded.astype(np.float64)) == np.signbit(expected)).all()


def test_round_to_bfloat16_above_a_midpoint_rounds_up():
    # 1 + 2**-8 + 2**-40 lies above the midpoint of 1 and 1 + 2**-7; through float32 it
    # lands on the midpoint and a second rounding (to even) gives 1.
    value = np.array([1 + 2.0**-8 + 2.0**-40, np.nan])
    rounded = round_to(value, BFLOAT16).astype(np.float64)
    assert rounded[0] == 1 + 2.0**-7
    assert np.isnan(rounded[1])


def test_promotion_of_the_half_dtypes():
    assert promote(BFLOAT16, BFLOAT16) == BFLOAT16
    assert promote(BFLOAT16, F16) == np.float32
    assert promote(BFLOAT16, np.float64) == np.float64
    assert promote(BFLOAT16, np.int64) == np.float64
    assert promote(F16, F16) == F16
    assert result_dtype(np.ones(2, BFLOAT16), np.ones(2, np.int32)) == np.float64
    assert result_dtype(np.ones(2, F16)) == F16
    assert finfo(BFLOAT16).eps == 2.0**-7
    assert finfo(F16).eps == 2.0**-10


@pytest.mark.parametrize("dtype", [F16, BFLOAT16], ids=["float16", "bfloat16"])
def test_conv2d_and_vjp_are_the_exact_value_rounded_once(dtype):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((2, 3, 6, 5)).astype(dtype)
    W = rng.standard_normal((4, 3, 3, 2)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    Y = reference.conv2d(X, W, b, stride=2, padding=1)
    assert Y.dtype == dtype
    X64, W64, b64 = (a.astype(np.float64) for a in (X, W, b))
    # Products of two half-precision numbers are exact in float64 and these short sums stay exact.
    exact = naive.conv2d(X64, W64, b64, stride=2, padding=1)
    expected = np.vectorize(lambda v: exact_round(v, dtype))(exact)
    np.testing.assert_array_equal(Y.astype(np.float64), expected)


@pytest.mark.parametrize("dtype", [F16, BFLOAT16], ids=["float16", "bfloat16"])
def test_every_op_keeps_a_half_dtype(dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1, 2, 4, 4)).astype(dtype)
    W = rng.standard_normal((2, 2, 3, 3)).astype(dtype)
    dY = rng.standard_normal((1, 2, 2, 2)).astype(dtype)
    logits, labels = rng.standard_normal((3, 4)).astype(dtype), np.array([0, 3, 1])
    results = [
        reference.conv2d(X, W),
        *reference.conv2d_vjp(X, W, dY),
        reference.max_pool2d(X, 2),
        reference.max_pool2d_vjp(X, dY, 2),
        reference.avg_pool2d(X, 2),
        reference.avg_pool2d_vjp(X, dY, 2),
        reference.sigmoid(X),
        reference.sigmoid_vjp(X, X),
        reference.relu(X),
        reference.relu_vjp(X, X),
        reference.flatten(X),
        reference.linear(logits, logits),
        *reference.linear_vjp(logits, logits, logits[:, :3]),
        reference.softmax_cross_entropy(logits, labels),
        reference.softmax_cross_entropy_vjp(logits, labels),
        reference.corr2d(X[0, 0], W[0, 0]),
        reference.corr2d_multi_in_out(X[0], W),
        reference.pool2d(X[0, 0], (2, 2), "avg"),
    ]
    assert [np.asarray(r).dtype for r in results] == [dtype] * len(results)


def test_sigmoid_in_bfloat16_is_the_float64_value_rounded_once():
    X = np.array([-3.0, -0.5, 0.0, 0.75, 2.0, 40.0], dtype=ml_dtypes.bfloat16)
    expected = [exact_round(1 / (1 + math.exp(-float(x))), BFLOAT16) for x in X.astype(np.float64)]
    np.testing.assert_array_equal(reference.sigmoid(X).astype(np.float64), expected)
