"""The report's LeNet training runs: what the table says about them, and their figures.

Full runs (``train/``: the chapter's 10 epochs) are drawn per epoch, as the chapter draws them
(:func:`reporting.charts.accuracy_curves`). The quick form's short runs (``train-quick/``: a few
hundred steps, less than one epoch, so one point per runner on an epoch axis) are drawn per step
(:func:`reporting.charts.step_loss_curves`).
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.results import TrainingRun
from reporting import charts
from reporting.collect import TRAINING_FOLDERS, Found

QUICK_FOLDER = "train-quick"
NO_RUNS = (
    "No LeNet training runs in results/train or results/train-quick (nox -s report -- --no-train "
    "trains none): nox -s report trains every backend (--quick: 300 steps, the reference included), "
    "nox -s train-<backend> and nox -s train-reference train one runner."
)
QUICK_RUNS = (
    "Quick form: test accuracy after each runner's first {steps} SGD steps (short CI runs, "
    "results/train-quick), and the loss at every step in the plots below. The chapter's sigmoid network "
    "stays at chance (test accuracy 0.1000, batch loss near ln 10 = 2.303) for its first few hundred "
    "steps, as the chapter's own curves show, so 0.1000 here is expected; the ReLU/max-pool variant "
    "learns at once. The chapter's 10 epochs: nox -s report without --quick."
)
FULL_RUNS = (
    "Test accuracy after each runner's last epoch ({source}, results/train), and per epoch, as the "
    "chapter plots it, in the curves below."
)
NO_REFERENCE = " The NumPy reference's runs (not in the main job: about 8 min more): nox -s train-reference."
MISSING_STEPS = " Runs without per-step losses (written before they were recorded; --retrain): {runs}."


@dataclass(frozen=True)
class Figure:
    """One LeNet plot: a file name for the Markdown report, the PNG, and its caption."""

    name: str
    png: bytes
    caption: str


def trained_cell(run: TrainingRun) -> str:
    """How long ``run`` trained, with its (lr, batch size): ``10 epochs (0.9, 128)``, or
    ``300 steps (0.9, 128)`` for a run cut by ``max_steps`` (``1 epoch``, ``1 step``)."""
    count, unit = (
        (sum(m.steps for m in run.metrics), "step") if run.max_steps else (len(run.metrics), "epoch")
    )
    return f"{count} {unit}{'' if count == 1 else 's'} ({run.lr}, {run.batch_size})"


def training_note(found: Found) -> str:
    """The LeNet table's sentences about its training runs: where they come from and how to read
    them, or, with none, which sessions train."""
    runs = [run for run in found.training.values() if run.metrics]
    if not runs:
        return NO_RUNS
    if found.training_source == QUICK_FOLDER:
        steps = "/".join(sorted({str(sum(m.steps for m in run.metrics)) for run in runs}, key=int))
        note = QUICK_RUNS.format(steps=steps)
        unplotted = sorted(
            f"{r.runner} {r.variant}" for r in runs if not any(m.step_losses for m in r.metrics)
        )
        return note + (MISSING_STEPS.format(runs=", ".join(unplotted)) if unplotted else "")
    note = FULL_RUNS.format(source=TRAINING_FOLDERS[found.training_source])
    return note + ("" if any(run.runner == "reference" for run in runs) else NO_REFERENCE)


def figures(found: Found) -> list[Figure]:
    """One figure per variant with a trained run: loss per step in the quick form, test accuracy
    and train loss per epoch otherwise."""
    quick = found.training_source == QUICK_FOLDER
    variants = sorted({variant for (_, variant), run in found.training.items() if run.metrics})
    plot = charts.step_loss_curves if quick else charts.accuracy_curves
    what = "batch loss per SGD step" if quick else "test accuracy and train loss per epoch"
    return [Figure(f"lenet-{v}.png", plot(found.training, v), f"LeNet {v}: {what}") for v in variants]
