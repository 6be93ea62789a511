"""The report's benchmark tables: peak memory beside the time, and the LeNet epoch's roof and its
share; ``-`` where a record (an older one) lacks a field. Expected values are worked out here
from the fake records' numbers."""

from __future__ import annotations

from pathlib import Path

from benchmarks.records import MATMUL_FLOAT32_NAME, MATMUL_NAME
from conformance.results import BenchmarkInfo, BenchmarkResult, Kind, write_results
from reporting.__main__ import build
from reporting.benchmark_tables import lenet_table, op_benchmarks
from reporting.collect import load

MIB = 2**20
FLOPS_PER_EXAMPLE = 2_000_000  # a LeNet training example: 2 MFLOP
EXAMPLES = 1000  # per round
ROUND_FLOPS = EXAMPLES * FLOPS_PER_EXAMPLE


def _results(folder: Path, *, with_new_fields: bool) -> Path:
    """A torch run: both matmuls, a conv forward, the adapter's and the reference's epochs; without
    the new fields, as a run written before them (no peaks, no epoch FLOPs, no float32 matmul)."""

    def new(**fields: object) -> dict[str, object]:
        return fields if with_new_fields else {}

    conv = BenchmarkInfo(
        backend="torch",
        op="conv2d",
        workload="lenet-conv1",
        pass_="forward",
        flops=10**9,
        **new(peak_bytes=3 * MIB, memory_probe="rss-hwm"),
    )
    adapter = BenchmarkInfo(
        backend="torch",
        runner="adapter",
        variant="chapter",
        examples=EXAMPLES,
        yardstick="plain",
        yardstick_seconds=(2.0, 2.5, 3.0),
        **new(flops=ROUND_FLOPS, peak_bytes=40 * MIB, memory_probe="rss-hwm"),
    )
    reference = BenchmarkInfo(
        backend="torch",
        runner="reference",
        variant="chapter",
        examples=EXAMPLES,
        yardstick="adapter",
        yardstick_seconds=(2.0,),
        **new(flops=ROUND_FLOPS, peak_bytes=MIB // 2, memory_probe="tracemalloc"),
    )
    benches = [
        BenchmarkResult(MATMUL_NAME, 0.5, BenchmarkInfo(flops=2 * 2048**3)),
        BenchmarkResult("conv", 0.01, conv),
        BenchmarkResult("epoch-adapter", 2.0, adapter),  # 500 ex/s; the plain loop's median 2.5 s: 400 ex/s
        BenchmarkResult("epoch-reference", 10.0, reference),  # 100 ex/s
    ]
    if with_new_fields:  # 2e11 FLOP in 2 s: 100 GFLOP/s, so the roof is 1e11 / 2e6 = 50,000 ex/s
        benches.append(BenchmarkResult(MATMUL_FLOAT32_NAME, 2.0, BenchmarkInfo(flops=2 * 10**11)))
    write_results(folder / "bench-torch.json", Kind.BENCHMARKS, {"backend": "torch"}, benches)
    return folder


def _lenet_rows(folder: Path) -> dict[str, list]:
    return {row[0]: row for row in lenet_table(load(folder, ["torch"])).rows}


def test_the_op_table_has_a_memory_column_naming_its_probe(tmp_path: Path) -> None:
    table, _ = op_benchmarks(load(_results(tmp_path, with_new_fields=True), ["torch"]))
    assert table.header == ["op", "size", "pass", "torch", "torch peak MiB (rss-hwm)"]
    assert table.rows[0][3:] == ["100.00 (1.00x fastest, 2.91 mm)", "3.0"]  # 3 MiB


def test_the_lenet_table_shows_the_roof_its_share_and_the_peak(tmp_path: Path) -> None:
    rows = _lenet_rows(_results(tmp_path, with_new_fields=True))
    # adapter: 500 ex/s, plain 400 ex/s (ratio 1.25); 2 MFLOP/example; roof 50,000 ex/s; share 0.01
    assert rows["torch"][5:] == ["500", "400", "1.25", "2.00", "50,000", "0.010", "40.0 (rss-hwm)"]
    # the reference: 100 ex/s beside the adapter's 500 (one round of 2 s): share 100 / 50,000
    assert rows["reference"][5:] == ["100", "500", "0.20", "2.00", "50,000", "0.002", "0.5 (tracemalloc)"]


def test_old_records_without_memory_flops_or_float32_matmul_show_dashes(tmp_path: Path) -> None:
    folder = _results(tmp_path, with_new_fields=False)
    table, _ = op_benchmarks(load(folder, ["torch"]))
    assert table.header[-1] == "torch peak MiB" and table.rows[0][-1] == "-"
    assert _lenet_rows(folder)["torch"][5:] == ["500", "400", "1.25", "-", "-", "-", "-"]


def test_the_markdown_report_holds_the_new_columns(tmp_path: Path) -> None:
    markdown, _ = build(
        _results(tmp_path / "results", with_new_fields=True), tmp_path / "out", ["torch"], False
    )
    text = markdown.read_text()
    assert "| torch peak MiB (rss-hwm) |" in text
    assert "| roof ex/s | share of roof | epoch peak MiB |" in text
    assert "float32 matmul GFLOP/s per run: torch: 100.0" in text
