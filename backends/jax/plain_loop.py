"""What a JAX user writes for the chapter's LeNet: no flax, parameters as a pytree,
``jax.lax`` convolution and pooling at their default precision, and one
``jax.jit``-compiled SGD ``update`` from ``jax.value_and_grad`` and ``tree_map``.

Per batch the loss and the right predictions are read back as Python numbers,
as the chapter's ``train_ch6`` accumulates them.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from reference.lenet import PARAM_SHAPES, Variant, variant_of

Params = dict[str, jax.Array]
_NCHW = ("NCHW", "OIHW", "NCHW")

# Glorot uniform over OIHW and (out, in) weights; float32 even when x64 is on.
_xavier = jax.nn.initializers.glorot_uniform(in_axis=1, out_axis=0, dtype=jnp.float32)


def init_params(key: jax.Array) -> Params:
    """Xavier-uniform weights and zero biases, under the canonical names and shapes."""
    keys = jax.random.split(key, len(PARAM_SHAPES))
    return {
        name: jnp.zeros(shape, jnp.float32) if name.endswith(".bias") else _xavier(k, shape)
        for k, (name, shape) in zip(keys, PARAM_SHAPES.items(), strict=True)
    }


def _pool(x: jax.Array, spec: Variant) -> jax.Array:
    """2x2 pooling, stride 2, NCHW."""
    window = (1, 1, 2, 2)
    if spec.pooling == "max":
        return lax.reduce_window(x, -jnp.inf, lax.max, window, window, "VALID")
    return lax.reduce_window(x, 0.0, lax.add, window, window, "VALID") / 4


def net(params: Params, X: jax.Array, spec: Variant) -> jax.Array:
    """LeNet logits of NCHW images."""
    act = jax.nn.sigmoid if spec.activation == "sigmoid" else jax.nn.relu
    h = X
    for layer, pad in (("conv1", 2), ("conv2", 0)):
        pads = ((pad, pad), (pad, pad))
        h = lax.conv_general_dilated(h, params[f"{layer}.weight"], (1, 1), pads, dimension_numbers=_NCHW)
        h = _pool(act(h + params[f"{layer}.bias"][:, None, None]), spec)
    h = h.reshape(h.shape[0], -1)
    for layer in ("fc1", "fc2"):
        h = act(h @ params[f"{layer}.weight"].T + params[f"{layer}.bias"])
    return h @ params["fc3.weight"].T + params["fc3.bias"]


def _loss(params: Params, X: jax.Array, y: jax.Array, spec: Variant) -> tuple[jax.Array, jax.Array]:
    logits = net(params, X, spec)
    log_p = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1)), logits


# At module level, so jit's cache outlives one epoch call (a closure over lr would recompile).
@partial(jax.jit, static_argnames="spec")
def update(
    params: Params, X: jax.Array, y: jax.Array, lr: float, spec: Variant
) -> tuple[Params, jax.Array, jax.Array]:
    """One SGD step; the new parameters, the mean batch loss and the right predictions."""
    (loss, logits), grads = jax.value_and_grad(_loss, has_aux=True)(params, X, y, spec)
    params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return params, loss, jnp.sum(jnp.argmax(logits, axis=1) == y)


# The parameters of each (variant, lr) run, kept across its epochs as a user's loop keeps them.
_runs: dict[tuple[str, float], Params] = {}


def epoch(batches: Iterable[tuple[np.ndarray, np.ndarray]], variant: str, lr: float) -> int:
    """Train the (variant, lr) parameters one pass over ``batches``; returns the number of examples seen."""
    spec = variant_of(variant)
    params = _runs[variant, lr] if (variant, lr) in _runs else init_params(jax.random.PRNGKey(0))
    total_loss, correct, seen = 0.0, 0, 0
    for X, y in batches:
        params, loss, right = update(params, X, y, lr, spec)
        total_loss += float(loss) * len(y)
        correct += int(right)
        seen += len(y)
    _runs[variant, lr] = params
    return seen
