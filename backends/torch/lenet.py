"""LeNet from ``torch.nn`` layers, with canonical parameter I/O (layouts match: no conversion).

The adapter keeps the chapter's ``nn.Sequential`` (its parameters, ONNX export) and runs it
through :func:`TorchLeNet._forward`, the same layers in the same order with choices for speed,
each measured in ``benchmarks/NOTES.md``:

- conv1's weight gradient: PyTorch's own backward (oneDNN on the CPU), or one convolution
  with the batch as channels (:class:`_InputConvolution`). Which is faster depends on the
  machine (1.16x one way on one 2-core machine, 0.87x on another), so the first training step
  of each batch shape in a process times both on that batch, three turns each, and the process
  keeps the faster (:func:`choose_conv1`; fixed under ``torch.use_deterministic_algorithms``
  and in 16-bit dtypes).
- average pooling as a depthwise convolution with 1/4 weights (the same sums; multiplying by
  1/4 is exact).

PyTorch's thread settings are left as the caller has them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from torch import nn

from backends.lenet import LeNetModel
from backends.timed_choice import faster
from reference.dtypes import BFLOAT16
from reference.lenet import PARAM_SHAPES, variant_of


# NumPy arrays to torch tensors and back, for the adapter and the LeNet alike: torch cannot read or
# write NumPy's bfloat16 (ml_dtypes'), which crosses through float32, holding it exactly.
def to_tensor(array: Any, device: Any) -> torch.Tensor:
    """``array`` as a tensor on ``device`` (bfloat16 stays bfloat16; may share memory otherwise)."""
    array = np.asarray(array)
    if array.dtype == BFLOAT16:
        return torch.as_tensor(array.astype(np.float32), device=device).to(torch.bfloat16)
    return torch.as_tensor(array, device=device)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A new C-contiguous NumPy array of ``tensor`` (bfloat16 as ml_dtypes' bfloat16)."""
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return tensor.float().numpy().astype(BFLOAT16)
    # A copy: on the CPU .numpy() shares the tensor's memory, which may be the caller's input.
    return np.array(tensor.numpy(), order="C", copy=True)


_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}


def build_lenet(variant: str = "chapter") -> nn.Sequential:
    """The chapter's ``nn.Sequential`` LeNet; its layer names map to the canonical ones."""
    spec = variant_of(variant)
    act = nn.Sigmoid if spec.activation == "sigmoid" else nn.ReLU
    pool = nn.AvgPool2d if spec.pooling == "avg" else nn.MaxPool2d
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), act(), pool(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), act(), pool(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), act(),
        nn.Linear(120, 84), act(),
        nn.Linear(84, 10),
    )  # fmt: skip


# canonical layer name -> index in the Sequential
_LAYERS = {"conv1": 0, "conv2": 3, "fc1": 7, "fc2": 9, "fc3": 11}


class _InputConvolution(torch.autograd.Function):
    """``F.conv2d(X, weight, bias, padding=padding)`` (stride 1) for an input that needs no gradient.

    The backward returns the weight and bias gradients only. The weight's, ``dW[o, c] = sum_n
    X_pad[n, c] ⋆ dZ[n, o]``, is one convolution of the padded input with the batch as its
    channels and ``dZ`` as the kernel: oneDNN's own backward is about 2x slower on a 1-channel input.
    """

    @staticmethod
    def forward(ctx, X: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padding: int) -> torch.Tensor:
        ctx.save_for_backward(X)
        ctx.padding = padding
        return F.conv2d(X, weight, bias, padding=padding)

    @staticmethod
    def backward(ctx, dZ: torch.Tensor) -> tuple[None, torch.Tensor, torch.Tensor, None]:
        (X,) = ctx.saved_tensors
        padded = F.pad(X, (ctx.padding,) * 4).transpose(0, 1)  # (C, N, H, W): the batch as channels
        dW = F.conv2d(padded, dZ.transpose(0, 1)).transpose(0, 1)  # (C, O, kh, kw) -> (O, C, kh, kw)
        return None, dW, dZ.sum((0, 2, 3)), None


def _native_conv1(X: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padding: int) -> torch.Tensor:
    return F.conv2d(X, weight, bias, padding=padding)


# conv1 with either weight gradient: the same forward, the same gradient up to summation order.
CONV1_BACKWARDS: dict[str, Callable[..., torch.Tensor]] = {
    "native": _native_conv1,
    "batch-as-channels": _InputConvolution.apply,
}


def choose_conv1(
    X: torch.Tensor,
    conv1: nn.Conv2d,
    backwards: dict[str, Callable[..., torch.Tensor]] = CONV1_BACKWARDS,
) -> str:
    """The faster ``backwards`` entry (those of :data:`CONV1_BACKWARDS`) for images ``X``: forward
    and weight gradient of each, timed by :func:`backends.timed_choice.faster`.
    Without timing: ``"native"`` when PyTorch's deterministic algorithms are on (every run
    computes alike), ``"batch-as-channels"`` for 16-bit images (the two accumulate differently
    there; the conformance's bounds were measured with it).

    The entries' weight gradients must agree (within 1e-3 of the largest), or ``RuntimeError``.
    """
    if torch.are_deterministic_algorithms_enabled():
        return "native"
    if X.dtype in (torch.float16, torch.bfloat16):
        return "batch-as-channels"

    def weight_gradient(conv: Callable[..., torch.Tensor]) -> list[np.ndarray]:
        Z = conv(X, conv1.weight, conv1.bias, conv1.padding[0])
        dW, _ = torch.autograd.grad(Z, (conv1.weight, conv1.bias), torch.ones_like(Z))
        return [dW.cpu().numpy()]  # .cpu() waits for a GPU

    ways = {name: functools.partial(weight_gradient, conv) for name, conv in backwards.items()}
    return faster(ways, "conv1's weight gradients")


class TorchLeNet(LeNetModel):
    """LeNet as ``torch.nn.Sequential`` on ``device``, trained with plain SGD."""

    conv1_backwards: ClassVar[dict[str, Callable[..., torch.Tensor]]] = CONV1_BACKWARDS
    # (images' shape, dtype, device) -> the conv1_backwards entry chosen, once per process for the
    # models of a class: they all compute alike, as cudnn.benchmark's choices do.
    conv1_choices: ClassVar[dict[tuple, str]] = {}

    def __init__(self, variant: str, dtype: str, device: str) -> None:
        super().__init__(variant, dtype)
        self.device = device
        self.net = build_lenet(variant).to(device=device, dtype=_DTYPES[self.dtype])
        self.loss = nn.CrossEntropyLoss()
        self._optimizer: torch.optim.SGD | None = None
        spec = variant_of(variant)
        self._activation = torch.sigmoid if spec.activation == "sigmoid" else torch.relu
        # average pooling's windows as depthwise 2x2 kernels of 1/4, stride 2, per channel count
        self._average = {
            channels: torch.full((channels, 1, 2, 2), 0.25, dtype=_DTYPES[self.dtype], device=device)
            for channels in (6, 16)
        }
        self._pool = self._average_pool if spec.pooling == "avg" else self._max_pool

    def _average_pool(self, h: torch.Tensor) -> torch.Tensor:
        return F.conv2d(h, self._average[h.shape[1]], stride=2, groups=h.shape[1])

    @staticmethod
    def _max_pool(h: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(h, 2)

    def _forward(self, X: torch.Tensor) -> torch.Tensor:
        """The Sequential's layers in order; logits."""
        conv1, conv2 = self.net[_LAYERS["conv1"]], self.net[_LAYERS["conv2"]]
        key = (tuple(X.shape), X.dtype, X.device)
        if key not in self.conv1_choices and torch.is_grad_enabled():
            self.conv1_choices[key] = choose_conv1(X, conv1, self.conv1_backwards)
        conv = self.conv1_backwards[self.conv1_choices.get(key, "native")]
        h = conv(X, conv1.weight, conv1.bias, conv1.padding[0])
        h = self._pool(self._activation(h))
        h = self._pool(self._activation(conv2(h))).flatten(1)
        for layer in ("fc1", "fc2"):
            h = self._activation(self.net[_LAYERS[layer]](h))
        return self.net[_LAYERS["fc3"]](h)

    def _tensor(self, name: str) -> torch.Tensor:
        layer, kind = name.split(".")
        return getattr(self.net[_LAYERS[layer]], kind)

    def _native_load_params(self, params: dict[str, np.ndarray]) -> None:
        with torch.no_grad():
            for name in PARAM_SHAPES:
                self._tensor(name).copy_(to_tensor(params[name], self.device))

    def _native_params(self) -> dict[str, np.ndarray]:
        return {name: to_numpy(self._tensor(name)) for name in PARAM_SHAPES}

    def _inputs(self, X: np.ndarray, y: np.ndarray | None = None):
        X = to_tensor(X, self.device)
        return X if y is None else (X, torch.as_tensor(y, device=self.device))

    def _native_logits(self, X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return to_numpy(self._forward(self._inputs(X)))

    def _native_loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        X, y = self._inputs(X, y)
        self.net.zero_grad(set_to_none=True)
        loss = self.loss(self._forward(X), y)
        loss.backward()
        return float(loss.detach()), {name: self._tensor(name).grad.cpu().numpy() for name in PARAM_SHAPES}

    def _native_train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        X, y = self._inputs(X, y)
        self.net.zero_grad(set_to_none=True)
        # torch.optim.SGD (no momentum) is plain SGD, with its fused multi-tensor update.
        if self._optimizer is None or self._optimizer.param_groups[0]["lr"] != lr:
            self._optimizer = torch.optim.SGD(self.net.parameters(), lr=lr)
        logits = self._forward(X)
        loss = self.loss(logits, y)
        loss.backward()
        self._optimizer.step()
        return float(loss.detach()), int((logits.argmax(dim=1) == y).sum())

    def _native_hvp(
        self, X: np.ndarray, y: np.ndarray, direction: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """``torch.func.jvp`` of ``torch.func.grad`` of the loss of the ``nn.Sequential`` itself
        (``torch.func.functional_call``; the faster forward's custom conv1 backward has no forward mode)."""
        X, y = self._inputs(X, y)
        keys = {name: f"{_LAYERS[name.split('.')[0]]}.{name.split('.')[1]}" for name in PARAM_SHAPES}

        def loss(params: dict[str, torch.Tensor]) -> torch.Tensor:
            return self.loss(torch.func.functional_call(self.net, params, (X,)), y)

        primals = {keys[name]: self._tensor(name).detach() for name in PARAM_SHAPES}
        tangents = {keys[name]: torch.as_tensor(direction[name], device=self.device) for name in PARAM_SHAPES}
        _, hvp = torch.func.jvp(torch.func.grad(loss), (primals,), (tangents,))
        return {name: hvp[keys[name]].cpu().numpy() for name in PARAM_SHAPES}
