"""The JAX LeNet to ONNX with jax2onnx, from the pure function :func:`backends.jax.lenet.lenet_logits`.

jax2onnx traces the function with the model's parameters closed over (they become the graph's
initializers). The adapter's shape arithmetic needs concrete sizes, so the batch is fixed.
"""

from __future__ import annotations

from functools import partial
from importlib import metadata
from pathlib import Path

import jax2onnx

from backends.jax.lenet import JaxLeNet, lenet_logits
from reference.lenet import variant_of

EXPORTER = "jax2onnx.to_onnx"


def export_lenet(model: JaxLeNet, path: Path, batch: int) -> tuple[str, str]:
    """Write ``model``'s network as ONNX to ``path``; returns ``(exporter, version)``.

    The graph takes NCHW images of the model's dtype, input ``images`` of the fixed shape
    (batch, 1, 28, 28), and returns output ``logits``; jax2onnx's default opset.
    """
    network = partial(lenet_logits, model.params(), spec=variant_of(model.variant))
    jax2onnx.to_onnx(
        network, inputs=[(batch, 1, 28, 28)], input_names=["images"], output_names=["logits"],
        enable_double_precision=model.dtype == "float64", return_mode="file", output_path=str(path),
    )  # fmt: skip
    return EXPORTER, metadata.version("jax2onnx")
