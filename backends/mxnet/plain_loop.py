"""The chapter's MXNet loop: Gluon ``nn.Sequential``, ``gluon.Trainer("sgd")``, ``SoftmaxCrossEntropyLoss``.

As ``train_ch6`` writes it: Xavier initialisation, the GPU when there is one
(``d2l.try_gpu``), ``autograd.record()`` / ``backward()`` / ``trainer.step``,
and per batch the summed loss and the right predictions read back as scalars.
Unlike the chapter, the net is hybridized, as an MXNet user after speed would
(each layer runs as a cached graph; on a CPU it barely changes the time).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from backends.mxnet.lenet import build_lenet
from backends.mxnet.ops import mx

autograd, gluon, init = mx.autograd, mx.gluon, mx.init


@functools.cache
def training_run(variant: str, lr: float) -> tuple[Any, Any, Any, Any]:
    """Device, net, trainer and loss of one run, kept across its epochs as a user's loop keeps them."""
    device = mx.gpu() if mx.context.num_gpus() else mx.cpu()
    net = build_lenet(variant)
    net.initialize(init.Xavier(), ctx=device)
    with warnings.catch_warnings():
        # Its advice to use HybridSequential instead: the chapter's net is an nn.Sequential.
        warnings.filterwarnings("ignore", "All children of this Sequential", UserWarning)
        net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
    return device, net, trainer, gluon.loss.SoftmaxCrossEntropyLoss()


def epoch(batches: Iterable[tuple[np.ndarray, np.ndarray]], variant: str, lr: float) -> int:
    """Train the (variant, lr) LeNet for one pass over ``batches``; returns the number of examples seen."""
    device, net, trainer, loss = training_run(variant, lr)
    total_loss, correct, seen = 0.0, 0, 0
    for X, y in batches:
        X, y = mx.nd.array(X, ctx=device), mx.nd.array(y, ctx=device)  # float labels, as the loss takes
        with autograd.record():
            y_hat = net(X)
            l = loss(y_hat, y)  # noqa: E741 (the chapter's name)
        l.backward()
        trainer.step(X.shape[0])  # the loss is per example: step divides the summed gradient
        total_loss += l.sum().asscalar()
        correct += int((y_hat.argmax(axis=1) == y).sum().asscalar())
        seen += X.shape[0]
    return seen
