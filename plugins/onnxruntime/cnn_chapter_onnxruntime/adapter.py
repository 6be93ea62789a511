"""ONNX Runtime adapter: each forward op a one-node ONNX model (``graphs.run_node``), run on the CPU.

Nodes: ``Conv``, ``MaxPool``, ``AveragePool``, ``Relu``, ``Sigmoid``, ``Gemm``, ``MatMul``,
``ReduceSum``, ``Flatten`` and ``SoftmaxCrossEntropyLoss``, each built once per signature and cached.
Padding, strides, dilation, ``ceil_mode`` and ``count_include_pad`` are node attributes: ONNX pads
are explicit per side, so the reference's asymmetric and "same" pads pass as they are.

Quirks handled here (each call that needs one records a note):
- ``MaxPool`` skips NaN (``x > max`` is false for NaN; the reference: NaN wins) and gives
  ``-FLT_MAX`` for a window without a real element above -inf (the reference: -inf): windows
  holding a NaN, or nothing above -inf, are found by ``MaxPool`` of the masks ``isnan(x)`` and
  ``x > -inf`` and set to NaN and -inf.
- The ``Sigmoid`` kernels are off by more than the reference's bound in float32 and flush the
  float64 tail (x below about -37) to 0: sigmoid runs as a float64 ``Exp`` node of ``-|x|`` and the
  stable quotient, rounded once.
- ``SoftmaxCrossEntropyLoss``: the float64 kernel skips a NaN logit off the label (a finite loss)
  and both give inf for a +inf logit: a row holding NaN or +inf, or only -inf, makes the loss NaN,
  as the reference's log-softmax does. The float32 kernel overflows to inf from logits near the
  largest float32: such logits go through the float64 kernel.
- ``Relu`` keeps -0.0 (the reference: +0.0): its output + 0.0.
- The CPU provider has no float64 ``Conv`` or ``AveragePool`` kernel: float64 convolution runs as
  im2col (NumPy views of the zero-padded input) times the weights in a float64 ``MatMul`` node, and
  float64 average pooling as a float64 ``ReduceSum`` node over the windows divided by the
  reference's divisor (the real cells, or the cells inside the padded input, counted exactly).
- ``MaxPool`` and ``AveragePool`` refuse a pad not below the window ("Pad should be smaller than
  kernel"; the reference's explicit pads never are): the pads a dilated max pool's "same" comes to
  are applied to the input beforehand, the node pooling at pads 0.
- ONNX Runtime's inference build has no autograd: every ``*_vjp`` validates its arguments like the
  reference, then raises :class:`backends.UnsupportedError` (declared gaps, ``known_gaps.toml``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any, ClassVar

import numpy as np
import onnxruntime as ort

from backends.base import Backend, Prepared, UnsupportedError
from backends.devices import resolve_device
from cnn_chapter_onnxruntime.graphs import THREADS, node_session, run_node
from reference.dtypes import BFLOAT16
from reference.shapes import ConvGeometry, PoolGeometry
from reference.validation import (
    check_conv2d,
    check_cross_entropy,
    check_dense,
    check_elementwise,
    check_flatten,
    check_pool2d,
    check_real_array,
    result_dtype,
)

NO_AUTOGRAD = (
    "ONNX Runtime's inference build has no autograd: {} has no gradient here"
    " (onnxruntime-training's on-device training builds gradient graphs offline)"
)


NO_BFLOAT16 = (
    "ONNX Runtime's CPU provider has no bfloat16 kernels for these nodes (Relu, Sigmoid, Exp, Gemm, MatMul,"
    " ReduceSum: NOT_IMPLEMENTED), opset 21's Conv, MaxPool, AveragePool and SoftmaxCrossEntropyLoss"
    " do not admit tensor(bfloat16), and its Python binding cannot feed NumPy's bfloat16 (ml_dtypes) arrays"
)


def work_dtype(dtype: np.dtype) -> np.dtype:
    """The element type a node computes in: the result dtype (float64, float32 or float16).

    Raises :class:`backends.UnsupportedError` for bfloat16 (:data:`NO_BFLOAT16`).
    """
    if dtype == BFLOAT16:
        raise UnsupportedError(NO_BFLOAT16)
    return np.dtype(dtype)


def _result(value: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A fresh C-contiguous NumPy array of ``dtype`` (ONNX Runtime's buffers are not handed out)."""
    return np.array(value, dtype=dtype, order="C", copy=True)


def _windows(
    padded: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> np.ndarray:
    """(N, C, Ho, Wo, kh, kw) view of every window of an already padded NCHW buffer."""
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    view = np.lib.stride_tricks.sliding_window_view(padded, span, axis=(2, 3))
    return view[:, :, :: stride[0], :: stride[1], :: dilation[0], :: dilation[1]]


def _pool_buffer(X: np.ndarray, geometry: PoolGeometry, fill: float = 0.0) -> np.ndarray:
    """X in a float64 buffer of ``fill``: the pads that hold every window whole
    (:meth:`PoolGeometry.window_padding`: ``padding``, grown after for a ceil_mode window)."""
    (top, bottom), (left, right) = geometry.window_padding(X.shape[2:])
    return np.pad(
        np.asarray(X, np.float64), ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=fill
    )


def conv_attributes(geometry: ConvGeometry, w_shape: tuple[int, ...]) -> dict[str, Any]:
    """The ``Conv`` node's attributes: ONNX pads are ``[top, left, bottom, right]``."""
    (top, bottom), (left, right) = geometry.padding
    return {
        "kernel_shape": list(w_shape[2:]),
        "strides": list(geometry.stride),
        "pads": [top, left, bottom, right],
        "dilations": list(geometry.dilation),
        "group": geometry.groups,
    }


def pool_node(op: str, geometry: PoolGeometry, count_include_pad: bool = True) -> tuple[str, dict[str, Any]]:
    """The node type and attributes of ``op`` (``max_pool2d`` or ``avg_pool2d``): explicit ``pads``
    ``[top, left, bottom, right]`` ("same" and "same_lower" pass as the pads they come to)."""
    (top, bottom), (left, right) = geometry.padding
    attributes = {
        "kernel_shape": list(geometry.kernel_size),
        "strides": list(geometry.stride),
        "pads": [top, left, bottom, right],
        "ceil_mode": int(geometry.ceil_mode),
    }
    if op == "max_pool2d":
        return "MaxPool", {**attributes, "dilations": list(geometry.dilation)}
    return "AveragePool", {**attributes, "count_include_pad": int(count_include_pad)}


def pads_reach_kernel(geometry: PoolGeometry) -> bool:
    """Whether a pad is not below the window (ONNX Runtime: "Pad should be smaller than kernel"):
    only "same" padding of a dilated max pool comes to such pads."""
    return any(max(pads) >= k for pads, k in zip(geometry.padding, geometry.kernel_size, strict=True))


class OnnxRuntimeBackend(Backend):
    """The reference's forward ops computed by ONNX Runtime's CPU execution provider."""

    name = "onnxruntime"
    framework = "onnxruntime"

    # Measured (conformance/accumulation.py): the CPU provider runs float16 Conv, Gemm and AveragePool
    # through float32 (it inserts casts around nodes without float16 kernels): correctly rounded.
    float32_sums: ClassVar[dict[str, frozenset[str]]] = {
        "float16": frozenset({"conv2d", "linear", "avg_pool2d"})
    }

    def __init__(self, device: str = "auto") -> None:
        super().__init__()
        # The CPU provider only: "auto" and "cpu" give the CPU, "gpu" is an error (no GPU provider).
        self.device = resolve_device(device, 0, "cuda")
        self.framework_version = ort.__version__
        self.precision = f"ieee float32 (CPUExecutionProvider, {THREADS} intra-op threads)"

    # -- convolution -----------------------------------------------------
    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        dtype = result_dtype(X, W) if b is None else result_dtype(X, W, b)
        arrays = (X, W) if b is None else (X, W, b)
        if work_dtype(dtype) == np.float64:
            return _result(self._conv_float64(geometry, *arrays), dtype)
        Y = run_node("Conv", work_dtype(dtype), *arrays, **conv_attributes(geometry, np.shape(W)))
        return _result(Y, dtype)

    def _conv_float64(self, geometry: ConvGeometry, X: Any, W: Any, b: Any = None) -> np.ndarray:
        """float64 conv2d: im2col of the zero-padded input times the weights in a ``MatMul`` node."""
        self.note("float64 conv2d as im2col and a float64 MatMul node (the CPU provider has no double Conv)")
        X, W = np.asarray(X, np.float64), np.asarray(W, np.float64)
        (top, bottom), (left, right) = geometry.padding
        padded = np.pad(X, ((0, 0), (0, 0), (top, bottom), (left, right)))
        windows = _windows(padded, W.shape[2:], geometry.stride, geometry.dilation)
        n, _, oh, ow = windows.shape[:4]
        o, cg = W.shape[:2]
        og, groups = o // geometry.groups, geometry.groups
        blocks = []
        for g in range(groups):
            # (N, Ho, Wo, Cg, kh, kw) -> rows of one output position, columns in (C, kh, kw) order
            group = windows[:, g * cg : (g + 1) * cg].transpose(0, 2, 3, 1, 4, 5)
            columns = group.reshape(n * oh * ow, cg * W.shape[2] * W.shape[3])
            weights = W[g * og : (g + 1) * og].reshape(og, cg * W.shape[2] * W.shape[3]).T
            blocks.append(run_node("MatMul", np.dtype(np.float64), columns, weights))
        Y = np.concatenate(blocks, axis=1).reshape(n, oh, ow, o).transpose(0, 3, 1, 2)
        return Y if b is None else Y + np.asarray(b, np.float64)[:, None, None]

    def conv2d_vjp(self, X, W, dY, stride=1, padding=0, dilation=1, groups=1):
        check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups, dY=dY)
        raise UnsupportedError(NO_AUTOGRAD.format("conv2d"))

    # -- pooling ---------------------------------------------------------
    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
        )
        dtype = result_dtype(X)
        X, work = np.asarray(X), work_dtype(dtype)
        node_geometry, prepare = geometry, lambda A, fill: A
        if pads_reach_kernel(geometry):
            self.note(
                "max pooling with pads not below the window (dilated 'same') on an input padded"
                " beforehand, MaxPool at pads 0 (ONNX Runtime: 'Pad should be smaller than kernel')"
            )
            node_geometry = replace(geometry, padding=((0, 0), (0, 0)), ceil_mode=False)
            prepare = partial(_pool_buffer, geometry=geometry)
        _, attributes = pool_node("max_pool2d", node_geometry)
        Y = run_node("MaxPool", work, prepare(X, fill=-np.inf), **attributes)
        if geometry.empty_windows(X.shape[2:]).any() or np.isneginf(X).any():
            self.note("max-pool windows without a value above -inf set to -inf (MaxPool gives -FLT_MAX)")
            # NaN counts as above -inf; a window with no real element pools the mask to -FLT_MAX.
            above = run_node("MaxPool", work, prepare(~np.isneginf(X), fill=0.0), **attributes)
            Y = np.where(above > 0, Y, -np.inf)
        if np.isnan(X).any():
            self.note("max-pool windows holding a NaN set to NaN (MaxPool skips NaN)")
            nan = run_node("MaxPool", work, prepare(np.isnan(X), fill=0.0), **attributes)
            Y = np.where(nan > 0, np.nan, Y)
        return _result(Y, dtype)

    def max_pool2d_vjp(self, X, dY, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode, dY=dY
        )
        raise UnsupportedError(NO_AUTOGRAD.format("max_pool2d"))

    def avg_pool2d(self, X, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        geometry = check_pool2d(
            X,
            kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )
        dtype = result_dtype(X)
        if work_dtype(dtype) == np.float64:
            return _result(self._avg_pool_float64(np.asarray(X), geometry, bool(count_include_pad)), dtype)
        _, attributes = pool_node("avg_pool2d", geometry, bool(count_include_pad))
        return _result(run_node("AveragePool", work_dtype(dtype), X, **attributes), dtype)

    def _avg_pool_float64(self, X: np.ndarray, geometry: PoolGeometry, count_include_pad: bool) -> np.ndarray:
        """float64 average pooling: a ``ReduceSum`` node over the windows, over the reference's divisor."""
        self.note("float64 avg_pool2d as a float64 ReduceSum node over the windows (no double AveragePool)")
        kernel, stride, dilation = geometry.kernel_size, geometry.stride, geometry.dilation
        windows = _windows(_pool_buffer(X, geometry), kernel, stride, dilation)
        taps = windows.reshape(*windows.shape[:4], kernel[0] * kernel[1])
        total = run_node("ReduceSum", np.dtype(np.float64), taps, np.array([-1]), int64_inputs=1, keepdims=0)
        return total / geometry.divisors(X.shape[2:], count_include_pad)

    def avg_pool2d_vjp(
        self, X, dY, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        check_pool2d(
            X,
            kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
            dY=dY,
        )
        raise UnsupportedError(NO_AUTOGRAD.format("avg_pool2d"))

    # -- activations, dense, loss -----------------------------------------
    def sigmoid(self, X):
        check_elementwise(X)
        self.note(
            "sigmoid from a float64 Exp node, e = exp(-|x|): 1/(1+e) for x >= 0, e/(1+e) below, rounded once"
            " (the Sigmoid kernels are off in float32 and flush the float64 tail to 0)"
        )
        X = np.asarray(X)
        e = run_node("Exp", np.dtype(np.float64), -np.abs(X, dtype=np.float64))
        return _result(np.where(X >= 0, 1.0, e) / (1.0 + e), result_dtype(X))

    def sigmoid_vjp(self, X, dY):
        check_elementwise(X, dY)
        raise UnsupportedError(NO_AUTOGRAD.format("sigmoid"))

    def relu(self, X):
        check_elementwise(X)
        self.note("relu as Relu(x) + 0.0, so relu(-0.0) is +0.0 (Relu keeps -0.0)")
        dtype = result_dtype(X)
        return _result(run_node("Relu", work_dtype(dtype), X) + 0.0, dtype)

    def relu_vjp(self, X, dY):
        check_elementwise(X, dY)
        raise UnsupportedError(NO_AUTOGRAD.format("relu"))

    def linear(self, X, W, b=None):
        check_dense(X, W, b)
        dtype = result_dtype(X, W) if b is None else result_dtype(X, W, b)
        arrays = (X, W) if b is None else (X, W, b)
        return _result(run_node("Gemm", work_dtype(dtype), *arrays, transB=1), dtype)

    def linear_vjp(self, X, W, dY):
        check_dense(X, W, dY=dY)
        raise UnsupportedError(NO_AUTOGRAD.format("linear"))

    def flatten(self, X):
        check_flatten(X)
        dtype = result_dtype(X)
        return _result(run_node("Flatten", work_dtype(dtype), X, axis=1), dtype)

    def flatten_vjp(self, X, dY):
        check_flatten(X, dY)
        raise UnsupportedError(NO_AUTOGRAD.format("flatten"))

    def softmax_cross_entropy(self, logits, labels):
        check_cross_entropy(logits, labels)
        dtype, z = result_dtype(logits), np.asarray(logits)
        work = work_dtype(dtype)
        finite = np.abs(z[np.isfinite(z)])
        if work.itemsize < 8 and (finite > np.sqrt(np.finfo(work).max)).any():
            self.note(
                "cross-entropy of logits huge for float32 or float16 by the float64 kernel"
                " (the narrower kernel overflows to inf)"
            )
            work = np.dtype(np.float64)
        loss = run_node("SoftmaxCrossEntropyLoss", work, z, labels, int64_inputs=1, reduction="mean")
        # The reference's log-softmax z - max - log(sum(exp(z - max))) is NaN for a row holding NaN
        # or +inf, or only -inf, and so is the mean.
        if (np.isnan(z).any(axis=1) | np.isposinf(z).any(axis=1) | np.isneginf(z).all(axis=1)).any():
            self.note(
                "cross-entropy is NaN when a row holds NaN or +inf, or only -inf"
                " (the kernels skip a NaN off the label and give inf for +inf)"
            )
            loss = np.nan
        return dtype.type(loss)

    def softmax_cross_entropy_vjp(self, logits, labels, dloss=1.0):
        check_cross_entropy(logits, labels)
        check_real_array("dloss", dloss, 0)
        raise UnsupportedError(NO_AUTOGRAD.format("softmax_cross_entropy"))

    # -- LeNet -----------------------------------------------------------
    def lenet(self, variant="chapter", dtype="float32"):
        from cnn_chapter_onnxruntime.lenet import OnnxRuntimeLeNet

        return OnnxRuntimeLeNet(variant, dtype)

    # -- benchmarks ------------------------------------------------------
    def prepare(self, op, *arrays, backward=False, dY=None, **kwargs):
        self._check_prepare(backward, dY)
        if op not in ("conv2d", "max_pool2d", "avg_pool2d"):
            raise ValueError(f"prepare supports conv2d, max_pool2d and avg_pool2d, got op={op!r}")
        if backward:
            raise UnsupportedError(NO_AUTOGRAD.format(op))
        dtype = result_dtype(*arrays)
        if op == "conv2d":
            op_type, attributes = (
                "Conv",
                conv_attributes(check_conv2d(*arrays, **kwargs), np.shape(arrays[1])),
            )
        else:
            geometry = check_pool2d(*arrays, **kwargs)
            op_type, attributes = pool_node(op, geometry, kwargs.get("count_include_pad", True))
        work = work_dtype(dtype)
        feeds = {f"x{index}": np.ascontiguousarray(a, dtype=work) for index, a in enumerate(arrays)}
        # The session the op's calls use (cached), built before the timer starts.
        session = node_session(op_type, work, [feed.shape for feed in feeds.values()], 0, attributes)
        return Prepared(lambda: session.run(None, feeds)[0], lambda Y: (_result(Y, dtype),))
