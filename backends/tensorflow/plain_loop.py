"""The chapter's TensorFlow LeNet trained as a Keras user writes a custom loop:
``tf.keras.Sequential``, ``tf.keras.optimizers.SGD``, ``SparseCategoricalCrossentropy``
and a ``tf.function`` step with ``tf.GradientTape``, on TensorFlow's default device.

Images arrive NCHW and are transposed to Keras's NHWC per batch. Per batch the
loss and the right predictions are read back as Python numbers, as the
chapter's ``train_ch6`` accumulates them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import numpy as np
import tensorflow as tf

from backends.tensorflow.lenet import build_lenet

Step = Callable[[tf.Tensor, np.ndarray], tuple[tf.Tensor, tf.Tensor]]


# Cached, so the model, the optimizer and the traced step persist across calls as
# across the epochs of one training run: a fresh model would retrace the
# tf.function (about a second) inside every timed epoch.
@functools.cache
def train_step_for(variant: str, lr: float) -> Step:
    """The ``tf.function`` SGD step of a new Keras LeNet: (X NHWC, y) -> (mean loss, right predictions)."""
    net = build_lenet(variant)
    optimizer = tf.keras.optimizers.SGD(learning_rate=lr)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(X: tf.Tensor, y: np.ndarray) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            y_hat = net(X, training=True)
            loss = loss_fn(y, y_hat)
        grads = tape.gradient(loss, net.trainable_variables)
        optimizer.apply_gradients(zip(grads, net.trainable_variables, strict=True))
        return loss, tf.reduce_sum(tf.cast(tf.argmax(y_hat, axis=1) == y, tf.int32))

    return train_step


def epoch(batches: Iterable[tuple[np.ndarray, np.ndarray]], variant: str, lr: float) -> int:
    """Train the (variant, lr) LeNet for one pass over ``batches``; returns the number of examples seen."""
    train_step = train_step_for(variant, lr)
    total_loss, correct, seen = 0.0, 0, 0
    for X, y in batches:
        loss, right = train_step(tf.transpose(X, (0, 2, 3, 1)), y)
        total_loss += float(loss) * len(y)
        correct += int(right)
        seen += len(y)
    return seen
