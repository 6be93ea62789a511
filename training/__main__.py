"""Command line: train LeNet on Fashion-MNIST with one backend and write its run, curves, parameters.

    python -m training --backend torch --variant chapter --epochs 10 --out results/train

writes ``<out>/<backend>-<variant>/params.npz``, ``curves.png`` and, last, ``run.json`` (a
results file of kind ``training``: one :class:`conformance.results.TrainingRun` with each epoch's
metrics and per-step losses). A backend whose model raises :class:`backends.UnsupportedError` in
training (a declared gap) gets a ``run.json`` with no metrics and that reason as ``gap``, and
exits 0. ``--reuse`` trains nothing when ``run.json`` already holds a finished run of the same
settings (:func:`finished_run`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from backends import UnsupportedError, get_backend
from conformance.results import (
    TRAINING_FILE,
    EpochMetrics,
    Kind,
    ResultsFileError,
    TrainingRun,
    read_results,
    write_results,
)
from reference.lenet import VARIANTS, save_params
from training.fashion_mnist import DatasetError, load_fashion_mnist
from training.loop import DEFAULT_BATCH, DEFAULT_LR, train
from training.models import make_model
from training.plots import plot_history


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="reference", help="'reference' or a backend name (torch, ...)")
    parser.add_argument("--variant", default="chapter", choices=sorted(VARIANTS))
    parser.add_argument("--epochs", type=int, default=10, help="default: the chapter's 10")
    parser.add_argument("--batch-size", type=int, help=f"default per variant: {DEFAULT_BATCH}")
    parser.add_argument("--lr", type=float, help=f"default per variant: {DEFAULT_LR}")
    parser.add_argument("--seed", type=int, default=0, help="minibatch order seed")
    parser.add_argument("--max-steps", type=int, help="stop after this many steps (the short CI form)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir", help="Fashion-MNIST folder (default: FASHION_MNIST_DIR, cache, system)")
    parser.add_argument("--out", default="results/train", type=Path)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--reuse", action="store_true", help="keep a finished run.json of these settings, train nothing"
    )
    args = parser.parse_args(argv)
    if args.batch_size is None:
        args.batch_size = DEFAULT_BATCH[args.variant]
    if args.epochs < 1 or args.batch_size < 1 or (args.max_steps is not None and args.max_steps < 1):
        parser.error("--epochs, --batch-size and --max-steps must be at least 1")
    if args.lr is None:
        args.lr = DEFAULT_LR[args.variant]
    if args.lr <= 0:
        parser.error(f"--lr must be positive, got {args.lr}")
    return args


def _run(args: argparse.Namespace, metrics: tuple[EpochMetrics, ...], gap: str = "") -> TrainingRun:
    """The run record of ``args`` with these metrics (none, and the reason, for a declared gap)."""
    return TrainingRun(
        runner=args.backend,
        variant=args.variant,
        lr=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        seed=args.seed,
        max_steps=args.max_steps,
        metrics=metrics,
        gap=gap,
    )


def finished_run(path: Path, wanted: TrainingRun) -> bool:
    """Whether ``path`` holds a finished run of ``wanted``'s settings (runner, variant, lr, batch
    size, epochs, seed, max_steps): every epoch up to ``epochs`` or ``max_steps`` steps, with its
    per-step losses. A missing or unreadable file, a declared gap (cheap to check again) or a file
    written before per-step losses were recorded is not finished. The device is not compared."""
    try:
        (run,) = read_results(path, Kind.TRAINING).records
    except (OSError, ResultsFileError, ValueError):
        return False
    steps = [m.steps for m in run.metrics]
    return (
        replace(run, metrics=(), gap="") == replace(wanted, metrics=(), gap="")
        and not run.gap
        and bool(run.metrics)
        and all(len(m.step_losses) == m.steps for m in run.metrics)
        and (len(steps) == run.epochs or sum(steps) == run.max_steps)
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out / f"{args.backend}-{args.variant}"
    if args.reuse and finished_run(out / TRAINING_FILE, _run(args, ())):
        print(f"{args.backend} {args.variant}: reusing the finished run of the same settings in {out}")
        return 0
    try:
        train_set = load_fashion_mnist("train", args.data_dir)
        test_set = load_fashion_mnist("test", args.data_dir)
    except DatasetError as error:  # its message says where it looked and how to get the files
        print(f"python -m training: error: {error}", file=sys.stderr)
        return 2
    model = make_model(args.backend, args.variant, "float32", args.device)
    out.mkdir(parents=True, exist_ok=True)
    environment = (
        {"backend": "reference", "numpy_version": np.__version__}
        if args.backend == "reference"
        else get_backend(args.backend, device=args.device).environment()
    )
    try:
        history = train(
            model,
            train_set,
            test_set,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            max_steps=args.max_steps,
            progress=None if args.no_progress else tqdm,
        )
    except UnsupportedError as error:
        # A backend that cannot train (a declared gap): its run record says why, with no metrics.
        write_results(out / TRAINING_FILE, Kind.TRAINING, environment, [_run(args, (), gap=str(error))])
        print(f"{args.backend} {args.variant}: cannot train (declared gap): {error} -> {out}")
        return 0
    save_params(out / "params.npz", model.params())
    plot_history(history, out / "curves.png", f"LeNet ({args.variant}) on {args.backend}")
    run = _run(args, tuple(EpochMetrics(**entry) for entry in history))
    write_results(out / TRAINING_FILE, Kind.TRAINING, environment, [run])  # last: the run is finished
    last = history[-1]
    print(
        f"{args.backend} {args.variant}: test accuracy {last['test_acc']:.4f}, "
        f"{last['examples_per_s']:,.0f} examples/s -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
