"""A backend that cannot run a pass (``UnsupportedError``: an inference-only framework's training or
backward) is recorded as a declared gap by the training job and the benchmarks, never an error."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

import training.__main__ as training_cli
from backends import UnsupportedError
from backends.lenet import ReferenceLeNet
from benchmarks.records import GAPS, declare_gap
from conformance.results import TRAINING_FILE, Kind, read_results, write_results
from tests.idx_files import make_split

REASON = "this framework has no autograd"


class InferenceOnlyLeNet(ReferenceLeNet):
    """The reference network without training, as an inference-only backend's model."""

    def _native_train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        raise UnsupportedError(REASON)


def test_training_cli_records_a_backend_that_cannot_train_as_a_gap(tmp_path, monkeypatch, capsys) -> None:
    make_split(tmp_path / "data", "train", n=32)
    make_split(tmp_path / "data", "test", n=16, seed=1)
    monkeypatch.setattr(training_cli, "make_model", lambda *args: InferenceOnlyLeNet())
    argv = ["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--epochs", "2",
            "--max-steps", "3", "--no-progress"]  # fmt: skip
    assert training_cli.main(argv) == 0
    folder = tmp_path / "out" / "reference-chapter"
    results = read_results(folder / TRAINING_FILE, Kind.TRAINING)
    (run,) = results.records
    assert (run.runner, run.variant, run.epochs, run.max_steps) == ("reference", "chapter", 2, 3)
    assert run.metrics == () and run.gap == REASON
    assert not (folder / "curves.png").exists() and not (folder / "params.npz").exists()
    assert f"cannot train (declared gap): {REASON}" in capsys.readouterr().out


def test_a_benchmark_gap_is_kept_and_the_test_ends_as_an_expected_failure() -> None:
    node = SimpleNamespace(name="test_op[forward+backward-conv2d-small]")
    request = SimpleNamespace(config=SimpleNamespace(stash=pytest.Stash()), node=node)
    with pytest.raises(pytest.xfail.Exception, match=f"declared gap: {REASON}"):
        declare_gap(request, UnsupportedError(REASON), backend="b", op="conv2d", pass_="forward+backward")
    (record,) = request.config.stash[GAPS]
    assert record.name == "test_op[forward+backward-conv2d-small]"
    assert math.isnan(record.median_s)
    assert (record.info.backend, record.info.op, record.info.pass_, record.info.gap) == (
        "b", "conv2d", "forward+backward", REASON,
    )  # fmt: skip


def test_a_gap_record_round_trips_through_the_results_file(tmp_path) -> None:
    request = SimpleNamespace(config=SimpleNamespace(stash=pytest.Stash()), node=SimpleNamespace(name="t"))
    with pytest.raises(pytest.xfail.Exception):
        declare_gap(request, UnsupportedError(REASON), backend="b", runner="adapter", variant="chapter")
    write_results(tmp_path / "bench-b.json", Kind.BENCHMARKS, {"backend": "b"}, request.config.stash[GAPS])
    (record,) = read_results(tmp_path / "bench-b.json", Kind.BENCHMARKS).records
    assert math.isnan(record.median_s) and record.info.gap == REASON and record.info.runner == "adapter"
