"""The TensorFlow (Keras) LeNet to ONNX with tf2onnx, from a ``tf.function`` around the network.

tf2onnx is the converter Keras 3's own ``model.export(format="onnx")`` calls on TensorFlow;
it is called directly here so that the graph takes NCHW images like every other backend's
(the transpose to Keras's NHWC is part of the exported graph).
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
import tf2onnx

from backends.tensorflow.lenet import TensorFlowLeNet

EXPORTER = "tf2onnx.convert.from_function"


def export_lenet(model: TensorFlowLeNet, path: Path, batch: int) -> tuple[str, str]:
    """Write ``model``'s network as ONNX to ``path``; returns ``(exporter, version)``.

    The graph takes NCHW images of the model's dtype, input ``images`` (batch dimension
    dynamic; ``batch`` is not needed), and returns the logits; tf2onnx's default opset.
    """
    del batch  # the signature leaves the batch dimension open
    signature = [tf.TensorSpec((None, 1, 28, 28), model.dtype, name="images")]

    @tf.function(input_signature=signature)
    def logits(images: tf.Tensor) -> tf.Tensor:
        return model.net(tf.transpose(images, (0, 2, 3, 1)), training=False)

    tf2onnx.convert.from_function(logits, input_signature=signature, output_path=str(path))
    return EXPORTER, tf2onnx.__version__
