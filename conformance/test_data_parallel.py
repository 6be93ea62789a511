"""Data-parallel LeNet against the backend's own single-process run, the short form.

Two processes, :data:`STEPS` consecutive steps of the chapter's LeNet, each from the single-process
state before it, checked within twice the training-step bound (:mod:`conformance.data_parallel.check`).
The long form (1, 2 and 4 processes, 100 steps, both variants, throughput) is ``nox -s ddp-<backend>``.
A backend without a ``data_parallel`` module declares the gap (op ``lenet_data_parallel``): a strict
expected failure. Under pytest-xdist the test joins its variant's group (``lenet-chapter``): it runs on
the worker that runs the variant's other LeNet checks, one at a time, and shares their cached data.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conformance.cases import rerun_item
from conformance.data_parallel.check import (
    GLOBAL_BATCH,
    OP,
    check_data_parallel,
    data_parallel_module,
    result_id,
    single_process_run,
)
from conformance.known_gaps import find
from conformance.lenet_checks import TRAJECTORY_LR
from conformance.runner import record_check

STEPS = 10
PROCESSES = 2


@dataclass(frozen=True)
class DataParallelCheck:
    """One data-parallel check: its result id, op, variant and process count."""

    id: str
    op: str
    variant: str
    processes: int

    def __repr__(self) -> str:
        return self.id


CHECKS = [DataParallelCheck(result_id("chapter", PROCESSES), OP, "chapter", PROCESSES)]


@pytest.mark.parametrize("check", CHECKS, ids=repr)
def test_each_data_parallel_step_matches_the_single_process_step(
    backend, results, gaps, request, check: DataParallelCheck
) -> None:
    params = {"variant": check.variant, "processes": check.processes, "steps": STEPS,
              "lr": TRAJECTORY_LR[check.variant], "global_batch": GLOBAL_BATCH}  # fmt: skip

    def run() -> float:
        data_parallel_module(backend)  # a backend without one: UnsupportedError before anything runs
        single = single_process_run(backend, check.variant, STEPS)
        return check_data_parallel(backend, single, check.processes).worst_ratio

    record = {"id": check.id, "op": check.op, "params": params, "dtype": "float32", "source": "lenet",
              "rerun": rerun_item(backend.name, request.node.name)}  # fmt: skip
    record_check(results, record, find(gaps, check.op, check.id), run)
