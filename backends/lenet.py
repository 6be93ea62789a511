"""The LeNet interface every backend's native network implements, and the NumPy reference behind it.

:class:`LeNetModel` is what :meth:`backends.base.Backend.lenet` returns (each
framework's folder has its own in ``lenet.py``); :class:`ReferenceLeNet` is the
reference network of :mod:`reference.lenet` behind the same interface, the
sibling the training job and the benchmarks compare against.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping

import numpy as np

from reference import lenet


class LeNetModel(abc.ABC):
    """LeNet built from a framework's native layers, with parameters in the canonical form.

    ``variant`` is ``"chapter"`` (sigmoid, average pooling) or ``"relu-max"``;
    ``dtype`` ``"float32"`` or ``"float64"``. Parameters cross the boundary as
    a dict of NumPy arrays under the names and layouts of
    :data:`reference.lenet.PARAM_SHAPES` (OIHW, (out, in), fc1 inputs in C, H, W
    order); an adapter converts to its own layouts on the way in and back on
    the way out, exactly (bit for bit). Images are (N, 1, 28, 28), labels (N,).
    """

    variant: str
    dtype: str

    @abc.abstractmethod
    def load_params(self, params: Mapping[str, np.ndarray]) -> None:
        """Set every parameter from canonical arrays."""

    @abc.abstractmethod
    def params(self) -> dict[str, np.ndarray]:
        """Every parameter as canonical arrays."""

    @abc.abstractmethod
    def logits(self, X: np.ndarray) -> np.ndarray:
        """(N, 10) logits."""

    @abc.abstractmethod
    def loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Mean softmax cross-entropy and its gradient for every parameter (canonical layouts)."""

    @abc.abstractmethod
    def train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        """One plain SGD step on the device; returns the batch loss and how many predictions were right."""


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
