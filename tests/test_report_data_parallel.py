"""The report's data-parallel table and figure from synthetic ``ddp-<backend>.json`` files: one row
per backend, variant and process count with the steps, the worst ratio, the verdict, examples/s and
the scaling against 1 process; a declared gap with its reason; "not run" without results."""

from __future__ import annotations

from pathlib import Path

from conformance.results import DataParallelRun, Kind, Status, write_results
from reporting.__main__ import build
from reporting.collect import Cell, Tone, load
from reporting.data_parallel import data_parallel_table

GAP_REASON = "no autograd"


def _run(backend: str, processes: int, status: Status = Status.PASS, rate: float | None = 100.0, **fields):
    losses = (2.5, 2.25, 2.0) if status == Status.PASS else ()
    return DataParallelRun(
        backend, "chapter", processes, status, steps=3 if losses else 0, worst_ratio=0.25 if losses else None,
        examples_per_s=rate if losses else None, threads=max(1, 2 // processes), lr=0.9, global_batch=128,
        losses=losses, single_losses=losses, deviations=(0.0, 1e-8, 2e-8)[: len(losses)], **fields,
    )  # fmt: skip


def _results(folder: Path) -> Path:
    records = {
        "torch": [_run("torch", 1, rate=200.0), _run("torch", 2, rate=300.0), _run("torch", 4, rate=250.0)],
        "jax": [_run("jax", 2, Status.ERROR, message="RankError: rank 1 of 2 died")],
        "onnxruntime": [_run("onnxruntime", p, Status.GAP, gap=GAP_REASON, upstream="https://x.org/1")
                        for p in (1, 2)],
    }  # fmt: skip
    for backend, runs in records.items():
        write_results(
            folder / f"ddp-{backend}.json", Kind.DATA_PARALLEL, {"backend": backend, "cores": 2}, runs
        )
    return folder


def test_one_row_per_run_with_its_scaling_a_gap_and_a_backend_not_run(tmp_path: Path) -> None:
    table = data_parallel_table(load(_results(tmp_path), ["torch", "jax", "mxnet", "onnxruntime"]))
    assert table.rows == [
        ["torch", "chapter", "1", "2", "3", "0.25", Cell("pass", Tone.GOOD), "200", "1.00x"],
        ["torch", "chapter", "2", "1", "3", "0.25", Cell("pass", Tone.GOOD), "300", "1.50x"],
        ["torch", "chapter", "4", "1", "3", "0.25", Cell("pass", Tone.GOOD), "250", "1.25x"],
        ["jax", "chapter", "2", "1", "0", "-", Cell("error: RankError: rank 1 of 2 died", Tone.BAD),
         "-", "-"],
        ["mxnet", "-", "-", "-", "-", "-", Cell("not run"), "-", "-"],
        ["onnxruntime", "-", "-", "-", "-", "-", Cell(f"gap: {GAP_REASON} (https://x.org/1)", Tone.NEUTRAL),
         "-", "-"],
    ]  # fmt: skip
    assert "measured on 2 cores: more processes than cores oversubscribe them" in table.note


def test_the_report_holds_the_table_and_one_figure_per_backend_and_variant(tmp_path: Path) -> None:
    markdown, html = build(_results(tmp_path / "results"), tmp_path / "report", ["torch", "jax"], quick=False)
    assert "| torch | chapter | 2 | 1 | 3 | 0.25 | pass | 300 | 1.50x |" in markdown.read_text()
    page = html.read_text()
    assert page.count('alt="torch LeNet chapter: data-parallel runs"') == 1
    assert "jax LeNet chapter: data-parallel runs" not in page  # no trajectory: no figure
