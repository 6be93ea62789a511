"""The report's plots as PNG bytes (matplotlib, no display)."""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from conformance.results import DataParallelRun, TrainingRun


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def benchmark_bars(
    rates: dict[tuple[str, str, str], dict[str, float]], backends: list[str], op: str
) -> bytes:
    """Grouped bars: GFLOP/s of ``op`` per (size, pass), one bar per backend."""
    keys = sorted(k for k in rates if k[0] == op)
    fig, axis = plt.subplots(figsize=(max(6, 1.2 * len(keys)), 3.6))
    width = 0.8 / max(1, len(backends))
    positions = np.arange(len(keys))
    for i, backend in enumerate(backends):
        axis.bar(positions + i * width, [rates[k].get(backend, 0.0) for k in keys], width, label=backend)
    axis.set_xticks(positions + width * (len(backends) - 1) / 2)
    axis.set_xticklabels([f"{size}\n{pass_}" for _, size, pass_ in keys], fontsize=7)
    axis.set_ylabel("GFLOP/s (float32)")
    axis.set_title(op)
    axis.legend(fontsize=8)
    return _png(fig)


def accuracy_curves(training: dict[tuple[str, str], TrainingRun], variant: str) -> bytes:
    """Test accuracy (solid) and train loss (dashed, right axis) per epoch, one line per runner
    (a runner that could not train, a declared gap with no metrics, has none)."""
    fig, axis = plt.subplots(figsize=(6, 3.6))
    loss_axis = axis.twinx()
    for (runner, run_variant), run in sorted(training.items()):
        if run_variant != variant or not run.metrics:
            continue
        epochs = [m.epoch for m in run.metrics]
        (line,) = axis.plot(epochs, [m.test_acc for m in run.metrics], "o-", label=runner)
        loss_axis.plot(epochs, [m.train_loss for m in run.metrics], "--", color=line.get_color())
    axis.set_xlabel("epoch")
    axis.set_ylabel("test accuracy (solid)")
    loss_axis.set_ylabel("train loss (dashed)")
    axis.set_title(f"LeNet, {variant}")
    axis.legend(fontsize=8, loc="lower right")
    return _png(fig)


def step_loss_curves(training: dict[tuple[str, str], TrainingRun], variant: str) -> bytes:
    """Each runner's batch loss at every SGD step (every epoch's ``step_losses`` in turn), one line
    per runner, over the chance level ln 10 (dotted: the loss of uniform logits over 10 classes).
    Runs without per-step losses (files written before they were recorded) have no line."""
    fig, axis = plt.subplots(figsize=(6, 3.6))
    steps = 0
    for (runner, run_variant), run in sorted(training.items()):
        losses = [loss for m in run.metrics for loss in m.step_losses]
        if run_variant != variant or not losses:
            continue
        axis.plot(np.arange(1, len(losses) + 1), losses, "-", lw=1, alpha=0.8, label=runner)
        steps = max(steps, len(losses))
    # math.log: correctly rounded; NumPy 1.23's AVX-512 log gives ln 10 one ulp low.
    axis.axhline(math.log(10), color="k", ls=":", lw=1, label="chance (ln 10)")
    axis.set_xlim(0, max(steps, 1))
    axis.set_xlabel("SGD step")
    axis.set_ylabel("batch loss before the step")
    axis.set_title(f"LeNet, {variant}: loss per step")
    axis.legend(fontsize=8, loc="upper right")
    return _png(fig)


def trajectory_figure(trajectories: dict[str, dict[str, list[float]]], variant: str) -> bytes:
    """LeNet's free-running float32 trajectories: loss per step (left) and parameter deviation (right, log).

    ``trajectories`` maps a backend name to the ``params`` of its ``lenet-trajectory-<variant>``
    record: ``losses``, ``reference_losses`` (float64), ``reference_float32_losses``,
    ``deviations`` and ``reference_float32_deviations`` (max |p - p_ref| / (1 + max |p_ref|)
    from the float64 reference after each step). The reference's lines come from the first backend.
    """
    fig, (loss_axis, deviation_axis) = plt.subplots(1, 2, figsize=(10, 3.6))
    for i, (backend, run) in enumerate(sorted(trajectories.items())):
        steps = np.arange(1, len(run["losses"]) + 1)
        if i == 0:
            loss_axis.plot(steps, run["reference_losses"], "k-", lw=2, label="reference float64")
            loss_axis.plot(steps, run["reference_float32_losses"], "k:", label="reference float32")
            deviation_axis.plot(steps, run["reference_float32_deviations"], "k:", label="reference float32")
        loss_axis.plot(steps, run["losses"], "--", label=backend)
        _plot_deviations(deviation_axis, steps, run["deviations"], backend)
    return _finish_trajectories(fig, f"LeNet {variant}", "float64", "|float32 - float64|")


def _plot_deviations(
    axis,
    steps: np.ndarray,
    deviations: list[float],
    label: str,
    floor: float = float(np.finfo(np.float32).eps),
) -> None:
    """Deviations below ``floor`` (exactly 0 cannot go on a log axis) are drawn at ``floor``."""
    axis.plot(steps, np.maximum(np.asarray(deviations, dtype=float), floor), "-", label=label)


def _finish_trajectories(fig, title: str, baseline: str, deviation_title: str) -> bytes:
    """Label a figure of loss (left) and parameter deviation from ``baseline`` (right, log) per SGD step."""
    loss_axis, deviation_axis = fig.axes
    loss_axis.set_xlabel("SGD step")
    loss_axis.set_ylabel("batch loss")
    deviation_axis.set_yscale("log")
    deviation_axis.set_xlabel("SGD step")
    deviation_axis.set_ylabel(f"parameter deviation from {baseline}")
    loss_axis.set_title(f"{title}: loss")
    deviation_axis.set_title(f"{title}: {deviation_title}")
    loss_axis.legend(fontsize=7)
    deviation_axis.legend(fontsize=7)
    return _png(fig)


# Where a data-parallel run's deviation of 0 (bit for bit) is drawn: far below one float32 rounding
# of the parameters (those near 1 round by about 6e-8; a deviation is relative to 1 + max |p|).
DEVIATION_FLOOR = 1e-12


def data_parallel_figure(runs: list[DataParallelRun], backend: str, variant: str) -> bytes:
    """One backend's free-running data-parallel runs beside its single-process run, from the same start:
    loss per step (left; the single-process run from the first record) and the parameter deviation
    from the single-process run after each step (right, log: max over tensors of
    max |p - p_single| / (1 + max |p_single|); 0, bit for bit, drawn at DEVIATION_FLOOR)."""
    fig, (loss_axis, deviation_axis) = plt.subplots(1, 2, figsize=(10, 3.6))
    for i, run in enumerate(sorted(runs, key=lambda r: r.processes)):
        steps = np.arange(1, len(run.losses) + 1)
        if i == 0:
            loss_axis.plot(steps, run.single_losses, "k-", lw=2, label="single process")
        loss_axis.plot(steps, run.losses, "--", label=f"{run.processes} processes")
        _plot_deviations(deviation_axis, steps, run.deviations, f"{run.processes} processes", DEVIATION_FLOOR)
    return _finish_trajectories(
        fig, f"{backend}, LeNet {variant}", "single process", "|data-parallel - single|"
    )
