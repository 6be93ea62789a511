"""Every vector-Jacobian product against central finite differences (float64).

For a VJP g = vjp(x, dY) the claim is g = d<dY, f(x)>/dx. Finite differences
check it element by element on small arrays. Where f is linear in the
argument (conv2d in X, in W, in b; average pooling; the dense layer; max
pooling away from ties) a central difference with step 1 is exact up to
roundoff, so the tolerances are tight. At max-pool ties finite differences are
meaningless; there the VJP is compared with the naive tie rule instead (first
maximal element in row-major window order; a NaN counts as maximal).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import reference
from reference.activations import sigmoid_vjp_from_output
from tests import naive
from tests.test_against_naive import conv_cases, pool_cases

FAST = settings(max_examples=100, deadline=None)


def numerical_gradient(scalar_fn, x, step):
    """Central differences of ``scalar_fn`` with respect to every element of x."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + step
        plus = scalar_fn(x)
        x[index] = original - step
        minus = scalar_fn(x)
        x[index] = original
        grad[index] = (plus - minus) / (2 * step)
    return grad


def inner(a, b):
    return float(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)))


# --------------------------------------------------------------------------
# conv2d_vjp
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvGradCase:
    id: str
    x_shape: tuple
    w_shape: tuple
    kwargs: dict = field(default_factory=dict)

    def __repr__(self):
        return self.id


CONV_GRAD_CASES = [
    ConvGradCase("k3-plain", (2, 2, 5, 5), (3, 2, 3, 3)),
    ConvGradCase("k3-p1", (1, 2, 4, 5), (2, 2, 3, 3), {"padding": 1}),
    ConvGradCase("k2x3-s2", (1, 1, 6, 7), (2, 1, 2, 3), {"stride": 2}),
    ConvGradCase("k3-s(2,3)-p(1,2)", (1, 2, 6, 7), (2, 2, 3, 3), {"stride": (2, 3), "padding": (1, 2)}),
    ConvGradCase("k2-p((0,1),(2,0))", (1, 1, 4, 4), (1, 1, 2, 2), {"padding": ((0, 1), (2, 0))}),
    ConvGradCase("k3-d2", (1, 2, 6, 6), (2, 2, 3, 3), {"dilation": 2}),
    ConvGradCase("k2-d(1,3)-s2", (1, 1, 6, 7), (1, 1, 2, 2), {"dilation": (1, 3), "stride": 2}),
    ConvGradCase("k3-g2", (1, 4, 5, 5), (4, 2, 3, 3), {"groups": 2}),
    ConvGradCase("k1-g3-depthwise", (2, 3, 3, 3), (3, 1, 1, 1), {"groups": 3}),
    ConvGradCase("k3-same-s1", (1, 2, 5, 4), (2, 2, 3, 3), {"padding": "same"}),
    ConvGradCase("k4-same-s2", (1, 1, 7, 6), (2, 1, 4, 4), {"padding": "same", "stride": 2}),
    ConvGradCase(
        "k3-same-s3-d2", (1, 1, 8, 7), (1, 1, 3, 3), {"padding": "same", "stride": 3, "dilation": 2}
    ),
    ConvGradCase("k3-s3-unused-border", (1, 1, 7, 8), (1, 1, 3, 3), {"stride": 3}),
]


@pytest.mark.parametrize("case", CONV_GRAD_CASES, ids=repr)
def test_conv2d_vjp_matches_finite_differences(case):
    rng = np.random.default_rng(0)
    X = rng.standard_normal(case.x_shape)
    W = rng.standard_normal(case.w_shape)
    b = rng.standard_normal(case.w_shape[0])
    dY = rng.standard_normal(reference.conv2d(X, W, b, **case.kwargs).shape)

    dX, dW, db = reference.conv2d_vjp(X, W, dY, **case.kwargs)
    assert dX.shape == X.shape and dW.shape == W.shape and db.shape == (W.shape[0],)
    # <dY, conv2d(X, W, b)> is linear in each argument: step 1 is exact up to roundoff.
    expected_dX = numerical_gradient(lambda x: inner(dY, reference.conv2d(x, W, b, **case.kwargs)), X, 1.0)
    expected_dW = numerical_gradient(lambda w: inner(dY, reference.conv2d(X, w, b, **case.kwargs)), W, 1.0)
    expected_db = numerical_gradient(lambda v: inner(dY, reference.conv2d(X, W, v, **case.kwargs)), b, 1.0)
    np.testing.assert_allclose(dX, expected_dX, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(dW, expected_dW, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(db, expected_db, rtol=1e-9, atol=1e-9)


def test_conv2d_vjp_input_pixels_no_window_touches_get_zero():
    # stride 3 with a 1x1 kernel reads rows/cols 0, 3, 6 only
    X = np.ones((1, 1, 7, 7))
    dX, _, _ = reference.conv2d_vjp(X, np.ones((1, 1, 1, 1)), np.ones((1, 1, 3, 3)), stride=3)
    expected = np.zeros((7, 7))
    expected[::3, ::3] = 1
    np.testing.assert_array_equal(dX[0, 0], expected)


@FAST
@given(case=conv_cases(dtypes=("float64",)))
def test_conv2d_vjp_is_the_adjoint_of_the_naive_convolution(case):
    """<dX, V> = <dY, naive_conv(V, W)> and <dW, U> = <dY, naive_conv(X, U)>
    for random V, U (conv2d is linear in X and in W); db sums dY."""
    X, W, _ = case.arrays()
    X, W = X.astype(np.float64), W.astype(np.float64)
    rng = np.random.default_rng(case.seed + 1)
    out_shape = naive.conv2d(np.zeros(case.x_shape), np.zeros(case.w_shape), **case.kwargs).shape
    dY = rng.standard_normal(out_shape)
    V = rng.standard_normal(X.shape)
    U = rng.standard_normal(W.shape)

    dX, dW, db = reference.conv2d_vjp(X, W, dY, **case.kwargs)
    assert dX.shape == X.shape and dW.shape == W.shape and db.shape == (W.shape[0],)

    scale_x = inner(np.abs(dY), naive.conv2d(np.abs(V), np.abs(W), **case.kwargs)) + 1e-300
    scale_w = inner(np.abs(dY), naive.conv2d(np.abs(X), np.abs(U), **case.kwargs)) + 1e-300
    assert abs(inner(dX, V) - inner(dY, naive.conv2d(V, W, **case.kwargs))) <= 1e-12 * scale_x, case
    assert abs(inner(dW, U) - inner(dY, naive.conv2d(X, U, **case.kwargs))) <= 1e-12 * scale_w, case
    np.testing.assert_allclose(db, dY.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-300)


@FAST
@given(case=conv_cases(dtypes=("float64",)))
def test_conv2d_linearity_identity(case):
    """<dY, conv2d(X, W)> = <conv2d_vjp dX, X> = <conv2d_vjp dW, W> (bilinearity)."""
    X, W, _ = case.arrays()
    X, W = X.astype(np.float64), W.astype(np.float64)
    Y = reference.conv2d(X, W, **case.kwargs)
    dY = np.random.default_rng(case.seed + 2).standard_normal(Y.shape)
    dX, dW, _ = reference.conv2d_vjp(X, W, dY, **case.kwargs)
    forward = inner(dY, Y)
    scale = inner(np.abs(dY), naive.conv2d(np.abs(X), np.abs(W), **case.kwargs)) + 1e-300
    assert abs(inner(dX, X) - forward) <= 1e-12 * scale, case
    assert abs(inner(dW, W) - forward) <= 1e-12 * scale, case


@pytest.mark.parametrize(
    ("dtypes", "expected"),
    [
        (("float32", "float32", "float32"), "float32"),
        (("float64", "float64", "float64"), "float64"),
        (("float32", "float32", "float64"), "float64"),
        (("int64", "int64", "int64"), "float64"),
    ],
    ids=["f32", "f64", "f32-dY-f64", "int"],
)
def test_conv2d_vjp_dtype(dtypes, expected):
    X = np.ones((1, 1, 3, 3), dtype=dtypes[0])
    W = np.ones((2, 1, 2, 2), dtype=dtypes[1])
    dY = np.ones((1, 2, 2, 2), dtype=dtypes[2])
    dX, dW, db = reference.conv2d_vjp(X, W, dY)
    assert dX.dtype == dW.dtype == db.dtype == np.dtype(expected)
    np.testing.assert_array_equal(db, [4, 4])
    np.testing.assert_array_equal(dW, np.full((2, 1, 2, 2), 4))


# --------------------------------------------------------------------------
# Pooling VJPs
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolGradCase:
    id: str
    x_shape: tuple
    kwargs: dict

    def __repr__(self):
        return self.id


MAX_POOL_GRAD_CASES = [
    PoolGradCase("k2", (2, 2, 4, 4), {"kernel_size": 2}),
    PoolGradCase("k3-s1-overlap", (1, 2, 5, 5), {"kernel_size": 3, "stride": 1}),
    PoolGradCase("k3-s2-p1", (1, 1, 5, 6), {"kernel_size": 3, "stride": 2, "padding": 1}),
    PoolGradCase(
        "k(2,3)-s(2,3)-p(0,1)", (1, 1, 4, 4), {"kernel_size": (2, 3), "stride": (2, 3), "padding": (0, 1)}
    ),
    PoolGradCase("k2-d2-s1", (1, 1, 5, 5), {"kernel_size": 2, "stride": 1, "dilation": 2}),
    PoolGradCase("k3-s2-ceil", (1, 1, 6, 6), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    PoolGradCase("k2-ceil-p1", (1, 1, 5, 4), {"kernel_size": 2, "padding": 1, "ceil_mode": True}),
]

AVG_POOL_GRAD_CASES = [
    *MAX_POOL_GRAD_CASES[:4],
    PoolGradCase(
        "k3-s2-p1-excl",
        (1, 1, 5, 6),
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    ),
    PoolGradCase("k3-s2-ceil", (1, 1, 6, 6), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    PoolGradCase(
        "k3-s2-p1-ceil", (1, 1, 6, 5), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    ),
    PoolGradCase(
        "k3-s2-p1-ceil-excl",
        (1, 1, 6, 5),
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    ),
    PoolGradCase(
        "k2-ceil-excl", (2, 1, 5, 5), {"kernel_size": 2, "ceil_mode": True, "count_include_pad": False}
    ),
]


def distinct_values(shape, seed=0):
    """A shuffled 0, 0.5, 1, ...: no ties, gaps far wider than the FD step."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(int(np.prod(shape))) * 0.5).reshape(shape) - 3.0


@pytest.mark.parametrize("case", MAX_POOL_GRAD_CASES, ids=repr)
def test_max_pool2d_vjp_matches_finite_differences(case):
    X = distinct_values(case.x_shape)
    dY = np.random.default_rng(1).standard_normal(reference.max_pool2d(X, **case.kwargs).shape)
    dX = reference.max_pool2d_vjp(X, dY, **case.kwargs)
    expected = numerical_gradient(lambda x: inner(dY, reference.max_pool2d(x, **case.kwargs)), X, 0.1)
    assert dX.shape == X.shape
    np.testing.assert_allclose(dX, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", AVG_POOL_GRAD_CASES, ids=repr)
def test_avg_pool2d_vjp_matches_finite_differences(case):
    X = np.random.default_rng(0).standard_normal(case.x_shape)
    dY = np.random.default_rng(1).standard_normal(reference.avg_pool2d(X, **case.kwargs).shape)
    dX = reference.avg_pool2d_vjp(X, dY, **case.kwargs)
    expected = numerical_gradient(lambda x: inner(dY, reference.avg_pool2d(x, **case.kwargs)), X, 1.0)
    assert dX.shape == X.shape
    np.testing.assert_allclose(dX, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dX, naive.avg_pool2d_grad(X, dY, **case.kwargs), rtol=1e-12, atol=1e-15)


def small_int_upstream_gradient(case, X):
    """Small-integer upstream gradients (so accumulation is exact) in X's float dtype."""
    dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
    oracle = naive.max_pool2d if case.mode == "max" else naive.avg_pool2d
    shape = oracle(np.zeros(case.x_shape), **case.kwargs).shape
    return np.random.default_rng(case.seed + 1).integers(-3, 4, size=shape).astype(dtype)


@FAST
@given(case=pool_cases("max"))
def test_max_pool2d_vjp_matches_naive_tie_rule(case):
    """Ties (small-integer inputs) go to the first maximal element; windows accumulate."""
    assume(case.has_output)
    X = case.array()
    dY = small_int_upstream_gradient(case, X)
    dX = reference.max_pool2d_vjp(X, dY, **case.kwargs)
    assert dX.dtype == dY.dtype, f"dtype {dX.dtype} [{case!r}]"
    np.testing.assert_array_equal(dX, naive.max_pool2d_grad(X, dY, **case.kwargs), err_msg=repr(case))


@FAST
@given(case=pool_cases("max", dtypes=("float64", "float32")), data=st.data())
def test_max_pool2d_vjp_with_nan_goes_to_first_nan(case, data):
    assume(case.has_output)
    X = case.array()
    nan_mask = np.asarray(
        data.draw(st.lists(st.booleans(), min_size=X.size, max_size=X.size), label="nan at")
    )
    X = np.where(nan_mask.reshape(X.shape), np.nan, X).astype(X.dtype)
    dY = small_int_upstream_gradient(case, X)
    Y = reference.max_pool2d(X, **case.kwargs)
    np.testing.assert_array_equal(Y, naive.max_pool2d(X, **case.kwargs).astype(Y.dtype), err_msg=repr(case))
    dX = reference.max_pool2d_vjp(X, dY, **case.kwargs)
    np.testing.assert_array_equal(dX, naive.max_pool2d_grad(X, dY, **case.kwargs), err_msg=repr(case))


@FAST
@given(case=pool_cases("avg", dtypes=("float64",)))
def test_avg_pool2d_vjp_is_the_adjoint_of_the_naive_pool(case):
    assume(case.has_output)
    X = case.array()
    rng = np.random.default_rng(case.seed + 1)
    dY = rng.standard_normal(naive.avg_pool2d(X, **case.kwargs).shape)
    V = rng.standard_normal(X.shape)
    dX = reference.avg_pool2d_vjp(X, dY, **case.kwargs)
    scale = inner(np.abs(dY), naive.avg_pool2d(np.abs(V), **case.kwargs)) + 1e-300
    assert abs(inner(dX, V) - inner(dY, naive.avg_pool2d(V, **case.kwargs))) <= 1e-12 * scale, case


def test_max_pool2d_vjp_tie_goes_to_first_element():
    X = np.array([[[[2.0, 5.0], [5.0, 5.0]]]])
    np.testing.assert_array_equal(reference.max_pool2d_vjp(X, np.array([[[[7.0]]]]), 2), [[[[0, 7], [0, 0]]]])


def test_max_pool2d_vjp_overlapping_windows_accumulate():
    X = np.array([[[[0.0, 9.0, 0.0, 1.0]]]])
    dY = np.array([[[[1.0, 10.0, 100.0]]]])
    dX = reference.max_pool2d_vjp(X, dY, (1, 2), stride=1)
    np.testing.assert_array_equal(dX, [[[[0, 11, 0, 100]]]])


# --------------------------------------------------------------------------
# Dense layer, activations, flatten, loss
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "n_in", "n_out"), [(1, 1, 1), (3, 4, 2), (5, 2, 6)])
def test_linear_vjp_matches_finite_differences(n, n_in, n_out):
    rng = np.random.default_rng(n * 100 + n_in * 10 + n_out)
    X, W, b = rng.standard_normal((n, n_in)), rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)
    dY = rng.standard_normal((n, n_out))
    dX, dW, db = reference.linear_vjp(X, W, dY)
    np.testing.assert_allclose(
        dX, numerical_gradient(lambda x: inner(dY, reference.linear(x, W, b)), X, 1.0), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        dW, numerical_gradient(lambda w: inner(dY, reference.linear(X, w, b)), W, 1.0), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        db, numerical_gradient(lambda v: inner(dY, reference.linear(X, W, v)), b, 1.0), rtol=1e-10, atol=1e-12
    )
    assert db.shape == (n_out,)


def test_sigmoid_vjp_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = 3 * rng.standard_normal((2, 3, 4))
    dY = rng.standard_normal(X.shape)
    expected = numerical_gradient(lambda x: inner(dY, reference.sigmoid(x)), X, 1e-5)
    np.testing.assert_allclose(reference.sigmoid_vjp(X, dY), expected, rtol=1e-7, atol=1e-10)


def test_sigmoid_vjp_from_output_matches_finite_differences():
    rng = np.random.default_rng(1)
    X = 3 * rng.standard_normal((2, 3, 4))
    dY = rng.standard_normal(X.shape)
    expected = numerical_gradient(lambda x: inner(dY, reference.sigmoid(x)), X, 1e-5)
    got = sigmoid_vjp_from_output(reference.sigmoid(X), dY)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-10)


def test_sigmoid_vjp_from_a_float32_output_is_within_its_rounding():
    rng = np.random.default_rng(2)
    X = rng.uniform(-2, 2, 1000).astype(np.float32)  # 1 - Y >= 0.11: no cancellation in 1 - Y
    dY = rng.standard_normal(1000).astype(np.float32)
    got = sigmoid_vjp_from_output(reference.sigmoid(X), dY)
    assert got.dtype == np.float32
    s = naive.sigmoid(X)  # float64, independent of the reference
    exact = dY.astype(np.float64) * s * (1 - s)
    # Y rounded to float32: Y off by eps/2 relative, 1 - Y by (eps/2) Y/(1-Y) <= 3.7 eps; one more rounding.
    np.testing.assert_allclose(got, exact, rtol=6 * np.finfo(np.float32).eps, atol=0)


def test_relu_vjp_matches_finite_differences_away_from_zero():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 5))
    X = np.where(np.abs(X) < 0.1, 0.5, X)  # keep the kink out of the FD stencil
    dY = rng.standard_normal(X.shape)
    expected = numerical_gradient(lambda x: inner(dY, reference.relu(x)), X, 1e-3)
    np.testing.assert_allclose(reference.relu_vjp(X, dY), expected, rtol=1e-12, atol=1e-12)


def test_relu_vjp_is_zero_at_zero():
    X = np.array([-1.0, 0.0, -0.0, 2.0])
    np.testing.assert_array_equal(reference.relu_vjp(X, np.full(4, 3.0)), [0, 0, 0, 3])


def test_flatten_vjp_restores_the_shape():
    X = np.random.default_rng(0).standard_normal((2, 3, 2, 2))
    dY = np.arange(24.0).reshape(2, 12)
    dX = reference.flatten_vjp(X, dY)
    assert dX.shape == X.shape
    np.testing.assert_array_equal(dX, dY.reshape(X.shape))
    expected = numerical_gradient(lambda x: inner(dY, reference.flatten(x)), X, 1.0)
    np.testing.assert_allclose(dX, expected, rtol=1e-12)


@pytest.mark.parametrize("dloss", [1.0, 2.5])
@pytest.mark.parametrize(("n", "k"), [(1, 2), (4, 3), (3, 10)])
def test_softmax_cross_entropy_vjp_matches_finite_differences(n, k, dloss):
    rng = np.random.default_rng(n * 10 + k)
    logits = 2 * rng.standard_normal((n, k))
    labels = rng.integers(0, k, size=n)
    grad = reference.softmax_cross_entropy_vjp(logits, labels, dloss)
    expected = numerical_gradient(
        lambda z: dloss * float(reference.softmax_cross_entropy(z, labels)), logits, 1e-5
    )
    assert grad.shape == (n, k)
    np.testing.assert_allclose(grad, expected, rtol=1e-7, atol=1e-10)
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(grad, dloss * (softmax - np.eye(k)[labels]) / n, rtol=1e-12, atol=1e-15)


def test_softmax_cross_entropy_vjp_default_dloss_and_large_logits():
    logits = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    grad = reference.softmax_cross_entropy_vjp(logits, np.array([0, 0]))
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [[0.0, 0.0], [-0.5, 0.5]], atol=1e-15)
