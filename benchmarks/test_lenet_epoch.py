"""One LeNet training epoch (batch 128, float32), each runner beside its yardstick, in examples/s.

Pairs, each runner timed against its yardstick in the same test: the backend's
adapter (``LeNetModel.train_step``) against the framework's plain loop
(``plain_loop.py`` in the backend's folder), and (in the PyTorch run) the NumPy reference
against the PyTorch adapter (its 4x target). The epoch is cut into ``PARTS``
equal rounds (468 batches: 6 x 78) and the two runners take turns, round by
round, the first place alternating; so a slow spell of a shared machine hits
both alike. pytest-benchmark times the runner; the yardstick's round times go
to ``extra_info["yardstick_seconds"]``; both rates come from median rounds.
``--lenet-steps N`` limits the epoch to N batches (the short CI form). Batches
are made before the timer starts, so data loading is excluded alike; each
runner first takes 3 untimed warm-up steps (compilation, allocation). A backend whose model
cannot train (:class:`backends.UnsupportedError`) records a declared gap instead. Each record
also carries its round's FLOPs (examples × :func:`benchmarks.lenet_flops.lenet_training_flops`),
so the report divides the run's float32 matmul GFLOP/s by the FLOPs per example: the roof.
``NOTES.md`` beside this file keeps the PyTorch adapter's measured shares of that roof and the
effect of each speed choice.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import numpy as np
import pytest

from backends import Backend, UnsupportedError, folder_module
from backends.lenet import ReferenceLeNet
from benchmarks.lenet_flops import lenet_training_flops
from benchmarks.records import declare_gap, record_info
from training.fashion_mnist import load_fashion_mnist, minibatches
from training.loop import DEFAULT_LR
from training.models import make_model

BATCH = 128
WARMUP = 3
PARTS = 6
YARDSTICK = {"adapter": "plain", "reference": "adapter"}
# The NumPy reference's epoch is timed once, in turns with this backend's adapter (its 4x target).
REFERENCE_TIMED_BESIDE = "torch"

Batches = list[tuple[np.ndarray, np.ndarray]]
Epoch = Callable[[Batches], object]


@functools.cache
def epoch_batches(steps: int | None) -> Batches:
    batches = list(minibatches(*load_fashion_mnist("train"), BATCH, seed=0, epoch=0, drop_last=True))
    return batches[:steps] if steps else batches


def runner_epoch(runner: str, backend: Backend, variant: str, warmup: Batches) -> Epoch:
    """A function that trains ``runner``'s LeNet over some batches, after ``warmup`` untimed steps."""
    lr = DEFAULT_LR[variant]
    if runner == "plain":
        epoch = folder_module(backend, "plain_loop").epoch
        epoch(warmup, variant, lr)
        return lambda batches: epoch(batches, variant, lr)
    model = ReferenceLeNet(variant) if runner == "reference" else make_model(backend.name, variant)

    def train(batches: Batches) -> None:
        for X, y in batches:
            model.train_step(X, y, lr)

    train(warmup)
    return train


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each adapter against its plain loop; the reference only beside :data:`REFERENCE_TIMED_BESIDE`."""
    if "runner" in metafunc.fixturenames:
        beside = metafunc.config.getoption("backend") == REFERENCE_TIMED_BESIDE
        metafunc.parametrize("runner", [runner for runner in YARDSTICK if runner == "adapter" or beside])


@pytest.mark.benchmark(group="lenet-epoch")
@pytest.mark.parametrize("variant", ["chapter", "relu-max"])
def test_lenet_epoch(benchmark, request, backend, pytestconfig, runner: str, variant: str) -> None:
    batches = epoch_batches(pytestconfig.getoption("lenet_steps"))
    rounds = min(PARTS, len(batches))
    size = len(batches) // rounds
    parts = [batches[i * size : (i + 1) * size] for i in range(rounds)]
    yardstick = YARDSTICK[runner]
    try:
        train = runner_epoch(runner, backend, variant, batches[:WARMUP])
        train_yardstick = runner_epoch(yardstick, backend, variant, batches[:WARMUP])
    except UnsupportedError as error:  # a backend that cannot train: a declared gap
        declare_gap(request, error, backend=backend.name, runner=runner, variant=variant, yardstick=yardstick)
    yardstick_seconds: list[float] = []
    done = []  # rounds finished

    def yardstick_turn() -> None:
        start = time.perf_counter()
        train_yardstick(parts[len(done)])
        yardstick_seconds.append(time.perf_counter() - start)

    def before() -> None:  # untimed, as is after(): the yardstick's turn, first in even rounds
        if len(done) % 2 == 0:
            yardstick_turn()

    def after() -> None:
        if len(done) % 2 == 1:
            yardstick_turn()
        done.append(True)

    name = "numpy-reference" if runner == "reference" else f"{backend.name}-{runner}"
    benchmark.name = f"lenet-epoch-{variant}-{name}"
    examples = size * BATCH  # per round
    flops = examples * lenet_training_flops()  # a round's FLOPs: the roof's denominator, per example
    record_info(
        benchmark, backend=backend.name, runner=runner, variant=variant, examples=examples, flops=flops
    )
    benchmark.pedantic(lambda: train(parts[len(done)]), setup=before, teardown=after, rounds=rounds)
    record_info(benchmark, yardstick=yardstick, yardstick_seconds=tuple(yardstick_seconds))
