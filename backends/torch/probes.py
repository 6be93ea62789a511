"""PyTorch's native calls with the obvious arguments, against the reference."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)

import reference
from backends.divergences import NotApplicableError, Probe
from backends.divergences.inputs import ACTIVATION, FC1, IMAGE_5, KERNEL_2, TF32_W, TF32_X, TIES, WITH_NAN


def _t(array: np.ndarray, grad: bool = False) -> torch.Tensor:
    """A tensor of a probe input (float32, CPU)."""
    return torch.tensor(array, requires_grad=grad)


def _max_pool_grad(array: np.ndarray) -> np.ndarray:
    x = _t(array, grad=True)
    F.max_pool2d(x, 2).sum().backward()
    return x.grad.numpy()


def _tf32_conv() -> np.ndarray:
    if not torch.cuda.is_available():
        raise NotApplicableError("no CUDA device (TF32 exists on Ampere and newer GPUs)")
    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = True  # PyTorch's default for convolutions
    try:
        return F.conv2d(_t(TF32_X).cuda(), _t(TF32_W).cuda(), padding=1).cpu().numpy()
    finally:
        torch.backends.cudnn.allow_tf32 = before


def probes() -> list[Probe]:
    ones = np.ones((1, 1, 5, 5), dtype=np.float32)
    return [
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
    ]  # fmt: skip
