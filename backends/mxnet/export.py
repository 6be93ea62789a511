"""The MXNet (Gluon) LeNet to ONNX with ``mx.onnx.export_model``, MXNet 1.9.1's exporter.

The Gluon network applied to a symbolic input gives the symbol graph that the exporter
takes with the parameters, under the symbol's own parameter names.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from backends.mxnet.lenet import MXNetLeNet
from backends.mxnet.ops import mx

EXPORTER = "mx.onnx.export_model"


def export_lenet(model: MXNetLeNet, path: Path, batch: int) -> tuple[str, str]:
    """Write ``model``'s network as ONNX to ``path``; returns ``(exporter, version)``.

    The graph takes NCHW images of the model's dtype, input ``images`` (batch dimension
    dynamic, shapes inferred at ``batch``), and returns the logits. The exporter stamps
    the installed onnx package's newest opset on its opset-13 translations.
    """
    symbol = model.net(mx.sym.var("images"))
    params = {param.name: param.data() for param in model.net.collect_params().values()}
    with warnings.catch_warnings():
        # The exporter reads onnx.mapping, deprecated since onnx 1.15: a warning per use.
        warnings.filterwarnings("ignore", r"`mapping\.", DeprecationWarning)
        mx.onnx.export_model(
            symbol, params, in_shapes=[(batch, 1, 28, 28)], in_types=[np.dtype(model.dtype)],
            onnx_file_path=str(path), dynamic=True, dynamic_input_shapes=[(None, 1, 28, 28)],
        )  # fmt: skip
    return EXPORTER, mx.__version__
