"""The report's LeNet section built from real small training runs of the NumPy reference
(python -m training on a hand-written IDX set): the quick form's per-step loss plot and its note,
the full form's accuracies and per-epoch curves, and the section without any run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from conformance.results import EpochMetrics, Kind, TrainingRun, read_results, write_results
from reporting import charts
from reporting.__main__ import build
from tests.idx_files import make_split
from training.__main__ import main as train

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A results folder with both variants of the reference trained twice: 2 steps into
    train-quick (the quick form) and 2 epochs into train (the full form), batches of 32 of 96."""
    root = tmp_path_factory.mktemp("lenet")
    make_split(root / "data", "train", n=96)
    make_split(root / "data", "test", n=40, seed=1)
    for variant in ("chapter", "relu-max"):
        common = [
            "--variant",
            variant,
            "--batch-size",
            "32",
            "--data-dir",
            str(root / "data"),
            "--no-progress",
        ]
        train([*common, "--epochs", "1", "--max-steps", "2", "--out", str(root / "results" / "train-quick")])
        train([*common, "--epochs", "2", "--out", str(root / "results" / "train")])
    return root / "results"


def _run(results: Path, folder: str, variant: str) -> TrainingRun:
    (run,) = read_results(results / folder / f"reference-{variant}" / "run.json", Kind.TRAINING).records
    return run


def _lenet_section(markdown: str) -> str:
    return markdown.split("## LeNet on Fashion-MNIST")[1].split("\n## ")[0]


def _report(results: Path, out: Path, *, quick: bool) -> tuple[str, str]:
    """REPORT.md's LeNet section and index.html, built from ``results``, after checking that each
    variant's row shows the test accuracy its run.json recorded and how long it trained."""
    markdown_path, html_path = build(results, out, [], quick=quick)
    section = _lenet_section(markdown_path.read_text())
    folder, length = ("train-quick", "2 steps") if quick else ("train", "2 epochs")
    for variant, lr in (("chapter", 0.9), ("relu-max", 0.1)):
        accuracy = _run(results, folder, variant).metrics[-1].test_acc
        assert f"| reference | {variant} | {accuracy:.4f} | {length} ({lr}, 32) |" in section
    return section, html_path.read_text()


@pytest.fixture
def figures(monkeypatch) -> list:
    """The matplotlib figures the report draws, kept open (instead of their PNG bytes) for inspection."""
    kept: list = []
    monkeypatch.setattr(charts, "_png", lambda fig: kept.append(fig) or PNG)
    return kept


def _lines(figure) -> dict[str, tuple[list[float], list[float]]]:
    """Label -> (x, y) of every labelled line of the figure's first axes."""
    return {
        line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in figure.axes[0].lines
    }


def test_the_quick_section_plots_the_loss_at_every_step_and_says_the_chapter_network_starts_at_chance(
    results: Path, tmp_path: Path, figures: list
) -> None:
    section, html = _report(results, tmp_path, quick=True)
    assert "Quick form: test accuracy after each runner's first 2 SGD steps" in section
    assert "sigmoid network stays at chance (test accuracy 0.1000, batch loss near ln 10 = 2.303)" in section
    assert "the ReLU/max-pool variant learns at once" in section
    for variant in ("chapter", "relu-max"):
        assert f"![LeNet {variant}: batch loss per SGD step](lenet-{variant}.png)" in section
        assert (tmp_path / f"lenet-{variant}.png").read_bytes() == PNG
        assert f'alt="LeNet {variant}: batch loss per SGD step"' in html
    # One line per runner through every step (not one dot per epoch), over the chance level.
    chapter = next(f for f in figures if f.axes[0].get_title() == "LeNet, chapter: loss per step")
    lines = _lines(chapter)
    steps = _run(results, "train-quick", "chapter").metrics[0].step_losses
    assert lines["reference"] == ([1, 2], list(steps))
    assert lines["chance (ln 10)"][1] == [math.log(10)] * 2


def test_the_full_section_shows_each_runs_accuracy_and_its_curves_per_epoch(
    results: Path, tmp_path: Path, figures: list
) -> None:
    section, html = _report(results, tmp_path, quick=False)
    for variant in ("chapter", "relu-max"):
        assert f"![LeNet {variant}: test accuracy and train loss per epoch](lenet-{variant}.png)" in section
    assert "Test accuracy after each runner's last epoch (full training runs, results/train)" in section
    assert "nox -s train-reference" not in section  # the reference's runs are there
    relu = next(f for f in figures if f.axes[0].get_title() == "LeNet, relu-max")
    run = _run(results, "train", "relu-max")
    assert _lines(relu)["reference"] == ([1, 2], [m.test_acc for m in run.metrics])
    assert html.count('alt="LeNet ') == 2


def test_the_full_section_names_the_session_that_trains_the_reference_when_it_is_missing(
    tmp_path: Path, figures: list
) -> None:
    metrics = (EpochMetrics(1, 0.6, 0.78, 0.8, 9000.0, 469, (0.6,) * 469),)
    runs = {
        "torch": TrainingRun("torch", "chapter", 0.9, 128, 1, 0, None, metrics),
        "onnxruntime": TrainingRun("onnxruntime", "chapter", 0.9, 128, 1, 0, None, (), gap="no autograd"),
    }
    for runner, run in runs.items():
        path = tmp_path / "results" / "train" / f"{runner}-chapter" / "run.json"
        write_results(path, Kind.TRAINING, {}, [run])
    markdown_path, _ = build(tmp_path / "results", tmp_path / "report", ["torch", "onnxruntime"], quick=False)
    section = _lenet_section(markdown_path.read_text())
    assert "| torch | chapter | 0.8000 | 1 epoch (0.9, 128) |" in section
    assert "| onnxruntime | chapter | gap: no autograd | - |" in section
    (curves,) = [f for f in figures if f.axes[0].get_title() == "LeNet, chapter"]
    assert list(_lines(curves)) == ["torch"]  # the gap has no line, nor a legend entry
    assert (
        "The NumPy reference's runs (not in the main job: about 8 min more): nox -s train-reference."
        in section
    )


def test_a_report_without_training_says_which_sessions_train(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    markdown_path, html_path = build(tmp_path / "results", tmp_path / "report", [], quick=False)
    section = _lenet_section(markdown_path.read_text())
    assert "No LeNet training runs" in section
    assert "(nox -s report -- --no-train trains none)" in section
    assert "![" not in section
    assert "No LeNet training runs in results/train or results/train-quick" in html_path.read_text()
    assert not list((tmp_path / "report").glob("lenet-*.png"))


def test_each_form_prefers_its_own_runs(results: Path, tmp_path: Path) -> None:
    """Both folders hold runs: the quick form shows the short ones alone, the full form the full ones."""
    assert "epochs (" not in _report(results, tmp_path / "q", quick=True)[0]
    assert "steps (" not in _report(results, tmp_path / "f", quick=False)[0]
