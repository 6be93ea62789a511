"""ONNX Runtime's native nodes with the obvious attributes, against the reference.

Each probe runs one one-node model (:func:`cnn_chapter_onnxruntime.graphs.run_node`, no emulation)
on the shared probe inputs; what it measures is written when ``python -m backends.divergences
--backend onnxruntime`` runs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import reference
from backends.divergences import Probe
from backends.divergences.inputs import (
    ALL_NEG_INF_3,
    AVG_INF,
    AVG_INF_NEG_INF,
    CE_LABELS,
    CE_LOGITS,
    CEIL_6,
    DILATED_IN_PADDING,
    FLAT_1D,
    HUGE_W,
    IMAGE_5,
    IMAGE_6,
    KERNEL_2,
    RELU_KINK,
    SUBNORMAL_X,
    WITH_NAN,
)
from cnn_chapter_onnxruntime.graphs import run_node

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
# A 1x1x5x5 image holding a NaN and an inf, and a 2x2 kernel with an inf: what Conv does with them.
SPECIAL_IMAGE = IMAGE_5.copy()
SPECIAL_IMAGE[0, 0, 1, 1], SPECIAL_IMAGE[0, 0, 3, 3] = np.nan, np.inf
INF_KERNEL = np.array([[[[np.inf, 1.0], [1.0, 1.0]]]], dtype=np.float32)
ONES_5 = np.ones((1, 1, 5, 5), dtype=np.float32)
# Sigmoid's negative tail, compared as logarithms: a tail flushed to 0 (or clamped) shows there.
TAILS = np.array([-40, -20, -17, -10], dtype=np.float32)


def _node(
    op_type: str, dtype: np.dtype, *arrays: np.ndarray, int64_inputs: int = 0, **attributes
) -> Callable:
    """The native call, deferred: ``op_type`` as a one-node model on ``arrays``."""
    return lambda: np.asarray(run_node(op_type, dtype, *arrays, int64_inputs=int64_inputs, **attributes))


def _loss(dtype: np.dtype, logits: np.ndarray, labels: np.ndarray) -> Callable:
    """The native mean softmax cross-entropy of ``logits`` and int64 ``labels``, deferred."""
    return _node("SoftmaxCrossEntropyLoss", dtype, logits, labels, int64_inputs=1, reduction="mean")


def _log(values: np.ndarray) -> np.ndarray:
    """The natural logarithm, -inf at 0 (without a warning)."""
    with np.errstate(divide="ignore"):
        return np.log(values)


def _pool(kernel: int, stride: int, pad: int, ceil: bool, **more: int) -> dict:
    return {"kernel_shape": [kernel, kernel], "strides": [stride, stride], "pads": [pad] * 4,
            "ceil_mode": int(ceil), **more}  # fmt: skip


def _padding_probes() -> list[Probe]:
    """auto_pad against the reference's explicit 'same', ceil_mode and count_include_pad."""
    return [
        Probe("'same' padding, odd total", "Conv(x, w, auto_pad='SAME_UPPER')",
              _node("Conv", F32, IMAGE_5, KERNEL_2, auto_pad="SAME_UPPER"),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, padding="same"),
              "explicit pads [top, left, bottom, right] from the reference's rule"),
        Probe("'same' padding, odd total", "Conv(x, w, auto_pad='SAME_LOWER')",
              _node("Conv", F32, IMAGE_5, KERNEL_2, auto_pad="SAME_LOWER"),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, padding="same_lower"),
              "explicit pads from the reference's rule (SAME_LOWER puts the odd row before)"),
        Probe("'same' padding, odd total", "Conv(x, w, strides=[2, 2], auto_pad='SAME_UPPER')",
              _node("Conv", F32, IMAGE_5, KERNEL_2, strides=[2, 2], auto_pad="SAME_UPPER"),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, stride=2, padding="same"),
              "explicit pads from the reference's rule"),
        Probe("ceil_mode", "MaxPool(x, kernel_shape=[2, 2], strides=[2, 2], pads=[1]*4, ceil_mode=1)",
              _node("MaxPool", F32, IMAGE_5, **_pool(2, 2, 1, True)),
              lambda: reference.max_pool2d(IMAGE_5, 2, stride=2, padding=1, ceil_mode=True),
              "native"),
        Probe("ceil_mode", "AveragePool(x, kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)",
              _node("AveragePool", F32, IMAGE_5, **_pool(2, 2, 0, True)),
              lambda: reference.avg_pool2d(IMAGE_5, 2, ceil_mode=True),
              "native"),
        Probe("ceil_mode window past the padded input",
              "MaxPool(x, kernel_shape=[3, 3], strides=[2, 2], pads=[1]*4, ceil_mode=1) on 6x6",
              _node("MaxPool", F32, CEIL_6, **_pool(3, 2, 1, True)),
              lambda: reference.max_pool2d(CEIL_6, 3, stride=2, padding=1, ceil_mode=True),
              "native"),
        Probe("ceil_mode window past the padded input",
              "AveragePool(x, kernel_shape=[3, 3], strides=[2, 2], pads=[1]*4, ceil_mode=1,"
              " count_include_pad=1) on 6x6",
              _node("AveragePool", F32, CEIL_6, **_pool(3, 2, 1, True), count_include_pad=1),
              lambda: reference.avg_pool2d(CEIL_6, 3, stride=2, padding=1, ceil_mode=True),
              "native"),
        Probe("avg-pool padding count",
              "AveragePool(x, kernel_shape=[3, 3], strides=[2, 2], pads=[1]*4)"
              " (count_include_pad=0, ONNX's default)",
              _node("AveragePool", F32, ONES_5, **_pool(3, 2, 1, False)),
              lambda: reference.avg_pool2d(ONES_5, 3, stride=2, padding=1),
              "count_include_pad set from the argument (the reference's default is True, ONNX's 0)"),
        Probe("avg-pool padding count",
              "AveragePool(x, kernel_shape=[3, 3], strides=[2, 2], pads=[1]*4, count_include_pad=1)",
              _node("AveragePool", F32, ONES_5, **_pool(3, 2, 1, False), count_include_pad=1),
              lambda: reference.avg_pool2d(ONES_5, 3, stride=2, padding=1, count_include_pad=True),
              "native"),
    ]  # fmt: skip


def _same_pooling_probes() -> list[Probe]:
    """auto_pad of the pooling nodes against the reference's "same" and "same_lower"."""
    window = {"kernel_shape": [3, 3], "strides": [2, 2]}
    return [
        Probe("'same' pooling",
              "MaxPool(x, kernel_shape=[3, 3], strides=[2, 2], auto_pad='SAME_UPPER') on 6x6",
              _node("MaxPool", F32, IMAGE_6, **window, auto_pad="SAME_UPPER"),
              lambda: reference.max_pool2d(IMAGE_6, 3, stride=2, padding="same"),
              "explicit pads [top, left, bottom, right] from the reference's rule"),
        Probe("'same' pooling",
              "MaxPool(x, kernel_shape=[3, 3], strides=[2, 2], auto_pad='SAME_LOWER') on 6x6",
              _node("MaxPool", F32, IMAGE_6, **window, auto_pad="SAME_LOWER"),
              lambda: reference.max_pool2d(IMAGE_6, 3, stride=2, padding="same_lower"),
              "explicit pads from the reference's rule"),
        Probe("'same' pooling",
              "MaxPool(x, kernel_shape=[2, 2], dilations=[3, 3], auto_pad='SAME_UPPER') on 5x5",
              _node("MaxPool", F32, IMAGE_5, kernel_shape=[2, 2], dilations=[3, 3], auto_pad="SAME_UPPER"),
              lambda: reference.max_pool2d(IMAGE_5, 2, stride=1, dilation=3, padding="same"),
              "the input padded beforehand by the reference's rule, MaxPool at pads 0"
              " (its pads reach the window: 'Pad should be smaller than kernel')"),
        Probe("'same' pooling",
              "AveragePool(x, kernel_shape=[3, 3], strides=[2, 2], auto_pad='SAME_UPPER') on 6x6"
              " (count_include_pad=0, ONNX's default)",
              _node("AveragePool", F32, IMAGE_6, **window, auto_pad="SAME_UPPER"),
              lambda: reference.avg_pool2d(IMAGE_6, 3, stride=2, padding="same"),
              "explicit pads, count_include_pad set from the argument (the reference's default is True)"),
        Probe("'same' pooling",
              "AveragePool(x, kernel_shape=[3, 3], strides=[2, 2], auto_pad='SAME_UPPER',"
              " count_include_pad=1) on 6x6",
              _node("AveragePool", F32, IMAGE_6, **window, auto_pad="SAME_UPPER", count_include_pad=1),
              lambda: reference.avg_pool2d(IMAGE_6, 3, stride=2, padding="same", count_include_pad=True),
              "explicit pads, count_include_pad set from the argument"),
    ]  # fmt: skip


def _special_value_probes() -> list[Probe]:
    """NaN, infinities, windows without a real element, signed zeros, tails, huge logits."""
    relu_sign = np.array([-0.0], dtype=np.float32)

    def ce_row(row: int, dtype: np.dtype) -> Probe:
        logits, labels = CE_LOGITS[row : row + 1].astype(dtype), CE_LABELS[row : row + 1]
        return Probe("cross-entropy with -inf, NaN and huge logits",
                     f"SoftmaxCrossEntropyLoss({dtype.name} z, y, reduction='mean'),"
                     f" z = {CE_LOGITS[row].tolist()}, y = {CE_LABELS[row]}",
                     _loss(dtype, logits, labels),
                     lambda: np.asarray(reference.softmax_cross_entropy(logits, labels)),
                     "native; logits holding NaN give NaN")  # fmt: skip

    nan_off_label = np.array([[0.0, np.nan, 1.0]])
    # Two rows whose losses (2e38 each) are finite in float32 but whose sum is not.
    huge_losses = np.array([[0.0, 2e38], [0.0, 2e38]], dtype=np.float32)
    plus_inf = np.array([[np.inf, 0.0, 1.0]])
    return [
        Probe("NaN in a max window", "MaxPool(x, kernel_shape=[2, 2], strides=[2, 2])",
              _node("MaxPool", F32, WITH_NAN, **_pool(2, 2, 0, False)),
              lambda: reference.max_pool2d(WITH_NAN, 2),
              "windows holding a NaN (MaxPool of isnan(x)) set to NaN"),
        Probe("all -inf window beside padding",
              "MaxPool(x, kernel_shape=[3, 3], strides=[2, 2], pads=[1]*4), x all -inf",
              _node("MaxPool", F32, ALL_NEG_INF_3, **_pool(3, 2, 1, False)),
              lambda: reference.max_pool2d(ALL_NEG_INF_3, 3, stride=2, padding=1),
              "windows with nothing above -inf (MaxPool of x > -inf) set to -inf"),
        Probe("dilated window entirely in padding",
              "MaxPool(x, kernel_shape=[2, 2], pads=[1]*4, dilations=[3, 3]) on 2x2",
              _node("MaxPool", F32, DILATED_IN_PADDING, kernel_shape=[2, 2], pads=[1] * 4, dilations=[3, 3]),
              lambda: reference.max_pool2d(DILATED_IN_PADDING, 2, stride=1, padding=1, dilation=3),
              "windows with nothing above -inf (MaxPool of x > -inf) set to -inf"),
        Probe("NaN and inf in a convolution", "Conv(x, w, pads=[1]*4), x with a NaN and an inf",
              _node("Conv", F32, SPECIAL_IMAGE, KERNEL_2, pads=[1] * 4),
              lambda: reference.conv2d(SPECIAL_IMAGE, KERNEL_2, padding=1),
              "native"),
        Probe("NaN and inf in a convolution",
              "Conv(x, w, pads=[1]*4), w[0, 0, 0, 0] = inf (0 * inf in padding)",
              _node("Conv", F32, IMAGE_5, INF_KERNEL, pads=[1] * 4),
              lambda: reference.conv2d(IMAGE_5, INF_KERNEL, padding=1),
              "native"),
        Probe("inf and -inf in one average window",
              "AveragePool(x, kernel_shape=[2, 2]), x = [[inf, -inf], [1, 2]]",
              _node("AveragePool", F32, AVG_INF_NEG_INF, kernel_shape=[2, 2]),
              lambda: reference.avg_pool2d(AVG_INF_NEG_INF, 2),
              "native"),
        Probe("inf and -inf in one average window",
              "AveragePool(x, kernel_shape=[2, 2]), x = [[inf, 1], [2, 3]]",
              _node("AveragePool", F32, AVG_INF, kernel_shape=[2, 2]),
              lambda: reference.avg_pool2d(AVG_INF, 2),
              "native"),
        Probe("signed zero out of ReLU", "signbit(Relu(x)), x = [-0.0]",
              lambda: np.signbit(run_node("Relu", F32, relu_sign)).astype(np.float32),
              lambda: np.signbit(reference.relu(relu_sign)).astype(np.float32),
              "Relu(x) + 0.0"),
        Probe("ReLU of special values", "Relu(x), x = [nan, 0, -0, 1, -1, inf, -inf]",
              _node("Relu", F32, RELU_KINK), lambda: reference.relu(RELU_KINK), "native (+ 0.0)"),
        Probe("sigmoid in the tails", f"log(Sigmoid(x)) float32, x = {TAILS.tolist()}",
              lambda: _log(run_node("Sigmoid", F32, TAILS)),
              lambda: np.log(reference.sigmoid(TAILS)),
              "a float64 Exp node of -|x| and the stable quotient, rounded once"),
        Probe("sigmoid in the tails", f"log(Sigmoid(x)) float64, x = {TAILS.tolist()}",
              lambda: _log(run_node("Sigmoid", F64, TAILS)),
              lambda: np.log(reference.sigmoid(TAILS.astype(F64))),
              "a float64 Exp node of -|x| and the stable quotient"),
        ce_row(0, F32),
        ce_row(1, F32),
        ce_row(2, F32),
        Probe("cross-entropy with -inf, NaN and huge logits",
              "SoftmaxCrossEntropyLoss(float64 z, y, reduction='mean'), z = [[0, nan, 1]], y = [0]",
              _loss(F64, nan_off_label, np.array([0])),
              lambda: np.asarray(reference.softmax_cross_entropy(nan_off_label, np.array([0]))),
              "logits holding NaN give NaN"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              "SoftmaxCrossEntropyLoss(float32 z, y, reduction='mean'),"
              " z = [[0, 2e38], [0, 2e38]], y = [0, 0]",
              _loss(F32, huge_losses, np.array([0, 0])),
              lambda: np.asarray(reference.softmax_cross_entropy(huge_losses, np.array([0, 0]))),
              "logits above sqrt(float32 max) through the float64 kernel"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              "SoftmaxCrossEntropyLoss(float64 z, y, reduction='mean'), z = [[inf, 0, 1]], y = [1]",
              _loss(F64, plus_inf, np.array([1])),
              lambda: np.asarray(reference.softmax_cross_entropy(plus_inf, np.array([1]))),
              "a row holding +inf gives NaN"),
        Probe("flatten of a 1-D input", "Flatten(x, axis=1), x of shape (5,)",
              _node("Flatten", F32, FLAT_1D, axis=1), lambda: reference.flatten(FLAT_1D), "native"),
        Probe("subnormal inputs", "Gemm(x, w, transB=1), x = [[1e-40, 1e-45]], w = [[1e38, 1e38]] float32",
              _node("Gemm", F32, SUBNORMAL_X, HUGE_W, transB=1),
              lambda: reference.linear(SUBNORMAL_X, HUGE_W), "native"),
    ]  # fmt: skip


def _float64_probes() -> list[Probe]:
    """Which nodes the CPU provider computes in float64 (a refusal: no double kernel)."""
    x = IMAGE_5.astype(F64)
    calls = [
        ("Conv", "Conv(x, w) float64", (x, KERNEL_2.astype(F64)), {},
         lambda: reference.conv2d(x, KERNEL_2.astype(F64)), "im2col and a float64 MatMul node"),
        ("AveragePool", "AveragePool(x, kernel_shape=[2, 2]) float64", (x,), {"kernel_shape": [2, 2]},
         lambda: reference.avg_pool2d(x, 2, stride=1), "a float64 ReduceSum node over the windows"),
        ("MaxPool", "MaxPool(x, kernel_shape=[2, 2]) float64", (x,), {"kernel_shape": [2, 2]},
         lambda: reference.max_pool2d(x, 2, stride=1), "native"),
        ("Gemm", "Gemm(x, w, transB=1) float64", (x[0, 0], x[0, 0]), {"transB": 1},
         lambda: reference.linear(x[0, 0], x[0, 0]), "native"),
    ]  # fmt: skip
    return [
        Probe("float64 kernels", call, _node(op, F64, *arrays, **attributes), expected, adapter)
        for op, call, arrays, attributes, expected, adapter in calls
    ]


def probes() -> list[Probe]:
    """Every probe of the ONNX Runtime backend, measured when run."""
    return [*_padding_probes(), *_same_pooling_probes(), *_special_value_probes(), *_float64_probes()]
