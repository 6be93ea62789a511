"""JAX's native calls (``jax.lax``, ``jax.grad``, ``jax.example_libraries.stax``) with the obvious
arguments, against the reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.example_libraries import stax

import reference
from backends.divergences import NotApplicableError, Probe
from backends.divergences.inputs import ACTIVATION, FC1, IMAGE_5, KERNEL_2, TF32_W, TF32_X, TIES, WITH_NAN

NCHW = ("NCHW", "OIHW", "NCHW")


def _x(array: np.ndarray) -> jax.Array:
    """A probe input on the CPU: JAX computes where its inputs are, and its default device is
    the GPU when there is one, where float32 may run in TF32 (a probe of its own)."""
    return jax.device_put(array, jax.devices("cpu")[0])


def _conv(stride: int, padding: str | tuple) -> np.ndarray:
    """The 5x5 image correlated with the 2x2 kernel."""
    y = lax.conv_general_dilated(_x(IMAGE_5), _x(KERNEL_2), (stride, stride), padding, dimension_numbers=NCHW)
    return np.asarray(y)


def _avg_pool_by_window(array: np.ndarray) -> np.ndarray:
    """3x3 average pooling, stride 2, 'SAME', as a user writes it: the window sum over 9."""
    return np.asarray(lax.reduce_window(_x(array), 0.0, lax.add, (1, 1, 3, 3), (1, 1, 2, 2), "SAME") / 9)


def _max_pool(x: jax.Array, padding: str = "VALID") -> jax.Array:
    """2x2 max pooling, stride 2, as a user writes it with ``reduce_window``."""
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), padding)


def _max_pool_grad(array: np.ndarray) -> np.ndarray:
    return np.asarray(jax.grad(lambda x: _max_pool(x).sum())(_x(array)))


def _stax_avg_pool(array: np.ndarray) -> np.ndarray:
    _, apply = stax.AvgPool((3, 3), (2, 2), "SAME", spec="NCHW")
    return np.asarray(apply((), _x(array)))


def _tf32_conv() -> np.ndarray:
    try:
        gpu = jax.devices("gpu")[0]
    except RuntimeError:  # a CPU-only jaxlib has no "gpu" platform
        raise NotApplicableError("no GPU (TF32 exists on Ampere and newer GPUs)") from None
    # At the default precision XLA may run float32 convolutions in TF32 on Ampere and newer.
    x, w = jax.device_put(TF32_X, gpu), jax.device_put(TF32_W, gpu)
    return np.asarray(lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=NCHW))


def probes() -> list[Probe]:
    ones = np.ones((1, 1, 5, 5), dtype=np.float32)
    ones_grad = np.ones((1, 1, 2, 2), np.float32)
    return [
        Probe("'same' padding, odd total",
              "lax.conv_general_dilated(x, w, (1, 1), 'SAME', dimension_numbers=('NCHW', 'OIHW', 'NCHW'))",
              lambda: _conv(1, "SAME"),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, padding="same"),
              "native ('SAME' is TensorFlow's rule, the reference's)"),
        Probe("'same' padding, odd total",
              "lax.conv_general_dilated(x, w, (2, 2), 'SAME', dimension_numbers=('NCHW', 'OIHW', 'NCHW'))",
              lambda: _conv(2, "SAME"),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, stride=2, padding="same"),
              "native ('SAME' is TensorFlow's rule, the reference's)"),
        Probe("asymmetric padding",
              "lax.conv_general_dilated(x, w, (1, 1), ((0, 1), (0, 1)), dimension_numbers=...)",
              lambda: _conv(1, ((0, 1), (0, 1))),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, padding=((0, 1), (0, 1))),
              "native (explicit per-side pads)"),
        Probe("avg-pool padding count",
              "lax.reduce_window(x, 0., lax.add, (1, 1, 3, 3), (1, 1, 2, 2), 'SAME') / 9",
              lambda: _avg_pool_by_window(ones),
              lambda: reference.avg_pool2d(ones, 3, stride=2, padding=1),
              "reduce_window sum over a count of the covered cells from pooling a ones mask"
              " (lax has no average pooling)"),
        Probe("avg-pool padding count",
              "stax.AvgPool((3, 3), (2, 2), 'SAME', spec='NCHW') applied to x",
              lambda: _stax_avg_pool(ones),
              lambda: reference.avg_pool2d(ones, 3, stride=2, padding=1),
              "reduce_window sum over a count of the covered cells from pooling a ones mask,"
              " padding counted unless count_include_pad=False"),
        Probe("ceil_mode",
              "lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), 'VALID')",
              lambda: np.asarray(_max_pool(_x(IMAGE_5))),
              lambda: reference.max_pool2d(IMAGE_5, 2, ceil_mode=True),
              "extra bottom/right padding forms the ceil_mode windows (reduce_window has no ceil_mode)"),
        Probe("ceil_mode",
              "lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), 'SAME')",
              lambda: np.asarray(_max_pool(_x(IMAGE_5), "SAME")),
              lambda: reference.max_pool2d(IMAGE_5, 2, ceil_mode=True),
              "extra bottom/right padding forms the ceil_mode windows (reduce_window has no ceil_mode)"),
        Probe("max-pool ties",
              "jax.grad(lambda x: lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2),"
              " 'VALID').sum())(x)",
              lambda: _max_pool_grad(TIES),
              lambda: reference.max_pool2d_vjp(TIES, ones_grad, 2),
              "custom VJP to the first maximal element (native agrees on ties without NaN)"),
        Probe("NaN in a max window",
              "lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), 'VALID')",
              lambda: np.asarray(_max_pool(_x(WITH_NAN))),
              lambda: reference.max_pool2d(WITH_NAN, 2),
              "native (lax.max propagates NaN)"),
        Probe("NaN in a max window",
              "jax.grad(lambda x: lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2),"
              " 'VALID').sum())(x)",
              lambda: _max_pool_grad(WITH_NAN),
              lambda: reference.max_pool2d_vjp(WITH_NAN, ones_grad, 2),
              "custom VJP to the first maximal element, NaN maximal (select_and_scatter compares"
              " with >=, so the gradient skips past a NaN)"),
        Probe("flatten order before the first dense layer",
              "jnp.reshape(x, (1, -1)) @ fc1.T",
              lambda: np.asarray(jnp.reshape(_x(ACTIVATION), (1, -1)) @ _x(FC1).T),
              lambda: reference.linear(reference.flatten(ACTIVATION), FC1),
              "native (NCHW, so flatten is C, H, W order)"),
        Probe("TF32 on GPUs",
              "lax.conv_general_dilated(x, w, (1, 1), 'SAME', dimension_numbers=...) on a GPU,"
              " default precision",
              _tf32_conv,
              lambda: reference.conv2d(TF32_X, TF32_W, padding=1),
              "precision=lax.Precision.HIGHEST on every convolution and matmul"),
    ]  # fmt: skip
