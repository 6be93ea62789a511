"""LeNet from Keras layers (``tf.keras.Sequential``), with canonical parameter I/O.

Keras works channels-last: images NHWC, conv kernels HWIO, dense kernels
(in, out), and its ``Flatten`` of an NHWC activation orders fc1's inputs
(h, w, c) where the canonical order is (c, h, w). Parameters cross the boundary
through transposes and a permutation of fc1's kernel rows, which are exact.
Logits, gradients and the SGD step are each one ``tf.function`` with a fixed signature,
compiled with XLA or without: whichever is faster on this machine for that batch shape
(:func:`TensorFlowLeNet._choose_xla`, once per process; XLA under op determinism and in
16-bit dtypes).

Speed (batch 128, float32, December 2026), adapter examples/s over the plain Keras loop's:
- On one 2-core machine shared with other jobs, XLA's step was 1.37-1.63x the plain loop for
  the chapter's net and 0.94-1.23x for relu-max (three full-epoch runs); without XLA the step
  took 1.85x the CPU time (chapter) and 1.3-1.5x (relu-max). XLA's per-op profile: conv1's
  forward (one input channel) is a third of the step.
- On another, quiet 2-core machine, XLA's step was 0.72x (chapter) and 0.53x (relu-max) of the
  plain loop, and the step without XLA 1.026x and 1.011x (interleaved, 9 rounds of 20 steps):
  TensorFlow's own kernels beat XLA's there. Hence the choice, by timing both.
- The fixed signatures' dynamic batch dimension: no cost measured (XLA compiles each
  concrete shape once, cached); each function traces once (tracing count 1).
- The NCHW -> NHWC transpose inside the graph: with C = 1 a bitcast, one 400 KB copy.
- ``assign_sub``: a Keras SGD optimizer was no faster (without XLA, 2 runs).
- The lr tensor, ``tf.device`` per call (6 us) and the base class's checks and
  copies (44 us): under 0.1% of a 70-100 ms step.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import tensorflow as tf
from tensorflow.keras import layers

# The reader of tf.config.experimental.enable_op_determinism's switch, which TensorFlow does not export.
from tensorflow.python.framework.config import is_op_determinism_enabled

from backends.lenet import LeNetModel
from backends.timed_choice import faster
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


class _Functions(NamedTuple):
    """A model's three graph functions, compiled one way (with XLA or without)."""

    logits: tf.types.experimental.PolymorphicFunction
    loss_and_grads: tf.types.experimental.PolymorphicFunction
    train_step: tf.types.experimental.PolymorphicFunction


# (variant, dtype, device, images' shape) -> whether this process compiles with XLA: every
# model of a process computes alike.
XLA_CHOICES: dict[tuple, bool] = {}


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
        # Fixed signatures: one trace per model whatever the batch size. TF32 exists on Ampere and
        # newer GPUs only; XLA follows TF's switch (off in TensorFlowBackend: the optimised HLO's
        # convolutions and dots carry operand_precision=highest).
        self._compiled = {xla: self._functions(xla) for xla in (True, False)}

    def _functions(self, xla: bool) -> _Functions:
        images = tf.TensorSpec([None, 1, 28, 28], self.dtype)
        labels = tf.TensorSpec([None], tf.int64)
        lr = tf.TensorSpec([], self.dtype)
        return _Functions(
            tf.function(self._forward, input_signature=[images], jit_compile=xla),
            tf.function(self._differentiate, input_signature=[images, labels], jit_compile=xla),
            tf.function(self._sgd, input_signature=[images, labels, lr], jit_compile=xla),
        )

    def _chosen(self, X: np.ndarray, forward_only: bool = False) -> _Functions:
        """The functions compiled as this process's choice for images of ``X``'s shape (chosen
        on the logits alone for a ``forward_only`` call: evaluation)."""
        key = (self.variant, self.dtype, self.device, X.shape, forward_only)
        if key not in XLA_CHOICES:
            XLA_CHOICES[key] = self._choose_xla(X, forward_only)
        return self._compiled[XLA_CHOICES[key]]

    def _choose_xla(self, X: np.ndarray, forward_only: bool) -> bool:
        """Whether the loss and gradients of ``X`` (labels 0; the logits, ``forward_only``) run
        faster with XLA, timed by :func:`backends.timed_choice.faster` (its warm-up turn compiles).
        XLA without timing when op determinism is on (every run computes alike) and for
        a 16-bit model (the two ways accumulate differently there; the conformance's bounds were
        measured with XLA).

        The two ways' results must agree (within 1e-3 of the largest of each), or ``RuntimeError``.
        """
        if is_op_determinism_enabled() or self.dtype in ("float16", "bfloat16"):
            return True
        y = np.zeros(len(X), np.int64)

        def run(functions: _Functions) -> list[np.ndarray]:
            if forward_only:
                return [functions.logits(X).numpy()]
            return [grad.numpy() for grad in functions.loss_and_grads(X, y)[2]]

        with tf.device(self.device):
            ways = {xla: functools.partial(run, functions) for xla, functions in self._compiled.items()}
            return faster(ways, "LeNet results with and without XLA")

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
            return self._chosen(X, forward_only=True).logits(X).numpy()

    def _native_loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        with tf.device(self.device):
            loss, _, grads = self._chosen(X).loss_and_grads(X, y)
        return float(loss), {
            name: to_canonical(name, grad.numpy()) for name, grad in zip(self._variables, grads, strict=True)
        }

    def _native_train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        with tf.device(self.device):
            loss, correct = self._chosen(X).train_step(X, y, np.asarray(lr, dtype=self.dtype))
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
