"""The TF32 table: the convolution cases run again with TF32 on (``nox -s gpu-check``).

Input: ``<results>/tf32/conformance-<backend>.json``, a conformance results file per backend
written with ``CNN_CHAPTER_REFERENCE_TF32=1`` (a subfolder, so the report's backend columns,
found from the top-level ``conformance-*.json``, do not take it for a backend). Beside each
backend's TF32 run: the same cases from its main (TF32 off) results, when those exist.
"""

from __future__ import annotations

from pathlib import Path

from conformance.results import Kind, read_results
from reporting.collect import Found, Table, status_cell

TF32_FOLDER = "tf32"


def tf32_table(results: Path, found: Found) -> Table | None:
    """One row per backend with a TF32 run: device, precision mode, the cases' status counts and
    worst error-to-bound ratio with TF32 on and, for the same case ids, off; None without any run."""
    files = sorted((results / TF32_FOLDER).glob("conformance-*.json"))
    if not files:
        return None
    rows = []
    for path in files:
        run = read_results(path, Kind.CONFORMANCE)
        backend = run.environment.get("backend", path.stem.removeprefix("conformance-"))
        ids = {case.id for case in run.records}
        off = [case for case in found.cases(backend) if case.id in ids]
        rows.append([backend, run.environment.get("device", "-"), run.environment.get("precision", "-"),
                     status_cell(list(run.records)), status_cell(off) if off else "-"])  # fmt: skip
    return Table(
        "TF32 on GPUs (a measured divergence)",
        ["backend", "device", "precision (TF32 run)", "TF32 on", "TF32 off, same cases"],
        rows,
        "The convolution cases run again with the framework's TF32 switched on (nox -s gpu-check; "
        "conformance keeps it off). TF32 rounds float32 convolution inputs to 10 mantissa bits, so "
        "failures here measure what the GPU default computes, not a fault of the adapter. Cells: "
        "pass/fail/error/gap/fixed case counts · the worst error-to-bound ratio.",
    )
