"""The training job on a small hand-written IDX set: the loop, its metrics and the CLI's files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reference import lenet
from tests.idx_files import make_split
from training.__main__ import main
from training.loop import train
from backends.lenet import ReferenceLeNet
from training.models import make_model


@pytest.fixture
def data_dir(tmp_path):
    make_split(tmp_path / "data", "train", n=96)
    make_split(tmp_path / "data", "test", n=40, seed=1)
    return tmp_path / "data"


def test_reference_model_learns_a_tiny_set(data_dir) -> None:
    from training.fashion_mnist import load_fashion_mnist

    train_set = load_fashion_mnist("train", data_dir)
    model = make_model("reference", "relu-max")
    history = train(model, train_set, train_set, epochs=8, batch_size=32, lr=0.1)
    assert [entry["epoch"] for entry in history] == list(range(1, 9))
    assert set(history[0]) == {"epoch", "train_loss", "train_acc", "test_acc", "examples_per_s", "steps"}
    assert history[-1]["train_loss"] < history[0]["train_loss"]  # 96 random images can be memorised
    assert all(entry["steps"] == 3 for entry in history)


def test_max_steps_stops_early(data_dir) -> None:
    from training.fashion_mnist import load_fashion_mnist

    train_set = load_fashion_mnist("train", data_dir)
    history = train(
        make_model("reference"), train_set, train_set, epochs=5, batch_size=32, lr=0.1, max_steps=4
    )
    assert [entry["steps"] for entry in history] == [3, 1]


def test_a_diverging_run_stops_with_a_clear_error(data_dir) -> None:
    from training.fashion_mnist import load_fashion_mnist

    train_set = load_fashion_mnist("train", data_dir)
    with pytest.raises(FloatingPointError, match="lower lr"):
        train(make_model("reference", "relu-max"), train_set, train_set, epochs=3, batch_size=32, lr=1e30)


def test_cli_writes_metrics_curves_and_parameters(data_dir, tmp_path) -> None:
    out = tmp_path / "out"
    code = main(["--backend", "reference", "--epochs", "2", "--batch-size", "32", "--data-dir", str(data_dir),
                 "--out", str(out), "--no-progress"])  # fmt: skip
    assert code == 0
    run = out / "reference-chapter"
    metrics = json.loads((run / "metrics.json").read_text())
    assert [m["epoch"] for m in metrics] == [1, 2]
    assert 0.0 <= metrics[-1]["test_acc"] <= 1.0
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    params = lenet.load_params(run / "params.npz")
    assert params["conv1.weight"].dtype == np.float32
    assert json.loads((run / "run.json").read_text())["lr"] == 0.9


def test_cli_rejects_bad_options(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--epochs", "0"])
    assert "--epochs" in capsys.readouterr().err


def test_reference_model_round_trips_parameters() -> None:
    model = ReferenceLeNet("chapter", "float64")
    params = lenet.init_params(7, np.float64)
    model.load_params(params)
    assert all(np.array_equal(model.params()[k], params[k]) for k in params)
