"""The results envelope: files written by each job validate against results.schema.json, records
round-trip through JSON, and a foreign, newer, older or incomplete file gives an error naming it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conformance.results import (
    SCHEMA,
    SCHEMA_VERSION,
    BenchmarkInfo,
    BenchmarkResult,
    CaseResult,
    DataParallelRun,
    EpochMetrics,
    Kind,
    Results,
    ResultsFileError,
    Status,
    TrainingRun,
    read_results,
    write_results,
)
from tests.idx_files import make_split
from training.__main__ import main as train_main

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "conformance" / "results.schema.json"

CASES = (
    CaseResult("conv2d-chapter-1", "conv2d", Status.PASS, "float32", "chapter", {"stride": [2, 2]},
               "cpu", 0.25, ("asymmetric padding via F.pad",), rerun="pytest conformance -k chapter-1"),
    CaseResult("max_pool2d-d2", "max_pool2d", Status.GAP, gap="no dilation", upstream="https://example.org/1"),
    CaseResult("relu-nan", "relu", Status.ERROR, message="ValueError: boom"),
)  # fmt: skip
BENCHMARK = BenchmarkResult(
    "lenet-epoch-chapter-torch-adapter",
    1.5,
    BenchmarkInfo(
        backend="torch",
        runner="adapter",
        variant="chapter",
        examples=9984,
        yardstick="plain",
        yardstick_seconds=(1.75, 1.625),
    ),
)
DDP = DataParallelRun("torch", "chapter", 2, Status.PASS, steps=3, worst_ratio=0.25, examples_per_s=512.0,
                      threads=1, lr=0.9, global_batch=128, seconds=12.5, losses=(2.5, 2.25, 2.0),
                      single_losses=(2.5, 2.25, 2.0), deviations=(0.0, 1e-8, 2e-8))  # fmt: skip
RUN = TrainingRun("reference", "chapter", 0.9, 128, 1, 0, 300, (EpochMetrics(1, 0.75, 0.5, 0.625, 1e4, 300),))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_schema_names_this_schema_and_version(validator: jsonschema.Draft202012Validator) -> None:
    properties = validator.schema["properties"]
    assert properties["schema"] == {"const": SCHEMA}
    assert properties["schema_version"] == {"const": SCHEMA_VERSION}
    assert properties["kind"]["enum"] == [str(kind) for kind in Kind]
    assert validator.schema["$defs"]["case"]["properties"]["status"]["enum"] == [str(s) for s in Status]


@pytest.mark.parametrize("record", [*CASES, BENCHMARK, RUN, DDP], ids=lambda r: type(r).__name__)
def test_records_round_trip_through_json(record) -> None:
    assert type(record).from_json(json.loads(json.dumps(record.to_json()))) == record


def test_benchmark_info_round_trips_through_extra_info() -> None:
    assert BenchmarkInfo.from_extra_info(BENCHMARK.info.to_extra_info()) == BENCHMARK.info


def test_conformance_results_validate(tmp_path: Path, validator: jsonschema.Draft202012Validator) -> None:
    results = Results({"backend": "torch", "device": "cpu"})
    for case in CASES:
        results.add(case)
    results.write(tmp_path / "conformance-torch.json")
    validator.validate(json.loads((tmp_path / "conformance-torch.json").read_text()))
    found = read_results(tmp_path / "conformance-torch.json", Kind.CONFORMANCE)
    assert found.records[0] == CASES[0]
    assert found.records[1].device == "cpu"  # filled by Results.add


def test_a_benchmark_run_writes_typed_records_that_validate(
    tmp_path: Path, validator: jsonschema.Draft202012Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference's benchmark job (no --backend), cut to one round of each matmul yardstick."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # pytest-benchmark is off in a worker
    command = [sys.executable, "-m", "pytest", "benchmarks/test_yardstick.py", "-q", "-p", "no:cacheprovider",
               "--benchmark-min-rounds=1", "--benchmark-max-time=0", "--benchmark-warmup=off",
               f"--results-dir={tmp_path}"]  # fmt: skip
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=300)
    path = tmp_path / "bench-reference.json"
    validator.validate(json.loads(path.read_text()))
    records = read_results(path, Kind.BENCHMARKS).records
    assert sorted(record.name for record in records) == ["matmul-float32-2048", "matmul-float64-2048"]
    for record in records:
        assert record.info.flops == 2 * 2048**3  # a square matmul of size n costs 2 n^3 flop
        assert record.median_s > 0


def test_a_training_run_validates(tmp_path: Path, validator: jsonschema.Draft202012Validator) -> None:
    make_split(tmp_path / "data", "train", n=64)
    make_split(tmp_path / "data", "test", n=32, seed=1)
    argv = ["--epochs", "1", "--batch-size", "32", "--data-dir", str(tmp_path / "data"), "--out",
            str(tmp_path / "train"), "--no-progress"]  # fmt: skip
    assert train_main(argv) == 0
    path = tmp_path / "train" / "reference-chapter" / "run.json"
    validator.validate(json.loads(path.read_text()))
    (run,) = read_results(path, Kind.TRAINING).records
    assert [m.steps for m in run.metrics] == [2]  # 64 examples in batches of 32


def test_data_parallel_results_validate(tmp_path: Path, validator: jsonschema.Draft202012Validator) -> None:
    gap = DataParallelRun("onnxruntime", "chapter", 1, Status.GAP, threads=2, gap="no autograd")
    write_results(tmp_path / "ddp-torch.json", Kind.DATA_PARALLEL, {"backend": "torch"}, [DDP, gap])
    validator.validate(json.loads((tmp_path / "ddp-torch.json").read_text()))
    assert read_results(tmp_path / "ddp-torch.json", Kind.DATA_PARALLEL).records == (DDP, gap)


def test_the_schema_rejects_a_record_without_a_field(
    tmp_path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    write_results(tmp_path / "bench.json", Kind.BENCHMARKS, {}, [BENCHMARK])
    payload = json.loads((tmp_path / "bench.json").read_text())
    del payload["records"][0]["median_s"]
    with pytest.raises(jsonschema.ValidationError, match="median_s"):
        validator.validate(payload)


def _written(tmp_path: Path, **changes) -> Path:
    """A valid training results file with some of its envelope's keys changed."""
    path = tmp_path / "run.json"
    write_results(path, Kind.TRAINING, {}, [RUN])
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schema": "pytest-benchmark"}, "not a results file of schema 'cnn-chapter-reference/results'"),
        ({"schema_version": SCHEMA_VERSION + 1}, "update this project"),
        ({"schema_version": SCHEMA_VERSION - 1}, "rerun the job that wrote it"),
        ({"kind": "weather"}, "kind 'weather'"),
        (
            {"records": [{k: v for k, v in RUN.to_json().items() if k != "lr"}]},
            r"missing field\(s\) \['lr'\]",
        ),
        ({"records": [{**RUN.to_json(), "colour": "red"}]}, r"unknown field\(s\) \['colour'\]"),
    ],
    ids=["foreign", "newer", "older", "unknown-kind", "missing-field", "unknown-field"],
)
def test_a_file_that_cannot_be_read_is_named(tmp_path: Path, changes: dict, message: str) -> None:
    path = _written(tmp_path, **changes)
    with pytest.raises(ResultsFileError, match=message) as error:
        read_results(path)
    assert str(error.value).startswith(str(path))


def test_a_file_of_another_kind_is_named(tmp_path: Path) -> None:
    path = _written(tmp_path)
    with pytest.raises(ResultsFileError, match=f"^{path}: kind 'training', expected conformance"):
        read_results(path, Kind.CONFORMANCE)


def test_pytest_benchmarks_own_json_is_foreign(tmp_path: Path) -> None:
    path = tmp_path / "bench-torch.json"
    path.write_text(json.dumps({"machine_info": {}, "benchmarks": []}))
    with pytest.raises(ResultsFileError, match="found None"):
        read_results(path)
