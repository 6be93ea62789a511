"""The report's data-parallel table, from ``ddp-<backend>.json`` (``DataParallelRun`` records)."""

from __future__ import annotations

from conformance.results import DataParallelRun, Status
from reporting.collect import Cell, Found, Table, Tone


def runs(found: Found, backend: str) -> list[DataParallelRun]:
    """The backend's data-parallel records (none without a ``ddp-<backend>.json``)."""
    results = found.data_parallel.get(backend)
    return list(results.records) if results else []


def trajectories(found: Found, backend: str) -> dict[str, list[DataParallelRun]]:
    """Variant -> the backend's checked runs that recorded a free-running trajectory (for the figure)."""
    by_variant: dict[str, list[DataParallelRun]] = {}
    for run in runs(found, backend):
        if run.losses:
            by_variant.setdefault(run.variant, []).append(run)
    return by_variant


def _verdict(run: DataParallelRun) -> Cell:
    if run.status == Status.PASS:
        return Cell("pass", Tone.GOOD)
    return Cell(f"{run.status}: {run.message}", Tone.BAD)


def _scaling(run: DataParallelRun, single: dict[str, float]) -> str:
    base = single.get(run.variant)
    if run.examples_per_s is None or not base:
        return "-"
    return f"{run.examples_per_s / base:.2f}x"


def data_parallel_table(found: Found) -> Table:
    """Per backend, variant and process count: threads per process, steps checked, the worst
    error/bound ratio, the verdict, examples/s and the scaling against 1 process. A backend without
    results reads "not run"; a declared gap, one row with its reason."""
    rows: list[list[str | Cell]] = []
    cores = set()
    for backend in found.backends:
        records = runs(found, backend)
        if not records:
            rows.append([backend, "-", "-", "-", "-", "-", Cell("not run"), "-", "-"])
            continue
        cores.add(found.data_parallel[backend].environment.get("cores"))
        gaps = [run for run in records if run.status == Status.GAP]
        if gaps:
            gap = gaps[0]
            reason = f"gap: {gap.gap} ({gap.upstream or 'no upstream link'})"
            rows.append([backend, "-", "-", "-", "-", "-", Cell(reason, Tone.NEUTRAL), "-", "-"])
        single = {
            run.variant: run.examples_per_s for run in records if run.processes == 1 and run.examples_per_s
        }
        for run in records:
            if run.status == Status.GAP:
                continue
            ratio = "-" if run.worst_ratio is None else f"{run.worst_ratio:.3g}"
            rate = "-" if run.examples_per_s is None else f"{run.examples_per_s:.0f}"
            rows.append([
                backend, run.variant, str(run.processes), str(run.threads), str(run.steps), ratio,
                _verdict(run), rate, _scaling(run, single),
            ])  # fmt: skip
    machine = ", ".join(f"{count} cores" for count in sorted(c for c in cores if c))
    oversubscribed = (
        f" (measured on {machine}: more processes than cores oversubscribe them, so the scaling there says "
        "what sharing the cores costs, not what more machines would give)"
        if machine
        else ""
    )
    note = (
        "Each step of the data-parallel run (the global batch of 128 split equally over the processes, "
        "gradients averaged over them) starts from the backend's single-process state before that step and "
        "must give its updated parameters and loss within twice the float32 training-step bound "
        "(each float32 evaluation is within the bound of the exact step); worst error/bound ratio over all "
        "steps, accepted at <= 1; replicas must agree bit for bit. Examples/s: the free-running run from the "
        "same start, every step after the first, steps alone. Threads each: cores // processes"
        f"{oversubscribed}."
    )
    header = ["backend", "variant", "processes", "threads each", "steps checked", "worst ratio", "verdict",
              "examples/s", "scaling vs 1 process"]  # fmt: skip
    return Table(
        "Data-parallel LeNet", header, rows, note, "No data-parallel results (nox -s ddp-<backend>)."
    )
