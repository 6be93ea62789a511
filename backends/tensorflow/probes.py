"""TensorFlow's native calls with the obvious arguments, against the reference.

TensorFlow's CPU kernels take NHWC images and HWIO kernels: the probe inputs
are transposed in and the results back to NCHW. Every probe runs on the CPU
except the TF32 one, which needs a GPU.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

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

# The ResNet stem (224x224, 7x7, stride 2): PyTorch's padding=3 becomes 'SAME'
# in a port, and TF's 'SAME' pads (2, 3) there.
IMAGE_224 = np.random.default_rng(4).standard_normal((1, 1, 224, 224)).astype(np.float32)
KERNEL_7 = np.random.default_rng(5).standard_normal((1, 1, 7, 7)).astype(np.float32)
ONES_5 = np.ones((1, 1, 5, 5), dtype=np.float32)
BOTTOM_RIGHT = [[0, 0], [0, 1], [0, 1], [0, 0]]  # NHWC pads: one row below, one column right
PAD_1 = [[0, 0], [1, 1], [1, 1], [0, 0]]  # NHWC pads: PyTorch's padding=1
# padding=1 plus the row and column a ceil_mode window of 3 at stride 2 reaches past a padded 6x6
PAD_1_CEIL = [[0, 0], [1, 2], [1, 2], [0, 0]]


def _nhwc(array: np.ndarray) -> tf.Tensor:
    return tf.constant(array.transpose(0, 2, 3, 1))


def _hwio(array: np.ndarray) -> tf.Tensor:
    return tf.constant(array.transpose(2, 3, 1, 0))


def _cpu(call: Callable[[], tf.Tensor]) -> Callable[[], np.ndarray]:
    """``call`` on the CPU, its NHWC result as an NCHW array."""

    def run() -> np.ndarray:
        with tf.device("/CPU:0"):
            return call().numpy().transpose(0, 3, 1, 2)

    return run


def _on_cpu(call: Callable[[], tf.Tensor]) -> Callable[[], np.ndarray]:
    """``call`` on the CPU, its result as it is (no layout change)."""

    def run() -> np.ndarray:
        with tf.device("/CPU:0"):
            return call().numpy()

    return run


def _grad(forward: Callable[[tf.Tensor], tf.Tensor], x: tf.Tensor, dy: np.ndarray | None = None) -> tf.Tensor:
    """``tape.gradient(forward(x), x, output_gradients=dy)`` (dy: ones by default)."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = forward(x)
    return tape.gradient(y, x, output_gradients=None if dy is None else tf.constant(dy))


def _cross_entropy(row: int) -> Callable[[tf.Tensor], tf.Tensor]:
    """Mean sparse softmax cross-entropy against CE_LABELS' label of ``row``."""
    labels = CE_LABELS[row : row + 1]
    return lambda z: tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, z))


def _max_pool_grad(array: np.ndarray) -> tf.Tensor:
    x = _nhwc(array)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.nn.max_pool2d(x, 2, 2, "VALID"))
    return tape.gradient(y, x)


def _flatten_dense() -> np.ndarray:
    # A PyTorch fc1 weight used as it is on the NHWC activation Keras flattens.
    with tf.device("/CPU:0"):
        return (tf.reshape(_nhwc(ACTIVATION), [1, -1]) @ FC1.T).numpy()


def _tf32_conv() -> np.ndarray:
    gpus = tf.config.list_logical_devices("GPU")
    if not gpus:
        raise NotApplicableError("no GPU (TF32 exists on Ampere and newer GPUs)")
    before = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(True)  # TensorFlow's default
    try:
        with tf.device(gpus[0].name):
            return tf.nn.conv2d(_nhwc(TF32_X), _hwio(TF32_W), 1, "SAME").numpy().transpose(0, 3, 1, 2)
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(before)


def _special_values() -> list[Probe]:
    """What the native calls do with NaN, infinities, all-padding windows, tails and a 1-D flatten."""
    ones_2x2 = np.ones((1, 1, 2, 2), np.float32)

    def ce_row(row: int) -> Callable[[], np.ndarray]:
        return lambda: reference.softmax_cross_entropy(CE_LOGITS[row : row + 1], CE_LABELS[row : row + 1])

    def ce_grad(row: int) -> Callable[[], np.ndarray]:
        return lambda: reference.softmax_cross_entropy_vjp(CE_LOGITS[row : row + 1], CE_LABELS[row : row + 1])

    def logits(row: int) -> tf.Tensor:
        return tf.constant(CE_LOGITS[row : row + 1])

    ce_call = "tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, z))"
    return [
        Probe("NaN at ReLU's kink",
              "tape.gradient(tf.nn.relu(x), x), x = [nan, 0, -0, 1, -1, inf, -inf]",
              _on_cpu(lambda: _grad(tf.nn.relu, tf.constant(RELU_KINK))),
              lambda: reference.relu_vjp(RELU_KINK, np.ones_like(RELU_KINK)),
              "native (the tape's gradient of tf.nn.relu)"),
        Probe("several NaNs in a max window",
              "tape.gradient of tf.reduce_sum(tf.nn.max_pool2d(x, 2, 2, 'VALID')),"
              " two NaNs in each 2x2 window",
              _cpu(lambda: _grad(lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID"), _nhwc(NANS_IN_MAX_WINDOWS))),
              lambda: reference.max_pool2d_vjp(NANS_IN_MAX_WINDOWS, np.ones((1, 1, 1, 2), np.float32), 2),
              "inputs with NaN or -inf: the tape's gradient of a per-tap tf.where selection (first NaN)"),
        Probe("all -inf window beside padding",
              "tf.nn.max_pool2d(x, 3, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]), x all -inf",
              _cpu(lambda: tf.nn.max_pool2d(_nhwc(ALL_NEG_INF_3), 3, 2, PAD_1)),
              lambda: reference.max_pool2d(ALL_NEG_INF_3, 3, stride=2, padding=1),
              "inputs with NaN or -inf: a per-tap tf.where selection over tf.pad(x, -inf)"),
        Probe("all -inf window beside padding",
              "tape.gradient of tf.reduce_sum(tf.nn.max_pool2d(x, 3, 2, [[0, 0], [1, 1], [1, 1], [0, 0]])),"
              " x all -inf",
              _cpu(lambda: _grad(lambda x: tf.nn.max_pool2d(x, 3, 2, PAD_1), _nhwc(ALL_NEG_INF_3))),
              lambda: reference.max_pool2d_vjp(ALL_NEG_INF_3, ones_2x2, 3, stride=2, padding=1),
              "emulated for inputs with NaN, -inf or subnormals: a per-tap tf.where selection over"
              " tf.pad(x, -inf) that tracks the real taps, so padding never takes the gradient"),
        Probe("dilated window entirely in padding",
              "tf.nn.pool(x, (2, 2), 'MAX', strides=(1, 1), padding=[[0, 0], [1, 1], [1, 1], [0, 0]],"
              " dilations=(3, 3)) on 2x2 (both taps of each axis in padding)",
              _cpu(lambda: tf.nn.pool(_nhwc(DILATED_IN_PADDING), (2, 2), "MAX", strides=(1, 1), padding=PAD_1,
                                      dilations=(3, 3))),
              lambda: reference.max_pool2d(DILATED_IN_PADDING, 2, stride=1, padding=1, dilation=3),
              "emulated where a window has no real cell (PoolGeometry.empty_windows): the per-tap"
              " tf.where selection gives -inf and passes no gradient"),
        Probe("ceil_mode window past the padded input",
              "tf.nn.max_pool2d(x, 3, 2, [[0, 0], [1, 2], [1, 2], [0, 0]]) on 6x6 (no ceil_mode: one more"
              " bottom/right pad)",
              _cpu(lambda: tf.nn.max_pool2d(_nhwc(CEIL_6), 3, 2, PAD_1_CEIL)),
              lambda: reference.max_pool2d(CEIL_6, 3, stride=2, padding=1, ceil_mode=True),
              "tf.nn.max_pool2d with the explicit pads plus the ceil_mode overhang (TF rounds down)"),
        Probe("ceil_mode window past the padded input",
              "tf.nn.avg_pool2d(tf.pad(x, [[0, 0], [1, 2], [1, 2], [0, 0]]), 3, 2, 'VALID') on 6x6"
              " (no ceil_mode, no explicit padding)",
              _cpu(lambda: tf.nn.avg_pool2d(tf.pad(_nhwc(CEIL_6), PAD_1_CEIL), 3, 2, "VALID")),
              lambda: reference.avg_pool2d(CEIL_6, 3, stride=2, padding=1, ceil_mode=True),
              "tf.pad with the pads and the overhang, 'VALID', divided by the average of a mask of ones"
              " (padding counted when count_include_pad, the overhang never)"),
        Probe("sigmoid gradient in the tails",
              "tape.gradient(tf.sigmoid(x), x, output_gradients=dy), x = [-100, -40, -20, 0, 20, 40, 100],"
              " dy = [1e30, 1e17, 1e8, 1, 1e8, 1e17, 1e30]",
              _on_cpu(lambda: _grad(tf.sigmoid, tf.constant(SIGMOID_TAILS), SIGMOID_TAIL_DY)),
              lambda: reference.sigmoid_vjp(SIGMOID_TAILS, SIGMOID_TAIL_DY),
              "emulated: dY * tf.nn.sigmoid(x) * tf.nn.sigmoid(-x), no tape (its dY * y * (1 - y));"
              " an infinite dY at a finite x stays infinite"),
        Probe("flatten of a 1-D input", "tf.keras.layers.Flatten()(x), x of shape (5,)",
              _on_cpu(lambda: tf.keras.layers.Flatten()(tf.constant(FLAT_1D))),
              lambda: reference.flatten(FLAT_1D),
              "tf.reshape(x, (tf.shape(x)[0], -1))"),
        Probe("cross-entropy with -inf, NaN and huge logits", f"{ce_call}, z = [[-inf, 0, 1]], y = [1]",
              _on_cpu(lambda: _cross_entropy(0)(logits(0))), ce_row(0), "native"),
        Probe("cross-entropy with -inf, NaN and huge logits", f"{ce_call}, z = [[3e38, -3e38, 0]], y = [0]",
              _on_cpu(lambda: _cross_entropy(1)(logits(1))), ce_row(1), "native"),
        Probe("cross-entropy with -inf, NaN and huge logits", f"{ce_call}, z = [[nan, 0, 1]], y = [2]",
              _on_cpu(lambda: _cross_entropy(2)(logits(2))), ce_row(2), "native"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              f"tape.gradient({ce_call}, z), z = [[-inf, 0, 1]], y = [1]",
              _on_cpu(lambda: _grad(_cross_entropy(0), logits(0))), ce_grad(0),
              "native (the tape's gradient)"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              f"tape.gradient({ce_call}, z), z = [[3e38, -3e38, 0]], y = [0]",
              _on_cpu(lambda: _grad(_cross_entropy(1), logits(1))), ce_grad(1),
              "native (the tape's gradient)"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              f"tape.gradient({ce_call}, z), z = [[nan, 0, 1]], y = [2]",
              _on_cpu(lambda: _grad(_cross_entropy(2), logits(2))), ce_grad(2),
              "native (the tape's gradient)"),
        Probe("inf and -inf in one average window",
              "tf.nn.avg_pool2d(x, 2, 2, 'VALID'), x = [[inf, -inf], [1, 2]]",
              _cpu(lambda: tf.nn.avg_pool2d(_nhwc(AVG_INF_NEG_INF), 2, 2, "VALID")),
              lambda: reference.avg_pool2d(AVG_INF_NEG_INF, 2),
              "native"),
        Probe("inf and -inf in one average window",
              "tf.nn.avg_pool2d(x, 2, 2, 'VALID'), x = [[inf, 1], [2, 3]]",
              _cpu(lambda: tf.nn.avg_pool2d(_nhwc(AVG_INF), 2, 2, "VALID")),
              lambda: reference.avg_pool2d(AVG_INF, 2),
              "native"),
    ]  # fmt: skip


def _same_pooling() -> list[Probe]:
    """'same' pooling: TF's own rule for where the pads go, and its average's divisor."""
    return [
        Probe("'same' pooling", "tf.nn.max_pool2d(x, 3, 2, 'SAME') on 6x6",
              _cpu(lambda: tf.nn.max_pool2d(_nhwc(IMAGE_6), 3, 2, "SAME")),
              lambda: reference.max_pool2d(IMAGE_6, 3, stride=2, padding="same"),
              "tf.nn.max_pool2d with the explicit pads of the reference's rule (TF's own)"),
        Probe("'same' pooling", "tf.nn.max_pool2d(x, 3, 2, 'SAME') on 6x6 as the port of ONNX's SAME_LOWER",
              _cpu(lambda: tf.nn.max_pool2d(_nhwc(IMAGE_6), 3, 2, "SAME")),
              lambda: reference.max_pool2d(IMAGE_6, 3, stride=2, padding="same_lower"),
              "tf.nn.max_pool2d with explicit pads, the odd one at the top/left"),
        Probe("'same' pooling", "tf.nn.avg_pool2d(x, 3, 2, 'SAME') on 6x6 (the reference's default"
              " count_include_pad=True)",
              _cpu(lambda: tf.nn.avg_pool2d(_nhwc(IMAGE_6), 3, 2, "SAME")),
              lambda: reference.avg_pool2d(IMAGE_6, 3, stride=2, padding="same"),
              "tf.pad and a divisor pooled from a padded mask of ones (padding counted when"
              " count_include_pad)"),
        Probe("'same' pooling", "tf.nn.avg_pool2d(x, 3, 2, 'SAME') on 6x6 against count_include_pad=False",
              _cpu(lambda: tf.nn.avg_pool2d(_nhwc(IMAGE_6), 3, 2, "SAME")),
              lambda: reference.avg_pool2d(IMAGE_6, 3, stride=2, padding="same", count_include_pad=False),
              "tf.pad and a divisor pooled from a mask of the real cells"),
    ]  # fmt: skip


def probes() -> list[Probe]:
    return [
        *_same_pooling(),
        Probe("'same' padding, odd total", "tf.nn.conv2d(x, w, 1, 'SAME')",
              _cpu(lambda: tf.nn.conv2d(_nhwc(IMAGE_5), _hwio(KERNEL_2), 1, "SAME")),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, padding="same"),
              "native: tf.nn.conv2d with the explicit pads of the reference's rule (TF's own)"),
        Probe("'same' padding, odd total", "tf.nn.conv2d(x, w, 2, 'SAME')",
              _cpu(lambda: tf.nn.conv2d(_nhwc(IMAGE_5), _hwio(KERNEL_2), 2, "SAME")),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, stride=2, padding="same"),
              "native: tf.nn.conv2d with the explicit pads of the reference's rule (TF's own)"),
        Probe("'same' padding, odd total",
              "tf.nn.conv2d(x, w, 2, 'SAME') on 224x224, 7x7 as the port of PyTorch's padding=3",
              _cpu(lambda: tf.nn.conv2d(_nhwc(IMAGE_224), _hwio(KERNEL_7), 2, "SAME")),
              lambda: reference.conv2d(IMAGE_224, KERNEL_7, stride=2, padding=3),
              "native: tf.nn.conv2d with explicit pads, so padding=3 is (3, 3) and 'same' is (2, 3)"),
        Probe("asymmetric padding", "tf.nn.conv2d(x, w, 1, [[0, 0], [0, 1], [0, 1], [0, 0]])",
              _cpu(lambda: tf.nn.conv2d(_nhwc(IMAGE_5), _hwio(KERNEL_2), 1, BOTTOM_RIGHT)),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, padding=((0, 1), (0, 1))),
              "native: tf.nn.conv2d with the explicit pad list"),
        Probe("avg-pool padding count", "tf.nn.avg_pool2d(x, 3, 2, 'SAME')",
              _cpu(lambda: tf.nn.avg_pool2d(_nhwc(ONES_5), 3, 2, "SAME")),
              lambda: reference.avg_pool2d(ONES_5, 3, stride=2, padding=1),
              "tf.pad, tf.nn.avg_pool2d 'VALID', divided by the average of a padded mask of ones"
              " (padding counted when count_include_pad)"),
        Probe("ceil_mode", "tf.nn.max_pool2d(x, 2, 2, 'VALID')",
              _cpu(lambda: tf.nn.max_pool2d(_nhwc(IMAGE_5), 2, 2, "VALID")),
              lambda: reference.max_pool2d(IMAGE_5, 2, stride=2, ceil_mode=True),
              "extra bottom/right padding (-inf) for the ceil_mode windows, then 'VALID'"),
        Probe("ceil_mode", "tf.nn.max_pool2d(x, 2, 2, 'SAME')",
              _cpu(lambda: tf.nn.max_pool2d(_nhwc(IMAGE_5), 2, 2, "SAME")),
              lambda: reference.max_pool2d(IMAGE_5, 2, stride=2, ceil_mode=True),
              "extra bottom/right padding (-inf) for the ceil_mode windows, then 'VALID'"),
        Probe("ceil_mode", "tf.nn.avg_pool2d(x, 2, 2, 'SAME')",
              _cpu(lambda: tf.nn.avg_pool2d(_nhwc(IMAGE_5), 2, 2, "SAME")),
              lambda: reference.avg_pool2d(IMAGE_5, 2, stride=2, ceil_mode=True),
              "extra bottom/right zero padding, left out of the divisor (a pooled mask of ones)"),
        Probe("max-pool ties", "tape.gradient of tf.reduce_sum(tf.nn.max_pool2d(x, 2, 2, 'VALID'))",
              _cpu(lambda: _max_pool_grad(TIES)),
              lambda: reference.max_pool2d_vjp(TIES, np.ones((1, 1, 2, 2), np.float32), 2),
              "native tf.nn.max_pool2d and its gradient"),
        Probe("NaN in a max window", "tf.nn.max_pool2d(x, 2, 2, 'VALID')",
              _cpu(lambda: tf.nn.max_pool2d(_nhwc(WITH_NAN), 2, 2, "VALID")),
              lambda: reference.max_pool2d(WITH_NAN, 2),
              "inputs with NaN or -inf: a per-tap tf.where selection (first maximal element or first NaN)"),
        Probe("flatten order before the first dense layer", "tf.reshape(x_nhwc, [1, -1]) @ fc1.T",
              _flatten_dense,
              lambda: reference.linear(reference.flatten(ACTIVATION), FC1),
              "flatten reshapes the NCHW tensor (C, H, W order); the Keras LeNet permutes fc1's"
              " kernel rows to (h, w, c) on the way in and back on the way out"),
        Probe("TF32 on GPUs", "tf.nn.conv2d(x, w, 1, 'SAME') on the GPU with TensorFlow's default TF32",
              _tf32_conv,
              lambda: reference.conv2d(TF32_X, TF32_W, padding=1),
              "tf.config.experimental.enable_tensor_float_32_execution(False) when the backend is made"),
        *_special_values(),
        Probe("negative strides", "tf.constant(x), x = np.arange(6.).reshape(2, 3)[::-1, ::-1]",
              lambda: tf.constant(BACKWARDS).numpy(),
              lambda: np.array(BACKWARDS),
              "native"),
        Probe("subnormal inputs", "tf.linalg.matmul(x, w, transpose_b=True),"
              " x = [[1e-40, 1e-45]], w = [[1e38, 1e38]] float32",
              lambda: tf.linalg.matmul(SUBNORMAL_X, HUGE_W, transpose_b=True).numpy(),
              lambda: reference.linear(SUBNORMAL_X, HUGE_W),
              "emulated where inputs hold subnormals (TF's CPU kernels read them as 0): the subnormal terms"
              " rescaled exactly and added back in sums, the bits compared in relu and max pooling"),
    ]  # fmt: skip
