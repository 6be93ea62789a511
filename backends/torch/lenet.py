"""LeNet from ``torch.nn`` layers, with canonical parameter I/O (layouts match: no conversion)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from backends.lenet import LeNetModel
from reference.lenet import PARAM_SHAPES, variant_of

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


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


class TorchLeNet(LeNetModel):
    """LeNet as ``torch.nn.Sequential`` on ``device``, trained with plain SGD."""

    def __init__(self, variant: str, dtype: str, device: str) -> None:
        super().__init__(variant, dtype)
        self.device = device
        self.net = build_lenet(variant).to(device=device, dtype=_DTYPES[self.dtype])
        self.loss = nn.CrossEntropyLoss()
        self._optimizer: torch.optim.SGD | None = None

    def _tensor(self, name: str) -> torch.Tensor:
        layer, kind = name.split(".")
        return getattr(self.net[_LAYERS[layer]], kind)

    def _native_load_params(self, params: dict[str, np.ndarray]) -> None:
        with torch.no_grad():
            for name in PARAM_SHAPES:
                self._tensor(name).copy_(torch.as_tensor(params[name]))

    def _native_params(self) -> dict[str, np.ndarray]:
        return {name: self._tensor(name).detach().cpu().numpy() for name in PARAM_SHAPES}

    def _inputs(self, X: np.ndarray, y: np.ndarray | None = None):
        X = torch.as_tensor(X, device=self.device)
        return X if y is None else (X, torch.as_tensor(y, device=self.device))

    def _native_logits(self, X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.net(self._inputs(X)).cpu().numpy()

    def _native_loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        X, y = self._inputs(X, y)
        self.net.zero_grad(set_to_none=True)
        loss = self.loss(self.net(X), y)
        loss.backward()
        return float(loss.detach()), {name: self._tensor(name).grad.cpu().numpy() for name in PARAM_SHAPES}

    def _native_train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        X, y = self._inputs(X, y)
        self.net.zero_grad(set_to_none=True)
        logits = self.net(X)
        loss = self.loss(logits, y)
        loss.backward()
        # torch.optim.SGD (no momentum) is plain SGD, with its fused multi-tensor update.
        if self._optimizer is None or self._optimizer.param_groups[0]["lr"] != lr:
            self._optimizer = torch.optim.SGD(self.net.parameters(), lr=lr)
        self._optimizer.step()
        return float(loss.detach()), int((logits.argmax(dim=1) == y).sum())
