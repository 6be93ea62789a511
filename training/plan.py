"""The main job's LeNet training plan: which runs ``nox -s report`` makes, with which options.

Standard library only: the noxfile loads this file by its path, in nox's own Python, where
neither NumPy nor the project is installed.

The full form trains each selected backend's two variants for the chapter's 10 epochs into
``<results>/train``, with a progress bar; the NumPy reference is left to ``nox -s
train-reference``: its 10 epochs of both variants take about 8 minutes on a quiet 2-core machine
(about half again the four frameworks' 17), and the conformance suite already checks every
backend's training steps against it. The quick (CI) form trains every runner, the reference
included (about 30 s on a quiet machine), for :data:`QUICK_STEPS` steps into
``<results>/train-quick``, without a progress bar. Each run passes ``--reuse`` (``python -m
training`` then keeps a finished ``run.json`` of the same settings) unless ``--retrain`` is
given; ``--no-train`` and ``--rebuild`` train nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

VARIANTS = ("chapter", "relu-max")  # reference.lenet.VARIANTS, in the order they are trained
REFERENCE = "reference"  # the runner name of the NumPy reference in python -m training
EPOCHS = 10  # the chapter's
QUICK_STEPS = 300  # "a few hundred steps": the chapter network is still at chance here


@dataclass(frozen=True)
class TrainingJob:
    """One ``python -m training`` run: its runner (a backend or ``reference``), its variant and its
    other options."""

    runner: str
    variant: str
    options: tuple[str, ...]

    @property
    def arguments(self) -> tuple[str, ...]:
        """The Python arguments that make the run: ``-m training --backend ... --variant ...``."""
        return ("-m", "training", "--backend", self.runner, "--variant", self.variant, *self.options)


def quick_options(results: Path) -> tuple[str, ...]:
    """``python -m training`` options of the short run: one epoch cut at :data:`QUICK_STEPS`
    steps, no progress bar, into ``<results>/train-quick``."""
    out = str(results / "train-quick")
    return ("--epochs", "1", "--max-steps", str(QUICK_STEPS), "--no-progress", "--out", out)


def full_options(results: Path) -> tuple[str, ...]:
    """``python -m training`` options of the chapter's run: :data:`EPOCHS` epochs into ``<results>/train``."""
    return ("--epochs", str(EPOCHS), "--out", str(results / "train"))


def report_training(backends: Sequence[str], args: Sequence[str], results: Path) -> list[TrainingJob]:
    """The runs of ``nox -s report -- <args>`` for the selected ``backends``, in order.

    ``args`` are the session's options: ``--quick`` (the short runs, the reference included),
    ``--no-train`` or ``--rebuild`` (no runs), ``--retrain`` (no ``--reuse``); others are ignored.
    Every backend is planned, a plugin that cannot train included (its run records the declared gap).
    """
    if "--no-train" in args or "--rebuild" in args:
        return []
    quick = "--quick" in args
    runners = [*backends, REFERENCE] if quick else list(backends)
    options = quick_options(results) if quick else full_options(results)
    if "--retrain" not in args:
        options += ("--reuse",)
    return [TrainingJob(runner, variant, options) for runner in runners for variant in VARIANTS]
