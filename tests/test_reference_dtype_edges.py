"""Result dtypes and float64 accumulation of every reference op (mutation-testing edges).

The rule (reference/__init__.py): every op accumulates in float64 and rounds once
to the floating result type of its inputs (integers promote to float64). So a
float32 result must equal the exactly computed value rounded once to float32.
The expected values below are exact by construction: products of two float32
numbers have at most 48 significant bits and sums of a few of them stay exact in
float64, so ``np.float32(exact)`` is the one correct rounding. Inputs are chosen
so that float32 arithmetic (two or more roundings) gives a different answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

import reference
from reference import lenet
from reference.activations import sigmoid_vjp_from_output
from reference.conv import conv2d_weight_vjp

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)

# (name, function, argument shapes). Every argument is drawn in float32 or float64.
X4, W4, Y4 = (1, 2, 4, 4), (2, 2, 3, 3), (1, 2, 2, 2)
P4 = (1, 2, 2, 2)
OPS: list[tuple[str, Callable, list[tuple[int, ...]]]] = [
    ("sigmoid", reference.sigmoid, [(3, 4)]),
    ("sigmoid_vjp", reference.sigmoid_vjp, [(3, 4), (3, 4)]),
    ("sigmoid_vjp_from_output", sigmoid_vjp_from_output, [(3, 4), (3, 4)]),
    ("relu", reference.relu, [(3, 4)]),
    ("relu_vjp", reference.relu_vjp, [(3, 4), (3, 4)]),
    ("flatten", reference.flatten, [(2, 3, 2)]),
    ("flatten_vjp", reference.flatten_vjp, [(2, 3, 2), (2, 6)]),
    ("linear", reference.linear, [(2, 3), (4, 3)]),
    ("linear+b", reference.linear, [(2, 3), (4, 3), (4,)]),
    ("linear_vjp", reference.linear_vjp, [(2, 3), (4, 3), (2, 4)]),
    ("conv2d", reference.conv2d, [X4, W4]),
    ("conv2d+b", reference.conv2d, [X4, W4, (2,)]),
    ("conv2d_vjp", reference.conv2d_vjp, [X4, W4, Y4]),
    ("conv2d_weight_vjp", conv2d_weight_vjp, [X4, W4, Y4]),
    ("max_pool2d", lambda X: reference.max_pool2d(X, 2), [X4]),
    ("max_pool2d_vjp", lambda X, dY: reference.max_pool2d_vjp(X, dY, 2), [X4, P4]),
    ("avg_pool2d", lambda X: reference.avg_pool2d(X, 2), [X4]),
    ("avg_pool2d_vjp", lambda X, dY: reference.avg_pool2d_vjp(X, dY, 2), [X4, P4]),
    ("corr2d", reference.corr2d, [(4, 4), (2, 2)]),
    ("corr2d_multi_in", reference.corr2d_multi_in, [(2, 4, 4), (2, 2, 2)]),
    ("corr2d_multi_in_out", reference.corr2d_multi_in_out, [(2, 4, 4), (3, 2, 2, 2)]),
    ("corr2d_multi_in_out_1x1", reference.corr2d_multi_in_out_1x1, [(2, 4, 4), (3, 2, 1, 1)]),
    ("pool2d-max", lambda X: reference.pool2d(X, 2), [(4, 4)]),
    ("pool2d-avg", lambda X: reference.pool2d(X, 2, "avg"), [(4, 4)]),
]
DTYPE_CASES = [
    pytest.param(fn, shapes, dtypes, id=f"{name}-{'-'.join(d.name for d in dtypes)}")
    for name, fn, shapes in OPS
    for dtypes in itertools.product((F32, F64), repeat=len(shapes))
]


def _outputs(result) -> list[np.ndarray]:
    return list(result) if isinstance(result, tuple) else [result]


@pytest.mark.parametrize(("fn", "shapes", "dtypes"), DTYPE_CASES)
def test_result_dtype_is_float32_only_when_every_input_is(fn, shapes, dtypes):
    rng = np.random.default_rng(0)
    args = [rng.uniform(-1, 1, size=shape).astype(dtype) for shape, dtype in zip(shapes, dtypes, strict=True)]
    expected = F32 if all(d == F32 for d in dtypes) else F64
    for out in _outputs(fn(*args)):
        assert out.dtype == expected


@pytest.mark.parametrize(
    ("fn", "shapes"),
    [(fn, shapes) for name, fn, shapes in OPS if name not in ("max_pool2d", "pool2d-max")],
    ids=[name for name, _, _ in OPS if name not in ("max_pool2d", "pool2d-max")],
)
def test_integer_inputs_give_float64(fn, shapes):
    args = [np.ones(shape, dtype=np.int32) for shape in shapes]
    for out in _outputs(fn(*args)):
        assert out.dtype == F64


def test_loss_and_its_gradient_keep_float32():
    logits, labels = np.zeros((2, 3), dtype=np.float32), np.array([0, 2])
    loss = reference.softmax_cross_entropy(logits, labels)
    assert isinstance(loss, np.float32)
    assert loss == np.float32(np.log(3.0))
    assert reference.softmax_cross_entropy_vjp(logits, labels).dtype == F32


# a = 1 + 2**-12: a*a = 1 + 2**-11 + 2**-24 needs 25 bits, so float32 rounds each product.
A = 1.0 + 2.0**-12
TINY = 2.0**-30
# Exact: 2*a*a + TINY = 2 + 2**-10 + 2**-23 + 2**-30, just above the float32 midpoint
# 2 + 2**-10 + 2**-23, so its one correct rounding is 2 + 2**-10 + 2**-22. In float32 each
# product (and any FMA or pairwise order of the three terms) loses the 2**-23 first: 2 + 2**-10.
EXACT_DOT = 2.0 + 2.0**-10 + 2.0**-22
FLOAT32_DOT = 2.0 + 2.0**-10


def test_the_hand_worked_dot_product_really_needs_float64():
    x = np.array([A, A, TINY], dtype=np.float32)
    assert np.float32(np.dot(x.astype(np.float64), np.array([A, A, 1.0]))) == np.float32(EXACT_DOT)
    assert x @ np.array([A, A, 1.0], dtype=np.float32) == np.float32(FLOAT32_DOT)


def test_linear_and_its_vjp_accumulate_in_float64():
    x = np.array([[A, A, TINY]], dtype=np.float32)
    w = np.array([[A, A, 1.0]], dtype=np.float32)
    b = np.zeros(1, dtype=np.float32)
    assert reference.linear(x, w)[0, 0] == np.float32(EXACT_DOT)
    assert reference.linear(x, w, b)[0, 0] == np.float32(EXACT_DOT)
    # dX = dY @ W: dY (1, 3) against W (3, 1) holding the same numbers.
    dX, dW, db = reference.linear_vjp(np.zeros((1, 1), np.float32), w.T.copy(), x)
    assert dX[0, 0] == np.float32(EXACT_DOT)
    # dW = dY.T @ X and db = sum over the batch: a batch of three rows.
    X3 = np.array([[A], [A], [1.0]], dtype=np.float32)
    dY3 = np.array([[A], [A], [TINY]], dtype=np.float32)
    _, dW, db = reference.linear_vjp(X3, np.zeros((1, 1), np.float32), dY3)
    assert dW[0, 0] == np.float32(EXACT_DOT)
    # db: 1 + 2**-24 + 2**-24 is 1 in float32 left to right, 1 + 2**-23 exactly.
    dY_sum = np.array([[1.0], [2.0**-24], [2.0**-24]], dtype=np.float32)
    _, _, db = reference.linear_vjp(np.zeros((3, 1), np.float32), np.zeros((1, 1), np.float32), dY_sum)
    assert db[0] == np.float32(1.0 + 2.0**-23)


def test_corr2d_family_accumulates_in_float64():
    X = np.array([[A, A, TINY]], dtype=np.float32)
    K = np.array([[A, A, 1.0]], dtype=np.float32)
    assert reference.corr2d(X, K)[0, 0] == np.float32(EXACT_DOT)
    assert reference.corr2d_multi_in(X[None], K[None])[0, 0] == np.float32(EXACT_DOT)
    # 1x1: three channels of one pixel against one output channel.
    X3, K3 = X.reshape(3, 1, 1), K.reshape(1, 3, 1, 1)
    assert reference.corr2d_multi_in_out_1x1(X3, K3)[0, 0, 0] == np.float32(EXACT_DOT)


def test_conv2d_and_avg_pool_accumulate_in_float64():
    X = np.array([A, A, TINY], dtype=np.float32).reshape(1, 1, 1, 3)
    W = np.array([A, A, 1.0], dtype=np.float32).reshape(1, 1, 1, 3)
    assert reference.conv2d(X, W)[0, 0, 0, 0] == np.float32(EXACT_DOT)
    # Three channels: the channel sum of the same products.
    assert reference.conv2d(X.reshape(1, 3, 1, 1), W.reshape(1, 3, 1, 1))[0, 0, 0, 0] == np.float32(EXACT_DOT)
    # avg over 1 + 2**-24 + 2**-24 + 0: (1 + 2**-23) / 4 exactly.
    P = np.array([1.0, 2.0**-24, 2.0**-24, 0.0], dtype=np.float32).reshape(1, 1, 2, 2)
    assert reference.avg_pool2d(P, 2)[0, 0, 0, 0] == np.float32((1.0 + 2.0**-23) / 4)
    assert reference.pool2d(P[0, 0], 2, "avg")[0, 0] == np.float32((1.0 + 2.0**-23) / 4)


def test_sigmoid_vjp_from_float32_output_rounds_once():
    # y*(1 - y)*dY with dY = 1 is exact in float64 for a float32 y (48 bits): one rounding.
    y = np.linspace(0.01, 0.99, 997).astype(np.float32)
    y64 = y.astype(np.float64)
    expected = (y64 * (1.0 - y64)).astype(np.float32)
    np.testing.assert_array_equal(sigmoid_vjp_from_output(y, np.ones_like(y)), expected)


def test_avg_pool_vjp_and_sgd_keep_dtypes():
    X = np.zeros((1, 1, 2, 2), dtype=np.float32)
    dY = np.full((1, 1, 1, 1), 3.0, dtype=np.float32)
    np.testing.assert_array_equal(reference.avg_pool2d_vjp(X, dY, 2), np.full((1, 1, 2, 2), 0.75, np.float32))
    params = lenet.init_params(0, np.float32)
    grads = {name: np.ones(p.shape, dtype=np.float64) for name, p in params.items()}
    stepped = lenet.sgd_step(params, grads, 0.5)
    for name, p in stepped.items():
        assert p.dtype == F32
        np.testing.assert_array_equal(p, (params[name].astype(np.float64) - 0.5).astype(np.float32))


def test_conv2d_bias_gradient_accumulates_in_float64():
    # 1 + 2**-24 + 2**-48 rounds to 1 + 2**-23 (above the midpoint); in float32, in any order,
    # 2**-24 + 2**-48 ties back to 2**-24 and 1 + 2**-24 ties back to 1.
    dY = np.array([1.0, 2.0**-24, 2.0**-48], dtype=np.float32).reshape(1, 1, 1, 3)
    _, _, db = reference.conv2d_vjp(
        np.zeros((1, 1, 1, 3), np.float32), np.zeros((1, 1, 1, 1), np.float32), dY
    )
    assert db[0] == np.float32(1.0 + 2.0**-23)
    _, db = conv2d_weight_vjp(np.zeros((1, 1, 1, 3), np.float32), np.zeros((1, 1, 1, 1), np.float32), dY)
    assert db[0] == np.float32(1.0 + 2.0**-23)


def test_sigmoid_vjp_tails_are_exp_of_minus_abs_x():
    # s(x) s(-x) = e / (1 + e)**2 with e = exp(-|x|): about exp(-|x|) far out, 0 at +-inf.
    x = np.array([-1000.0, -40.0, 40.0, 1000.0, -np.inf, np.inf])
    e = np.exp(-40.0)
    expected = np.array([0.0, e / (1 + e) ** 2, e / (1 + e) ** 2, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(reference.sigmoid_vjp(x, np.ones_like(x)), expected, rtol=1e-15, atol=0)
