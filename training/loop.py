"""The training loop shared by every backend: same data, same order, same metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from backends.base import LeNetModel
from training.fashion_mnist import minibatches

EVAL_BATCH = 1000
# Learning rates and batch sizes that reach the accuracy targets (0.80 and 0.89
# test accuracy) in 10 epochs of plain SGD from Xavier init, measured on PyTorch:
# chapter lr 0.9 at batch 128 -> 0.849; relu-max at batch 128: lr 0.1 -> 0.887,
# 0.2 -> 0.895, 0.3 -> 0.884 (float32 runs of relu-max scatter by ~0.01 between
# frameworks); relu-max lr 0.1 at batch 64 -> 0.900.
DEFAULT_LR = {"chapter": 0.9, "relu-max": 0.1}
DEFAULT_BATCH = {"chapter": 128, "relu-max": 64}


def evaluate(model: LeNetModel, images: np.ndarray, labels: np.ndarray) -> float:
    """Test accuracy over every example (batches of 1000, in order)."""
    correct = 0
    for X, y in minibatches(images, labels, EVAL_BATCH, shuffle=False):
        correct += int(np.sum(np.argmax(model.logits(X), axis=1) == y))
    return correct / len(labels)


def train(
    model: LeNetModel,
    train_set: tuple[np.ndarray, np.ndarray],
    test_set: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    max_steps: int | None = None,
    progress: Callable[..., Any] | None = None,
) -> list[dict[str, float]]:
    """Train with plain SGD; one metrics entry per epoch.

    Batches come from :func:`training.fashion_mnist.minibatches` (seed, epoch),
    so every backend sees the same examples in the same order. ``max_steps``
    stops early (the short CI form). ``progress`` is a tqdm-like factory
    (``progress(total=..., desc=...)`` returning an object with ``update``,
    ``set_postfix`` and ``close``). ``examples_per_s`` times the training steps
    only (the data pipeline is the same NumPy code for every backend).
    Entries: ``epoch``, ``train_loss`` (mean over batches), ``train_acc``,
    ``test_acc``, ``examples_per_s``, ``steps``.
    """
    images, labels = train_set
    history: list[dict[str, float]] = []
    steps = 0
    for epoch in range(epochs):
        total_loss = correct = seen = batches = 0
        elapsed = 0.0
        limit = len(labels) // batch_size + (len(labels) % batch_size > 0)
        if max_steps is not None:
            limit = min(limit, max_steps - steps)
        bar = progress(total=limit, desc=f"epoch {epoch + 1}/{epochs}", unit="batch") if progress else None
        for X, y in minibatches(images, labels, batch_size, seed=seed, epoch=epoch):
            if batches == limit:
                break
            start = time.perf_counter()
            loss, right = model.train_step(X, y, lr)
            elapsed += time.perf_counter() - start
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"loss became {loss} at epoch {epoch + 1}, step {batches + 1}: lower lr"
                )
            total_loss += loss * len(y)
            correct += right
            seen += len(y)
            batches += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{total_loss / seen:.4f}", ex_per_s=f"{seen / elapsed:,.0f}")
        if bar is not None:
            bar.close()
        steps += batches
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": total_loss / seen,
                "train_acc": correct / seen,
                "test_acc": evaluate(model, *test_set),
                "examples_per_s": seen / elapsed,
                "steps": batches,
            }
        )
        if max_steps is not None and steps >= max_steps:
            break
    return history
