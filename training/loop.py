"""The training loop shared by every backend: same data, same order, same metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backends.lenet import LeNetModel
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
) -> list[dict[str, Any]]:
    """Train with plain SGD; one metrics entry per epoch.

    Batches come from :func:`training.fashion_mnist.minibatches` (seed, epoch),
    so every backend sees the same examples in the same order. ``max_steps``
    stops early (the short CI form). ``progress`` is a tqdm-like factory
    (``progress(total=..., desc=...)`` returning an object with ``update``,
    ``set_postfix`` and ``close``). ``examples_per_s`` times the training steps
    only (the data pipeline is the same NumPy code for every backend).
    Entries: ``epoch``, ``train_loss`` (the mean over the epoch's examples of the
    loss before each step: each batch's mean loss weighted by its size),
    ``train_acc`` (likewise), ``test_acc``, ``examples_per_s``, ``steps``, ``step_losses``
    (each step's batch mean loss before its update, in order: the per-step curve).
    """
    history: list[dict[str, Any]] = []
    steps = 0
    for epoch in range(epochs):
        limit = _epoch_steps(len(train_set[1]), batch_size, None if max_steps is None else max_steps - steps)
        bar = progress(total=limit, desc=f"epoch {epoch + 1}/{epochs}", unit="batch") if progress else None
        totals = _train_epoch(model, train_set, batch_size, lr, seed=seed, epoch=epoch, limit=limit, bar=bar)
        if bar is not None:
            bar.close()
        steps += totals.batches
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": totals.loss_sum / totals.seen,
                "train_acc": totals.correct / totals.seen,
                "test_acc": evaluate(model, *test_set),
                "examples_per_s": totals.seen / totals.elapsed,
                "steps": totals.batches,
                "step_losses": tuple(totals.losses),
            }
        )
        if max_steps is not None and steps >= max_steps:
            break
    return history


@dataclass
class _EpochTotals:
    """Running sums over one epoch's training steps."""

    loss_sum: float = 0.0  # sum over batches of the batch's mean loss times its size
    correct: int = 0
    seen: int = 0
    batches: int = 0
    elapsed: float = 0.0  # seconds inside model.train_step only
    losses: list[float] = field(default_factory=list)  # each batch's mean loss, in order


def _epoch_steps(n: int, batch_size: int, steps_left: int | None) -> int:
    """Steps in an epoch of ``n`` examples (the last batch may be short), capped by ``steps_left``."""
    full_epoch = -(-n // batch_size)
    return full_epoch if steps_left is None else min(full_epoch, steps_left)


def _train_epoch(
    model: LeNetModel,
    train_set: tuple[np.ndarray, np.ndarray],
    batch_size: int,
    lr: float,
    *,
    seed: int,
    epoch: int,
    limit: int,
    bar: Any,
) -> _EpochTotals:
    """Up to ``limit`` SGD steps over epoch ``epoch``'s minibatches; raises on a non-finite loss."""
    totals = _EpochTotals()
    for X, y in minibatches(*train_set, batch_size, seed=seed, epoch=epoch):
        if totals.batches == limit:
            break
        start = time.perf_counter()
        loss, right = model.train_step(X, y, lr)
        totals.elapsed += time.perf_counter() - start
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"loss became {loss} at epoch {epoch + 1}, step {totals.batches + 1}: lower lr"
            )
        totals.loss_sum += loss * len(y)
        totals.losses.append(float(loss))
        totals.correct += right
        totals.seen += len(y)
        totals.batches += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(
                loss=f"{totals.loss_sum / totals.seen:.4f}", ex_per_s=f"{totals.seen / totals.elapsed:,.0f}"
            )
    return totals
