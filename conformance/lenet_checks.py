"""LeNet checks against the reference network, with bounds propagated layer by layer.

Each ``check_*`` function runs a backend's LeNet (``backend.lenet(variant, dtype)``),
compares it with the float64 reference through :func:`conformance.compare.check_output`
(so a NaN or infinity fails unless the reference has it at the same place) and
returns the worst error/bound ratio, or raises :class:`ConformanceError` naming
the tensor and its first bad element. They need no pytest.

How the bounds are derived (elementwise, from float64 reference values of the
same dtype-rounded parameters and images). ``E(t)`` bounds ``|t_backend - t_ref|``.

Each op's own rounding is the per-op bound of :func:`conformance.specs.bounds`
evaluated on the reference's float64 operands of that op (so LeNet follows the
op policy). Errors of independent roundings are combined in quadrature
(``sqrt`` of the sum of squares), the model of the op policy's own sqrt(n)
bound (Higham & Mary 2019): the error a layer receives is a sum of many
rounding errors of both signs, and the worst-case sum ``|W| E`` over a
network is about 10**5 times the error of a float32 computation (measured:
0.025 at logits below 1.5, where float32 arithmetic is off by 2.5e-7).
The assumption made is that the errors of a layer's different inputs are not
aligned with the signs of its weights; the simulated float32 network of
``tests/test_lenet_bounds.py`` stays at ratios of about 0.01 (logits) to 0.05
(gradients).

Forward (Lipschitz constants of each layer applied to its input's error):

- conv and dense ``z = h * W + b``: ``E(z) = q(own, sqrt(E(h)^2 * W^2))`` with
  ``q`` the quadrature sum (the reference's conv2d / linear on squares);
- sigmoid: ``q(own, max sigma' * E(z))``, ``sigma'`` maximised over
  ``[z - E(z), z + E(z)]`` (at most 1/4);
- ReLU: ``E(z)`` (exact op, Lipschitz 1);
- average pooling: ``q(own, sqrt(sum of the window's E^2) / 4)``;
  max pooling: the largest error in the window (exact op, Lipschitz 1 in max norm).

Backward (gradients, training). Gradient errors travel in two parts: rounding
(quadrature, as above) and flips (added in the worst case). For each product
of a propagated gradient ``d`` with a forward value or weight ``b``:
``|d_hat b_hat - d b| <= E(d) (|b| + E(b)) + |d| E(b)``, so

- dense and conv VJPs: ``E(dh) = q(own, sqrt(E(d)^2 W^2))``,
  ``E(dW) = q(own, sqrt(E(d)^2^T (h^2 + E(h)^2) + d^2^T E(h)^2))``,
  ``E(db) = q(own, sqrt(sum E(d)^2))``; a flip part ``w`` goes through
  ``|W|`` and ``|h| + E(h)`` linearly;
- sigmoid VJP ``d s (1 - s)``: ``q(own, E(d) g, (|d| + E(d)) E(g))``,
  ``g = s (1 - s)``, ``E(g) = |1 - 2s| E(s) + E(s)^2``;
- ReLU VJP: where ``|z| <= E(z)`` the backend's pre-activation may have the
  other sign, so the gradient may pass or not: a flip of ``|d| + E(d)``;
  elsewhere ``E(d)`` where ``z > 0`` and 0 where ``z < 0`` (or ``z`` is a sum of
  exact zeros: ``z = 0`` with ``E(z)`` at the flush-to-zero level);
- max-pool VJP (2x2, stride 2: LeNet's disjoint windows): an element can be
  the backend's maximum when ``a_i + E(a_i) >= max_j (a_j - E(a_j))``. With one
  such element the gradient goes where the reference sends it (``E(d)``); with
  several, each may receive it: a flip of ``|d| + E(d)`` on each (the gradient
  leaves one place and arrives at another: the two are not independent, hence
  the worst-case channel);
- average-pool VJP: ``q(own, E(d) / 4)``;
- loss: ``q(own, sqrt(sum_n (sum_j |p_nj - y_nj| E(z_nj) / N)^2))``; its
  gradient ``(p - onehot) / N``: ``q(own, p_i (E(z_i) + sum_j p_j E(z_j)) / N)``
  (first order: ``dp_i = p_i (dz_i - p . dz)``). The quadrature assumes the rows'
  own errors are not all of one sign: a loss gradient with a systematic error
  (MXNet's through log_softmax's backward, off by up to 64 u) used 0.98 of this
  bound, and its op check fails it.

A training step (plain SGD, ``p - lr g``) from a float64 state cast to the dtype:
``lr E(g)`` plus the update's rounding, ``2 u (|p_new| + lr (|g| + E(g)))``
(``lr`` and ``lr * g`` rounded, the subtraction rounded).

Every comparison also allows ``u |expected| + tiny``: the reference's float64
value is rounded to the backend's dtype to be compared, and results below the
smallest normal number may be flushed to zero.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backends import UnsupportedError, folder_module
from conformance.compare import ConformanceError, check_output
from conformance.specs import bounds
from conformance.tolerance import EXACT, summing, tiny, unit_roundoff
from reference import lenet
from reference.activations import relu, sigmoid
from reference.conv import conv2d, conv2d_vjp, conv2d_weight_vjp
from reference.dense import flatten, linear, linear_vjp
from reference.dtypes import round_to
from reference.loss import softmax_cross_entropy, softmax_cross_entropy_vjp
from reference.pool import avg_pool2d, avg_pool2d_vjp, max_pool2d, max_pool2d_vjp
from training.fashion_mnist import load_fashion_mnist, minibatches

__all__ = [
    "BATCH",
    "CHECKED_STEPS",
    "EXPORT_STEPS",
    "LAYERS",
    "LENET_OPS",
    "TRAJECTORY_LR",
    "TRAJECTORY_STEPS",
    "ExportedLeNet",
    "StepBounds",
    "all_finite",
    "allowance",
    "check_exported",
    "check_gradients",
    "check_logits",
    "check_params_round_trip",
    "check_train_step",
    "export_trained_lenet",
    "first_batches",
    "first_test_images",
    "forward_bounds",
    "free_trajectory",
    "gradient_bounds",
    "parameter_deviation",
    "reference_trajectory",
    "train_step_bounds",
]

BATCH = 64
TRAJECTORY_BATCH = 128
TRAJECTORY_STEPS = 50
# One SGD step is checked from the reference trajectory's state before each of these steps.
CHECKED_STEPS = tuple(range(0, TRAJECTORY_STEPS, 5))
# The chapter's learning rate; relu-max at the rate its trajectory was first measured with.
TRAJECTORY_LR = {"chapter": 0.9, "relu-max": 0.1}
POOL = {"kernel_size": 2, "stride": 2}
LAYERS = ("conv1", "conv2", "fc1", "fc2", "fc3")
# The op names of the LeNet checks in the results file (and in known gaps).
LENET_OPS = (
    "lenet_logits", "lenet_grads", "lenet_train_step", "lenet_npz", "lenet_trajectory",
    "lenet_arguments", "lenet_isolation", "lenet_export", "lenet_data_parallel", "lenet_hvp",
)  # fmt: skip
# SGD steps (first training batches of TRAJECTORY_BATCH) before a LeNet is exported to ONNX.
EXPORT_STEPS = 50

Arrays = dict[str, np.ndarray]
# A backend's accumulation_dtype(function, dtype): the dtype its layers sum in.
Accumulation = Callable[[str, np.dtype], np.dtype] | None


# -- data -------------------------------------------------------------------
@functools.cache
def _training_data() -> tuple[np.ndarray, np.ndarray]:
    return load_fashion_mnist("train")


def first_batches(count: int, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first ``count`` Fashion-MNIST training batches of epoch 0 (seed 0)."""
    batches = minibatches(*_training_data(), batch_size, seed=0, epoch=0)
    return [next(batches) for _ in range(count)]


@functools.cache
def _test_data() -> tuple[np.ndarray, np.ndarray]:
    return load_fashion_mnist("test")


def first_test_images(count: int) -> np.ndarray:
    """The first ``count`` Fashion-MNIST test images, in file order, as ``minibatches`` gives them."""
    return next(minibatches(*_test_data(), count, shuffle=False))[0]


def _float64(params: Arrays) -> Arrays:
    return {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}


# -- bound propagation ------------------------------------------------------
def _own(
    op: str, arrays: list, kwargs: dict[str, Any], dtype: str, accumulation: Accumulation = None
) -> list:
    """The op's own rounding bounds, 0 for the exact ones; sums in ``accumulation(op, dtype)``
    (a backend's ``accumulation_dtype``; None: in ``dtype``)."""
    with summing(accumulation(op, np.dtype(dtype)) if accumulation else dtype):
        own = bounds(op, arrays, kwargs, dtype)
    return [np.asarray(bound) if isinstance(bound, np.ndarray | np.generic | float) else 0.0 for bound in own]


def _q(*terms: Any) -> np.ndarray:
    """Independent error bounds combined in quadrature: ``sqrt(sum of squares)``."""
    return np.sqrt(sum(np.square(term) for term in terms))


def _sigmoid_slope(z: np.ndarray, ez: np.ndarray) -> np.ndarray:
    """max of sigmoid' over [z - ez, z + ez]: sigmoid'(t) = w / (1 + w)**2, w = exp(-t), at t = dist to 0."""
    w = np.exp(-np.maximum(np.abs(z) - ez, 0.0))
    return w / (1.0 + w) ** 2


def _windows(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H/2, W/2, 4): each 2x2 window's elements in row-major order."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)


def _unwindows(x: np.ndarray) -> np.ndarray:
    n, c, h2, w2, _ = x.shape
    return x.reshape(n, c, h2, w2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, 2 * h2, 2 * w2)


def forward_bounds(
    params: Arrays, X: np.ndarray, variant: str, dtype: str, accumulation: Accumulation = None
) -> tuple[Arrays, Arrays]:
    """Float64 values and error bounds of every intermediate of the network, for a ``dtype`` backend
    whose layers sum in ``accumulation(op, dtype)`` (None: in ``dtype``).

    ``params`` and ``X`` are the dtype-rounded values in float64. Keys: ``X``,
    ``<layer>.in`` (the layer's input), ``<layer>.z`` (its affine output),
    ``<layer>.a`` (after the activation), ``<conv>.pool``; ``fc3.z`` is the logits.
    """
    spec = lenet.variant_of(variant)
    values: Arrays = {"X": X}
    errors: Arrays = {"X": np.zeros_like(X)}
    h, eh = X, errors["X"]
    for layer in LAYERS:
        W, b = params[f"{layer}.weight"], params[f"{layer}.bias"]
        values[f"{layer}.in"], errors[f"{layer}.in"] = h, eh
        if layer.startswith("conv"):
            kw = {"padding": lenet.CONV_PADDING[layer]}
            z = conv2d(h, W, b, **kw)
            ez = _q(_own("conv2d", [h, W, b], kw, dtype, accumulation)[0], np.sqrt(conv2d(eh**2, W**2, **kw)))
        else:
            z = linear(h, W, b)
            ez = _q(_own("linear", [h, W, b], {}, dtype, accumulation)[0], np.sqrt(linear(eh**2, W**2)))
        values[f"{layer}.z"], errors[f"{layer}.z"] = z, ez
        if layer == "fc3":
            break
        if spec.activation == "sigmoid":
            h = sigmoid(z)
            eh = _q(_own("sigmoid", [z], {}, dtype)[0], _sigmoid_slope(z, ez) * ez)
        else:
            h, eh = relu(z), ez
        values[f"{layer}.a"], errors[f"{layer}.a"] = h, eh
        if layer.startswith("conv"):
            if spec.pooling == "avg":
                own = _own("avg_pool2d", [h], POOL, dtype, accumulation)[0]
                eh = _q(own, np.sqrt(avg_pool2d(eh**2, **POOL) / 4))
                h = avg_pool2d(h, **POOL)
            else:
                h, eh = max_pool2d(h, **POOL), max_pool2d(eh, **POOL)
            values[f"{layer}.pool"], errors[f"{layer}.pool"] = h, eh
            if layer == "conv2":
                h, eh = flatten(h), flatten(eh)
    return values, errors


def _weight_error(layer: str, h, eh, W, d, r, w) -> tuple[np.ndarray, np.ndarray]:
    """(rounding, flip) errors of the weight gradient ``d^T h`` of a dense or conv layer.

    Rounding, in quadrature: ``sqrt(r^2^T (h^2 + E(h)^2) + d^2^T E(h)^2)`` (the layer's
    weight VJP on squares); flips, worst case: ``w^T (|h| + E(h))``.
    """
    if layer.startswith("fc"):

        def vjp(x, g):
            return g.T @ x

    else:

        def vjp(x, g):
            return conv2d_weight_vjp(x, W, g, padding=lenet.CONV_PADDING[layer])[0]

    rounding = vjp(h**2 + eh**2, r**2)
    if eh.any():
        rounding += vjp(eh**2, d**2)
    flips = vjp(np.abs(h) + eh, w) if w.any() else np.zeros_like(W)
    return np.sqrt(rounding), flips


def _activation_vjp(spec, z, ez, a, ea, d, r, w, dtype):
    """The activation's VJP and its (rounding, flip) errors."""
    if spec.activation == "sigmoid":
        g = a * (1.0 - a)
        eg = np.abs(1.0 - 2.0 * a) * ea + ea**2
        own = _own("sigmoid_vjp", [z, d], {}, dtype)[0]
        return d * g, _q(own, r * g, (np.abs(d) + r) * eg), w * (g + eg)
    # A pre-activation that is exactly 0 with a bound at the flush-to-zero level is a sum of exact
    # zeros (a blank patch): every backend gets a zero there, and ReLU' is 0 at +-0.
    decided_zero = (z == 0) & (ez <= 1e3 * tiny(dtype))
    passes, ambiguous = z > 0, (np.abs(z) <= ez) & ~decided_zero
    keep = passes & ~ambiguous
    flips = np.where(ambiguous, np.abs(d) + r + w, np.where(keep, w, 0.0))
    return np.where(passes, d, 0.0), np.where(keep, r, 0.0), flips


def _pool_vjp(spec, a, ea, d, r, w, dtype):
    """The pooling's VJP and its (rounding, flip) errors."""
    if spec.pooling == "avg":
        own = _own("avg_pool2d_vjp", [a, d], POOL, dtype)[0]
        return (
            avg_pool2d_vjp(a, d, **POOL),
            _q(own, avg_pool2d_vjp(a, r, **POOL)),
            avg_pool2d_vjp(a, w, **POOL),
        )
    own = _own("max_pool2d_vjp", [a, d], POOL, dtype)[0]
    wa, wea = _windows(a), _windows(ea)
    candidates = wa + wea >= (wa - wea).max(axis=-1, keepdims=True)
    ambiguous = candidates.sum(axis=-1, keepdims=True) > 1
    first = np.arange(4) == wa.argmax(axis=-1)[..., None]  # where the reference sends the gradient
    settled = first & ~ambiguous
    rounding = _q(own, _unwindows(np.where(settled, r[..., None], 0.0)))
    spread = np.where(candidates, (np.abs(d) + r + w)[..., None], 0.0)
    flips = _unwindows(np.where(ambiguous, spread, np.where(settled, w[..., None], 0.0)))
    return max_pool2d_vjp(a, d, **POOL), rounding, flips


def gradient_bounds(
    params: Arrays, X: np.ndarray, y: np.ndarray, variant: str, dtype: str
) -> tuple[float, float, Arrays, Arrays]:
    """Loss, its bound, every parameter gradient and its bound (module docstring).

    Gradient errors travel in two parts: rounding errors, independent, combined in
    quadrature; and the gradient a flipped ReLU or max-pool decision may move,
    added in the worst case (one flip moves ``d`` out of one place and into
    another: the two are not independent). The bound is their sum.
    """
    spec = lenet.variant_of(variant)
    values, errors = forward_bounds(params, X, variant, dtype)
    logits, e_logits = values["fc3.z"], errors["fc3.z"]
    n = len(y)
    loss = float(softmax_cross_entropy(logits, y))
    d = softmax_cross_entropy_vjp(logits, y)  # (p - onehot) / n
    p = d * n
    p[np.arange(n), y] += 1.0
    rows = (np.abs(d) * e_logits).sum(axis=1)  # each row's loss error / n, first order
    e_loss = float(_q(_own("softmax_cross_entropy", [logits, y], {}, dtype)[0], np.sqrt(np.sum(rows**2))))
    moved = p * (e_logits + (p * e_logits).sum(axis=1, keepdims=True)) / n  # dp_i = p_i (dz_i - p . dz)
    r, w = _q(_own("softmax_cross_entropy_vjp", [logits, y], {}, dtype)[0], moved), np.zeros_like(d)
    grads: Arrays = {}
    grad_errors: Arrays = {}
    for layer in reversed(LAYERS):
        W, h, eh = params[f"{layer}.weight"], values[f"{layer}.in"], errors[f"{layer}.in"]
        z, ez = values[f"{layer}.z"], errors[f"{layer}.z"]
        if layer in ("conv1", "conv2"):
            a, ea = values[f"{layer}.a"], errors[f"{layer}.a"]
            d, r, w = _pool_vjp(spec, a, ea, d, r, w, dtype)
            d, r, w = _activation_vjp(spec, z, ez, a, ea, d, r, w, dtype)
            kw = {"padding": lenet.CONV_PADDING[layer]}
            own = _own("conv2d_vjp", [h, W, d], kw, dtype)
            dh, grads[f"{layer}.weight"], grads[f"{layer}.bias"] = conv2d_vjp(h, W, d, **kw)
            positions = (0, 2, 3)
        else:
            if layer != "fc3":
                d, r, w = _activation_vjp(
                    spec, z, ez, values[f"{layer}.a"], errors[f"{layer}.a"], d, r, w, dtype
                )
            own = _own("linear_vjp", [h, W, d], {}, dtype)
            dh, grads[f"{layer}.weight"], grads[f"{layer}.bias"] = linear_vjp(h, W, d)
            positions = (0,)
        rounding, flips = _weight_error(layer, h, eh, W, d, r, w)
        grad_errors[f"{layer}.weight"] = _q(own[1], rounding) + flips
        grad_errors[f"{layer}.bias"] = _q(own[2], np.sqrt(np.sum(r**2, axis=positions))) + w.sum(
            axis=positions
        )
        if layer == "conv2":
            r = _q(own[0], np.sqrt(conv2d_vjp(h, np.square(W), r**2, **kw)[0]))
            w = conv2d_vjp(h, np.abs(W), w, **kw)[0]
            d = dh
        elif layer.startswith("fc"):
            d, r, w = dh, _q(own[0], np.sqrt(r**2 @ np.square(W))), w @ np.abs(W)
            if layer == "fc1":
                shape = values["conv2.pool"].shape
                d, r, w = d.reshape(shape), r.reshape(shape), w.reshape(shape)
    order = list(lenet.PARAM_SHAPES)
    return loss, e_loss, {name: grads[name] for name in order}, {name: grad_errors[name] for name in order}


# -- comparisons ------------------------------------------------------------
def _compare(name: str, actual: Any, expected: Any, bound: Any, dtype: str) -> float:
    """check_output against float64 ``expected`` rounded to ``dtype`` (that rounding added to the bound)."""
    expected = np.asarray(expected, dtype=np.float64)
    allowed = allowance(expected, bound, dtype)
    return check_output(name, np.asarray(actual), round_to(expected, dtype), allowed)


def _compare_loss(name: str, actual: float, expected: float, bound: float, dtype: str) -> float:
    return _compare(name, np.asarray(actual, dtype=dtype), expected, bound, dtype)


def _reference_inputs(params: Arrays, X: np.ndarray, dtype: str) -> tuple[Arrays, Arrays, np.ndarray]:
    """The parameters and images in ``dtype`` (for the backend) and the same values in float64."""
    cast = {name: round_to(np.asarray(value, dtype=np.float64), dtype) for name, value in params.items()}
    return cast, _float64(cast), round_to(np.asarray(X, dtype=np.float64), dtype).astype(np.float64)


def check_logits(backend: Any, variant: str, dtype: str) -> float:
    """Logits of ``init_params(1)`` on the first training batch of 64 against the reference.

    Bound: :func:`forward_bounds` at the logits. Returns the worst ratio; raises
    :class:`ConformanceError` on failure.
    """
    X, _ = first_batches(1, BATCH)[0]
    params, params64, X64 = _reference_inputs(lenet.init_params(1, np.float64), X, dtype)
    model = backend.lenet(variant, dtype)
    model.load_params(params)
    actual = model.logits(round_to(X64, dtype))
    values, errors = forward_bounds(params64, X64, variant, dtype, backend.accumulation_dtype)
    return _compare("logits", actual, values["fc3.z"], errors["fc3.z"], dtype)


def check_gradients(backend: Any, variant: str, dtype: str) -> float:
    """Loss and every parameter gradient of ``init_params(2)`` on the first batch of 64.

    Bounds: :func:`gradient_bounds`. Returns the worst ratio over the loss and
    the ten gradients; raises :class:`ConformanceError` naming the first tensor that fails.
    """
    X, y = first_batches(1, BATCH)[0]
    params, params64, X64 = _reference_inputs(lenet.init_params(2, np.float64), X, dtype)
    model = backend.lenet(variant, dtype)
    model.load_params(params)
    loss, grads = model.loss_and_grads(X64.astype(dtype), y)
    loss_ref, e_loss, grads_ref, e_grads = gradient_bounds(params64, X64, y, variant, dtype)
    worst = _compare_loss("loss", loss, loss_ref, e_loss, dtype)
    for name in lenet.PARAM_SHAPES:
        if name not in grads:
            raise ConformanceError(f"no gradient for {name}")
        worst = max(
            worst, _compare(f"gradient of {name}", grads[name], grads_ref[name], e_grads[name], dtype)
        )
    return worst


@functools.cache
def reference_trajectory(
    variant: str, dtype: str = "float64"
) -> tuple[tuple[float, ...], tuple[Arrays, ...]]:
    """The reference's own run of TRAJECTORY_STEPS SGD steps from ``init_params(0, dtype)``.

    Returns the loss of every step and the parameters before every step and after the last
    (TRAJECTORY_STEPS + 1 states), on the first batches of 128 at ``TRAJECTORY_LR[variant]``.
    """
    params = lenet.init_params(0, dtype)
    losses, states = [], [params]
    for X, y in first_batches(TRAJECTORY_STEPS, TRAJECTORY_BATCH):
        params, loss, _ = lenet.train_step(params, X.astype(dtype), y, TRAJECTORY_LR[variant], variant)
        losses.append(loss)
        states.append(params)
    return tuple(losses), tuple(states)


def check_train_step(backend: Any, variant: str, dtype: str = "float32") -> float:
    """One SGD step from the float64 reference trajectory's state, at each of CHECKED_STEPS.

    The backend loads the state (cast to ``dtype``) and makes one ``train_step`` on
    that step's batch; its loss and updated parameters are compared with the
    reference's step from the same values, within ``lr E(g)`` plus the update's
    rounding (module docstring). Returns the worst ratio over all checked steps.
    """
    lr = TRAJECTORY_LR[variant]
    _, states = reference_trajectory(variant)
    batches = first_batches(TRAJECTORY_STEPS, TRAJECTORY_BATCH)
    model = backend.lenet(variant, dtype)
    worst = 0.0
    for step in CHECKED_STEPS:
        X, y = batches[step]
        params, params64, X64 = _reference_inputs(states[step], X, dtype)
        model.load_params(params)
        loss, _ = model.train_step(X64.astype(dtype), y, lr)
        updated = model.params()
        expected = train_step_bounds(params64, X64, y, variant, dtype, lr)
        worst = max(
            worst, _compare_loss(f"step {step}: loss", loss, expected.loss, expected.loss_bound, dtype)
        )
        for name in lenet.PARAM_SHAPES:
            worst = max(
                worst,
                _compare(
                    f"step {step}: {name}", updated[name], expected.params[name], expected.bounds[name], dtype
                ),
            )
    return worst


@dataclass(frozen=True)
class StepBounds:
    """The exact (float64) result of one SGD step and the bound of a ``dtype`` backend's error.

    ``loss`` and ``loss_bound``; ``params`` (name -> updated parameters, ``p - lr g``) and
    ``bounds`` (name -> elementwise bound). The comparison adds ``u |expected| + tiny`` to each
    (the expected value rounded to ``dtype``, results flushed to zero), as :func:`check_train_step` does.
    """

    loss: float
    loss_bound: float
    params: Arrays
    bounds: Arrays


def train_step_bounds(
    params64: Arrays, X64: np.ndarray, y: np.ndarray, variant: str, dtype: str, lr: float
) -> StepBounds:
    """One SGD step from ``params64`` (float64 values of ``dtype`` parameters) on ``(X64, y)``.

    The parameters' bound is ``lr E(g)`` plus the update's rounding, ``2 u (|p_new| + lr (|g| + E(g)))``
    (module docstring); the loss bound is :func:`gradient_bounds`'.
    """
    u = unit_roundoff(dtype)
    loss, e_loss, grads, e_grads = gradient_bounds(params64, X64, y, variant, dtype)
    updated, step_bounds = {}, {}
    for name in lenet.PARAM_SHAPES:
        updated[name] = params64[name] - lr * grads[name]
        step_bounds[name] = lr * e_grads[name] + 2 * u * (
            np.abs(updated[name]) + lr * (np.abs(grads[name]) + e_grads[name])
        )
    return StepBounds(loss, e_loss, updated, step_bounds)


def allowance(expected: Any, bound: Any, dtype: str) -> np.ndarray:
    """``bound`` plus what comparing with float64 ``expected`` adds: ``u |expected| + tiny``
    (the rounding of ``expected`` to ``dtype``, and results flushed to zero)."""
    expected = np.asarray(expected, dtype=np.float64)
    return np.asarray(bound, dtype=np.float64) + unit_roundoff(dtype) * np.abs(expected) + tiny(dtype)


def check_params_round_trip(backend: Any, dtype: str, directory: Path) -> float:
    """Parameters through the backend and an ``.npz`` file come back bit for bit; load_params copies.

    Loads ``init_params(3)``, overwrites the caller's arrays with NaN (the model must
    not see it), saves ``model.params()`` to ``directory/params.npz`` and reads it
    back. Exact comparison (dtype included); returns 0.0 or raises.
    """
    params = lenet.init_params(3, dtype)
    original = {name: value.copy() for name, value in params.items()}
    model = backend.lenet("chapter", dtype)
    model.load_params(params)
    for value in params.values():
        value[...] = np.nan
    path = Path(directory) / "params.npz"
    lenet.save_params(path, model.params())
    loaded = lenet.load_params(path)
    for name in lenet.PARAM_SHAPES:
        check_output(f"{name} after the backend and .npz", loaded[name], original[name], EXACT)
    return 0.0


# -- the free-running trajectory (data, not pass/fail) ----------------------
def parameter_deviation(params: Arrays, reference: Arrays) -> float:
    """max over tensors of max |p - p_ref| / (1 + max |p_ref|)."""
    return max(
        float(
            np.abs(np.asarray(params[name], np.float64) - reference[name]).max()
            / (1 + np.abs(reference[name]).max())
        )
        for name in lenet.PARAM_SHAPES
    )


def free_trajectory(backend: Any, variant: str) -> dict[str, list[float]]:
    """The backend's float32 run of TRAJECTORY_STEPS steps beside the reference's float64 and float32 runs.

    Returns per-step ``losses``, ``reference_losses`` (float64), ``reference_float32_losses``,
    and the parameter deviation from the float64 run after each step, ``deviations`` and
    ``reference_float32_deviations`` (max over tensors of max |p - p_ref| / (1 + max |p_ref|)).
    """
    losses64, states64 = reference_trajectory(variant)
    losses32, states32 = reference_trajectory(variant, "float32")
    model = backend.lenet(variant, "float32")
    model.load_params(lenet.init_params(0, np.float32))
    losses, deviations = [], []
    for step, (X, y) in enumerate(first_batches(TRAJECTORY_STEPS, TRAJECTORY_BATCH)):
        losses.append(float(model.train_step(X.astype(np.float32), y, TRAJECTORY_LR[variant])[0]))
        deviations.append(parameter_deviation(model.params(), states64[step + 1]))
    return {
        "losses": losses,
        "reference_losses": list(losses64),
        "reference_float32_losses": [float(loss) for loss in losses32],
        "deviations": deviations,
        "reference_float32_deviations": [
            parameter_deviation(s, s64) for s, s64 in zip(states32[1:], states64[1:], strict=True)
        ],
    }


def all_finite(trajectory: dict[str, list[float]]) -> bool:
    """Whether every number of a :func:`free_trajectory` is finite."""
    return all(math.isfinite(value) for values in trajectory.values() for value in values)


# -- the exported LeNet in ONNX Runtime --------------------------------------
@dataclass(frozen=True)
class ExportedLeNet:
    """A backend's trained float32 LeNet and its ONNX file: the exporter, its version, the
    file's opset (default domain) and the export's wall time."""

    model: Any
    path: Path
    exporter: str
    version: str
    opset: int
    seconds: float


def export_trained_lenet(backend: Any, variant: str, directory: Path) -> ExportedLeNet:
    """The backend's float32 LeNet after EXPORT_STEPS SGD steps, exported to ``directory/lenet.onnx``.

    Training starts from ``init_params(0)`` on the first training batches of
    TRAJECTORY_BATCH at ``TRAJECTORY_LR[variant]``; the export is the ``export_lenet``
    function of the backend folder's ``export`` module (traced at BATCH images).
    Raises :class:`~backends.UnsupportedError` when the backend has no such module.
    """
    try:
        exporter = folder_module(backend, "export")
    except ModuleNotFoundError as error:
        if error.name is not None:  # the module exists but imports a missing package
            raise
        raise UnsupportedError(f"{backend.name} has no ONNX exporter: {error}") from None
    model = backend.lenet(variant, "float32")
    model.load_params(lenet.init_params(0, np.float32))
    for X, y in first_batches(EXPORT_STEPS, TRAJECTORY_BATCH):
        model.train_step(X, y, TRAJECTORY_LR[variant])
    path = Path(directory) / "lenet.onnx"
    start = time.perf_counter()
    name, version = exporter.export_lenet(model, path, BATCH)
    seconds = time.perf_counter() - start
    import onnx  # the backends' environments install it (environment.toml), the project's does not

    graph = onnx.load(path, load_external_data=False)
    opset = next(entry.version for entry in graph.opset_import if entry.domain in ("", "ai.onnx"))
    return ExportedLeNet(model, path, name, version, opset, seconds)


def onnx_runtime_logits(path: Path, X: np.ndarray) -> np.ndarray:
    """The logits of the ONNX file at ``path`` on images ``X``, from ONNX Runtime's CPU provider."""
    import onnxruntime  # the backends' environments install it (environment.toml), the project's does not

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: MXNet's graph lists its weights as inputs, a warning each
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})[0]


def check_exported(exported: ExportedLeNet) -> tuple[float, float]:
    """ONNX Runtime's logits of the exported file on the first BATCH test images, compared with
    (a) the backend's own logits and (b) the float64 reference network at the model's parameters.

    (b) is :func:`check_logits`'s comparison: :func:`forward_bounds` at float32, at the
    parameters ``model.params()`` returns. (a): both are float32 computations of the same
    network, each within that allowance of the reference, so they differ by at most twice
    it. Returns the worst ratios ``(a, b)``; raises :class:`ConformanceError` on failure.
    """
    dtype = "float32"
    X = first_test_images(BATCH)
    actual = onnx_runtime_logits(exported.path, X)
    params64 = _float64(exported.model.params())
    values, errors = forward_bounds(params64, X.astype(np.float64), exported.model.variant, dtype)
    expected, bound = values["fc3.z"], errors["fc3.z"]
    own = exported.model.logits(X)
    both = 2 * allowance(expected, bound, dtype)
    ratio_backend = _compare("ONNX Runtime logits against the backend's", actual, own, both, dtype)
    ratio_reference = _compare("ONNX Runtime logits against the reference's", actual, expected, bound, dtype)
    return ratio_backend, ratio_reference
