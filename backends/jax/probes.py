"""JAX's native calls (``jax.lax``, ``jax.grad``, ``jax.example_libraries.stax``) with the obvious
arguments, against the reference."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.example_libraries import stax

import reference
from backends.divergences import NotApplicableError, Probe
from backends.divergences.inputs import (
    ACTIVATION,
    ALL_NEG_INF_3,
    AVG_INF,
    AVG_INF_NEG_INF,
    BACKWARDS,
    CE_LABELS,
    CE_LOGITS,
    CEIL_6,
    DILATED_IN_PADDING,
    FC1,
    FLAT_1D,
    HUGE_W,
    IMAGE_5,
    IMAGE_6,
    KERNEL_2,
    NANS_IN_MAX_WINDOWS,
    RELU_KINK,
    SIGMOID_TAIL_DY,
    SIGMOID_TAILS,
    SUBNORMAL_X,
    TF32_W,
    TF32_X,
    TIES,
    WITH_NAN,
)

NCHW = ("NCHW", "OIHW", "NCHW")
PAD_1 = ((0, 0), (0, 0), (1, 1), (1, 1))  # PyTorch's padding=1 as reduce_window pads
# padding=1 plus the row and column a ceil_mode window of 3 at stride 2 reaches past a padded 6x6
PAD_1_CEIL = ((0, 0), (0, 0), (1, 2), (1, 2))


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


def _vjp(forward: Callable[[jax.Array], jax.Array], array: np.ndarray, dy: np.ndarray | None = None):
    """``jax.vjp(forward, x)[1](dy)`` (dy: ones of the output's shape by default)."""
    y, pullback = jax.vjp(forward, _x(array))
    return np.asarray(pullback(jnp.ones_like(y) if dy is None else _x(dy))[0])


def _max_pool_3x3(x: jax.Array) -> jax.Array:
    """3x3 max pooling, stride 2, padding 1, as a user writes it with ``reduce_window``."""
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 3, 3), (1, 1, 2, 2), PAD_1)


def _cross_entropy(row: int) -> Callable[[jax.Array], jax.Array]:
    """Mean softmax cross-entropy against CE_LABELS' label of ``row``, as a user writes it (lax and
    jax.nn have no cross-entropy)."""
    labels = jnp.asarray(CE_LABELS[row : row + 1])
    return lambda z: -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), labels[:, None], axis=1))


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


def _special_values() -> list[Probe]:
    """What the native calls do with NaN, infinities, all-padding windows, tails and a 1-D flatten."""
    ones_2x2 = np.ones((1, 1, 2, 2), np.float32)

    def ce_row(row: int) -> Callable[[], np.ndarray]:
        return lambda: reference.softmax_cross_entropy(CE_LOGITS[row : row + 1], CE_LABELS[row : row + 1])

    def ce_grad(row: int) -> Callable[[], np.ndarray]:
        return lambda: reference.softmax_cross_entropy_vjp(CE_LOGITS[row : row + 1], CE_LABELS[row : row + 1])

    ce_call = "-jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), y[:, None], axis=1))"
    max_3x3 = (
        "lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 3, 3), (1, 1, 2, 2),"
        " ((0, 0), (0, 0), (1, 1), (1, 1)))"
    )
    return [
        Probe("NaN at ReLU's kink",
              "jax.vjp(jax.nn.relu, x)[1](jnp.ones_like(x)), x = [nan, 0, -0, 1, -1, inf, -inf]",
              lambda: _vjp(jax.nn.relu, RELU_KINK),
              lambda: reference.relu_vjp(RELU_KINK, np.ones_like(RELU_KINK)),
              "native"),
        Probe("several NaNs in a max window",
              "jax.grad(lambda x: lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2),"
              " 'VALID').sum())(x), two NaNs in each 2x2 window",
              lambda: _vjp(_max_pool, NANS_IN_MAX_WINDOWS),
              lambda: reference.max_pool2d_vjp(NANS_IN_MAX_WINDOWS, np.ones((1, 1, 1, 2), np.float32), 2),
              "custom VJP to the first maximal element, NaN maximal (jnp.argmax over the window taps)"),
        Probe("all -inf window beside padding", f"{max_3x3}, x all -inf",
              lambda: np.asarray(_max_pool_3x3(_x(ALL_NEG_INF_3))),
              lambda: reference.max_pool2d(ALL_NEG_INF_3, 3, stride=2, padding=1),
              "native"),
        Probe("all -inf window beside padding", f"jax.grad(lambda x: {max_3x3}.sum())(x), x all -inf",
              lambda: _vjp(_max_pool_3x3, ALL_NEG_INF_3),
              lambda: reference.max_pool2d_vjp(ALL_NEG_INF_3, ones_2x2, 3, stride=2, padding=1),
              "emulated: the custom VJP's argmax over integer keys of the window taps, padding below every"
              " real value, so a window sends its gradient to its first real element"),
        Probe("dilated window entirely in padding",
              "lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 1, 1), ((0, 0), (0, 0), (1, 1),"
              " (1, 1)), window_dilation=(1, 1, 3, 3)) on 2x2 (both taps of each axis in padding)",
              lambda: np.asarray(lax.reduce_window(_x(DILATED_IN_PADDING), -jnp.inf, lax.max, (1, 1, 2, 2),
                                                   (1, 1, 1, 1), PAD_1, window_dilation=(1, 1, 3, 3))),
              lambda: reference.max_pool2d(DILATED_IN_PADDING, 2, stride=1, padding=1, dilation=3),
              "native forward; the gradient is the custom VJP (jax.grad of a dilated reduce_window max"
              " raises NotImplementedError)"),
        Probe("ceil_mode window past the padded input",
              "lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 3, 3), (1, 1, 2, 2), ((0, 0), (0, 0), (1, 2),"
              " (1, 2))) on 6x6 (no ceil_mode: one more bottom/right pad)",
              lambda: np.asarray(lax.reduce_window(_x(CEIL_6), -jnp.inf, lax.max, (1, 1, 3, 3), (1, 1, 2, 2),
                                                   PAD_1_CEIL)),
              lambda: reference.max_pool2d(CEIL_6, 3, stride=2, padding=1, ceil_mode=True),
              "extra bottom/right padding forms the ceil_mode windows (reduce_window has no ceil_mode)"),
        Probe("ceil_mode window past the padded input",
              "lax.reduce_window(x, 0., lax.add, (1, 1, 3, 3), (1, 1, 2, 2), ((0, 0), (0, 0), (1, 2),"
              " (1, 2))) / 9 on 6x6 (no ceil_mode, no average pooling)",
              lambda: np.asarray(lax.reduce_window(_x(CEIL_6), 0.0, lax.add, (1, 1, 3, 3), (1, 1, 2, 2),
                                                   PAD_1_CEIL) / 9),
              lambda: reference.avg_pool2d(CEIL_6, 3, stride=2, padding=1, ceil_mode=True),
              "reduce_window sum over a count of the padded-input cells each window covers, from pooling"
              " a ones mask (the overhang never counts)"),
        Probe("sigmoid gradient in the tails",
              "jax.vjp(jax.nn.sigmoid, x)[1](dy), x = [-100, -40, -20, 0, 20, 40, 100],"
              " dy = [1e30, 1e17, 1e8, 1, 1e8, 1e17, 1e30]",
              lambda: _vjp(jax.nn.sigmoid, SIGMOID_TAILS, SIGMOID_TAIL_DY),
              lambda: reference.sigmoid_vjp(SIGMOID_TAILS, SIGMOID_TAIL_DY),
              "emulated: dY * jax.nn.sigmoid(x) * jax.nn.sigmoid(-x), no jax.vjp (its dY * y * (1 - y));"
              " an infinite dY at a finite x stays infinite"),
        Probe("flatten of a 1-D input", "jnp.reshape(x, (x.shape[0], -1)), x of shape (5,)",
              lambda: np.asarray(jnp.reshape(_x(FLAT_1D), (FLAT_1D.shape[0], -1))),
              lambda: reference.flatten(FLAT_1D),
              "native (x.reshape(x.shape[0], -1))"),
        Probe("cross-entropy with -inf, NaN and huge logits", f"{ce_call}, z = [[-inf, 0, 1]], y = [1]",
              lambda: np.asarray(_cross_entropy(0)(_x(CE_LOGITS[0:1]))), ce_row(0), "native"),
        Probe("cross-entropy with -inf, NaN and huge logits", f"{ce_call}, z = [[3e38, -3e38, 0]], y = [0]",
              lambda: np.asarray(_cross_entropy(1)(_x(CE_LOGITS[1:2]))), ce_row(1), "native"),
        Probe("cross-entropy with -inf, NaN and huge logits", f"{ce_call}, z = [[nan, 0, 1]], y = [2]",
              lambda: np.asarray(_cross_entropy(2)(_x(CE_LOGITS[2:3]))), ce_row(2), "native"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              f"jax.grad(lambda z: {ce_call})(z), z = [[-inf, 0, 1]], y = [1]",
              lambda: np.asarray(jax.grad(_cross_entropy(0))(_x(CE_LOGITS[0:1]))), ce_grad(0),
              "native (jax.vjp)"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              f"jax.grad(lambda z: {ce_call})(z), z = [[3e38, -3e38, 0]], y = [0]",
              lambda: np.asarray(jax.grad(_cross_entropy(1))(_x(CE_LOGITS[1:2]))), ce_grad(1),
              "native (jax.vjp)"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              f"jax.grad(lambda z: {ce_call})(z), z = [[nan, 0, 1]], y = [2]",
              lambda: np.asarray(jax.grad(_cross_entropy(2))(_x(CE_LOGITS[2:3]))), ce_grad(2),
              "native (jax.vjp)"),
        Probe("inf and -inf in one average window",
              "lax.reduce_window(x, 0., lax.add, (1, 1, 2, 2), (1, 1, 2, 2), 'VALID') / 4,"
              " x = [[inf, -inf], [1, 2]]",
              lambda: np.asarray(lax.reduce_window(_x(AVG_INF_NEG_INF), 0.0, lax.add, (1, 1, 2, 2),
                                                   (1, 1, 2, 2), "VALID") / 4),
              lambda: reference.avg_pool2d(AVG_INF_NEG_INF, 2),
              "native (a reduce_window sum over a pooled count)"),
        Probe("inf and -inf in one average window",
              "lax.reduce_window(x, 0., lax.add, (1, 1, 2, 2), (1, 1, 2, 2), 'VALID') / 4,"
              " x = [[inf, 1], [2, 3]]",
              lambda: np.asarray(lax.reduce_window(_x(AVG_INF), 0.0, lax.add, (1, 1, 2, 2), (1, 1, 2, 2),
                                                   "VALID") / 4),
              lambda: reference.avg_pool2d(AVG_INF, 2),
              "native (a reduce_window sum over a pooled count)"),
    ]  # fmt: skip


def _window_6(init: float, reducer: Callable, padding: str) -> np.ndarray:
    """``lax.reduce_window`` over the 6x6 image, 3x3 windows, stride 2."""
    return np.asarray(lax.reduce_window(_x(IMAGE_6), init, reducer, (1, 1, 3, 3), (1, 1, 2, 2), padding))


def _same_pooling() -> list[Probe]:
    """'same' pooling with reduce_window's padding strings, and stax's average."""
    _, stax_average = stax.AvgPool((3, 3), (2, 2), "SAME", spec="NCHW")
    return [
        Probe("'same' pooling",
              "lax.reduce_window(x, -inf, lax.max, (1, 1, 3, 3), (1, 1, 2, 2), 'SAME') on 6x6",
              lambda: _window_6(-jnp.inf, lax.max, "SAME"),
              lambda: reference.max_pool2d(IMAGE_6, 3, stride=2, padding="same"),
              "reduce_window with the explicit pads of the reference's rule (TF's, as 'SAME')"),
        Probe("'same' pooling",
              "lax.reduce_window(x, -inf, lax.max, (1, 1, 3, 3), (1, 1, 2, 2), 'SAME_LOWER') on 6x6",
              lambda: _window_6(-jnp.inf, lax.max, "SAME_LOWER"),
              lambda: reference.max_pool2d(IMAGE_6, 3, stride=2, padding="same_lower"),
              "reduce_window with the explicit pads of the reference's rule"),
        Probe("'same' pooling",
              "lax.reduce_window(x, 0., lax.add, (1, 1, 3, 3), (1, 1, 2, 2), 'SAME') / 9 on 6x6",
              lambda: _window_6(0.0, lax.add, "SAME") / 9,
              lambda: reference.avg_pool2d(IMAGE_6, 3, stride=2, padding="same"),
              "reduce_window sum over a count of the covered cells from pooling a ones mask"),
        Probe("'same' pooling", "stax.AvgPool((3, 3), (2, 2), 'SAME', spec='NCHW') applied to x on 6x6"
              " (the reference's default count_include_pad=True)",
              lambda: np.asarray(stax_average((), _x(IMAGE_6))),
              lambda: reference.avg_pool2d(IMAGE_6, 3, stride=2, padding="same"),
              "reduce_window sum over a count of the covered cells from pooling a ones mask,"
              " padding counted unless count_include_pad=False"),
    ]  # fmt: skip


def probes() -> list[Probe]:
    ones = np.ones((1, 1, 5, 5), dtype=np.float32)
    ones_grad = np.ones((1, 1, 2, 2), np.float32)
    return [
        *_same_pooling(),
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
        *_special_values(),
        Probe("subnormal inputs", "jnp.dot(x, w.T), x = [[1e-40, 1e-45]], w = [[1e38, 1e38]] float32",
              lambda: np.asarray(jnp.dot(jnp.asarray(SUBNORMAL_X), jnp.asarray(HUGE_W).T)),
              lambda: reference.linear(SUBNORMAL_X, HUGE_W),
              "emulated where inputs hold subnormals (XLA's CPU reads them as 0, jax-ml/jax#16200): subnormal"
              " parts scaled by 2**64 in sums, the bits compared in relu and max pooling"),
        Probe("negative strides", "jnp.asarray(x), x = np.arange(6.).reshape(2, 3)[::-1, ::-1]",
              lambda: np.asarray(jnp.asarray(BACKWARDS)),
              lambda: np.array(BACKWARDS),
              "native"),
    ]  # fmt: skip
