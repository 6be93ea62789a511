"""LeNet from ``mx.gluon.nn`` layers, with canonical parameter I/O (layouts match: no conversion).

Gluon's ``Conv2D`` weights are OIHW, ``Dense`` weights (out, in), and ``Dense``
flattens NCHW inputs in C, H, W order, so canonical arrays load as they are.
"""

from __future__ import annotations

import numpy as np

from backends.base import UnsupportedError
from backends.lenet import LeNetModel
from backends.mxnet.ops import mx  # imported there with its import-time warnings silenced
from reference.lenet import PARAM_SHAPES, variant_of

nn = mx.gluon.nn


def build_lenet(variant: str = "chapter") -> mx.gluon.nn.Sequential:
    """The chapter's Gluon ``nn.Sequential`` LeNet (activations fused into the layers)."""
    spec = variant_of(variant)
    act = spec.activation
    pool = nn.AvgPool2D if spec.pooling == "avg" else nn.MaxPool2D
    net = nn.Sequential()
    net.add(
        nn.Conv2D(6, kernel_size=5, padding=2, activation=act, in_channels=1), pool(pool_size=2, strides=2),
        nn.Conv2D(16, kernel_size=5, activation=act, in_channels=6), pool(pool_size=2, strides=2),
        nn.Dense(120, activation=act, in_units=16 * 5 * 5),
        nn.Dense(84, activation=act, in_units=120),
        nn.Dense(10, in_units=84),
    )  # fmt: skip
    return net


# canonical layer name -> index in the Sequential
_LAYERS = {"conv1": 0, "conv2": 2, "fc1": 4, "fc2": 5, "fc3": 6}


class MXNetLeNet(LeNetModel):
    """LeNet as a Gluon ``nn.Sequential`` on ``context``, trained with plain SGD."""

    def __init__(self, variant: str, dtype: str, context: mx.Context) -> None:
        super().__init__(variant, dtype)
        if self.dtype in ("float16", "bfloat16"):  # refused up front: MXNet's engine fails later, async
            raise UnsupportedError(
                f"a {self.dtype} LeNet: MXNet 1.9.1's CPU Convolution and FullyConnected have no"
                f" {self.dtype} kernel (known_gaps.toml)"
            )
        self.context = context
        self.net = build_lenet(variant)
        self.net.initialize(ctx=context)
        self.net.cast(self.dtype)
        self.loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
        self._trained = list(self.net.collect_params().values())

    def _parameter(self, name: str) -> mx.gluon.Parameter:
        layer, kind = name.split(".")
        return getattr(self.net[_LAYERS[layer]], kind)

    def _native_load_params(self, params: dict[str, np.ndarray]) -> None:
        for name in PARAM_SHAPES:
            self._parameter(name).set_data(mx.nd.array(params[name], ctx=self.context, dtype=self.dtype))

    def _native_params(self) -> dict[str, np.ndarray]:
        return {name: self._parameter(name).data().asnumpy() for name in PARAM_SHAPES}

    def _inputs(self, X: np.ndarray) -> mx.nd.NDArray:
        return mx.nd.array(X, ctx=self.context, dtype=self.dtype)

    def _native_logits(self, X: np.ndarray) -> np.ndarray:
        return self.net(self._inputs(X)).asnumpy()

    def _loss(self, X: np.ndarray, y: np.ndarray) -> tuple[mx.nd.NDArray, mx.nd.NDArray]:
        """Logits and the mean loss; the gradients of the loss in the parameters' ``.grad()``.

        The loss gradient enters as ``(softmax(z) - one_hot(y)) / n``: the backward of
        ``log_softmax`` carries its float32 output's error (up to 64 u), as in ``MXNetBackend``.
        """
        labels = self._inputs(y)  # the loss picks by float class index
        with mx.autograd.record():
            logits = self.net(self._inputs(X))
        loss = self.loss(logits, labels).mean()
        onehot = mx.nd.one_hot(labels, depth=logits.shape[1], dtype=self.dtype)
        logits.backward(out_grad=(mx.nd.softmax(logits, axis=1) - onehot) / logits.shape[0])
        return logits, loss

    def _native_loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        _, loss = self._loss(X, y)
        return float(loss.asscalar()), {name: self._parameter(name).grad().asnumpy() for name in PARAM_SHAPES}

    def _native_train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        logits, loss = self._loss(X, y)
        for parameter in self._trained:  # in place: set_data of a new array costs 3x as much
            weights = parameter.data()
            weights -= lr * parameter.grad()
        correct = int((logits.argmax(axis=1).asnumpy() == y).sum())
        return float(loss.asscalar()), correct
