"""The training job: the loop against its metrics written out on a learnable synthetic set, its
progress bar and early stop, and the CLI's files on a small hand-written IDX set."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from backends.lenet import ReferenceLeNet
from conformance.results import EpochMetrics, Kind, TrainingRun, read_results, write_results
from reference import lenet
from tests.idx_files import make_split
from training.__main__ import finished_run, main
from training.loop import evaluate, train
from training.models import make_model


@pytest.fixture
def data_dir(tmp_path):
    make_split(tmp_path / "data", "train", n=96)
    make_split(tmp_path / "data", "test", n=40, seed=1)
    return tmp_path / "data"


def learnable_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n images of faint noise (0-63) with a white 7x7 square whose place in a 3x4 grid is
    the label (0, 1, ..., 9, 0, ...): a problem LeNet solves in a few epochs."""
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = np.random.default_rng(seed).integers(0, 64, (n, 28, 28), dtype=np.uint8)
    for image, label in zip(images, labels, strict=True):
        top, left = (label // 4) * 9 + 1, (label % 4) * 7
        image[top : top + 7, left : left + 7] = 255
    return images, labels


def replay(
    train_set: tuple[np.ndarray, np.ndarray],
    test_set: tuple[np.ndarray, np.ndarray],
    *,
    variant: str,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
) -> list[dict[str, float]]:
    """train()'s documented metrics, written out on the reference's functions: float32
    parameters from init_params(0); epoch e visits the examples in the stable argsort of
    PCG64(SeedSequence([seed, e])) raw outputs, images / 255 in float32; each step is
    p - lr * grad; loss and accuracy are taken before each step, averaged over examples, and
    each step's loss is kept in order; test accuracy after the epoch."""
    images, labels = train_set
    params = lenet.init_params(0, np.float32)
    history = []
    for epoch in range(epochs):
        keys = np.random.PCG64(np.random.SeedSequence([seed, epoch])).random_raw(len(labels))
        order = np.argsort(keys, kind="stable")
        loss_sum, correct, step_losses = 0.0, 0, []
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            X, y = (images[idx].astype(np.float32) / np.float32(255))[:, None], labels[idx].astype(np.int64)
            correct += int(np.sum(np.argmax(lenet.forward(params, X, variant)[0], axis=1) == y))
            loss, grads = lenet.loss_and_grads(params, X, y, variant)
            loss_sum += loss * len(y)
            step_losses.append(loss)
            params = {name: (p - lr * grads[name]).astype(np.float32) for name, p in params.items()}
        test_X = (test_set[0].astype(np.float32) / np.float32(255))[:, None]
        test_right = np.argmax(lenet.forward(params, test_X, variant)[0], axis=1) == test_set[1]
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": loss_sum / len(labels),
                "train_acc": correct / len(labels),
                "test_acc": float(np.mean(test_right)),
                "steps": -(-len(labels) // batch_size),
                "step_losses": tuple(step_losses),
            }
        )
    return history


def test_reference_model_learns_a_tiny_set() -> None:
    # 100 examples in batches of 32: three full batches and a short one of 4.
    train_set, test_set = learnable_split(100, seed=0), learnable_split(40, seed=1)
    history = train(make_model("reference", "relu-max"), train_set, test_set, epochs=8, batch_size=32, lr=0.1)
    expected = replay(train_set, test_set, variant="relu-max", epochs=8, batch_size=32, lr=0.1)
    assert [{k: v for k, v in entry.items() if k != "examples_per_s"} for entry in history] == expected
    assert all(0 < entry["examples_per_s"] < float("inf") for entry in history)
    # At Xavier init the logits are near zero, so the first epoch's loss is near ln 10
    # (measured 2.28); after 8 epochs the squares are learnt (measured: loss 0.007,
    # every train and test image right).
    assert abs(history[0]["train_loss"] - np.log(10)) < 0.1
    assert history[-1]["train_loss"] < 0.1
    assert history[-1]["train_acc"] == history[-1]["test_acc"] == 1.0


def test_evaluate_is_the_fraction_right_over_every_batch() -> None:
    # 2,500 examples: two full evaluation batches of 1,000 and a short one of 500. The stub
    # predicts the first pixel mod 10; the labels agree on 1 example in 4, checked by hand.
    images = np.zeros((2500, 28, 28), np.uint8)
    images[:, 0, 0] = np.arange(2500) % 10
    labels = np.where(np.arange(2500) % 4 == 0, np.arange(2500) % 10, (np.arange(2500) + 1) % 10)
    stub = SimpleNamespace(logits=lambda X: np.eye(10)[np.rint(X[:, 0, 0, 0] * 255).astype(int) % 10])
    assert evaluate(stub, images, labels) == 625 / 2500


def test_progress_bar_counts_each_epochs_steps() -> None:
    events: list[tuple] = []

    class Bar:
        def __init__(self, total: int, desc: str, unit: str) -> None:
            events.append(("open", total, desc, unit))

        def update(self, n: int) -> None:
            events.append(("update", n))

        def set_postfix(self, **fields: str) -> None:
            events.append(("postfix", sorted(fields)))

        def close(self) -> None:
            events.append(("close",))

    train_set = learnable_split(48, seed=2)
    train(make_model("reference"), train_set, train_set, epochs=2, batch_size=16, lr=0.1, max_steps=4,
          progress=Bar)  # fmt: skip
    step = [("update", 1), ("postfix", ["ex_per_s", "loss"])]
    # 48 examples in batches of 16: 3 steps in epoch 1, then the 1 step max_steps leaves.
    assert events == [
        ("open", 3, "epoch 1/2", "batch"), *step * 3, ("close",),
        ("open", 1, "epoch 2/2", "batch"), *step, ("close",),
    ]  # fmt: skip


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


def test_cli_writes_its_run_curves_and_parameters(data_dir, tmp_path) -> None:
    out = tmp_path / "out"
    code = main(["--backend", "reference", "--epochs", "2", "--batch-size", "32", "--data-dir", str(data_dir),
                 "--out", str(out), "--no-progress"])  # fmt: skip
    assert code == 0
    folder = out / "reference-chapter"
    written = read_results(folder / "run.json", Kind.TRAINING)
    (run,) = written.records
    assert (run.runner, run.variant, run.batch_size, run.epochs) == ("reference", "chapter", 32, 2)
    assert run.lr == 0.9  # the chapter's learning rate, the chapter variant's default
    assert [m.epoch for m in run.metrics] == [1, 2]
    assert [m.steps for m in run.metrics] == [3, 3]  # 96 examples in batches of 32
    # Equal batches: the epoch's loss is the plain mean of its three per-step losses.
    assert [len(m.step_losses) for m in run.metrics] == [3, 3]
    assert all(m.train_loss == pytest.approx(sum(m.step_losses) / 3, rel=1e-12) for m in run.metrics)
    assert 0.0 <= run.metrics[-1].test_acc <= 1.0
    assert written.environment["backend"] == "reference"
    assert (folder / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    params = lenet.load_params(folder / "params.npz")
    assert params["conv1.weight"].dtype == np.float32


def _epoch(steps: int, losses: int | None = None) -> EpochMetrics:
    return EpochMetrics(1, 2.3, 0.1, 0.1, 1e3, steps, (2.3,) * (steps if losses is None else losses))


WANTED = TrainingRun("torch", "chapter", 0.9, 128, 2, 0, None, ())


@pytest.mark.parametrize(("run", "finished"), [
    (replace(WANTED, metrics=(_epoch(3), _epoch(3))), True),
    (replace(WANTED, metrics=(_epoch(3),)), False),  # stopped after one of two epochs
    (replace(WANTED, max_steps=4, metrics=(_epoch(3), _epoch(1))), False),  # another max_steps
    (replace(WANTED, lr=0.5, metrics=(_epoch(3), _epoch(3))), False),
    (replace(WANTED, variant="relu-max", metrics=(_epoch(3), _epoch(3))), False),
    (replace(WANTED, metrics=(_epoch(3), _epoch(3, losses=0))), False),  # no per-step losses
    (replace(WANTED, gap="cannot train"), False),
])  # fmt: skip
def test_a_finished_run_has_the_same_settings_every_epoch_and_its_step_losses(
    tmp_path, run, finished
) -> None:
    write_results(tmp_path / "run.json", Kind.TRAINING, {}, [run])
    assert finished_run(tmp_path / "run.json", WANTED) is finished


def test_a_run_cut_at_max_steps_is_finished_and_a_missing_or_foreign_file_is_not(tmp_path) -> None:
    wanted = replace(WANTED, max_steps=4)
    write_results(tmp_path / "run.json", Kind.TRAINING, {}, [replace(wanted, metrics=(_epoch(3), _epoch(1)))])
    assert finished_run(tmp_path / "run.json", wanted)
    assert not finished_run(tmp_path / "missing.json", wanted)
    write_results(tmp_path / "bench.json", Kind.BENCHMARKS, {}, [])
    assert not finished_run(tmp_path / "bench.json", wanted)


def test_cli_reuse_keeps_a_finished_run_and_trains_other_settings(data_dir, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    options = ["--backend", "reference", "--epochs", "2", "--batch-size", "32", "--data-dir", str(data_dir),
               "--out", str(out), "--no-progress", "--reuse"]  # fmt: skip
    assert main(options) == 0  # nothing to reuse yet: trains
    written = (out / "reference-chapter" / "run.json").read_bytes()
    capsys.readouterr()
    assert main(options) == 0
    assert "reusing the finished run" in capsys.readouterr().out
    # A new run would differ at least in its measured examples_per_s.
    assert (out / "reference-chapter" / "run.json").read_bytes() == written
    assert main([*options, "--lr", "0.5"]) == 0
    (run,) = read_results(out / "reference-chapter" / "run.json", Kind.TRAINING).records
    assert run.lr == 0.5


def test_a_run_written_before_step_losses_reads_and_is_trained_again(data_dir, tmp_path) -> None:
    out = tmp_path / "out"
    options = ["--backend", "reference", "--epochs", "1", "--batch-size", "32", "--data-dir", str(data_dir),
               "--out", str(out), "--no-progress"]  # fmt: skip
    main(options)
    path = out / "reference-chapter" / "run.json"
    older = json.loads(path.read_text())
    for entry in older["records"][0]["metrics"]:
        del entry["step_losses"]
    path.write_text(json.dumps(older))
    (run,) = read_results(path, Kind.TRAINING).records
    assert [m.step_losses for m in run.metrics] == [()]
    assert main([*options, "--reuse"]) == 0
    (run,) = read_results(path, Kind.TRAINING).records
    assert [len(m.step_losses) for m in run.metrics] == [3]


def test_cli_rejects_bad_options(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--epochs", "0"])
    assert "--epochs" in capsys.readouterr().err


def test_reference_model_round_trips_parameters() -> None:
    model = ReferenceLeNet("chapter", "float64")
    params = lenet.init_params(7, np.float64)
    model.load_params(params)
    assert all(np.array_equal(model.params()[k], params[k]) for k in params)
