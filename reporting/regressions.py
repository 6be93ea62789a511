"""Benchmark ratios of the newest saved run against the last earlier run of the same machine.

The benchmark sessions save every run with pytest-benchmark's storage
(``--benchmark-autosave --benchmark-storage <results>/benchmark-history/<backend>``, a
``-quick`` suffix for the short CI form). Absolute times vary between machines and runs, so
what is compared are each run's own ratios (:func:`benchmarks.records.run_ratios`): each op's
GFLOP/s over the float64 matmul of its run, each LeNet epoch runner's examples/s over its
yardstick's and its share of the roof. A ratio that fell by more than :data:`THRESHOLD` is
flagged. The same machine: the same CPU, core count and device (``machine_info``, which
``benchmarks/conftest.py`` fills with the backend's environment); framework and NumPy versions
may differ, a change of those being what a regression is looked for after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.records import run_ratios
from conformance.results import BenchmarkInfo, BenchmarkResult
from reporting.collect import Cell, Table, Tone

HISTORY = "benchmark-history"
REFERENCE = "reference"  # the runs of nox -s bench-reference (the reference's ops; no quick form)
THRESHOLD = 0.10  # a ratio that fell by more than this fraction is flagged


def history_folder(results: Path, backend: str, quick: bool) -> Path:
    """Where the runs of ``backend`` are saved (the quick CI form apart: its rounds are shorter)."""
    return results / HISTORY / (f"{backend}-quick" if quick else backend)


@dataclass(frozen=True)
class SavedRun:
    """One run saved by pytest-benchmark: when, on what machine, and its ratios by name."""

    path: Path
    datetime: str
    machine: tuple[Any, ...]
    ratios: dict[str, float]


def machine_of(machine_info: dict[str, Any]) -> tuple[Any, ...]:
    """The machine a run was measured on: CPU model, core count and device."""
    cpu = machine_info.get("cpu", {})
    return cpu.get("brand_raw"), cpu.get("count"), machine_info.get("device", "cpu")


def read_saved_run(path: Path) -> SavedRun:
    """A run from a JSON file of pytest-benchmark's storage (its benchmarks' medians and ``extra_info``)."""
    payload = json.loads(path.read_text())
    results = [
        BenchmarkResult(
            bench["name"], bench["stats"]["median"], BenchmarkInfo.from_extra_info(bench["extra_info"])
        )
        for bench in payload["benchmarks"]
    ]
    return SavedRun(path, payload["datetime"], machine_of(payload["machine_info"]), run_ratios(results))


def latest_pair(folder: Path) -> tuple[SavedRun, SavedRun | None] | None:
    """The newest saved run under ``folder`` and the newest earlier one of its machine (None when
    there is none); None when nothing is saved."""
    runs = sorted((read_saved_run(path) for path in folder.rglob("*.json")), key=lambda run: run.datetime)
    if not runs:
        return None
    current = runs[-1]
    earlier = [run for run in runs[:-1] if run.machine == current.machine]
    return current, earlier[-1] if earlier else None


@dataclass(frozen=True)
class Regression:
    """A ratio that fell: its name, the earlier and the current value, and the relative change."""

    name: str
    previous: float
    current: float

    @property
    def change(self) -> float:
        return self.current / self.previous - 1


def regressions(
    current: dict[str, float], previous: dict[str, float], threshold: float = THRESHOLD
) -> list[Regression]:
    """The ratios present in both runs that fell by more than ``threshold`` (a fraction), by name."""
    found = [Regression(name, previous[name], value) for name, value in current.items() if name in previous]
    return sorted((r for r in found if r.change < -threshold), key=lambda r: r.name)


def regression_table(results: Path, backends: list[str], quick: bool) -> Table:
    """Per backend, each ratio of its newest saved run worse than in the last earlier run of the
    same machine by more than :data:`THRESHOLD`; ``no earlier run`` or ``none`` otherwise. A last
    row for the reference's op benchmarks (:data:`REFERENCE`) where bench-reference saved a run."""
    folders = {backend: history_folder(results, backend, quick) for backend in backends}
    reference = history_folder(results, REFERENCE, quick=False)
    if reference.is_dir():
        folders[REFERENCE] = reference
    rows: list[list[str | Cell]] = []
    for backend, folder in folders.items():
        pair = latest_pair(folder)
        if pair is None or pair[1] is None:
            rows.append([backend, "no earlier run" if pair else "no saved run", "-", "-", "-"])
            continue
        current, previous = pair
        worse = regressions(current.ratios, previous.ratios)
        compared = (
            f"{len(set(current.ratios) & set(previous.ratios))} ratios against the run of {previous.datetime}"
        )
        if not worse:
            rows.append([backend, f"none ({compared})", "-", "-", "-"])
        for regression in worse:
            rows.append([
                backend, regression.name, f"{regression.previous:.3g}", f"{regression.current:.3g}",
                Cell(f"{regression.change:+.1%}", Tone.BAD),
            ])  # fmt: skip
    return Table(
        "Regressions against the last saved run",
        ["backend", "ratio", "previous", "current", "change"],
        rows,
        f"Ratios of the newest run saved in {results / HISTORY} against the last earlier run on the same "
        f"CPU and device, flagged when worse by more than {THRESHOLD:.0%}: each op's GFLOP/s over the "
        "float64 matmul of its own run (/ float64 matmul), each LeNet epoch runner's examples/s over its "
        "yardstick's (/ plain, / adapter) and its share of the roof.",
    )
