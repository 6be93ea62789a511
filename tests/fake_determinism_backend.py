"""A framework-free backend whose ``relu`` drifts in known ways, for the determinism check's tests.

``relu(X)`` is the reference's plus ``CALL_DRIFT`` times the number of earlier calls in this
process (none once :meth:`enable_determinism` ran) plus ``THREAD_DRIFT`` times the thread count
that :meth:`thread_environment` gave the process plus ``AFFINITY_DRIFT`` times the number of CPUs
the process may run on. So two calls in one process differ by exactly ``CALL_DRIFT`` with the
switch off and not at all with it on, and a 1-thread and an N-thread process differ by
``(THREAD_DRIFT + AFFINITY_DRIFT) * (N - 1)`` either way. ``sigmoid`` is the reference's, and
raises once the switch is on (a framework without a deterministic kernel for it).
"""

from __future__ import annotations

import os

import numpy as np

import reference
from backends.base import Backend, UnsupportedError

CALL_DRIFT = 2.0**-4
THREAD_DRIFT = 2.0**-6
AFFINITY_DRIFT = 2.0**-8
VARIABLE = "FAKE_DETERMINISM_THREADS"


class DriftingBackend(Backend):
    name = "drifting"
    framework = "numpy"

    def __init__(self, device: str = "auto") -> None:
        super().__init__()
        self.device, self.framework_version, self.precision = "cpu", "0", "float64"
        self._calls = 0
        self._deterministic = False

    @classmethod
    def thread_environment(cls, threads: int) -> dict[str, str]:
        return {VARIABLE: str(threads)}

    def enable_determinism(self) -> str:
        self._deterministic = True
        return "DriftingBackend.enable_determinism()"

    def lenet(self, variant: str = "chapter", dtype: str = "float32"):
        raise UnsupportedError("no LeNet")

    def prepare(self, op, *arrays, backward=False, dY=None, **kwargs):
        raise UnsupportedError("no prepared ops")

    def relu(self, X: np.ndarray) -> np.ndarray:
        drift = 0.0 if self._deterministic else CALL_DRIFT * self._calls
        self._calls += 1
        drift += THREAD_DRIFT * int(os.environ[VARIABLE]) + AFFINITY_DRIFT * len(os.sched_getaffinity(0))
        return (reference.relu(np.asarray(X, np.float64)) + drift).astype(X.dtype)

    def sigmoid(self, X: np.ndarray) -> np.ndarray:
        if self._deterministic:
            raise RuntimeError("sigmoid has no deterministic kernel\nsecond line")
        return reference.sigmoid(X)
