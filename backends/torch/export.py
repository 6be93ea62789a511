"""The PyTorch LeNet to ONNX with ``torch.onnx.export``, torch 2.13's default (dynamo) exporter.

The dynamo exporter (``dynamo=True``, the default since torch 2.9; the TorchScript one is
deprecated) captures the network with ``torch.export`` and translates it with onnxscript.
"""

from __future__ import annotations

from pathlib import Path

import torch

from backends.torch.lenet import TorchLeNet

EXPORTER = "torch.onnx.export (dynamo)"


def export_lenet(model: TorchLeNet, path: Path, batch: int) -> tuple[str, str]:
    """Write ``model``'s network as ONNX to ``path``; returns ``(exporter, version)``.

    The graph takes NCHW images of the model's dtype, input ``images`` (batch dimension
    dynamic, traced at ``batch``), and returns output ``logits``. The model is exported in
    eval mode (LeNet has no layer that differs) and left in the mode it had.
    """
    example = torch.zeros((batch, 1, 28, 28), dtype=next(model.net.parameters()).dtype, device=model.device)
    training = model.net.training
    model.net.eval()
    try:
        torch.onnx.export(
            model.net, (example,), str(path), input_names=["images"], output_names=["logits"],
            dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True, verbose=False,
        )  # fmt: skip
    finally:
        model.net.train(training)
    return EXPORTER, torch.__version__
