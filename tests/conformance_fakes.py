"""A backend without a framework for testing the conformance plugin: the NumPy reference itself.

``ReferenceBackend`` answers every public function with the reference's own
(so every case passes), except those given in ``overrides``. ``installed``
makes ``pytest conformance --backend fake`` find it in this process, with a
backend folder of the caller's choosing (for its own ``known_gaps.toml``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import backends
import reference
from reference.dtypes import HALF_DTYPES

NAME = "fake"


class ReferenceBackend:
    """Duck-types :class:`backends.Backend` for the conformance suite, on the reference."""

    def __init__(self, overrides: dict[str, Callable[..., Any]] | None = None, name: str = NAME) -> None:
        self._overrides = overrides or {}
        self.name = name

    def environment(self) -> dict[str, str]:
        return {"backend": self.name, "framework_version": "0", "device": "cpu", "precision": "float64"}

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        yield []

    def accumulation_dtype(self, function: str, dtype: np.dtype) -> np.dtype:
        """float32 for the half dtypes (the reference sums in float64, within a float32 sum's bound)."""
        return np.dtype(np.float32) if np.dtype(dtype) in HALF_DTYPES else np.dtype(dtype)

    def __getattr__(self, name: str) -> Any:
        if name in self._overrides:
            return self._overrides[name]
        return getattr(reference, name)


def install(monkeypatch: pytest.MonkeyPatch, backend: ReferenceBackend, folder: Path) -> None:
    """Make ``--backend <backend.name>`` give ``backend``, whose folder is ``folder``."""
    get_backend, backend_folder = backends.get_backend, backends.backend_folder
    monkeypatch.setattr(
        backends,
        "get_backend",
        lambda name, device="auto": backend if name == backend.name else get_backend(name, device),
    )
    monkeypatch.setattr(
        backends, "backend_folder", lambda name: folder if name == backend.name else backend_folder(name)
    )
