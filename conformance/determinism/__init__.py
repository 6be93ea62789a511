"""Determinism: does a backend give the same bits twice?

For each :mod:`~conformance.determinism.entries` entry (every op function, the op workloads
forward and backward, one LeNet training step per variant), ``python -m conformance.determinism
--backend NAME`` starts one worker process per combination of thread count (1, and every core
of the machine: the framework's thread variables, :meth:`backends.base.Backend.thread_environment`,
and the process's CPU affinity) and determinism switch (off, and on where the framework has one:
:meth:`backends.base.Backend.enable_determinism`). Each worker runs every entry twice; the
driver compares the two runs of each worker ("twice in one process") and the first runs of the
1-thread and the all-cores worker ("1 vs N threads"), and writes one
:class:`~conformance.results.DeterminismResult` per entry and switch setting to
``results/determinism-<backend>.json``.

Two outputs are *bitwise identical* when they have the same dtype, shape and bytes (so -0.0
and 0.0 differ, and so do NaNs of different payloads); otherwise the record holds the largest
absolute difference over the elements, infinite when the two disagree on which elements are
NaN or on an infinity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Difference:
    """How two sequences of output arrays compare: ``bitwise`` identical, else ``max_abs`` apart."""

    bitwise: bool
    max_abs: float

    def __str__(self) -> str:
        return "bitwise" if self.bitwise else f"{self.max_abs:.3g}"


def difference(first: Sequence[np.ndarray], second: Sequence[np.ndarray]) -> Difference:
    """Compare two runs' outputs (same count, in order), as the module docstring says."""
    if len(first) != len(second):
        raise ValueError(f"{len(first)} outputs against {len(second)}")
    bitwise, worst = True, 0.0
    for a, b in zip(first, second, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            raise ValueError(f"outputs of {a.dtype}{a.shape} and {b.dtype}{b.shape} cannot be compared")
        if np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes():
            continue
        bitwise = False
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        same_special = (np.isnan(a64) == np.isnan(b64)) & (np.isinf(a64) == np.isinf(b64))
        same_inf = np.where(np.isinf(a64) & np.isinf(b64), a64 == b64, True)
        if not (same_special.all() and same_inf.all()):
            return Difference(False, float("inf"))
        finite = np.isfinite(a64)
        if finite.any():
            worst = max(worst, float(np.abs(a64[finite] - b64[finite]).max()))
    return Difference(bitwise, worst)
