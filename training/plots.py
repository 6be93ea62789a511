"""Training curves as a PNG: loss and accuracy per epoch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt


def plot_history(history: Sequence[Mapping[str, Any]], path: Path, title: str) -> None:
    """Train loss (left axis) and train/test accuracy (right axis) against the epoch."""
    epochs = [entry["epoch"] for entry in history]
    fig, loss_axis = plt.subplots(figsize=(6, 4))
    loss_axis.plot(epochs, [e["train_loss"] for e in history], "o-", color="tab:blue", label="train loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("loss")
    acc_axis = loss_axis.twinx()
    acc_axis.plot(epochs, [e["train_acc"] for e in history], "s--", color="tab:orange", label="train acc")
    acc_axis.plot(epochs, [e["test_acc"] for e in history], "^-", color="tab:green", label="test acc")
    acc_axis.set_ylabel("accuracy")
    acc_axis.set_ylim(0, 1)
    handles = loss_axis.get_legend_handles_labels()[0] + acc_axis.get_legend_handles_labels()[0]
    loss_axis.legend(handles, [h.get_label() for h in handles], loc="center right")
    loss_axis.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
