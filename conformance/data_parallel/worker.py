"""The loop each rank runs around its framework's replica of LeNet.

A framework's ``backends/<framework>/data_parallel.py`` builds a :class:`Replica` on each rank and
calls :func:`run`. The rank reports its progress in ``rank-<r>.status`` (JSON: its pid, a progress
counter, a label; read by the launcher to name a rank that died or hung), runs the job's check
(each step from the single-process state before it) and its free run (from the first state; the
steps after the first are timed, the steps alone: not the slicing, the parameters' copies and
digests), and writes its :class:`~conformance.data_parallel.job.RankResult`.

A fault can be injected through ``CNN_CHAPTER_REFERENCE_DDP_FAULT="<rank>:<kind>:<step>"``, at
that step of the check: ``exit`` (the rank exits with status 3), ``hang`` (it sleeps before the
step), ``sum`` (every rank steps with ``processes * lr``: gradients summed, not averaged).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Protocol

import numpy as np

from conformance.data_parallel.job import (
    FAULT_VARIABLE,
    Arrays,
    RankResult,
    flat,
    read_job,
    shard,
    write_rank_result,
)

FAULTS = ("exit", "hang", "sum")
FAULT_EXIT_STATUS = 3


class Replica(Protocol):
    """A framework's LeNet on one rank: its gradients are averaged over all ranks at every step."""

    def load(self, params: Arrays) -> None:
        """Set every parameter (canonical float32 arrays)."""

    def step(self, X: np.ndarray, y: np.ndarray, lr: float) -> float:
        """One SGD step on this rank's shard, gradients averaged over the ranks; the global batch's loss
        (the mean over ranks of each shard's mean loss)."""

    def params(self) -> Arrays:
        """Every parameter as canonical NumPy arrays."""


def parse_fault(text: str) -> tuple[int, str, int] | None:
    """``"<rank>:<kind>:<step>"`` as ``(rank, kind, step)``; None for an empty text.

    >>> parse_fault("1:hang:3")
    (1, 'hang', 3)
    """
    if not text:
        return None
    parts = text.split(":")
    if len(parts) != 3 or parts[1] not in FAULTS or not (parts[0].isdigit() and parts[2].isdigit()):
        raise ValueError(f"{FAULT_VARIABLE}={text!r}: expected '<rank>:<kind>:<step>', kind one of {FAULTS}")
    return int(parts[0]), parts[1], int(parts[2])


class Status:
    """``rank-<r>.status``: the rank's pid, a counter that grows with its progress, and a label."""

    def __init__(self, folder: Path, rank: int) -> None:
        self.path = folder / f"rank-{rank}.status"
        self.progress = 0

    def report(self, label: str, done: bool = False) -> None:
        self.progress += 1
        record = {"pid": os.getpid(), "progress": self.progress, "label": label, "done": done}
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(record))
        partial.replace(self.path)


def _digest(params: Arrays) -> np.ndarray:
    return np.frombuffer(hashlib.sha1(flat(params).tobytes()).digest(), dtype=np.uint8)


def run(folder: Path, rank: int, replica: Replica) -> None:
    """Run the job of ``folder`` as ``rank`` with ``replica`` and write this rank's result."""
    status = Status(folder, rank)
    status.report("started")
    job, states, X, y = read_job(folder)
    rows = shard(job.global_batch, rank, job.processes)
    fault = parse_fault(os.environ.get(FAULT_VARIABLE, ""))
    keep = rank == 0
    checked, checked_losses, free, free_losses, digests = [], [], [], [], []
    for k in range(job.steps):
        lr = job.lr
        if fault and fault[2] == k:
            fault_rank, kind, _ = fault
            if kind == "sum":
                lr = job.lr * job.processes
            elif rank == fault_rank and kind == "exit":
                os._exit(FAULT_EXIT_STATUS)
            elif rank == fault_rank and kind == "hang":
                time.sleep(10**6)
        status.report(f"in check step {k}")
        replica.load(states[k])
        checked_losses.append(replica.step(X[k, rows], y[k, rows], lr))
        status.report(f"after check step {k}")
        params = replica.params()
        digests.append(_digest(params))
        if keep:
            checked.append(flat(params))
    replica.load(states[0])
    seconds = 0.0
    for k in range(job.steps):
        status.report(f"in free step {k}")
        start = time.perf_counter()
        free_losses.append(replica.step(X[k, rows], y[k, rows], job.lr))  # a float: the step has finished
        if k:  # the first step warms up (compiles, allocates): not timed
            seconds += time.perf_counter() - start
        status.report(f"after free step {k}")
        params = replica.params()
        digests.append(_digest(params))
        if keep:
            free.append(flat(params))
    size = len(flat(states[0]))
    result = RankResult(
        checked=np.array(checked, np.float32).reshape(-1, size),
        checked_losses=np.array(checked_losses, np.float64),
        free=np.array(free, np.float32).reshape(-1, size),
        free_losses=np.array(free_losses, np.float64),
        digests=np.array(digests, np.uint8),
        seconds=seconds,
    )
    write_rank_result(folder, rank, result)
    status.report("finished", done=True)
