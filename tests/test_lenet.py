"""The reference LeNet: the chapter's layer shapes, Xavier init, gradients by finite
differences, SGD, parameter files; and the weight-only conv VJP it uses."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from reference import lenet
from reference.conv import conv2d_weight_vjp
from tests import naive

# The chapter (lenet.md) prints, for a 1x1x28x28 input:
CHAPTER_SHAPES = [
    ("Conv2d", (1, 6, 28, 28)), ("Sigmoid", (1, 6, 28, 28)), ("AvgPool2d", (1, 6, 14, 14)),
    ("Conv2d", (1, 16, 10, 10)), ("Sigmoid", (1, 16, 10, 10)), ("AvgPool2d", (1, 16, 5, 5)),
    ("Flatten", (1, 400)), ("Linear", (1, 120)), ("Sigmoid", (1, 120)), ("Linear", (1, 84)),
    ("Sigmoid", (1, 84)), ("Linear", (1, 10)),
]  # fmt: skip


SHORT_FLOAT64_GAP = 1e-15
"""Above 2 * 4 u64 (8.9e-16): two float64 evaluations of at most 4 roundings each (sigmoid's
exp, add and divide; an average of 4: 3 adds and a divide) differ by at most this times the
magnitude of the value (for the average, its largest input)."""
FD_STEP = 1e-6
FD_TOLERANCE = 1e-6
"""Central differences with step h err by about h**2 * |third derivative| / 6 + u64 |loss| / h,
near 1e-10 for this loss (about 2.3); the tolerance, relative to max(1, |gradient|), leaves
room for the third derivative, and a wrong gradient is off by far more."""

RELU_MAX_NAMES = {"Sigmoid": "ReLU", "AvgPool2d": "MaxPool2d"}
ORACLE_LAYERS = {  # variant: (activation name, naive activation, pooling name, naive pooling)
    "chapter": ("Sigmoid", naive.sigmoid, "AvgPool2d", naive.avg_pool2d),
    "relu-max": ("ReLU", lambda z: np.maximum(z, 0.0), "MaxPool2d", naive.max_pool2d),
}


def test_layer_summary_matches_the_chapter() -> None:
    assert lenet.layer_summary("chapter") == CHAPTER_SHAPES
    relu_max = [(RELU_MAX_NAMES.get(name, name), shape) for name, shape in CHAPTER_SHAPES]
    assert lenet.layer_summary("relu-max") == relu_max


def _assert_layer(name: str, actual: np.ndarray, expected: np.ndarray, bound: np.ndarray) -> None:
    assert actual.shape == expected.shape, (name, actual.shape, expected.shape)
    error = np.abs(actual - expected)
    assert (error <= bound + SHORT_FLOAT64_GAP * np.abs(expected)).all(), (name, float(error.max()))


def _dot_bound(W: np.ndarray, b: np.ndarray, x: np.ndarray, ndim: int) -> np.ndarray:
    """Per output channel, 1e-12 times an upper bound of its sum of |terms|,
    ``sum |W[o]| * max|x| + |b[o]|``: the reference and the naive loop each sum at
    most 401 float64 products, in different orders, so each lies within 401 u64 < 1e-13
    times that sum of the exact value. Shaped to broadcast over an ``ndim`` output."""
    per_channel = np.abs(W).reshape(len(W), -1).sum(axis=1) * np.abs(x).max() + np.abs(b)
    return 1e-12 * per_channel.reshape(-1, *([1] * (ndim - 2)))


@pytest.mark.parametrize("variant", ["chapter", "relu-max"])
def test_forward_layer_by_layer_against_the_naive_oracle(variant: str) -> None:
    """The naive loops run each layer on the reference's own input to that layer (its
    tape): every output's value, and every shape, row by row, that layer_summary prints
    and the chapter's table lists, comes from the oracle, not from the reference."""
    act_name, act, pool_name, pool = ORACLE_LAYERS[variant]
    params = lenet.init_params(0, np.float64)
    logits, tape = lenet.forward(params, np.random.default_rng(8).random((1, 1, 28, 28)), variant)
    rows = []
    pooled = {"conv1": tape["conv2.in"], "conv2": tape["fc1.in"].reshape(tuple(tape["flat.shape"]))}
    for layer in ("conv1", "conv2"):
        W, b, x = params[f"{layer}.weight"], params[f"{layer}.bias"], tape[f"{layer}.in"]
        z = naive.conv2d(x, W, b, padding=lenet.CONV_PADDING[layer])
        _assert_layer(f"{layer} {act_name}", tape[f"{layer}.a"], act(z), _dot_bound(W, b, x, 4))
        p = pool(tape[f"{layer}.a"], 2, stride=2)
        pool_bound = SHORT_FLOAT64_GAP * np.abs(tape[f"{layer}.a"]).max()
        _assert_layer(f"{layer} {pool_name}", pooled[layer], p, pool_bound)
        rows += [("Conv2d", z.shape), (act_name, z.shape), (pool_name, p.shape)]
    flat = p.reshape(len(p), -1)  # C, H, W order: NCHW row-major
    np.testing.assert_array_equal(tape["fc1.in"], flat)
    rows.append(("Flatten", flat.shape))
    for layer, following in (("fc1", "fc2"), ("fc2", "fc3"), ("fc3", None)):
        W, b, x = params[f"{layer}.weight"], params[f"{layer}.bias"], tape[f"{layer}.in"]
        z = naive.linear(x, W, b)
        rows.append(("Linear", z.shape))
        if following is None:
            _assert_layer("logits", logits, z, _dot_bound(W, b, x, 2))
            break
        _assert_layer(f"{layer} {act_name}", tape[f"{following}.in"], act(z), _dot_bound(W, b, x, 2))
        rows.append((act_name, z.shape))
    assert lenet.layer_summary(variant) == rows
    assert rows == [(RELU_MAX_NAMES.get(n, n) if variant == "relu-max" else n, s) for n, s in CHAPTER_SHAPES]


def test_xavier_uniform_init() -> None:
    params = lenet.init_params(0, np.float64)
    for name, shape in lenet.PARAM_SHAPES.items():
        assert params[name].shape == shape
        if name.endswith(".bias"):
            assert not params[name].any()
            continue
        receptive = int(np.prod(shape[2:]))
        bound = np.sqrt(6 / ((shape[0] + shape[1]) * receptive))
        assert np.abs(params[name]).max() <= bound
        # U(-a, a) has variance a^2/3; with >= 150 draws the sample is within 30%.
        assert abs(params[name].var() / (bound**2 / 3) - 1) < 0.3, name
    assert all(np.array_equal(params[k], lenet.init_params(0, np.float64)[k]) for k in params)


@pytest.mark.parametrize("variant", ["chapter", "relu-max"])
def test_gradients_match_finite_differences(variant: str) -> None:
    rng = np.random.default_rng(4)
    params = lenet.init_params(1, np.float64)
    X = rng.random((3, 1, 28, 28))
    y = np.array([0, 3, 9])
    _, grads = lenet.loss_and_grads(params, X, y, variant)
    for name in lenet.PARAM_SHAPES:
        direction = rng.standard_normal(params[name].shape)
        plus = {**params, name: params[name] + FD_STEP * direction}
        minus = {**params, name: params[name] - FD_STEP * direction}
        numeric = lenet.loss_and_grads(plus, X, y, variant)[0] - lenet.loss_and_grads(minus, X, y, variant)[0]
        numeric /= 2 * FD_STEP
        analytic = float(np.sum(grads[name] * direction))
        assert abs(numeric - analytic) <= FD_TOLERANCE * max(1.0, abs(analytic)), (name, numeric, analytic)


def test_train_step_is_sgd_on_the_loss_gradient() -> None:
    params = lenet.init_params(2, np.float64)
    X, y = np.random.default_rng(5).random((4, 1, 28, 28)), np.array([1, 2, 3, 4])
    loss, grads = lenet.loss_and_grads(params, X, y)
    new, step_loss, correct = lenet.train_step(params, X, y, 0.5)
    assert step_loss == loss and 0 <= correct <= 4
    for name in params:
        np.testing.assert_array_equal(new[name], params[name] - 0.5 * grads[name])
    assert lenet.loss_and_grads(new, X, y)[0] < loss  # a small step downhill


def test_weight_gradients_of_conv2d_vjp_and_conv2d_weight_vjp_against_naive_sampling() -> None:
    rng = np.random.default_rng(6)
    X, W = rng.standard_normal((2, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3))
    dY = rng.standard_normal((2, 4, 5, 5))
    kwargs = {"stride": 2, "padding": 1}
    # Independently: dW[o, c, p, q] = sum_{n,i,j} dY[n, o, i, j] * x_pad[n, c, 2i + p, 2j + q].
    # The naive conv with a one-tap kernel (a 1 at (c, p, q)) samples exactly those x_pad
    # values; db[o] sums dY[:, o]. Both float64, 50 products: 1e-12 * sum |terms| bounds them.
    dW_expected, dW_terms = np.zeros_like(W), np.zeros_like(W)
    for c, p, q in np.ndindex(W.shape[1:]):
        tap = np.zeros((1, *W.shape[1:]))
        tap[0, c, p, q] = 1.0
        sampled = naive.conv2d(X, tap, **kwargs)  # (2, 1, 5, 5)
        dW_expected[:, c, p, q] = np.einsum("nij,noij->o", sampled[:, 0], dY)
        dW_terms[:, c, p, q] = np.einsum("nij,noij->o", np.abs(sampled[:, 0]), np.abs(dY))
    db_expected = dY.sum(axis=(0, 2, 3))
    _, dW, db = reference.conv2d_vjp(X, W, dY, **kwargs)
    dW_only, db_only = conv2d_weight_vjp(X, W, dY, **kwargs)
    for dW_actual, db_actual in ((dW, db), (dW_only, db_only)):
        assert (np.abs(dW_actual - dW_expected) <= 1e-12 * dW_terms).all()
        assert (np.abs(db_actual - db_expected) <= 1e-12 * np.abs(dY).sum(axis=(0, 2, 3))).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_params_round_trip_through_npz_bit_for_bit(tmp_path, dtype) -> None:
    params = lenet.init_params(3, dtype)
    lenet.save_params(tmp_path / "p.npz", params)
    loaded = lenet.load_params(tmp_path / "p.npz")
    for name in lenet.PARAM_SHAPES:
        assert loaded[name].dtype == dtype
        assert loaded[name].tobytes() == params[name].tobytes()


def test_bad_parameters_are_named() -> None:
    params = lenet.init_params(0)
    with pytest.raises(ValueError, match=r"missing \['fc3.bias'\]"):
        lenet.check_params({k: v for k, v in params.items() if k != "fc3.bias"})
    with pytest.raises(ValueError, match=r"fc1.weight must have shape \(120, 400\), got \(400, 120\)"):
        lenet.check_params({**params, "fc1.weight": params["fc1.weight"].T})
    with pytest.raises(ValueError, match="variant must be one of"):
        lenet.variant_of("alexnet")
