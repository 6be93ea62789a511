"""Conformance results: one typed record per case, a JSON file per backend, a summary table.

``results/conformance-<backend>.json`` holds ``{"schema": ..., "schema_version": ...,
"kind": "conformance", "environment": {...}, "cases": [...]}``; each case is a
:class:`CaseResult` written with :func:`dataclasses.asdict`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

SCHEMA = "cnn-chapter-reference/results"
SCHEMA_VERSION = 2


class Status(StrEnum):
    """The outcome of one case.

    ``pass``: within its bound (or raising as the reference does). ``fail``: a
    wrong value, shape, exception or message. ``error``: the call raised where
    the reference returns. ``gap``: a declared known gap (``known_gaps.toml``)
    that failed as declared. ``fixed``: a declared gap that passed, which fails
    the run until its entry is removed.
    """

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    GAP = "gap"
    FIXED = "fixed"


@dataclass(frozen=True)
class CaseResult:
    """One case of one backend.

    ``id``: the case id (``-k`` selects it); ``op``: the public function (or LeNet
    check) it calls; ``params``: JSON-friendly arguments; ``worst_ratio``: the
    largest error-to-bound ratio over the outputs (0 for exact comparisons, None
    when nothing was compared); ``notes``: the emulations the adapter used;
    ``source``: where the case comes from (``chapter``, ``grid``, ``ties``,
    ``special``, ``hypothesis``, ``error``, ``lenet``); ``gap`` and ``upstream``: the
    declared reason, and where it is tracked, when the case is a known gap;
    ``rerun``: a command that reruns exactly this case.
    """

    id: str
    op: str
    status: Status
    dtype: str = "-"
    source: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    device: str | None = None
    worst_ratio: float | None = None
    notes: tuple[str, ...] = ()
    message: str = ""
    gap: str = ""
    upstream: str = ""
    rerun: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (the status as its string)."""
        record = asdict(self)
        record["status"] = str(self.status)
        record["notes"] = list(self.notes)
        return record

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> CaseResult:
        """The inverse of :meth:`to_json`."""
        values = dict(record)
        values["status"] = Status(values["status"])
        values["notes"] = tuple(values.get("notes") or ())
        return cls(**values)


class Results:
    """Collects case records during a run and writes them at the end."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment
        self._cases: dict[str, CaseResult] = {}

    def add(self, result: CaseResult) -> None:
        """Record one case (a later record with the same id replaces the earlier); fills ``device``."""
        if result.device is None:
            result = CaseResult(**{**result.__dict__, "device": self.environment.get("device")})
        self._cases[result.id] = result

    @property
    def cases(self) -> list[CaseResult]:
        return list(self._cases.values())

    def write(self, path: Path) -> None:
        """Write the JSON atomically (a temporary file renamed into place)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "kind": "conformance",
            "environment": self.environment,
            "cases": [case.to_json() for case in self.cases],
        }
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
            json.dump(payload, handle, indent=1, default=str)
        os.replace(handle.name, path)

    def summary(self) -> list[str]:
        """A one-screen table: per op, the count of each status and the worst ratio."""
        return summary_lines(self.cases)


def summary_lines(cases: list[CaseResult]) -> list[str]:
    by_op: dict[str, list[CaseResult]] = defaultdict(list)
    for case in cases:
        by_op[case.op].append(case)
    statuses = list(Status)
    header = f"{'op':<27}{'cases':>6}" + "".join(f"{s:>8}" for s in statuses) + f"{'worst ratio':>13}"
    lines = [header, "-" * len(header)]
    totals = dict.fromkeys(statuses, 0)
    for op in sorted(by_op):
        counts = {s: sum(c.status == s for c in by_op[op]) for s in statuses}
        ratios = [c.worst_ratio for c in by_op[op] if c.worst_ratio is not None]
        worst = f"{max(ratios):13.3g}" if ratios else f"{'-':>13}"
        lines.append(f"{op:<27}{len(by_op[op]):>6}" + "".join(f"{counts[s]:>8}" for s in statuses) + worst)
        for status in statuses:
            totals[status] += counts[status]
    lines.append("-" * len(header))
    lines.append(f"{'total':<27}{len(cases):>6}" + "".join(f"{totals[s]:>8}" for s in statuses))
    return lines
