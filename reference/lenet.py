"""LeNet-5 as in the chapter, in NumPy: parameters, forward, backward, SGD, evaluation.

The chapter's network on 1x28x28 images: conv 6@5x5 pad 2, sigmoid, avg pool
2/2, conv 16@5x5, sigmoid, avg pool 2/2, flatten (C, H, W order), dense 120,
sigmoid, dense 84, sigmoid, dense 10. The ``"relu-max"`` variant uses ReLU and
max pooling instead. Parameters are a dict with the canonical names
``conv1.weight`` ... ``fc3.bias`` in the reference layouts (OIHW, (out, in)).
Arithmetic follows the reference ops: float64 accumulation, results in the
parameters' dtype.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from reference.activations import relu, relu_vjp, sigmoid, sigmoid_vjp_from_output
from reference.conv import conv2d, conv2d_vjp, conv2d_weight_vjp
from reference.dense import flatten, linear, linear_vjp
from reference.dtypes import round_to
from reference.loss import softmax_cross_entropy, softmax_cross_entropy_vjp
from reference.pool import avg_pool2d, avg_pool2d_vjp, max_pool2d, max_pool2d_vjp
from reference.validation import check_real_array

PARAM_SHAPES: dict[str, tuple[int, ...]] = {
    "conv1.weight": (6, 1, 5, 5),
    "conv1.bias": (6,),
    "conv2.weight": (16, 6, 5, 5),
    "conv2.bias": (16,),
    "fc1.weight": (120, 400),
    "fc1.bias": (120,),
    "fc2.weight": (84, 120),
    "fc2.bias": (84,),
    "fc3.weight": (10, 84),
    "fc3.bias": (10,),
}
CONV_PADDING = {"conv1": 2, "conv2": 0}
IMAGE_SHAPE = (1, 28, 28)  # one image: channels, height, width
CLASSES = 10
DTYPES = ("float32", "float64", "float16", "bfloat16")  # what a LeNet model computes in
Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class Variant:
    """Which activation and pooling the network uses."""

    activation: str  # "sigmoid" or "relu"
    pooling: str  # "avg" or "max"


VARIANTS = {"chapter": Variant("sigmoid", "avg"), "relu-max": Variant("relu", "max")}


def variant_of(name: str) -> Variant:
    """The :class:`Variant` called ``name`` ("chapter" or "relu-max")."""
    if name not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got variant={name!r}")
    return VARIANTS[name]


def init_params(seed: int | np.random.Generator = 0, dtype: Any = np.float32) -> Params:
    """Xavier-uniform weights (``U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))``), zero biases.

    Drawn in the order of :data:`PARAM_SHAPES` from ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    params: Params = {}
    for name, shape in PARAM_SHAPES.items():
        if name.endswith(".bias"):
            params[name] = np.zeros(shape, dtype=dtype)
            continue
        receptive = int(np.prod(shape[2:]))  # kh*kw for conv weights, 1 for dense
        fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        params[name] = round_to(rng.uniform(-bound, bound, size=shape), dtype)
    return params


def check_dtype(dtype: Any) -> str:
    """The name of a LeNet model's dtype; ``ValueError`` unless it is one of :data:`DTYPES`."""
    if not isinstance(dtype, str | np.dtype) or dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {list(DTYPES)}, got dtype={dtype!r}")
    return np.dtype(dtype).name


def check_params(params: Mapping[str, np.ndarray]) -> None:
    """Raise unless ``params`` has exactly the canonical names, each a real array of its canonical shape.

    ``TypeError`` for something that is not a mapping or a parameter that is not real, ``ValueError`` for a
    missing or unexpected name or a wrong shape; the message names the parameter.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping of parameter names to arrays, got {type(params).__name__}")
    missing = sorted(set(PARAM_SHAPES) - set(params))
    extra = sorted(map(str, set(params) - set(PARAM_SHAPES)))
    if missing or extra:
        raise ValueError(
            f"params must have exactly the names {list(PARAM_SHAPES)}: missing {missing}, unexpected {extra}"
        )
    for name, shape in PARAM_SHAPES.items():
        value = check_real_array(f"params[{name!r}]", params[name])
        if value.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {value.shape}")


def check_images(X: Any) -> np.ndarray:
    """``np.asarray(X)`` after checking it is a real (N, 1, 28, 28) batch with N >= 1."""
    X = check_real_array("X", X)
    if X.ndim != 4 or X.shape[1:] != IMAGE_SHAPE or X.shape[0] < 1:
        raise ValueError(f"X must have shape (N, 1, 28, 28) with N >= 1, got X.shape={X.shape}")
    return X


def check_labels(y: Any, n: int) -> np.ndarray:
    """``np.asarray(y)`` after checking it holds ``n`` integer class indices in [0, 10)."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class indices, got y of dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), one label per image of X, got y.shape={y.shape}")
    bad = (y < 0) | (y >= CLASSES)
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(f"y must lie in [0, {CLASSES}), got y[{index}]={y[index]}")
    return y


def check_lr(lr: Any) -> float:
    """``float(lr)`` after checking it is a finite positive real number."""
    if isinstance(lr, bool | np.bool_) or not isinstance(lr, Real):
        raise TypeError(f"lr must be a real number, got lr={lr!r} of type {type(lr).__name__}")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be finite and positive, got lr={lr!r}")
    return float(lr)


def _activation(variant: Variant):
    """The activation and its VJP from the activation's *output* (as autograd saves it).

    ``relu_vjp`` takes the output as well as the input: ``relu(x) > 0`` exactly when ``x > 0``.
    """
    return (sigmoid, sigmoid_vjp_from_output) if variant.activation == "sigmoid" else (relu, relu_vjp)


def _pool(variant: Variant):
    return (avg_pool2d, avg_pool2d_vjp) if variant.pooling == "avg" else (max_pool2d, max_pool2d_vjp)


def forward(params: Params, X: np.ndarray, variant: str = "chapter") -> tuple[np.ndarray, dict]:
    """Logits (N, 10) of images X (N, 1, 28, 28), and the tape :func:`backward` needs.

    The tape holds each layer's input (``"conv1.in"`` ...) and each activation's output (``"conv1.a"`` ...).
    """
    act, _ = _activation(variant_of(variant))
    pool, _ = _pool(variant_of(variant))
    tape: dict[str, np.ndarray] = {}
    h = X
    for layer in ("conv1", "conv2"):
        tape[f"{layer}.in"] = h
        z = conv2d(h, params[f"{layer}.weight"], params[f"{layer}.bias"], padding=CONV_PADDING[layer])
        tape[f"{layer}.a"] = a = act(z)
        h = pool(a, 2, stride=2)
    tape["flat.shape"] = np.array(h.shape)
    h = flatten(h)
    for layer in ("fc1", "fc2", "fc3"):
        tape[f"{layer}.in"] = h
        h = linear(h, params[f"{layer}.weight"], params[f"{layer}.bias"])
        if layer != "fc3":
            tape[f"{layer}.a"] = h = act(h)
    return h, tape


def backward(params: Params, tape: dict, dlogits: np.ndarray, variant: str = "chapter") -> Params:
    """Gradients of every parameter, given the gradient of the loss wrt the logits."""
    _, act_vjp = _activation(variant_of(variant))
    _, pool_vjp = _pool(variant_of(variant))
    grads: Params = {}
    d = dlogits
    for layer in ("fc3", "fc2", "fc1"):
        if layer != "fc3":
            d = act_vjp(tape[f"{layer}.a"], d)
        d, grads[f"{layer}.weight"], grads[f"{layer}.bias"] = linear_vjp(
            tape[f"{layer}.in"], params[f"{layer}.weight"], d
        )
    d = d.reshape(tuple(tape["flat.shape"]))
    for layer in ("conv2", "conv1"):
        d = pool_vjp(tape[f"{layer}.a"], d, 2, stride=2)
        d = act_vjp(tape[f"{layer}.a"], d)
        vjp = conv2d_weight_vjp if layer == "conv1" else conv2d_vjp  # the images need no gradient
        *d, grads[f"{layer}.weight"], grads[f"{layer}.bias"] = vjp(
            tape[f"{layer}.in"], params[f"{layer}.weight"], d, padding=CONV_PADDING[layer]
        )
        d = d[0] if d else None
    return {name: grads[name] for name in PARAM_SHAPES}


def _loss_logits_grads(params: Params, X: np.ndarray, y: np.ndarray, variant: str):
    logits, tape = forward(params, X, variant)
    loss = float(softmax_cross_entropy(logits, y))
    return loss, logits, backward(params, tape, softmax_cross_entropy_vjp(logits, y), variant)


def loss_and_grads(
    params: Params, X: np.ndarray, y: np.ndarray, variant: str = "chapter"
) -> tuple[float, Params]:
    """Mean softmax cross-entropy on (X, y) and its gradient for every parameter."""
    loss, _, grads = _loss_logits_grads(params, X, y, variant)
    return loss, grads


def sgd_step(params: Params, grads: Params, lr: float) -> Params:
    """Plain SGD: ``p - lr * g`` for every parameter (new arrays, same dtype)."""
    return {name: (p - lr * grads[name]).astype(p.dtype) for name, p in params.items()}


def train_step(
    params: Params, X: np.ndarray, y: np.ndarray, lr: float, variant: str = "chapter"
) -> tuple[Params, float, int]:
    """One SGD step on a batch: new parameters, the batch loss, the number of correct predictions."""
    loss, logits, grads = _loss_logits_grads(params, X, y, variant)
    return sgd_step(params, grads, lr), loss, int(np.sum(np.argmax(logits, axis=1) == y))


def layer_summary(variant: str = "chapter", batch: int = 1) -> list[tuple[str, tuple[int, ...]]]:
    """Each layer's output shape for a (batch, 1, 28, 28) input, as the chapter prints it.

    >>> for name, shape in layer_summary()[:2]: print(f"{name} output shape: {shape}")
    Conv2d output shape: (1, 6, 28, 28)
    Sigmoid output shape: (1, 6, 28, 28)
    """
    spec = variant_of(variant)
    act_name = "Sigmoid" if spec.activation == "sigmoid" else "ReLU"
    pool_name = "AvgPool2d" if spec.pooling == "avg" else "MaxPool2d"
    params = init_params(0, np.float64)
    logits, tape = forward(params, np.zeros((batch, 1, 28, 28)), variant)
    # Each pool's output is what the next layer read: conv2's input, then the unflattened fc1 input.
    pooled = {"conv1": tape["conv2.in"].shape, "conv2": tuple(int(n) for n in tape["flat.shape"])}
    rows: list[tuple[str, tuple[int, ...]]] = []
    for layer in ("conv1", "conv2"):
        shape = tape[f"{layer}.a"].shape
        rows += [("Conv2d", shape), (act_name, shape), (pool_name, pooled[layer])]
    rows.append(("Flatten", tape["fc1.in"].shape))
    for layer, following in (("fc1", "fc2"), ("fc2", "fc3")):
        rows += [("Linear", tape[f"{layer}.a"].shape), (act_name, tape[f"{following}.in"].shape)]
    rows.append(("Linear", logits.shape))
    return rows


def save_params(path: str | PathLike, params: Mapping[str, np.ndarray]) -> None:
    """Write the parameters to an ``.npz`` file under their canonical names."""
    check_params(params)
    np.savez(Path(path), **{name: np.asarray(params[name]) for name in PARAM_SHAPES})


def load_params(path: str | PathLike) -> Params:
    """Read parameters written by :func:`save_params` (bit for bit)."""
    with np.load(Path(path)) as data:
        params = {name: data[name] for name in data.files}
    check_params(params)
    return params
