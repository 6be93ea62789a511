"""LeNet from Keras layers (``tf.keras.Sequential``), with canonical parameter I/O.

Keras works channels-last: images NHWC, conv kernels HWIO, dense kernels
(in, out), and its ``Flatten`` of an NHWC activation orders fc1's inputs
(h, w, c) where the canonical order is (c, h, w). Parameters cross the boundary
through transposes and a permutation of fc1's kernel rows, which are exact.
Logits, gradients and the SGD step are each one XLA-compiled ``tf.function``.

Speed (batch 128, float32, 2-core CPU shared with other jobs, December 2026): the
adapter's step runs at 1.37-1.63x the plain Keras loop's examples/s for the chapter's
net and 0.94-1.23x for relu-max (three full-epoch benchmark runs). Measured choices:
- XLA: the same step without it takes 1.85x the CPU time for the chapter (67 vs
  36 ms per step) and 1.3-1.5x for relu-max (48-64 vs 36-43 ms); in wall time it
  is 1.4-1.5x slower (chapter) and 1.1-1.35x slower (relu-max, 5 of 6 runs).
  XLA's per-op profile: conv1's forward (one input channel) is a third of the step.
- The fixed signatures' dynamic batch dimension: no cost measured (XLA compiles each
  concrete shape once, cached); each function traces once (tracing count 1).
- The NCHW -> NHWC transpose inside the graph: with C = 1 a bitcast, one 400 KB copy.
- ``assign_sub``: a Keras SGD optimizer was no faster (without XLA, 2 runs).
- The lr tensor, ``tf.device`` per call (6 us) and the base class's checks and
  copies (44 us): under 0.1% of a 70-100 ms step.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow.keras import layers

from backends.lenet import LeNetModel
from reference.lenet import PARAM_SHAPES, variant_of

# Keras kernel row r of fc1 takes canonical input FC1_ROWS[r]: row h*80 + w*16 + c
# (NHWC flatten of the 16x5x5 activation) is canonical column c*25 + h*5 + w.
FC1_ROWS = np.arange(16 * 5 * 5).reshape(16, 5, 5).transpose(1, 2, 0).ravel()
_FC1_COLUMNS = np.argsort(FC1_ROWS)  # the inverse permutation


def build_lenet(variant: str = "chapter", dtype: str = "float32") -> tf.keras.Sequential:
    """The chapter's Keras LeNet (NHWC input (N, 28, 28, 1)); layers named like the canonical parameters."""
    spec = variant_of(variant)
    act = spec.activation
    pool = layers.AveragePooling2D if spec.pooling == "avg" else layers.MaxPooling2D
    # channels_last spelled out: the fc1 permutation depends on it, whatever keras.json says.
    image = {"data_format": "channels_last", "dtype": dtype}
    return tf.keras.Sequential([
        tf.keras.Input((28, 28, 1), dtype=dtype),
        layers.Conv2D(6, 5, padding="same", activation=act, name="conv1", **image),
        pool(2, 2, **image),
        layers.Conv2D(16, 5, activation=act, name="conv2", **image),
        pool(2, 2, **image),
        layers.Flatten(**image),
        layers.Dense(120, activation=act, name="fc1", dtype=dtype),
        layers.Dense(84, activation=act, name="fc2", dtype=dtype),
        layers.Dense(10, name="fc3", dtype=dtype),
    ])  # fmt: skip


def to_keras(name: str, value: np.ndarray) -> np.ndarray:
    """A canonical parameter in its Keras layout (HWIO kernels, (in, out) dense kernels)."""
    layer, kind = name.split(".")
    if kind == "bias":
        return value
    if layer.startswith("conv"):
        return value.transpose(2, 3, 1, 0)
    return (value[:, FC1_ROWS] if layer == "fc1" else value).T


def to_canonical(name: str, value: np.ndarray) -> np.ndarray:
    """A Keras parameter (or its gradient) in the canonical layout (OIHW, (out, in), fc1 in C, H, W)."""
    layer, kind = name.split(".")
    if kind == "bias":
        return value
    if layer.startswith("conv"):
        return np.ascontiguousarray(value.transpose(3, 2, 0, 1))
    return np.ascontiguousarray(value.T[:, _FC1_COLUMNS] if layer == "fc1" else value.T)


class TensorFlowLeNet(LeNetModel):
    """LeNet as a Keras ``Sequential`` on a TF ``device`` (e.g. ``"/CPU:0"``), trained with plain SGD."""

    def __init__(self, variant: str, dtype: str, device: str) -> None:
        super().__init__(variant, dtype)
        self.device = device
        with tf.device(device):
            self.net = build_lenet(variant, self.dtype)
        self._variables: dict[str, tf.Variable] = {}  # Keras variables, in PARAM_SHAPES order
        for name in PARAM_SHAPES:
            layer, kind = name.split(".")
            keras_layer = self.net.get_layer(layer)
            self._variables[name] = keras_layer.kernel if kind == "weight" else keras_layer.bias
        images = tf.TensorSpec([None, 1, 28, 28], self.dtype)
        labels = tf.TensorSpec([None], tf.int64)
        # Fixed signatures: one trace per model whatever the batch size. XLA: see the
        # module docstring; all three use it so that conformance checks the code that
        # trains. TF32 exists on Ampere and newer GPUs only; XLA follows TF's switch
        # (off in TensorFlowBackend: the optimised HLO's convolutions and dots carry
        # operand_precision=highest).
        self._logits = tf.function(self._forward, input_signature=[images], jit_compile=True)
        self._loss_and_grads = tf.function(
            self._differentiate, input_signature=[images, labels], jit_compile=True
        )
        self._train_step = tf.function(
            self._sgd, input_signature=[images, labels, tf.TensorSpec([], self.dtype)], jit_compile=True
        )

    # -- graph functions (NCHW in: the transpose runs in the graph) --------
    def _forward(self, X: tf.Tensor) -> tf.Tensor:
        return self.net(tf.transpose(X, (0, 2, 3, 1)))

    def _differentiate(self, X: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, list[tf.Tensor]]:
        """Mean softmax cross-entropy, the logits and the gradients (Keras layouts)."""
        with tf.GradientTape() as tape:
            logits = self._forward(X)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        return loss, logits, tape.gradient(loss, list(self._variables.values()))

    def _sgd(self, X: tf.Tensor, y: tf.Tensor, lr: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        loss, logits, grads = self._differentiate(X, y)
        for variable, grad in zip(self._variables.values(), grads, strict=True):
            variable.assign_sub(lr * grad)
        return loss, tf.reduce_sum(tf.cast(tf.argmax(logits, axis=1) == y, tf.int32))

    # -- the LeNetModel interface ----------------------------------------
    def _native_load_params(self, params: dict[str, np.ndarray]) -> None:
        for name, variable in self._variables.items():
            variable.assign(to_keras(name, params[name]))

    def _native_params(self) -> dict[str, np.ndarray]:
        return {name: to_canonical(name, v.numpy()) for name, v in self._variables.items()}

    def _native_logits(self, X: np.ndarray) -> np.ndarray:
        with tf.device(self.device):
            return self._logits(X).numpy()

    def _native_loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        with tf.device(self.device):
            loss, _, grads = self._loss_and_grads(X, y)
        return float(loss), {
            name: to_canonical(name, grad.numpy()) for name, grad in zip(self._variables, grads, strict=True)
        }

    def _native_train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        with tf.device(self.device):
            loss, correct = self._train_step(X, y, np.asarray(lr, dtype=self.dtype))
        return float(loss), int(correct)

    def _native_hvp(
        self, X: np.ndarray, y: np.ndarray, direction: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """A ``tf.autodiff.ForwardAccumulator`` (the Keras variables along ``direction``) over the
        ``GradientTape`` of :meth:`_differentiate`: the JVP of the gradient, forward over reverse."""
        # The Keras variables' tf.Variable (a Keras 3 variable's dtype is a string, which the
        # accumulator's check of a floating dtype rejects).
        variables = [variable.value for variable in self._variables.values()]
        with tf.device(self.device):
            tangents = [tf.constant(to_keras(name, direction[name])) for name in self._variables]
            with tf.autodiff.ForwardAccumulator(variables, tangents) as accumulator:
                _, _, grads = self._differentiate(tf.constant(X), tf.constant(y))
            hvp = [accumulator.jvp(grad) for grad in grads]
        return {name: to_canonical(name, t.numpy()) for name, t in zip(self._variables, hvp, strict=True)}
