"""The report shows a pass a backend declared it cannot run (benchmarks, training) as a gap."""

from __future__ import annotations

from pathlib import Path

from conformance.results import BenchmarkInfo, BenchmarkResult, Kind, TrainingRun, write_results
from reporting.benchmark_tables import lenet_table, op_benchmarks
from reporting.collect import Cell, Tone, load

NAME = "inference"
REASON = "no autograd in this build"


def _results(folder: Path) -> Path:
    """One backend: a timed forward pass, a backward pass and a LeNet epoch declared as gaps, a
    training run that could not train."""
    forward = BenchmarkInfo(backend=NAME, op="conv2d", workload="lenet-conv1", pass_="forward", flops=10**9)
    backward = BenchmarkInfo(backend=NAME, op="conv2d", workload="lenet-conv1", pass_="forward+backward",
                             gap=REASON)  # fmt: skip
    epoch = BenchmarkInfo(backend=NAME, runner="adapter", variant="chapter", yardstick="plain", gap=REASON)
    benches = [
        BenchmarkResult("forward", 0.01, forward),
        BenchmarkResult("backward", float("nan"), backward),
        BenchmarkResult("epoch", float("nan"), epoch),
    ]
    write_results(folder / f"bench-{NAME}.json", Kind.BENCHMARKS, {"backend": NAME}, benches)
    run = TrainingRun(NAME, "chapter", lr=0.9, batch_size=128, epochs=1, seed=0, max_steps=300, metrics=(),
                      gap=REASON)  # fmt: skip
    write_results(folder / "train" / f"{NAME}-chapter" / "run.json", Kind.TRAINING, {"backend": NAME}, [run])
    return folder


def test_a_declared_benchmark_gap_is_a_gap_cell_beside_the_timed_pass(tmp_path: Path) -> None:
    table, rates = op_benchmarks(load(_results(tmp_path), [NAME]))
    rows = {tuple(row[:3]): row[3] for row in table.rows}
    memory = {tuple(row[:3]): row[4] for row in table.rows}
    # 1e9 flop in 0.01 s: 100 GFLOP/s, the only (so the fastest) backend
    assert rows[("conv2d", "lenet-conv1", "forward")] == "100.00 (1.00x fastest)"
    assert rows[("conv2d", "lenet-conv1", "forward+backward")] == Cell("gap", Tone.NEUTRAL)
    assert memory[("conv2d", "lenet-conv1", "forward")] == "-"  # a record without a peak
    assert memory[("conv2d", "lenet-conv1", "forward+backward")] == Cell("gap", Tone.NEUTRAL)
    assert rates == {("conv2d", "lenet-conv1", "forward"): {NAME: 100.0}}


def test_a_backend_that_cannot_train_has_a_lenet_row_of_gaps(tmp_path: Path) -> None:
    rows = [row for row in lenet_table(load(_results(tmp_path), [NAME])).rows if row[0] == NAME]
    # no plain loop, ratio, FLOPs, roof, share or memory of an epoch that did not run
    assert rows == [[NAME, "chapter", Cell(f"gap: {REASON}", Tone.NEUTRAL), "-", "-",
                     Cell("gap", Tone.NEUTRAL), "-", "-", "-", "-", "-", "-"]]  # fmt: skip
