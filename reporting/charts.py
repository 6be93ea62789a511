"""The report's plots as PNG bytes (matplotlib, no display)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


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


def accuracy_curves(training: dict[tuple[str, str], dict], variant: str) -> bytes:
    """Test accuracy (solid) and train loss (dashed, right axis) per epoch, one line per runner."""
    fig, axis = plt.subplots(figsize=(6, 3.6))
    loss_axis = axis.twinx()
    for (runner, run_variant), run in sorted(training.items()):
        if run_variant != variant:
            continue
        epochs = [m["epoch"] for m in run["metrics"]]
        (line,) = axis.plot(epochs, [m["test_acc"] for m in run["metrics"]], "o-", label=runner)
        loss_axis.plot(epochs, [m["train_loss"] for m in run["metrics"]], "--", color=line.get_color())
    axis.set_xlabel("epoch")
    axis.set_ylabel("test accuracy (solid)")
    loss_axis.set_ylabel("train loss (dashed)")
    axis.set_title(f"LeNet, {variant}")
    axis.legend(fontsize=8, loc="lower right")
    return _png(fig)
