"""ONNX models built with ``onnx.helper`` and run by ONNX Runtime's CPU execution provider.

A one-node model is built once per signature (op type, element type, input shapes, attributes)
and its ``InferenceSession`` cached; calling it again with arrays of that signature reuses the
session. Shapes are static: every input's shape is written into the model, so ONNX Runtime
plans memory once per signature.

Session options: intra-op threads = the CPUs this process may use, with spinning off (idle worker
threads would otherwise busy-wait on cores shared with other processes); graph optimisations at
ONNX Runtime's default level (``ORT_ENABLE_ALL``): a one-node model has nothing to fuse, and the
LeNet graph's fusions (Conv with its activation, Gemm with its bias) compute the same sums.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from onnxruntime.capi.onnxruntime_pybind11_state import NotImplemented as KernelMissingError

from backends.base import UnsupportedError

# ONNX opset of every model: the newest whose ops (Conv 11, MaxPool 12, AveragePool 19, Gemm 13,
# SoftmaxCrossEntropyLoss 13, ...) this onnxruntime implements; IR version 10 goes with it.
OPSET = 21
IR_VERSION = 10
ELEMENT_TYPES = {
    np.dtype(np.float16): TensorProto.FLOAT16,
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.int64): TensorProto.INT64,
}
THREADS = len(os.sched_getaffinity(0))
Attributes = tuple[tuple[str, Any], ...]


def session_options() -> ort.SessionOptions:
    """The options of every session (see the module)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Errors only: ONNX's shape inference of a ceil_mode pool counts a last window that the kernel
    # (and the reference) drop, and ONNX Runtime warns of the mismatch on every such call.
    options.log_severity_level = 3
    return options


def model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[tuple[str, np.dtype, tuple[int | str, ...]]],
    outputs: Sequence[tuple[str, np.dtype]],
    initializers: Sequence[onnx.TensorProto] = (),
) -> onnx.ModelProto:
    """A model (ONNX Runtime checks it when a session loads it). ``inputs``: (name, dtype, shape),
    a str in a shape being a symbolic axis; ``outputs``: (name, dtype), shapes left to ONNX Runtime."""
    graph = helper.make_graph(
        list(nodes),
        "cnn_chapter",
        [helper.make_tensor_value_info(name, ELEMENT_TYPES[dtype], shape) for name, dtype, shape in inputs],
        [helper.make_tensor_value_info(name, ELEMENT_TYPES[dtype], None) for name, dtype in outputs],
        initializer=list(initializers),
    )
    built = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    built.ir_version = IR_VERSION
    return built


def session(built: onnx.ModelProto) -> ort.InferenceSession:
    """An ``InferenceSession`` of ``built`` on the CPU execution provider."""
    return ort.InferenceSession(
        built.SerializeToString(), session_options(), providers=["CPUExecutionProvider"]
    )


@functools.lru_cache(maxsize=512)
def one_node(
    op_type: str,
    dtype: np.dtype,
    shapes: tuple[tuple[int, ...], ...],
    int64_inputs: int,
    attributes: Attributes,
) -> ort.InferenceSession:
    """The cached session of one ``op_type`` node: inputs ``x0, x1, ...`` of ``shapes``, all of
    ``dtype`` but the last ``int64_inputs`` (int64: labels, axes), one output ``y`` of ``dtype``.

    A missing kernel raises ONNX Runtime's ``NotImplemented`` (``KernelMissingError`` here).
    """
    names = [f"x{index}" for index in range(len(shapes))]
    types = [dtype] * (len(shapes) - int64_inputs) + [np.dtype(np.int64)] * int64_inputs
    node = helper.make_node(op_type, names, ["y"], **dict(attributes))
    inputs = [(name, kind, shape) for name, kind, shape in zip(names, types, shapes, strict=True)]
    return session(model([node], inputs, [("y", dtype)]))


def node_session(
    op_type: str,
    dtype: np.dtype,
    shapes: Sequence[tuple[int, ...]],
    int64_inputs: int,
    attributes: dict[str, Any],
) -> ort.InferenceSession:
    """The cached session of :func:`one_node` for these attributes (lists allowed);
    :class:`backends.UnsupportedError` where the CPU provider has no kernel for ``dtype``."""
    signature = tuple(sorted((key, _hashable(value)) for key, value in attributes.items()))
    try:
        return one_node(op_type, np.dtype(dtype), tuple(map(tuple, shapes)), int64_inputs, signature)
    except KernelMissingError as error:
        raise UnsupportedError(
            f"ONNX Runtime's CPU provider has no {np.dtype(dtype)} {op_type} kernel"
        ) from error


def run_node(
    op_type: str, dtype: np.dtype, *arrays: np.ndarray, int64_inputs: int = 0, **attributes: Any
) -> Any:
    """``op_type`` on ``arrays`` (the last ``int64_inputs`` of them int64, the others cast to ``dtype``).

    Raises :class:`backends.UnsupportedError` where the CPU provider has no kernel for ``dtype``.
    """
    feeds = [np.ascontiguousarray(a, dtype=dtype) for a in arrays[: len(arrays) - int64_inputs]]
    feeds += [np.ascontiguousarray(a, dtype=np.int64) for a in arrays[len(arrays) - int64_inputs :]]
    runner = node_session(op_type, dtype, [a.shape for a in feeds], int64_inputs, attributes)
    return runner.run(None, {f"x{index}": a for index, a in enumerate(feeds)})[0]


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
