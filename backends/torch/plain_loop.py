"""The chapter's PyTorch loop: ``nn.Sequential``, ``torch.optim.SGD``, ``nn.CrossEntropyLoss``.

As ``train_ch6`` writes it: Xavier-uniform weights (``net.apply(init_weights)``),
the GPU when there is one (``d2l.try_gpu``), and per batch the loss and the
right predictions read back as Python numbers.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from backends.torch.lenet import build_lenet


@functools.cache
def training_run(variant: str, lr: float) -> tuple[str, nn.Module, torch.optim.Optimizer, nn.Module]:
    """Device, net, optimizer and loss of one run, kept across its epochs as a user's loop keeps them."""
    device = "cuda" if torch.cuda.is_available() else "cpu"  # as the chapter's try_gpu()
    net = build_lenet(variant)
    for layer in net:
        if isinstance(layer, nn.Linear | nn.Conv2d):
            nn.init.xavier_uniform_(layer.weight)
    net.to(device)
    return device, net, torch.optim.SGD(net.parameters(), lr=lr), nn.CrossEntropyLoss()


def epoch(batches, variant: str, lr: float) -> int:
    """Train the (variant, lr) LeNet for one pass over ``batches``; returns the number of examples seen."""
    device, net, optimizer, loss_fn = training_run(variant, lr)
    total_loss, correct, seen = 0.0, 0, 0
    for X, y in batches:
        X, y = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
        optimizer.zero_grad()
        logits = net(X)
        loss = loss_fn(logits, y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        correct += int((logits.argmax(dim=1) == y).sum())
        seen += len(y)
    return seen
