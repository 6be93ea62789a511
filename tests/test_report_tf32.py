"""The report's TF32 table: results/tf32/ (nox -s gpu-check's TF32 run) beside the TF32-off cases,
and no table, nor a "tf32" backend column, from the same folder without it."""

from __future__ import annotations

from pathlib import Path

from conformance.results import CaseResult, Kind, Status, write_results
from reporting.__main__ import build

ENVIRONMENT = {"backend": "torch", "framework_version": "9.9", "numpy_version": "2.0"}


def _write(path: Path, precision: str, cases: list[tuple[str, Status, float]]) -> None:
    records = [CaseResult(case_id, "conv2d", status, "float32", "chapter", worst_ratio=ratio)
               for case_id, status, ratio in cases]  # fmt: skip
    environment = {**ENVIRONMENT, "device": "cuda:0", "precision": precision}
    write_results(path, Kind.CONFORMANCE, environment, records)


def _results(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    cases = [("conv2d-a", Status.PASS, 0.1), ("conv2d-b", Status.PASS, 0.2), ("conv2d-c", Status.PASS, 0.9)]
    _write(folder / "conformance-torch.json", "ieee float32, TF32 off (H100)", cases)
    return folder


def test_the_tf32_run_is_a_table_beside_the_same_cases_with_tf32_off(tmp_path: Path) -> None:
    folder = _results(tmp_path)
    _write(folder / "tf32" / "conformance-torch.json", "TF32 on (H100)",
           [("conv2d-a", Status.FAIL, 41.0), ("conv2d-b", Status.PASS, 0.5)])  # fmt: skip
    markdown = build(folder, tmp_path / "report", None, quick=True)[0].read_text()
    assert "Backends: torch." in markdown  # the subfolder is no backend
    assert "## TF32 on GPUs (a measured divergence)" in markdown
    # conv2d-c ran only with TF32 off: the off column counts the two cases both runs hold
    assert "| torch | cuda:0 | TF32 on (H100) | 1/1/0/0/0 · 41 | 2/0/0/0/0 · 0.2 |" in markdown


def test_without_a_tf32_run_there_is_no_tf32_table(tmp_path: Path) -> None:
    markdown = build(_results(tmp_path), tmp_path / "report", None, quick=True)[0].read_text()
    assert "## Conformance matrix" in markdown and "TF32 on GPUs" not in markdown
