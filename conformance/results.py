"""Conformance results: one record per case, a JSON file per backend, a summary table.

``results/conformance-<backend>.json`` holds ``{"environment": {...}, "cases": [...]}``;
each case has ``id``, ``op``, ``params``, ``dtype``, ``device``, ``status``
(``pass``, ``fail``, ``error`` or ``unsupported``), ``worst_ratio`` (the
largest error-to-bound ratio; 0 for exact comparisons), ``notes`` (emulations
the adapter used), ``source`` and, unless passed, ``message``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

STATUSES = ("pass", "fail", "error", "unsupported")


class Results:
    """Collects case records during a run and writes them at the end."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment
        self._cases: dict[str, dict[str, Any]] = {}

    def add(self, **record: Any) -> None:
        """Record one case (a later record with the same id replaces the earlier)."""
        record.setdefault("device", self.environment.get("device"))
        self._cases[record["id"]] = record

    @property
    def cases(self) -> list[dict[str, Any]]:
        return list(self._cases.values())

    def write(self, path: Path) -> None:
        """Write the JSON atomically (a temporary file renamed into place)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"environment": self.environment, "cases": self.cases}
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
            json.dump(payload, handle, indent=1, default=str)
        os.replace(handle.name, path)

    def summary(self) -> list[str]:
        """A one-screen table: per op, the count of each status and the worst ratio."""
        return summary_lines(self.cases)


def summary_lines(cases: list[dict[str, Any]]) -> list[str]:
    by_op: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        by_op[case["op"]].append(case)
    header = f"{'op':<27}{'cases':>6}" + "".join(f"{s:>12}" for s in STATUSES) + f"{'worst ratio':>13}"
    lines = [header, "-" * len(header)]
    totals = dict.fromkeys(STATUSES, 0)
    for op in sorted(by_op):
        counts = {s: sum(c["status"] == s for c in by_op[op]) for s in STATUSES}
        ratios = [c["worst_ratio"] for c in by_op[op] if c.get("worst_ratio") is not None]
        worst = f"{max(ratios):13.3g}" if ratios else f"{'-':>13}"
        lines.append(f"{op:<27}{len(by_op[op]):>6}" + "".join(f"{counts[s]:>12}" for s in STATUSES) + worst)
        for status in STATUSES:
            totals[status] += counts[status]
    lines.append("-" * len(header))
    lines.append(f"{'total':<27}{len(cases):>6}" + "".join(f"{totals[s]:>12}" for s in STATUSES))
    return lines
