"""One LeNet training epoch (batch 128, float32) per runner, in examples/s.

Runners, timed side by side in one run: the backend's adapter
(``LeNetModel.train_step``), the framework's plain loop (:mod:`benchmarks.plain_loops`)
and (in the PyTorch run) the NumPy reference. ``--lenet-steps N`` limits the epoch to N batches
(the short CI form). Batches are made before the timer starts, so data loading
is excluded for every runner alike; each runner first takes 3 untimed warm-up
steps (compilation, allocation). The epoch is timed as ``PARTS`` consecutive
rounds of equal size (468 batches: 6 x 78) and examples/s comes from the median
round, so one stall of a shared machine does not decide a ratio.
"""

from __future__ import annotations

import functools

import pytest

from benchmarks.conftest import record_examples
from benchmarks.plain_loops import plain_epoch
from reference.fashion_mnist import load_fashion_mnist, minibatches
from training.loop import DEFAULT_LR
from training.models import ReferenceLeNet, make_model

BATCH = 128
WARMUP = 3
PARTS = 6


@functools.cache
def epoch_batches(steps: int | None) -> list:
    batches = list(minibatches(*load_fashion_mnist("train"), BATCH, seed=0, epoch=0, drop_last=True))
    return batches[:steps] if steps else batches


@pytest.mark.benchmark(group="lenet-epoch")
# runner varies fastest, so the runners of one variant are timed back to back
@pytest.mark.parametrize("runner", ["adapter", "plain", "reference"])
@pytest.mark.parametrize("variant", ["chapter", "relu-max"])
def test_lenet_epoch(benchmark, backend, pytestconfig, runner: str, variant: str) -> None:
    if runner == "reference" and backend.name != "torch":
        pytest.skip("the NumPy reference's epoch is timed once, beside PyTorch's (its 4x target)")
    batches = epoch_batches(pytestconfig.getoption("lenet_steps"))
    rounds = min(PARTS, len(batches))
    size = len(batches) // rounds
    parts = iter([batches[i * size : (i + 1) * size] for i in range(rounds)])
    lr = DEFAULT_LR[variant]
    if runner == "plain":
        epoch = plain_epoch(backend.name)
        epoch(batches[:WARMUP], variant, lr)

        def run() -> None:
            epoch(next(parts), variant, lr)
    else:
        model = ReferenceLeNet(variant) if runner == "reference" else make_model(backend.name, variant)
        for X, y in batches[:WARMUP]:
            model.train_step(X, y, lr)

        def run() -> None:
            for X, y in next(parts):
                model.train_step(X, y, lr)

    name = "numpy-reference" if runner == "reference" else f"{backend.name}-{runner}"
    benchmark.name = f"lenet-epoch-{variant}-{name}"
    benchmark.extra_info.update(backend=backend.name, variant=variant)
    record_examples(benchmark, size * BATCH, runner)  # per round
    benchmark.pedantic(run, rounds=rounds, iterations=1)
