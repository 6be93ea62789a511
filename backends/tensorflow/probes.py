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
from backends.divergences.inputs import ACTIVATION, FC1, IMAGE_5, KERNEL_2, TF32_W, TF32_X, TIES, WITH_NAN

# The ResNet stem (224x224, 7x7, stride 2): PyTorch's padding=3 becomes 'SAME'
# in a port, and TF's 'SAME' pads (2, 3) there.
IMAGE_224 = np.random.default_rng(4).standard_normal((1, 1, 224, 224)).astype(np.float32)
KERNEL_7 = np.random.default_rng(5).standard_normal((1, 1, 7, 7)).astype(np.float32)
ONES_5 = np.ones((1, 1, 5, 5), dtype=np.float32)
BOTTOM_RIGHT = [[0, 0], [0, 1], [0, 1], [0, 0]]  # NHWC pads: one row below, one column right


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


def probes() -> list[Probe]:
    return [
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
    ]  # fmt: skip
