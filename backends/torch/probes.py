"""PyTorch's native calls with the obvious arguments, against the reference."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)

import reference
from backends.divergences import NotApplicableError, Probe
from backends.divergences.inputs import (
    ACTIVATION,
    ALL_NEG_INF_3,
    AVG_INF,
    AVG_INF_NEG_INF,
    BACKWARDS,
    CE_LABELS,
    CE_LOGITS,
    CEIL_6,
    DILATED_IN_PADDING,
    FC1,
    FLAT_1D,
    HUGE_W,
    IMAGE_5,
    IMAGE_6,
    KERNEL_2,
    NANS_IN_MAX_WINDOWS,
    RELU_KINK,
    SIGMOID_TAIL_DY,
    SIGMOID_TAILS,
    SUBNORMAL_X,
    TF32_W,
    TF32_X,
    TIES,
    WITH_NAN,
)


def _t(array: np.ndarray, grad: bool = False) -> torch.Tensor:
    """A tensor of a probe input (float32, CPU)."""
    return torch.tensor(array, requires_grad=grad)


def _max_pool_grad(array: np.ndarray) -> np.ndarray:
    x = _t(array, grad=True)
    F.max_pool2d(x, 2).sum().backward()
    return x.grad.numpy()


def _grad(forward: Callable[[torch.Tensor], torch.Tensor], array: np.ndarray, dy: np.ndarray | None = None):
    """x.grad after ``forward(x).backward(dy)`` (dy: ones of the output's shape by default)."""
    x = _t(array, grad=True)
    y = forward(x)
    y.backward(torch.ones_like(y) if dy is None else _t(dy))
    return x.grad.numpy()


def _cross_entropy(row: int) -> np.ndarray:
    """``F.cross_entropy`` (mean over the batch) of one logits row of CE_LOGITS and its label."""
    logits, labels = _t(CE_LOGITS[row : row + 1]), torch.tensor(CE_LABELS[row : row + 1])
    return F.cross_entropy(logits, labels).detach().numpy()


def _tf32_conv() -> np.ndarray:
    if not torch.cuda.is_available():
        raise NotApplicableError("no CUDA device (TF32 exists on Ampere and newer GPUs)")
    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = True  # PyTorch's default for convolutions
    try:
        return F.conv2d(_t(TF32_X).cuda(), _t(TF32_W).cuda(), padding=1).cpu().numpy()
    finally:
        torch.backends.cudnn.allow_tf32 = before


def _special_values() -> list[Probe]:
    """What the native calls do with NaN, infinities, all-padding windows, tails and a 1-D flatten."""
    ones_2x2 = np.ones((1, 1, 2, 2), np.float32)

    def ce_row(row: int) -> Callable[[], np.ndarray]:
        return lambda: reference.softmax_cross_entropy(CE_LOGITS[row : row + 1], CE_LABELS[row : row + 1])

    def ce_grad(row: int) -> Callable[[], np.ndarray]:
        return lambda: reference.softmax_cross_entropy_vjp(CE_LOGITS[row : row + 1], CE_LABELS[row : row + 1])

    def ce_native_grad(row: int) -> Callable[[], np.ndarray]:
        labels = torch.tensor(CE_LABELS[row : row + 1])
        return lambda: _grad(lambda z: F.cross_entropy(z, labels), CE_LOGITS[row : row + 1])

    return [
        Probe("NaN at ReLU's kink",
              "x.grad after torch.relu(x).backward(torch.ones_like(x)), x = [nan, 0, -0, 1, -1, inf, -inf]",
              lambda: _grad(torch.relu, RELU_KINK),
              lambda: reference.relu_vjp(RELU_KINK, np.ones_like(RELU_KINK)),
              "inputs with NaN: autograd of torch.where(x > 0, x, 0) (torch.relu's passes dY through at NaN);"
              " otherwise native"),
        Probe("several NaNs in a max window",
              "x.grad after F.max_pool2d(x, 2).sum().backward(), two NaNs in each 2x2 window",
              lambda: _grad(lambda x: F.max_pool2d(x, 2), NANS_IN_MAX_WINDOWS),
              lambda: reference.max_pool2d_vjp(NANS_IN_MAX_WINDOWS, np.ones((1, 1, 1, 2), np.float32), 2),
              "inputs with NaN: dY scattered to the first NaN, found by max pooling an isnan mask with"
              " return_indices (autograd's goes to the last NaN)"),
        Probe("all -inf window beside padding", "F.max_pool2d(x, 3, stride=2, padding=1), x all -inf",
              lambda: F.max_pool2d(_t(ALL_NEG_INF_3), 3, stride=2, padding=1).numpy(),
              lambda: reference.max_pool2d(ALL_NEG_INF_3, 3, stride=2, padding=1),
              "native"),
        Probe("all -inf window beside padding",
              "x.grad after F.max_pool2d(x, 3, stride=2, padding=1).sum().backward(), x all -inf",
              lambda: _grad(lambda x: F.max_pool2d(x, 3, stride=2, padding=1), ALL_NEG_INF_3),
              lambda: reference.max_pool2d_vjp(ALL_NEG_INF_3, ones_2x2, 3, stride=2, padding=1),
              "native autograd"),
        Probe("dilated window entirely in padding",
              "F.max_pool2d(x, 2, stride=1, padding=1, dilation=3) on 2x2"
              " (both taps of each axis in padding)",
              lambda: F.max_pool2d(_t(DILATED_IN_PADDING), 2, stride=1, padding=1, dilation=3).numpy(),
              lambda: reference.max_pool2d(DILATED_IN_PADDING, 2, stride=1, padding=1, dilation=3),
              "native forward; such windows pass no gradient via a scatter of dY (backward is not probed:"
              " F.max_pool2d's index for such a window is past the input, 6 of 4 cells, and autograd writes"
              " there: silently, or a heap corruption that aborts the process)"),
        Probe("ceil_mode window past the padded input",
              "F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True) on 6x6",
              lambda: F.max_pool2d(_t(CEIL_6), 3, stride=2, padding=1, ceil_mode=True).numpy(),
              lambda: reference.max_pool2d(CEIL_6, 3, stride=2, padding=1, ceil_mode=True),
              "native"),
        Probe("ceil_mode window past the padded input",
              "F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True) on 6x6",
              lambda: F.avg_pool2d(_t(CEIL_6), 3, stride=2, padding=1, ceil_mode=True).numpy(),
              lambda: reference.avg_pool2d(CEIL_6, 3, stride=2, padding=1, ceil_mode=True),
              "native"),
        Probe("sigmoid gradient in the tails",
              "x.grad after torch.sigmoid(x).backward(dy), x = [-100, -40, -20, 0, 20, 40, 100],"
              " dy = [1e30, 1e17, 1e8, 1, 1e8, 1e17, 1e30]",
              lambda: _grad(torch.sigmoid, SIGMOID_TAILS, SIGMOID_TAIL_DY),
              lambda: reference.sigmoid_vjp(SIGMOID_TAILS, SIGMOID_TAIL_DY),
              "emulated: dY * e / (1 + e)**2 with e = exp(-|x|) in float64, rounded once; an infinite dY"
              " at a finite x stays infinite (autograd's dY * y * (1 - y) flushes the positive tail)"),
        Probe("flatten of a 1-D input", "torch.flatten(x, 1), x of shape (5,)",
              lambda: torch.flatten(_t(FLAT_1D), 1).numpy(),
              lambda: reference.flatten(FLAT_1D),
              "emulated for 1-D inputs: x.reshape(len(x), 1) (torch.flatten(x, 1) needs two axes)"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              "F.cross_entropy(z, y), z = [[-inf, 0, 1]], y = [1]",
              lambda: _cross_entropy(0), ce_row(0), "native"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              "F.cross_entropy(z, y), z = [[3e38, -3e38, 0]], y = [0]",
              lambda: _cross_entropy(1), ce_row(1), "native"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              "F.cross_entropy(z, y), z = [[nan, 0, 1]], y = [2]",
              lambda: _cross_entropy(2), ce_row(2), "native"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              "z.grad after F.cross_entropy(z, y).backward(), z = [[-inf, 0, 1]], y = [1]",
              ce_native_grad(0), ce_grad(0), "native autograd"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              "z.grad after F.cross_entropy(z, y).backward(), z = [[3e38, -3e38, 0]], y = [0]",
              ce_native_grad(1), ce_grad(1), "native autograd"),
        Probe("cross-entropy with -inf, NaN and huge logits",
              "z.grad after F.cross_entropy(z, y).backward(), z = [[nan, 0, 1]], y = [2]",
              ce_native_grad(2), ce_grad(2), "native autograd"),
        Probe("inf and -inf in one average window", "F.avg_pool2d(x, 2), x = [[inf, -inf], [1, 2]]",
              lambda: F.avg_pool2d(_t(AVG_INF_NEG_INF), 2).numpy(),
              lambda: reference.avg_pool2d(AVG_INF_NEG_INF, 2),
              "native"),
        Probe("inf and -inf in one average window", "F.avg_pool2d(x, 2), x = [[inf, 1], [2, 3]]",
              lambda: F.avg_pool2d(_t(AVG_INF), 2).numpy(),
              lambda: reference.avg_pool2d(AVG_INF, 2),
              "native"),
    ]  # fmt: skip


def _same_pooling() -> list[Probe]:
    """'same' pooling: PyTorch's pools take no padding string and pad symmetrically, at most half
    the window."""
    x = _t(IMAGE_6)
    return [
        Probe("'same' pooling", "F.max_pool2d(x, 3, 2, padding='same')",
              lambda: F.max_pool2d(x, 3, 2, padding="same").numpy(),
              lambda: reference.max_pool2d(IMAGE_6, 3, stride=2, padding="same"),
              "explicit pads from the reference's rule, F.pad (-inf) and pooling at padding 0"),
        Probe("'same' pooling", "F.max_pool2d(x, 3, 2, padding=1) on 6x6 as the port of TF's 'SAME'",
              lambda: F.max_pool2d(x, 3, 2, padding=1).numpy(),
              lambda: reference.max_pool2d(IMAGE_6, 3, stride=2, padding="same"),
              "explicit pads (0, 1) per axis, F.pad (-inf) and pooling at padding 0"),
        Probe("'same' pooling",
              "F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False) on 6x6 as the port of TF's 'SAME'",
              lambda: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False).numpy(),
              lambda: reference.avg_pool2d(IMAGE_6, 3, stride=2, padding="same", count_include_pad=False),
              "F.pad (zeros), window sums (divisor_override=1) over the reference's divisors"),
        Probe("'same' pooling", "F.max_pool2d(x, 3, 1, padding=2) (pads up to kernel_size - 1, as ONNX)",
              lambda: F.max_pool2d(x, 3, 1, padding=2).numpy(),
              lambda: reference.max_pool2d(IMAGE_6, 3, stride=1, padding=2),
              "F.pad (-inf) and pooling at padding 0 (PyTorch allows at most kernel_size // 2)"),
    ]  # fmt: skip


def probes() -> list[Probe]:
    ones = np.ones((1, 1, 5, 5), dtype=np.float32)
    return [
        *_same_pooling(),
        Probe("'same' padding, odd total", "F.conv2d(x, w, padding='same')",
              lambda: F.conv2d(_t(IMAGE_5), _t(KERNEL_2), padding="same").numpy(),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, padding="same"),
              "explicit pads from the reference's rule, F.pad when asymmetric"),
        Probe("'same' padding, odd total", "F.conv2d(x, w, stride=2, padding='same')",
              lambda: F.conv2d(_t(IMAGE_5), _t(KERNEL_2), stride=2, padding="same").numpy(),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, stride=2, padding="same"),
              "explicit pads from the reference's rule (F.conv2d refuses 'same' with stride > 1)"),
        Probe("asymmetric padding", "F.conv2d(x, w, padding=((0, 1), (0, 1)))",
              lambda: F.conv2d(_t(IMAGE_5), _t(KERNEL_2), padding=((0, 1), (0, 1))).numpy(),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, padding=((0, 1), (0, 1))),
              "F.pad, then F.conv2d without padding"),
        Probe("avg-pool padding count", "F.avg_pool2d(x, 3, stride=2, padding=1)",
              lambda: F.avg_pool2d(_t(ones), 3, stride=2, padding=1).numpy(),
              lambda: reference.avg_pool2d(ones, 3, stride=2, padding=1),
              "native (count_include_pad=True is PyTorch's default too)"),
        Probe("ceil_mode", "F.max_pool2d(x, 2, stride=2, padding=1, ceil_mode=True)",
              lambda: F.max_pool2d(_t(IMAGE_5), 2, stride=2, padding=1, ceil_mode=True).numpy(),
              lambda: reference.max_pool2d(IMAGE_5, 2, stride=2, padding=1, ceil_mode=True),
              "native"),
        Probe("ceil_mode", "F.avg_pool2d(x, 2, ceil_mode=True)",
              lambda: F.avg_pool2d(_t(IMAGE_5), 2, ceil_mode=True).numpy(),
              lambda: reference.avg_pool2d(IMAGE_5, 2, ceil_mode=True),
              "native"),
        Probe("max-pool ties", "x.grad after F.max_pool2d(x, 2).sum().backward()",
              lambda: _max_pool_grad(TIES),
              lambda: reference.max_pool2d_vjp(TIES, np.ones((1, 1, 2, 2), np.float32), 2),
              "native on the CPU (first maximal element)"),
        Probe("NaN in a max window", "F.max_pool2d(x, 2)",
              lambda: F.max_pool2d(_t(WITH_NAN), 2).numpy(),
              lambda: reference.max_pool2d(WITH_NAN, 2),
              "native"),
        Probe("flatten order before the first dense layer", "F.linear(torch.flatten(x, 1), fc1)",
              lambda: F.linear(torch.flatten(_t(ACTIVATION), 1), _t(FC1)).numpy(),
              lambda: reference.linear(reference.flatten(ACTIVATION), FC1),
              "native (NCHW, so flatten is C, H, W order)"),
        Probe("TF32 on GPUs", "F.conv2d(x.cuda(), w.cuda(), padding=1) with PyTorch's default allow_tf32",
              _tf32_conv,
              lambda: reference.conv2d(TF32_X, TF32_W, padding=1),
              "torch.backends.cudnn.allow_tf32 = False (and matmul) for conformance"),
        *_special_values(),
        Probe("negative strides", "torch.as_tensor(x), x = np.arange(6.).reshape(2, 3)[::-1, ::-1]",
              lambda: torch.as_tensor(BACKWARDS).numpy(),
              lambda: np.array(BACKWARDS),
              "np.ascontiguousarray first where a stride is negative (labels and parameters included)"),
        Probe("subnormal inputs", "F.linear(x, w), x = [[1e-40, 1e-45]], w = [[1e38, 1e38]] float32",
              lambda: F.linear(torch.as_tensor(SUBNORMAL_X), torch.as_tensor(HUGE_W)).numpy(),
              lambda: reference.linear(SUBNORMAL_X, HUGE_W),
              "native"),
    ]  # fmt: skip
