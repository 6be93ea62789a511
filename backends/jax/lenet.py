"""LeNet as a pure JAX function of a parameter dict, from the JAX adapter's native ops.

JAX has no layer objects (flax is a separate library), so the network is the
adapter's ``lax`` convolution and pooling (:mod:`backends.jax.ops`), ``jax.nn`` activations and dense
layer composed in the chapter's order. Parameters keep the canonical layouts
(OIHW convolutions, NCHW activations, (out, in) dense weights), so canonical
arrays load as they are. Forward, gradient and SGD step are each one jit.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from backends.jax.ops import avg_pool, conv, cross_entropy, flatten, linear, max_pool, max_pool_selected
from backends.lenet import LeNetModel
from reference.lenet import CONV_PADDING, PARAM_SHAPES, Variant, variant_of
from reference.shapes import conv2d_geometry, pool2d_geometry

Params = dict[str, jax.Array]


def lenet_logits(params: Params, X: jax.Array, spec: Variant, max_pooling: Callable = max_pool) -> jax.Array:
    """(N, 10) logits of the chapter's LeNet (or its ReLU / max-pool variant) on (N, 1, 28, 28).

    ``max_pooling``: :func:`~backends.jax.ops.max_pool`, or for a second derivative
    :func:`~backends.jax.ops.max_pool_selected` (the same values on LeNet's windows).
    """
    act = jax.nn.sigmoid if spec.activation == "sigmoid" else jax.nn.relu
    h = X
    for layer in ("conv1", "conv2"):
        weight = params[f"{layer}.weight"]
        geometry = conv2d_geometry(h.shape, weight.shape, padding=CONV_PADDING[layer])
        h = act(conv(geometry, h, weight, params[f"{layer}.bias"]))
        window = pool2d_geometry(h.shape, 2, 2)
        h = avg_pool(window, True, h) if spec.pooling == "avg" else max_pooling(window, h)
    h = flatten(h)
    for layer in ("fc1", "fc2"):
        h = act(linear(h, params[f"{layer}.weight"], params[f"{layer}.bias"]))
    return linear(h, params["fc3.weight"], params["fc3.bias"])


def _loss(params: Params, X: jax.Array, y: jax.Array, spec: Variant) -> tuple[jax.Array, jax.Array]:
    logits = lenet_logits(params, X, spec)
    return cross_entropy(logits, y), logits


_logits = jax.jit(lenet_logits, static_argnums=2)
_loss_and_grads = jax.jit(jax.value_and_grad(_loss, has_aux=True), static_argnums=3)


@partial(jax.jit, static_argnums=3)
def _train_step(
    params: Params, X: jax.Array, y: jax.Array, spec: Variant, lr: float
) -> tuple[Params, jax.Array, jax.Array]:
    """Plain SGD ``p - lr * g``; returns the new parameters, the batch loss and the right predictions.

    ``lr`` is a traced, weakly typed scalar: a new value does not recompile, and ``p`` keeps its dtype.
    """
    (loss, logits), grads = jax.value_and_grad(_loss, has_aux=True)(params, X, y, spec)
    params = {name: p - lr * grads[name] for name, p in params.items()}
    return params, loss, jnp.sum(jnp.argmax(logits, axis=1) == y)


@partial(jax.jit, static_argnums=3)
def _hvp(params: Params, X: jax.Array, y: jax.Array, spec: Variant, direction: Params) -> Params:
    """Forward over reverse: ``jax.jvp`` of ``jax.grad`` of the mean loss along ``direction``."""

    def loss(p: Params) -> jax.Array:
        return cross_entropy(lenet_logits(p, X, spec, max_pool_selected), y)

    return jax.jvp(jax.grad(loss), (params,), (direction,))[1]


class JaxLeNet(LeNetModel):
    """LeNet on a JAX ``device``, trained with plain SGD."""

    def __init__(self, variant: str, dtype: str, device: jax.Device) -> None:
        super().__init__(variant, dtype)
        self.device = device
        self._spec = variant_of(variant)
        self._params: Params = {}

    def _array(self, value: np.ndarray) -> jax.Array:
        return jax.device_put(value, self.device)

    def _native_load_params(self, params: dict[str, np.ndarray]) -> None:
        # The arrays are the caller's fresh copies: on the CPU device_put may alias them.
        self._params = {name: self._array(params[name]) for name in PARAM_SHAPES}

    def _native_params(self) -> Params:
        return self._params

    def _native_logits(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(_logits(self._params, self._array(X), self._spec))

    def _native_loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        (loss, _), grads = _loss_and_grads(self._params, self._array(X), self._array(y), self._spec)
        return float(loss), grads

    def _native_train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        # The batch goes to jit as NumPy arrays: jit puts them on the parameters' device in its own
        # transfer, 0.9 ms a step faster than two device_put calls (LeNet epoch, 2-core CPU).
        step = _train_step(self._params, X, y, self._spec, lr)
        self._params, loss, correct = step
        return float(loss), int(correct)

    def _native_hvp(self, X: np.ndarray, y: np.ndarray, direction: dict[str, np.ndarray]) -> Params:
        tangents = {name: self._array(direction[name]) for name in PARAM_SHAPES}
        return _hvp(self._params, self._array(X), self._array(y), self._spec, tangents)
