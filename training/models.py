"""Where a training run gets its LeNet: a backend's native model, or the NumPy reference."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from backends.base import LeNetModel
from reference import lenet


class ReferenceLeNet(LeNetModel):
    """The NumPy reference network behind the same interface as the backends' models."""

    def __init__(self, variant: str = "chapter", dtype: str = "float32") -> None:
        lenet.variant_of(variant)
        self.variant, self.dtype = variant, dtype
        self._params = lenet.init_params(0, dtype)

    def load_params(self, params: Mapping[str, np.ndarray]) -> None:
        lenet.check_params(params)
        self._params = {name: np.array(params[name], dtype=self.dtype) for name in lenet.PARAM_SHAPES}

    def params(self) -> dict[str, np.ndarray]:
        return {name: value.copy() for name, value in self._params.items()}

    def logits(self, X: np.ndarray) -> np.ndarray:
        return lenet.forward(self._params, np.asarray(X, dtype=self.dtype), self.variant)[0]

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        return lenet.loss_and_grads(self._params, np.asarray(X, dtype=self.dtype), y, self.variant)

    def train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        X = np.asarray(X, dtype=self.dtype)
        self._params, loss, correct = lenet.train_step(self._params, X, y, lr, self.variant)
        return loss, correct


def make_model(
    backend: str, variant: str = "chapter", dtype: str = "float32", device: str = "auto"
) -> LeNetModel:
    """A LeNet of ``"reference"`` or a backend, with :func:`reference.lenet.init_params` (seed 0)."""
    if backend == "reference":
        model: LeNetModel = ReferenceLeNet(variant, dtype)
    else:
        from backends import get_backend

        model = get_backend(backend, device=device).lenet(variant, dtype)
    model.load_params(lenet.init_params(0, dtype))
    return model
