"""Every Jacobian-vector product of the reference against independent checks (float64).

- Central differences along the tangent: ``(f(x + h t) - f(x - h t)) / (2h)``. For the
  maps linear in each argument (conv2d and the dense layer are bilinear, pooling and
  flatten linear) the second-order term vanishes with both arguments moved together
  only for conv2d and linear's cross term ``h^2 conv2d(tX, tW)``, which the central
  difference cancels; the error is float64 rounding over ``h``.
- The dot-product identity ``<J t, c> = <t, J^T c>`` against the reference's VJP,
  itself checked by finite differences in ``tests/test_gradients.py``.
- Max pooling against a naive loop (``tests/naive.py``) of the selection rule, at ties and NaN.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings

import reference
from tests import naive
from tests.test_against_naive import conv_cases, pool_cases

FAST = settings(max_examples=60, deadline=None)
STEP = 1e-6


def inner(a, b) -> float:
    return float(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)))


def central(f, primals, tangents, step=STEP):
    """The central difference of ``f`` along ``tangents`` (float64)."""
    plus = f(*(p + step * t for p, t in zip(primals, tangents, strict=True)))
    minus = f(*(p - step * t for p, t in zip(primals, tangents, strict=True)))
    return (np.asarray(plus, np.float64) - np.asarray(minus, np.float64)) / (2 * step)


def valid_pool(case) -> bool:
    """Whether the drawn pooling has an output (a ceil_mode window may leave none)."""
    kwargs = case.kwargs
    try:
        reference.pool2d_output_shape(
            case.x_shape, kwargs["kernel_size"], kwargs["stride"], kwargs["padding"],
            kwargs.get("dilation", 1), kwargs["ceil_mode"],
        )  # fmt: skip
    except ValueError:
        return False
    return True


def normal(seed: int, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in shapes]


def assert_close_to_difference(actual, difference, scale):
    """Within float64 rounding over the step: ``1e-8 * (1 + |scale|)`` (rounding ~1e-16/1e-6, kept 100x)."""
    bound = 1e-8 * (1.0 + np.abs(scale))
    assert np.all(np.abs(np.asarray(actual) - difference) <= bound), np.max(np.abs(actual - difference))


@FAST
@given(case=conv_cases(dtypes=("float64",)))
def test_conv2d_jvp_is_the_directional_derivative(case) -> None:
    y_shape = reference.conv2d_output_shape(case.x_shape, case.w_shape, **case.kwargs)
    X, W, tX, tW, c = normal(
        case.seed % 2**32, case.x_shape, case.w_shape, case.x_shape, case.w_shape, y_shape
    )
    jvp = reference.conv2d_jvp(X, W, tX, tW, **case.kwargs)
    difference = central(lambda x, w: reference.conv2d(x, w, **case.kwargs), (X, W), (tX, tW))
    magnitude = reference.conv2d(np.abs(tX), np.abs(W), **case.kwargs)
    assert_close_to_difference(
        jvp, difference, magnitude + reference.conv2d(np.abs(X), np.abs(tW), **case.kwargs)
    )
    dX, dW, _ = reference.conv2d_vjp(X, W, c, **case.kwargs)
    assert inner(jvp, c) == pytest.approx(inner(tX, dX) + inner(tW, dW), rel=1e-12, abs=1e-12)


def test_linear_jvp_is_the_directional_derivative() -> None:
    X, W, tX, tW, c = normal(1, (4, 7), (3, 7), (4, 7), (3, 7), (4, 3))
    jvp = reference.linear_jvp(X, W, tX, tW)
    assert_close_to_difference(jvp, central(reference.linear, (X, W), (tX, tW)), 10.0)
    np.testing.assert_allclose(jvp, tX @ W.T + X @ tW.T, rtol=1e-14)
    dX, dW, _ = reference.linear_vjp(X, W, c)
    assert inner(jvp, c) == pytest.approx(inner(tX, dX) + inner(tW, dW), rel=1e-12)


@FAST
@given(case=pool_cases("avg", dtypes=("float64",)))
def test_avg_pool2d_jvp_is_the_directional_derivative(case) -> None:
    assume(valid_pool(case))
    X, tX = normal(case.seed % 2**32, case.x_shape, case.x_shape)
    jvp = reference.avg_pool2d_jvp(X, tX, **case.kwargs)
    assert_close_to_difference(
        jvp, central(lambda x: reference.avg_pool2d(x, **case.kwargs), (X,), (tX,)), 1.0
    )
    (c,) = normal(case.seed % 2**32 + 1, jvp.shape)
    assert inner(jvp, c) == pytest.approx(inner(tX, reference.avg_pool2d_vjp(X, c, **case.kwargs)), abs=1e-12)


@FAST
@given(case=pool_cases("max", dtypes=("float64",)))
def test_max_pool2d_jvp_follows_the_selected_element(case) -> None:
    """Against the naive selection, at ties (integers 0..2) too; adjoint of the VJP exactly."""
    assume(valid_pool(case))
    rng = np.random.default_rng(case.seed % 2**32)
    X = rng.integers(0, 3, size=case.x_shape).astype(np.float64) if case.values != "normal" else (
        rng.standard_normal(case.x_shape))  # fmt: skip
    tX = rng.standard_normal(case.x_shape)
    jvp = reference.max_pool2d_jvp(X, tX, **case.kwargs)
    np.testing.assert_array_equal(jvp, naive.max_pool2d_tangent(X, tX, **case.kwargs))
    c = rng.standard_normal(jvp.shape)
    assert inner(jvp, c) == pytest.approx(inner(tX, reference.max_pool2d_vjp(X, c, **case.kwargs)), abs=1e-12)


def test_max_pool2d_jvp_away_from_ties_is_the_directional_derivative() -> None:
    X, tX = normal(2, (2, 3, 7, 8), (2, 3, 7, 8))
    kwargs = {"kernel_size": 3, "stride": 2, "padding": 1}
    jvp = reference.max_pool2d_jvp(X, tX, **kwargs)
    assert_close_to_difference(jvp, central(lambda x: reference.max_pool2d(x, **kwargs), (X,), (tX,)), 1.0)


def test_max_pool2d_jvp_rules_at_ties_nan_and_empty_windows() -> None:
    """A tie takes the first maximal element's tangent, a NaN window its first NaN's; a window
    entirely in padding (dilation) has tangent 0, as does an all -inf window's first element."""
    X = np.array([[[[1.0, 1.0], [np.nan, np.nan]]]])
    tX = np.array([[[[2.0, 3.0], [5.0, 7.0]]]])
    assert reference.max_pool2d_jvp(X[:, :, :1], tX[:, :, :1], (1, 2))[0, 0, 0, 0] == 2.0
    assert reference.max_pool2d_jvp(X, tX, 2)[0, 0, 0, 0] == 5.0
    one = np.ones((1, 1, 1, 1))
    empty = reference.max_pool2d_jvp(one, 4.0 * one, 2, stride=1, padding=1, dilation=2)
    np.testing.assert_array_equal(empty, [[[[0.0]]]])
    neginf = reference.max_pool2d_jvp(np.full((1, 1, 2, 2), -np.inf), tX, 2)
    np.testing.assert_array_equal(neginf, [[[[2.0]]]])


def test_elementwise_jvps() -> None:
    X = np.array([-np.inf, -3.0, -0.0, 0.0, 1e-300, 2.0, 40.0, -40.0, np.inf, np.nan])
    tX = np.linspace(-2.0, 3.0, X.size)
    np.testing.assert_array_equal(reference.relu_jvp(X, tX), np.where(X > 0, tX, 0.0))
    s = 1.0 / (1.0 + np.exp(-X))
    slope = np.exp(-np.abs(X)) / (1.0 + np.exp(-np.abs(X))) ** 2  # s (1 - s), both tails
    expected = tX * slope
    np.testing.assert_allclose(reference.sigmoid_jvp(X, tX)[1:-1], expected[1:-1], rtol=1e-14)
    assert reference.sigmoid_jvp(X, tX)[0] == 0.0 and np.isnan(reference.sigmoid_jvp(X, tX)[-1])
    finite = np.isfinite(X)
    difference = central(reference.sigmoid, (X[finite],), (tX[finite],))
    assert_close_to_difference(reference.sigmoid_jvp(X[finite], tX[finite]), difference, s[finite])
    infinite = reference.sigmoid_jvp(np.array([120.0, np.inf]), np.array([-np.inf, np.inf]))
    assert infinite[0] == -np.inf and np.isnan(infinite[1])


def test_flatten_jvp_moves_values_and_signed_zeros() -> None:
    tX = np.array([[[-0.0, 1.0], [2.0, 0.0]]])
    flat = reference.flatten_jvp(np.ones_like(tX), tX)
    np.testing.assert_array_equal(flat, [[-0.0, 1.0, 2.0, 0.0]])
    assert np.signbit(flat[0, 0]) and not np.signbit(flat[0, 3])


def test_softmax_cross_entropy_jvp_is_the_directional_derivative() -> None:
    logits, t = normal(3, (5, 4), (5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    jvp = reference.softmax_cross_entropy_jvp(logits, labels, t)
    difference = central(lambda z: reference.softmax_cross_entropy(z, labels), (logits,), (t,))
    assert abs(float(jvp) - float(difference)) <= 1e-9
    assert float(jvp) == pytest.approx(
        inner(t, reference.softmax_cross_entropy_vjp(logits, labels)), rel=1e-13
    )
    special = np.array([[0.5, -np.inf, 1.0], [np.nan, 0.0, 1.0]])
    ones = np.ones_like(special)
    assert np.isnan(reference.softmax_cross_entropy_jvp(special, np.array([0, 1]), ones))
    assert np.isfinite(reference.softmax_cross_entropy_jvp(special[:1], np.array([0]), ones[:1]))


def test_result_dtype_is_the_inputs_floating_type() -> None:
    X, tX = (a.astype(np.float32) for a in normal(4, (1, 2, 4, 4), (1, 2, 4, 4)))
    assert reference.max_pool2d_jvp(X, tX, 2).dtype == np.float32
    assert reference.avg_pool2d_jvp(X, tX.astype(np.float64), 2).dtype == np.float64
    assert reference.softmax_cross_entropy_jvp(X[0, 0], np.zeros(4, int), tX[0, 0]).dtype == np.float32


@pytest.mark.parametrize(
    ("call", "error", "mentions"),
    [
        (
            lambda: reference.conv2d_jvp(
                np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 2)), np.ones((1, 1, 2, 2))
            ),
            ValueError,
            "tX",
        ),
        (
            lambda: reference.linear_jvp(np.ones((2, 3)), np.ones((4, 3)), np.ones((2, 3)), np.ones((3, 4))),
            ValueError,
            "tW",
        ),
        (lambda: reference.relu_jvp(np.ones(3), np.ones(3, complex)), TypeError, "tX"),
        (
            lambda: reference.softmax_cross_entropy_jvp(np.ones((2, 3)), np.zeros(2, int), np.ones(6)),
            ValueError,
            "tlogits",
        ),
        (lambda: reference.max_pool2d_jvp(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), 2), ValueError, "tX"),
    ],
)
def test_a_tangent_of_another_shape_or_dtype_is_rejected(call, error, mentions) -> None:
    with pytest.raises(error, match=mentions):
        call()
