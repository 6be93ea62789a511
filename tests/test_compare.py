"""``conformance.compare.check_output``: one test per rule, each with a result that must fail or pass.

Non-finite values pass only where the reference has the same one (NaN matching
any NaN); shape and dtype must match; an exact comparison is bit for bit with
the sign of zero where the bound says so; a bounded one returns its worst
error/bound ratio; a failure names the first bad element (row-major).
"""

from __future__ import annotations

import numpy as np
import pytest

from conformance.compare import ConformanceError, check_output
from conformance.tolerance import EXACT, UNSIGNED_ZEROS, Exact

NAN, INF = float("nan"), float("inf")


def _bound(expected, value: float = 0.1) -> np.ndarray:
    return np.full(np.shape(expected), value)


@pytest.mark.parametrize("bound", [_bound([1.0, 2.0, 3.0]), EXACT], ids=["bounded", "exact"])
@pytest.mark.parametrize(
    ("actual", "expected", "index"),
    [
        ([1.0, NAN, 3.0], [1.0, 2.0, 3.0], 1),  # NaN where a finite value is expected
        ([1.0, 2.0, INF], [1.0, 2.0, 3.0], 2),  # an infinity where a finite value is expected
        ([1.0, 2.0, -INF], [1.0, 2.0, INF], 2),  # -inf for +inf
        ([INF, 2.0, 3.0], [NAN, 2.0, 3.0], 0),  # inf for NaN
        ([NAN, 2.0, 3.0], [INF, 2.0, 3.0], 0),  # NaN for inf
        ([1.0, 5.0, 3.0], [1.0, NAN, 3.0], 1),  # a finite value where NaN is expected
        ([1.0, 2.0, 3.0], [1.0, 2.0, -INF], 2),  # a finite value where -inf is expected
    ],
)
def test_a_non_finite_mismatch_fails_and_names_its_element(actual, expected, index, bound):
    with pytest.raises(ConformanceError, match=rf"Y\[{index}\] = .*non-finite values must match") as error:
        check_output("Y", np.array(actual), np.array(expected), bound)
    assert error.value.ratio == INF


@pytest.mark.parametrize("bound", [_bound([1.0, 2.0, 3.0, 4.0]), EXACT], ids=["bounded", "exact"])
def test_the_same_non_finite_values_pass(bound):
    values = np.array([NAN, INF, -INF, 4.0])
    assert check_output("Y", values.copy(), values, bound) == 0.0


def test_a_nan_with_another_payload_or_sign_matches_nan():
    other_nan = np.array([0x7FC00001, 0xFFC00000], np.uint32).view(np.float32)
    expected = np.array([NAN, NAN], np.float32)
    assert check_output("Y", other_nan, expected, EXACT) == 0.0


def test_a_shape_mismatch_fails():
    with pytest.raises(ConformanceError, match=r"Y has shape \(3,\), reference \(1, 3\)"):
        check_output("Y", np.zeros(3), np.zeros((1, 3)), _bound((1, 3)))


def test_a_dtype_mismatch_fails_even_with_equal_values():
    with pytest.raises(ConformanceError, match="Y has dtype float64, reference float32"):
        check_output("Y", np.ones(3), np.ones(3, np.float32), _bound(3))


def test_integer_results_must_be_equal():
    with pytest.raises(ConformanceError, match=r"labels\[1\] = 7, reference 2: must be equal"):
        check_output("labels", np.array([1, 7, 3]), np.array([1, 2, 3]), EXACT)
    assert check_output("labels", np.array([1, 2, 3]), np.array([1, 2, 3]), EXACT) == 0.0


def test_an_exact_selection_mismatch_fails_however_small():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    actual = expected.copy()
    actual[1, 0] = np.nextafter(3.0, 4.0)
    with pytest.raises(ConformanceError, match=r"Y\[1, 0\] = .*selection must be exact") as error:
        check_output("Y", actual, expected, EXACT)
    assert error.value.ratio == INF


def test_an_exact_comparison_checks_the_sign_of_zero():
    with pytest.raises(ConformanceError, match=r"Y\[1\] = -0.0, reference 0.0: the sign of zero must match"):
        check_output("Y", np.array([1.0, -0.0]), np.array([1.0, 0.0]), EXACT)
    with pytest.raises(ConformanceError, match=r"Y\[0\] = 0.0, reference -0.0"):
        check_output("Y", np.array([0.0, 1.0]), np.array([-0.0, 1.0]), EXACT)


def test_the_sign_of_zero_is_skipped_where_the_bound_leaves_it_open():
    expected = np.array([0.0, -0.0, 0.0])
    actual = np.array([-0.0, 0.0, 0.0])
    assert check_output("dX", actual, expected, UNSIGNED_ZEROS) == 0.0
    assert check_output("Y", actual, expected, Exact(signed=np.array([False, False, True]))) == 0.0
    with pytest.raises(ConformanceError, match=r"Y\[1\] = 0.0, reference -0.0"):
        check_output("Y", actual, expected, Exact(signed=np.array([False, True, True])))


def test_a_bounded_comparison_ignores_the_sign_of_zero():
    assert check_output("Y", np.array([-0.0, 1.0]), np.array([0.0, 1.0]), _bound(2)) == 0.0


def test_a_bounded_comparison_returns_the_worst_ratio():
    expected = np.array([1.0, 2.0, 3.0])
    actual = np.array([1.05, 2.0, 2.98])
    bound = np.array([0.1, 0.1, 0.04])
    assert check_output("Y", actual, expected, bound) == pytest.approx(0.5)


def test_an_error_at_the_bound_passes_and_just_above_fails():
    expected = np.array([1.0, 2.0])
    assert check_output("Y", np.array([1.5, 2.0]), expected, np.array([0.5, 0.5])) == 1.0
    with pytest.raises(ConformanceError) as error:
        check_output("Y", np.array([1.5, 2.0]), expected, np.array([0.25, 0.5]))
    assert error.value.ratio == pytest.approx(2.0)


def test_a_failure_names_the_first_bad_element_and_reports_the_worst_ratio():
    expected = np.zeros((2, 3))
    actual = np.array([[0.0, 0.0, 0.3], [0.9, 0.0, 0.0]])
    with pytest.raises(ConformanceError) as error:
        check_output("dW", actual, expected, _bound(expected))
    message = str(error.value)
    assert message.startswith("dW[0, 2] = 0.3, reference 0.0: error 0.3 exceeds bound 0.1 (ratio 3)")
    assert error.value.ratio == pytest.approx(9.0)  # the worst, at [1, 0]


def test_float32_results_are_compared_in_float64():
    # 1 + 2**-23 and 1 differ by one float32 ulp: found, not lost to float32 rounding of the error.
    expected = np.array([1.0], np.float32)
    actual = np.array([1 + 2.0**-23], np.float32)
    assert check_output("Y", actual, expected, np.array([2.0**-23])) == 1.0
    with pytest.raises(ConformanceError):
        check_output("Y", actual, expected, np.array([2.0**-24]))
