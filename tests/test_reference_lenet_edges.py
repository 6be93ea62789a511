"""LeNet with hand-built parameters whose logits follow from the definitions by hand.

Every weight is zero except one path: conv1's centre tap (so conv1 copies the
image, padding 2 keeps 28x28), conv2's tap (0, 0) from channel 0, and entry
(0, 0) of fc1, fc2 and fc3. Logit 0 is then the activation chain applied to the
pooled top-left 4x4 corner of the image; every other logit is its bias.
"""

from __future__ import annotations

import numpy as np
import pytest

from reference import lenet


def one_path_params(fc3_bias: np.ndarray | None = None) -> lenet.Params:
    params = {name: np.zeros(shape) for name, shape in lenet.PARAM_SHAPES.items()}
    params["conv1.weight"][0, 0, 2, 2] = 1.0
    params["conv2.weight"][0, 0, 0, 0] = 1.0
    for layer in ("fc1", "fc2", "fc3"):
        params[f"{layer}.weight"][0, 0] = 1.0
    if fc3_bias is not None:
        params["fc3.bias"] = fc3_bias
    return params


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def corner_images(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(-2.0, 2.0, size=(n, 1, 28, 28))


def test_chapter_logits_follow_sigmoid_and_average_pooling():
    X = corner_images(np.random.default_rng(0), 3)
    logits, tape = lenet.forward(one_path_params(), X)  # the default variant is the chapter's
    corner = sig(X[:, 0, :4, :4])  # conv1 copies the image; sigmoid
    pooled = sig(corner.reshape(-1, 2, 2, 2, 2).mean(axis=(2, 4)))  # avg pool 2/2, conv2 tap (0, 0), sigmoid
    expected = sig(sig(pooled.mean(axis=(1, 2))))  # avg pool, fc1 + sigmoid, fc2 + sigmoid, fc3
    np.testing.assert_allclose(logits[:, 0], expected, rtol=1e-14)
    np.testing.assert_array_equal(logits[:, 1:], 0.0)
    assert tape["conv1.in"] is X


def test_relu_max_logits_follow_relu_and_max_pooling():
    X = corner_images(np.random.default_rng(1), 3)
    logits, _ = lenet.forward(one_path_params(), X, "relu-max")
    expected = np.maximum(X[:, 0, :4, :4].max(axis=(1, 2)), 0.0)  # ReLU and max commute: max of the corner
    np.testing.assert_array_equal(logits[:, 0], expected)
    np.testing.assert_array_equal(logits[:, 1:], 0.0)


def test_train_step_counts_correct_predictions_per_row():
    # Constant images +1 and -1: logit 0 is s(s(s(s(c)))) (chapter), above logit 1 = that at c = 0
    # exactly when c > 0. So row 0 predicts class 0 and row 1 class 1.
    bias = np.zeros(10)
    bias[1] = sig(sig(sig(sig(0.0))))
    X = np.stack([np.full((1, 28, 28), 1.0), np.full((1, 28, 28), -1.0)])
    params = one_path_params(bias)
    _, _, correct = lenet.train_step(params, X, np.array([0, 1]), 0.0)
    assert correct == 2
    _, _, correct = lenet.train_step(params, X, np.array([1, 1]), 0.0)
    assert correct == 1


def test_layer_summary_is_the_chapters_table():
    chapter = [
        ("Conv2d", (1, 6, 28, 28)), ("Sigmoid", (1, 6, 28, 28)), ("AvgPool2d", (1, 6, 14, 14)),
        ("Conv2d", (1, 16, 10, 10)), ("Sigmoid", (1, 16, 10, 10)), ("AvgPool2d", (1, 16, 5, 5)),
        ("Flatten", (1, 400)), ("Linear", (1, 120)), ("Sigmoid", (1, 120)), ("Linear", (1, 84)),
        ("Sigmoid", (1, 84)), ("Linear", (1, 10)),
    ]  # fmt: skip
    rows = lenet.layer_summary()
    assert rows == chapter
    assert all(type(size) is int for _, shape in rows for size in shape)
    relu = lenet.layer_summary("relu-max", batch=3)
    assert [name for name, _ in relu][:3] == ["Conv2d", "ReLU", "MaxPool2d"]
    assert relu[2][1] == (3, 6, 14, 14)


def test_init_params_default_seed_and_dtype_follow_the_documented_draw():
    params = lenet.init_params()
    rng = np.random.default_rng(0)
    a = np.sqrt(6.0 / (1 * 25 + 6 * 25))  # conv1: fan_in 1*5*5, fan_out 6*5*5
    np.testing.assert_array_equal(params["conv1.weight"], rng.uniform(-a, a, (6, 1, 5, 5)).astype(np.float32))
    assert all(p.dtype == np.float32 for p in params.values())


def test_check_params_names_unexpected_entries():
    params = lenet.init_params(0)
    params["fc4.weight"] = np.zeros((1, 1))
    with pytest.raises(ValueError, match=r"unexpected \['fc4.weight'\]"):
        lenet.check_params(params)


def test_backward_default_variant_is_the_chapters():
    # The bias gradient of the last layer is the batch sum of dlogits, whatever the variant.
    X = corner_images(np.random.default_rng(2), 2)
    params = one_path_params()
    _, tape = lenet.forward(params, X)
    dlogits = np.arange(20.0).reshape(2, 10)
    grads = lenet.backward(params, tape, dlogits)
    np.testing.assert_array_equal(grads["fc3.bias"], dlogits.sum(axis=0))


@pytest.mark.parametrize("dtype", ["float32", "float64", np.dtype("float32")])
def test_check_dtype_returns_the_dtype_name(dtype):
    assert lenet.check_dtype(dtype) == np.dtype(dtype).name


def test_check_images_accepts_a_single_image_and_names_x_when_it_refuses():
    one = np.zeros((1, 1, 28, 28))
    assert lenet.check_images(one).shape == (1, 1, 28, 28)
    with pytest.raises(TypeError, match=r"^X must hold real numbers"):
        lenet.check_images(np.zeros((1, 1, 28, 28), complex))


@pytest.mark.parametrize("lr", [1e-3, 0.5, 1.0, 7])
def test_check_lr_accepts_any_finite_positive_rate_and_returns_it(lr):
    checked = lenet.check_lr(lr)
    assert type(checked) is float and checked == lr
