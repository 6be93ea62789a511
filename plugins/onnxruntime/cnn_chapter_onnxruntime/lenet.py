"""LeNet's forward pass as one ONNX graph, its parameters the graph's initializers (canonical layouts).

The graph is the chapter's network on inputs ``X`` (N, 1, 28, 28), N symbolic: Conv (pads 2),
activation, pooling (2, stride 2), Conv, activation, pooling, Flatten (C, H, W order, as the
canonical ``fc1`` weights expect), then three Gemm nodes (``transB=1``: weights stay (out, in)),
an activation after the first two. Canonical arrays load as initializers unchanged (OIHW conv
weights, (out, in) dense weights), and ``params()`` reads them back from the model, so the round
trip is exact. ``load_params`` builds a new session.

ONNX Runtime's CPU provider has no float64 Conv or AveragePool kernel: a float64 model exists and
round-trips its parameters, but its forward raises :class:`backends.UnsupportedError`. The
inference build has no autograd, so ``loss_and_grads`` and ``train_step`` raise it too (both
declared gaps in ``known_gaps.toml``).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import helper, numpy_helper

from backends.base import UnsupportedError
from backends.lenet import LeNetModel
from cnn_chapter_onnxruntime.graphs import KernelMissingError, model, session
from reference.lenet import CONV_PADDING, PARAM_SHAPES, init_params, variant_of

NO_TRAINING = (
    "ONNX Runtime's inference build has no autograd: a LeNet graph has no {} here"
    " (onnxruntime-training's on-device training builds gradient graphs offline)"
)
POOL = {"kernel_shape": [2, 2], "strides": [2, 2]}


def lenet_graph_nodes(variant: str) -> list:
    """The LeNet nodes reading ``X`` and the canonical parameter names, writing ``logits``."""
    spec = variant_of(variant)
    act = "Sigmoid" if spec.activation == "sigmoid" else "Relu"
    pool = "AveragePool" if spec.pooling == "avg" else "MaxPool"
    nodes, x = [], "X"
    for layer in ("conv1", "conv2"):
        p = CONV_PADDING[layer]
        nodes += [
            helper.make_node("Conv", [x, f"{layer}.weight", f"{layer}.bias"], [f"{layer}.z"], pads=[p] * 4),
            helper.make_node(act, [f"{layer}.z"], [f"{layer}.a"]),
            helper.make_node(pool, [f"{layer}.a"], [f"{layer}.p"], **POOL),
        ]
        x = f"{layer}.p"
    nodes.append(helper.make_node("Flatten", [x], ["flat"], axis=1))
    x = "flat"
    for layer in ("fc1", "fc2", "fc3"):
        out = "logits" if layer == "fc3" else f"{layer}.z"
        nodes.append(helper.make_node("Gemm", [x, f"{layer}.weight", f"{layer}.bias"], [out], transB=1))
        if layer != "fc3":
            nodes.append(helper.make_node(act, [out], [f"{layer}.a"]))
            x = f"{layer}.a"
    return nodes


class OnnxRuntimeLeNet(LeNetModel):
    """LeNet as one ONNX graph run by an ``InferenceSession`` (forward only)."""

    def __init__(self, variant: str, dtype: str) -> None:
        super().__init__(variant, dtype)
        self._session: ort.InferenceSession | None = None
        self._native_load_params(init_params(0, self.dtype))  # the reference's initial parameters

    def _native_load_params(self, params: dict[str, np.ndarray]) -> None:
        initializers = [numpy_helper.from_array(params[name], name) for name in PARAM_SHAPES]
        dtype = np.dtype(self.dtype)
        self._model = model(
            lenet_graph_nodes(self.variant),
            [("X", dtype, ("N", 1, 28, 28))],
            [("logits", dtype)],
            initializers,
        )
        self._session = None  # built at the first forward: a float64 graph finds no kernels

    def _native_params(self) -> dict[str, np.ndarray]:
        return {tensor.name: numpy_helper.to_array(tensor) for tensor in self._model.graph.initializer}

    def _native_logits(self, X: np.ndarray) -> np.ndarray:
        if self._session is None:
            try:
                self._session = session(self._model)
            except KernelMissingError as error:
                raise UnsupportedError(f"{self.dtype} LeNet graph: {error}") from error
        return self._session.run(None, {"X": X})[0]

    def _native_loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        raise UnsupportedError(NO_TRAINING.format("gradients"))

    def _native_train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        raise UnsupportedError(NO_TRAINING.format("training step"))
