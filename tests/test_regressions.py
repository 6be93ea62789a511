"""Regression tracking: the newest saved benchmark run against the last earlier one of the same
machine, in pytest-benchmark's storage format; a ratio worse by more than 10% is flagged, one
worse by 5% is not. The ratios are worked out here from the fake runs' medians."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.records import MATMUL_FLOAT32_NAME, MATMUL_NAME
from conformance.results import BenchmarkInfo
from reporting.collect import Cell, Tone
from reporting.regressions import history_folder, latest_pair, regression_table

MACHINE = {"cpu": {"brand_raw": "Test CPU", "count": 2}, "device": "cpu", "node": "a"}
OTHER_MACHINE = {"cpu": {"brand_raw": "Other CPU", "count": 64}, "device": "cpu", "node": "b"}
CONV = "test_op[conv2d-lenet-conv1-forward]"
EPOCH = "lenet-epoch-chapter-torch-adapter"


def _bench(name: str, median: float, info: BenchmarkInfo) -> dict:
    """One benchmark as pytest-benchmark saves it (the fields read back, and one it adds)."""
    return {"name": name, "stats": {"median": median, "rounds": 3}, "extra_info": info.to_extra_info()}


def _save(folder: Path, number: int, when: str, machine: dict, conv_s: float, epoch_s: float) -> None:
    """A saved run: matmuls of 1 s (float64: 1 GFLOP/s; float32: 2 GFLOP/s), a conv of 1e9 FLOP
    in ``conv_s`` seconds, an epoch round of 100 examples (1e6 FLOP each) in ``epoch_s`` seconds
    beside a plain loop of 1 s per round."""
    conv = BenchmarkInfo(backend="torch", op="conv2d", workload="lenet-conv1", pass_="forward", flops=10**9)
    epoch = BenchmarkInfo(backend="torch", runner="adapter", variant="chapter", examples=100, flops=10**8,
                          yardstick="plain", yardstick_seconds=(1.0, 1.0))  # fmt: skip
    benchmarks = [
        _bench(MATMUL_NAME, 1.0, BenchmarkInfo(flops=10**9)),
        _bench(MATMUL_FLOAT32_NAME, 1.0, BenchmarkInfo(flops=2 * 10**9)),
        _bench(CONV, conv_s, conv),
        _bench(EPOCH, epoch_s, epoch),
    ]
    payload = {"machine_info": machine, "commit_info": {}, "benchmarks": benchmarks, "datetime": when,
               "version": "5.3.1"}  # fmt: skip
    path = folder / "Linux-CPython-3.11-64bit" / f"{number:04d}_{when}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """Three runs of torch: the earlier one, one on another machine, and the newest, whose conv ratio
    is 15% worse (1 / 1.0 -> 1 / (1 / 0.85)) and whose epoch is 5% worse (ratio 1 -> 0.95)."""
    folder = history_folder(tmp_path, "torch", quick=False)
    _save(folder, 1, "2026-01-01T10:00:00+00:00", MACHINE, conv_s=1.0, epoch_s=1.0)
    _save(folder, 2, "2026-01-02T10:00:00+00:00", OTHER_MACHINE, conv_s=0.1, epoch_s=0.1)
    _save(folder, 3, "2026-01-03T10:00:00+00:00", MACHINE, conv_s=1 / 0.85, epoch_s=1 / 0.95)
    return tmp_path


def test_the_newest_run_is_compared_with_the_last_earlier_run_of_its_machine(results: Path) -> None:
    pair = latest_pair(history_folder(results, "torch", quick=False))
    assert pair is not None and pair[1] is not None
    current, previous = pair
    assert current.path.name.startswith("0003") and previous.path.name.startswith("0001")
    # conv: 1 GFLOP/s over matmul's 1; epoch: 100 ex/s over the plain loop's 100, roof 2e9 / 1e6
    assert previous.ratios == pytest.approx({
        f"{CONV} / float64 matmul": 1.0, f"{EPOCH} / plain": 1.0, f"{EPOCH} share of roof": 100 / 2000,
    })  # fmt: skip
    assert current.ratios[f"{CONV} / float64 matmul"] == pytest.approx(0.85)
    assert current.ratios[f"{EPOCH} / plain"] == pytest.approx(0.95)


def test_a_ratio_15_percent_worse_is_flagged_one_5_percent_worse_is_not(results: Path) -> None:
    table = regression_table(results, ["torch"], quick=False)
    assert table.title == "Regressions against the last saved run"
    # the conv's ratio; the epoch's share of the roof fell by 5% as well (100 -> 95 ex/s): not flagged
    assert table.rows == [["torch", f"{CONV} / float64 matmul", "1", "0.85", Cell("-15.0%", Tone.BAD)]]


def test_without_an_earlier_run_of_the_machine_nothing_is_compared(tmp_path: Path) -> None:
    folder = history_folder(tmp_path, "torch", quick=True)
    _save(folder, 1, "2026-01-01T10:00:00+00:00", OTHER_MACHINE, conv_s=0.1, epoch_s=0.1)
    _save(folder, 2, "2026-01-02T10:00:00+00:00", MACHINE, conv_s=1.0, epoch_s=1.0)
    rows = regression_table(tmp_path, ["torch", "jax"], quick=True).rows
    assert rows == [["torch", "no earlier run", "-", "-", "-"], ["jax", "no saved run", "-", "-", "-"]]


def test_an_unchanged_run_reports_none(tmp_path: Path) -> None:
    folder = history_folder(tmp_path, "torch", quick=False)
    for number in (1, 2):
        _save(folder, number, f"2026-01-0{number}T10:00:00+00:00", MACHINE, conv_s=1.0, epoch_s=1.0)
    [row] = regression_table(tmp_path, ["torch"], quick=False).rows
    assert row[1] == "none (3 ratios against the run of 2026-01-01T10:00:00+00:00)"


def test_the_reference_runs_of_bench_reference_get_the_last_row_in_either_form(tmp_path: Path) -> None:
    folder = history_folder(tmp_path, "reference", quick=False)  # bench-reference has no quick form
    _save(folder, 1, "2026-01-01T10:00:00+00:00", MACHINE, conv_s=1.0, epoch_s=1.0)
    _save(folder, 2, "2026-01-02T10:00:00+00:00", MACHINE, conv_s=1 / 0.8, epoch_s=1.0)
    expected = ["reference", f"{CONV} / float64 matmul", "1", "0.8", Cell("-20.0%", Tone.BAD)]
    for quick in (False, True):
        rows = regression_table(tmp_path, ["torch"], quick=quick).rows
        assert rows == [["torch", "no saved run", "-", "-", "-"], expected]
