"""The reference's special-value rules (README, "Semantics"), each on values worked out by hand."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

import reference
from conformance.adversarial import lay_out
from conformance.specs import SPECS
from reference.shapes import pool2d_geometry
from tests import naive

INF, NAN = math.inf, math.nan


def _quiet(function, *args, **kwargs):
    """Call ``function`` with every NumPy floating-point warning turned into an error (the reference's
    ops run under IEEE defaults, so none may surface)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return function(*args, **kwargs)


def test_relu_and_its_vjp_at_zeros_nan_and_infinities():
    X = np.array([0.0, -0.0, NAN, INF, -INF, 2.0])
    Y = reference.relu(X)
    np.testing.assert_array_equal(Y, [0.0, 0.0, NAN, INF, 0.0, 2.0])
    assert not np.signbit(Y[:2]).any() and not np.signbit(Y[4])  # relu(-0.0) = relu(-inf) = +0.0
    dY = np.array([NAN, INF, NAN, 3.0, NAN, -INF])
    np.testing.assert_array_equal(reference.relu_vjp(X, dY), [0.0, 0.0, 0.0, 3.0, 0.0, -INF])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_exactly_without_warnings(dtype):
    X = np.array([-1e4, -200.0, 0.0, -0.0, 200.0, 1e4, -INF, INF], dtype=dtype)
    Y = _quiet(reference.sigmoid, X)
    assert Y[0] == 0.0 and Y[-2] == 0.0 and Y[5] == 1.0 and Y[-1] == 1.0 and Y[2] == Y[3] == 0.5
    assert 0.0 <= Y[1] < 1e-80 or dtype == np.float32  # exp(-200) is representable in float64 only


def test_sigmoid_vjp_is_right_in_both_tails():
    # s(x) s(-x) = e / (1 + e)^2 with e = exp(-|x|): the same at +x and -x.
    expected = math.exp(-40) / (1 + math.exp(-40)) ** 2
    grad = _quiet(reference.sigmoid_vjp, np.array([40.0, -40.0]), np.ones(2))
    np.testing.assert_allclose(grad, [expected, expected], rtol=2**-52)
    grad32 = reference.sigmoid_vjp(np.array([40.0, -40.0], np.float32), np.ones(2, np.float32))
    np.testing.assert_allclose(grad32, np.float32(expected), rtol=2**-24)
    assert _quiet(reference.sigmoid_vjp, np.array([1e4]), np.ones(1))[0] == 0.0


def test_sigmoid_vjp_of_an_infinite_dy():
    """The derivative is positive at every finite x, even where it underflows: inf stays inf;
    at x = +-inf it is 0, and inf * 0 is NaN."""
    X = np.array([1e4, -1e4, 5.0, INF, -INF, NAN], np.float32)
    dY = np.array([INF, -INF, -INF, INF, 1.0, INF], np.float32)
    np.testing.assert_array_equal(_quiet(reference.sigmoid_vjp, X, dY), [INF, -INF, -INF, NAN, 0.0, NAN])


def test_max_pool_padding_never_wins():
    """All -inf real elements beside padding: -inf, and each window's gradient goes to its first
    real element (worked out per window: kernel 3, stride 2, padding 1 on 3x3)."""
    X = np.full((1, 1, 3, 3), -INF)
    np.testing.assert_array_equal(
        reference.max_pool2d(X, 3, stride=2, padding=1), np.full((1, 1, 2, 2), -INF)
    )
    dX = reference.max_pool2d_vjp(X, np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), 3, stride=2, padding=1)
    np.testing.assert_array_equal(dX[0, 0], [[1.0, 2.0, 0.0], [3.0, 4.0, 0.0], [0.0, 0.0, 0.0]])


def test_a_window_entirely_in_padding_is_minus_inf_and_passes_no_gradient():
    """Kernel 2, dilation 3, padding 1 on 2x2: the one window's taps fall at -1 and 2 (padding)."""
    X = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    kw = {"kernel_size": 2, "stride": 1, "padding": 1, "dilation": 3}
    np.testing.assert_array_equal(reference.max_pool2d(X, **kw), [[[[-INF]]]])
    np.testing.assert_array_equal(reference.max_pool2d_vjp(X, np.ones((1, 1, 1, 1)), **kw), np.zeros_like(X))


def test_the_first_nan_of_a_window_takes_its_gradient():
    X = np.array([[[[1.0, NAN, 5.0, 3.0], [NAN, 9.0, 4.0, NAN]]]])
    np.testing.assert_array_equal(reference.max_pool2d(X, 2), [[[[NAN, NAN]]]])
    dX = reference.max_pool2d_vjp(X, np.array([[[[10.0, 20.0]]]]), 2)
    np.testing.assert_array_equal(dX[0, 0], [[0.0, 10.0, 0.0, 0.0], [0.0, 0.0, 0.0, 20.0]])


def test_ceil_mode_windows_past_the_padded_input():
    """6x6, kernel 3, stride 2, padding 1, ceil_mode: 4 windows per axis; the last starts at row 5
    (real) and covers row 5, the padding row 6 and row 7 past the padded input, which never counts."""
    X = np.arange(36.0).reshape(1, 1, 6, 6)
    Y = reference.max_pool2d(X, 3, stride=2, padding=1, ceil_mode=True)
    assert Y.shape == (1, 1, 4, 4) and Y[0, 0, 3, 3] == 35.0
    A = reference.avg_pool2d(X, 3, stride=2, padding=1, ceil_mode=True)
    assert A[0, 0, 3, 3] == 35 / 4  # rows 5-6 x columns 5-6 lie in the padded input, one cell real
    B = reference.avg_pool2d(X, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    assert B[0, 0, 3, 3] == 35.0


def test_average_pooling_follows_ieee_sums():
    X = np.array([[[[INF, -INF, 1.0, 2.0], [1.0, 2.0, INF, 3.0]]]])
    np.testing.assert_array_equal(reference.avg_pool2d(X, 2), [[[[NAN, INF]]]])


def test_flatten_of_one_dimensional_and_zero_size_inputs():
    assert reference.flatten(np.arange(5.0)).shape == (5, 1)
    assert reference.flatten(np.zeros((0, 3, 2))).shape == (0, 6)
    assert reference.flatten(np.zeros((4, 0))).shape == (4, 0)
    assert reference.flatten_vjp(np.zeros((0, 3, 2)), np.zeros((0, 6))).shape == (0, 3, 2)


def test_cross_entropy_with_special_logits():
    labels = np.array([1])
    big = np.finfo(np.float32).max
    assert reference.softmax_cross_entropy(np.array([[-INF, 0.0, 0.0]]), labels) == pytest.approx(math.log(2))
    assert reference.softmax_cross_entropy(np.array([[0.0, -INF, 0.0]]), labels) == INF
    for row in ([NAN, 0.0, 1.0], [INF, 0.0, 1.0], [-INF, -INF, -INF]):
        assert math.isnan(reference.softmax_cross_entropy(np.array([row]), labels))
        assert np.isnan(reference.softmax_cross_entropy_vjp(np.array([row]), labels)).all()
    huge = reference.softmax_cross_entropy(np.array([[big, -big, 0.0]], np.float32), np.array([2]))
    assert huge == np.float32(big)  # log-sum-exp = big exactly; the label's logit is 0
    grad = reference.softmax_cross_entropy_vjp(np.array([[-INF, 0.0, 0.0]]), labels, dloss=2.0)
    np.testing.assert_array_equal(grad, [[0.0, -1.0, 1.0]])


def test_conv_vjp_sums_only_the_terms_of_real_windows():
    """Stride 2 with a 1x1 kernel never reads odd rows and columns: an inf there reaches no
    gradient (a sum over all positions would give 0 * inf = NaN); an inf that a window reads does."""
    X = np.arange(16.0).reshape(1, 1, 4, 4)
    X[0, 0, 1, 1] = INF  # read by no window
    W, dY = np.array([[[[2.0]]]]), np.ones((1, 1, 2, 2))
    dX, dW, db = reference.conv2d_vjp(X, W, dY, stride=2)
    assert dW[0, 0, 0, 0] == 0 + 2 + 8 + 10 and db[0] == 4.0
    np.testing.assert_array_equal(dX[0, 0], [[2, 0, 2, 0], [0, 0, 0, 0], [2, 0, 2, 0], [0, 0, 0, 0]])
    X[0, 0, 2, 2] = -INF  # read by the last window
    assert reference.conv2d_vjp(X, W, dY, stride=2)[1][0, 0, 0, 0] == -INF


def test_no_adversarial_case_makes_the_reference_warn():
    """NaN, infinities, overflow and underflow are defined results: no warning, even under a
    caller's np.errstate(all="raise")."""
    for spec in SPECS.values():
        for case in spec.space.cases():
            _quiet(getattr(reference, case.op), *case.arrays(), **case.kw)


def test_zero_padding_takes_part_in_the_sum():
    """An infinite weight on the top-left tap: the outputs whose top-left tap reads padding
    multiply it by 0 (NaN); the others read a 1 (inf)."""
    W = np.ones((1, 1, 3, 3))
    W[0, 0, 0, 0] = INF
    Y = reference.conv2d(np.ones((1, 1, 3, 3)), W, padding=1)
    np.testing.assert_array_equal(Y[0, 0], [[NAN, NAN, NAN], [NAN, INF, INF], [NAN, INF, INF]])


def test_conv_vjp_with_an_infinite_input_the_fast_path_would_multiply_by_zero():
    """6x6, 1x1 kernel, stride 2: the windows read even rows and columns only. The fast path's
    waste grid columns read (1, 0) with a zero dY; the exact sum never reads it."""
    rng = np.random.default_rng(5)
    X, W, dY = (
        rng.standard_normal((2, 3, 6, 6)),
        rng.standard_normal((4, 3, 1, 1)),
        rng.standard_normal((2, 4, 3, 3)),
    )
    X[1, 2, 1, 0] = INF
    dX, dW, db = reference.conv2d_vjp(X, W, dY, stride=2)
    expected_dW = np.einsum("nohw,nchw->oc", dY, X[:, :, ::2, ::2])[:, :, None, None]  # the definition
    np.testing.assert_allclose(dW, expected_dW, rtol=1e-13)
    np.testing.assert_allclose(db, dY.sum(axis=(0, 2, 3)), rtol=1e-13)
    assert dX.shape == X.shape and np.isfinite(dX).all()


def test_conv_vjp_by_taps_agrees_with_the_fast_path_where_both_are_finite():
    """Overlapping windows (kernel 3, stride 1, padding 1, groups 2): an inf in X changes no dX
    (dX does not read X) and only the weight gradients of its channel's group; batch 2, 3 outputs
    per group, so db's axes are checked too."""
    rng = np.random.default_rng(6)
    X, W, dY = (
        rng.standard_normal((2, 4, 5, 5)),
        rng.standard_normal((6, 2, 3, 3)),
        rng.standard_normal((2, 6, 5, 5)),
    )
    kw = {"padding": 1, "groups": 2}
    dX, dW, db = reference.conv2d_vjp(X, W, dY, **kw)  # finite: the fast path
    X[0, 3, 2, 2] = INF  # channel 3: group 1 (outputs 3-5, weights' input channel 1)
    dX_inf, dW_inf, db_inf = reference.conv2d_vjp(X, W, dY, **kw)  # the exact path
    np.testing.assert_allclose(dX_inf, dX, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db_inf, db, rtol=1e-12)
    np.testing.assert_allclose(dW_inf[:3], dW[:3], rtol=1e-12)
    np.testing.assert_allclose(dW_inf[3:, 0], dW[3:, 0], rtol=1e-12)
    assert not np.isfinite(dW_inf[3:, 1]).all()


def test_conv_vjp_by_taps_rounds_db_once():
    """float32 dY [1, 2**-24, 2**-24]: summed in float64 and rounded once, 1 + 2**-23; summed
    in float32 it stays 1. The inf in X takes the exact path."""
    X = np.zeros((1, 1, 1, 3), np.float32)
    X[0, 0, 0, 0] = INF
    dY = np.array([[[[1.0, 2.0**-24, 2.0**-24]]]], np.float32)
    _, _, db = reference.conv2d_vjp(X, np.ones((1, 1, 1, 1), np.float32), dY)
    assert db.dtype == np.float32 and db[0] == np.float32(1 + 2.0**-23)


@pytest.mark.parametrize("layout", ["F", "transposed", "strided", "negative"])
def test_flatten_of_any_layout_is_c_contiguous(layout):
    """A 2-D input flattens to itself: reshape keeps the view's layout, the result must not."""
    X = lay_out(np.arange(12.0).reshape(3, 4), layout)
    Y = reference.flatten(X)
    assert Y.flags.c_contiguous and Y.flags.writeable
    np.testing.assert_array_equal(Y, X)


def test_empty_windows_are_those_without_a_real_cell():
    """Every small geometry, against the naive window enumeration of tests/naive.py: a window is
    empty when none of its taps falls on the real input."""
    grid = itertools.product(range(1, 8), (1, 2, 3), (1, 2, 3, 4), (1, 2, 3, 4), (False, True))
    checked = empties = 0
    for size, kernel, stride, dilation, ceil_mode in grid:
        padding = kernel // 2
        try:
            geometry = pool2d_geometry((1, 1, size, size + 1), kernel, stride, padding, dilation, ceil_mode)
        except ValueError:  # the window does not fit
            continue
        empty = geometry.empty_windows((size, size + 1))
        expected = np.zeros(geometry.output_size, dtype=bool)
        for i, j, cells, _ in naive.pool_windows(
            size, size + 1, kernel, stride, padding, dilation, ceil_mode
        ):
            expected[i, j] = not cells
        where = f"{size=} {kernel=} {stride=} {dilation=} {ceil_mode=}"
        np.testing.assert_array_equal(empty, expected, err_msg=where)
        checked, empties = checked + 1, empties + int(expected.sum())
    assert checked > 500 and empties > 40  # the grid holds both kinds of window
