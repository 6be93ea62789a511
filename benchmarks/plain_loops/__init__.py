"""Idiomatic training loops, one module per framework: what a user of that framework
would write for the chapter's LeNet (its own model, optimizer and loss; per batch
the loss and the accuracy are accumulated, as the chapter's ``train_ch6`` does).

Each module defines ``epoch(batches, variant, lr) -> int`` that trains one pass
over ``batches`` (an iterable of NumPy ``(X, y)``) and returns the number of
examples seen. The model of each ``(variant, lr)`` persists across calls, as
across the epochs of one training run. They are the yardstick of the adapters'
own training steps.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def plain_epoch(backend: str) -> Callable[..., int]:
    """The plain-loop ``epoch`` function of ``backend``."""
    return importlib.import_module(f"benchmarks.plain_loops.{backend}_loop").epoch
