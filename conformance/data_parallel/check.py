"""One data-parallel step against one single-process step, from the same state and the same global batch.

The backend's own float32 single-process run (``backend.lenet(variant, "float32")``, ``train_step``
at ``TRAJECTORY_LR[variant]`` on the first global batches of :data:`GLOBAL_BATCH`, from
``init_params(0)``) gives the states ``s_0 .. s_N``. For each step ``k`` every rank loads ``s_k``,
takes its equal shard of batch ``k`` (its loss the mean over the shard) and makes one step with the
gradients averaged over the ranks, which is the global batch's mean gradient; its updated
parameters and loss must equal the single-process step's from ``s_k``.

The bound: :func:`conformance.lenet_checks.train_step_bounds` bounds the error of any float32
evaluation of this step against the exact step from the same float32 state (whatever the summation
order: the data-parallel gradient is the same sums in another order, each shard's mean then the
mean over ranks, and a division by a power of two is exact), plus the rounding of the exact result
to float32 (:func:`~conformance.lenet_checks.allowance`). Both runs are within it of the same exact
step, so they differ by at most twice it: the allowance checked here, elementwise, for the
parameters and the loss. The replicas must agree with each other bit for bit after every step.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from backends import UnsupportedError, folder_module
from conformance.compare import ConformanceError, check_output
from conformance.data_parallel.job import Arrays, Job, RankResult, read_rank_result, unflat, write_job
from conformance.data_parallel.launcher import DEFAULT_TIMEOUT, launch
from conformance.lenet_checks import (
    TRAJECTORY_BATCH,
    TRAJECTORY_LR,
    allowance,
    first_batches,
    parameter_deviation,
    train_step_bounds,
)
from reference import lenet

GLOBAL_BATCH = TRAJECTORY_BATCH  # 128: splits over 1, 2 and 4 processes
OP = "lenet_data_parallel"  # the check's name in the known gaps
DTYPE = "float32"
ROOT = Path(__file__).resolve().parents[2]


def result_id(variant: str, processes: int) -> str:
    """The check's id: ``lenet-data-parallel-<variant>-<processes>``."""
    return f"lenet-data-parallel-{variant}-{processes}"


def threads_per_process(processes: int, cores: int | None = None) -> int:
    """``cores // processes``, at least 1 (``cores``: the CPUs this process may run on).

    >>> threads_per_process(4, 2), threads_per_process(2, 16)
    (1, 8)
    """
    cores = len(os.sched_getaffinity(0)) if cores is None else cores
    return max(1, cores // processes)


@dataclass(frozen=True)
class SingleProcessRun:
    """The backend's own float32 run: ``states[k]`` before step ``k`` (``steps + 1`` of them),
    ``losses[k]`` of step ``k``, the global ``batches``, and each step's allowance for the data-parallel
    step (``loss_allowances[k]``, ``allowances[k][name]``: twice the bound, module docstring)."""

    variant: str
    lr: float
    states: list[Arrays]
    losses: list[float]
    batches: list[tuple[np.ndarray, np.ndarray]]
    loss_allowances: list[float]
    allowances: list[Arrays]

    @property
    def steps(self) -> int:
        return len(self.losses)


def single_process_run(backend: Any, variant: str, steps: int) -> SingleProcessRun:
    """``steps`` SGD steps of the backend's float32 LeNet from ``init_params(0)``, and their allowances."""
    lr = TRAJECTORY_LR[variant]
    batches = first_batches(steps, GLOBAL_BATCH)
    model = backend.lenet(variant, DTYPE)
    model.load_params(lenet.init_params(0, DTYPE))
    states, losses, loss_allowances, allowances = [model.params()], [], [], []
    for X, y in batches:
        params64 = {name: value.astype(np.float64) for name, value in states[-1].items()}
        expected = train_step_bounds(params64, X.astype(np.float64), y, variant, DTYPE, lr)
        loss_allowances.append(float(2 * allowance(expected.loss, expected.loss_bound, DTYPE)))
        allowances.append(
            {
                name: 2 * allowance(expected.params[name], expected.bounds[name], DTYPE)
                for name in lenet.PARAM_SHAPES
            }
        )
        losses.append(model.train_step(X, y, lr)[0])
        states.append(model.params())
    return SingleProcessRun(variant, lr, states, losses, batches, loss_allowances, allowances)


def data_parallel_module(backend: Any) -> ModuleType:
    """The ``data_parallel`` module of the backend's folder; :class:`UnsupportedError` when it has none."""
    try:
        return folder_module(backend, "data_parallel")
    except ModuleNotFoundError as error:
        if error.name is not None:  # the module exists but imports a missing package
            raise
        raise UnsupportedError(f"{backend.name} has no data-parallel LeNet: {error}") from None


def check_steps(single: SingleProcessRun, ranks: list[RankResult]) -> float:
    """The worst ratio over the checked steps; :class:`ConformanceError` naming the first step out of bounds,
    or a replica that differs from rank 0's."""
    __tracebackhide__ = True
    for rank, result in enumerate(ranks[1:], start=1):
        differs = np.flatnonzero((result.digests != ranks[0].digests).any(axis=1))
        if differs.size:
            k = int(differs[0])
            phase = f"checked step {k}" if k < single.steps else f"free step {k - single.steps}"
            raise ConformanceError(f"rank {rank}'s parameters after {phase} differ from rank 0's")
    worst = 0.0
    for k in range(single.steps):
        updated = unflat(ranks[0].checked[k])
        loss = np.asarray(ranks[0].checked_losses[k], np.float64)
        expected_loss = np.asarray(single.losses[k], np.float64)
        worst = max(
            worst, check_output(f"step {k}: loss", loss, expected_loss, np.asarray(single.loss_allowances[k]))
        )
        for name in lenet.PARAM_SHAPES:
            check = check_output(
                f"step {k}: {name}", updated[name], single.states[k + 1][name], single.allowances[k][name]
            )
            worst = max(worst, check)
    return worst


@dataclass(frozen=True)
class Measured:
    """A data-parallel run that passed its check: the worst ratio, the free run's losses and parameter
    deviations from the single-process states, examples/s after the first step, threads per process and
    the launch's wall time."""

    worst_ratio: float
    losses: list[float]
    deviations: list[float]
    examples_per_s: float
    threads: int
    seconds: float


def check_data_parallel(
    backend: Any,
    single: SingleProcessRun,
    processes: int,
    timeout: float = DEFAULT_TIMEOUT,
    threads: int | None = None,
) -> Measured:
    """Run ``processes`` ranks on ``single``'s steps and check every step (module docstring).

    ``threads`` per process: default :func:`threads_per_process`.

    Raises :class:`UnsupportedError` (no data-parallel module), ``ValueError`` (a global batch that does
    not split), :class:`~conformance.data_parallel.launcher.RankError` (a rank died or hung) or
    :class:`ConformanceError` (a step out of bounds, replicas that differ).
    """
    module = data_parallel_module(backend)
    threads = threads or threads_per_process(processes)
    job = Job(single.variant, single.lr, processes, single.steps, GLOBAL_BATCH, threads)
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": pythonpath}
    with tempfile.TemporaryDirectory(prefix="ddp-") as tmp:
        folder = Path(tmp)
        write_job(folder, job, single.states[:-1], single.batches)
        start = time.perf_counter()
        launch(module.commands(processes, folder), folder, processes, env, timeout)
        seconds = time.perf_counter() - start
        ranks = [read_rank_result(folder, rank) for rank in range(processes)]
    worst = check_steps(single, ranks)
    free = ranks[0]
    deviations = [
        parameter_deviation(unflat(free.free[k]), single.states[k + 1]) for k in range(single.steps)
    ]
    timed = (single.steps - 1) * GLOBAL_BATCH
    rate = timed / free.seconds if free.seconds > 0 else float("nan")
    return Measured(worst, [float(v) for v in free.free_losses], deviations, rate, threads, seconds)
