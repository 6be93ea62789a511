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

from backends.errors import UnsupportedError
from reference import lenet


class LeNetModel(abc.ABC):
    """LeNet built from a framework's native layers, with parameters in the canonical form.

    ``variant`` is ``"chapter"`` (sigmoid, average pooling) or ``"relu-max"``;
    ``dtype`` ``"float32"`` or ``"float64"``. Parameters cross the boundary as
    a dict of NumPy arrays under the names and layouts of
    :data:`reference.lenet.PARAM_SHAPES` (OIHW, (out, in), fc1 inputs in C, H, W
    order); an adapter converts to its own layouts on the way in and back on
    the way out, exactly (bit for bit). Images are (N, 1, 28, 28), labels (N,).

    The public methods are this class's: each validates its arguments with the
    reference's validators (:mod:`reference.lenet`), so an invalid call raises the
    same ``ValueError`` or ``TypeError`` on every backend, then calls the
    framework's hook (``_native_<method>``) with fresh C-contiguous NumPy copies
    (images and parameters in the model's dtype, labels int64, ``lr`` a float),
    and hands back fresh, writeable, C-contiguous NumPy arrays that the model
    does not keep. A subclass calls ``super().__init__(variant, dtype)`` first.
    """

    variant: str
    dtype: str

    def __init__(self, variant: str, dtype: str) -> None:
        lenet.variant_of(variant)
        self.variant, self.dtype = variant, lenet.check_dtype(dtype)

    # -- the interface: validate, call the hook, copy out ------------------
    def load_params(self, params: Mapping[str, np.ndarray]) -> None:
        """Set every parameter from canonical arrays (copied: the caller's arrays stay the caller's)."""
        lenet.check_params(params)
        self._native_load_params({name: _fresh(params[name], self.dtype) for name in lenet.PARAM_SHAPES})

    def params(self) -> dict[str, np.ndarray]:
        """Every parameter as canonical arrays, fresh copies the model does not alias."""
        return _fresh_dict(self._native_params())

    def logits(self, X: np.ndarray) -> np.ndarray:
        """(N, 10) logits."""
        return _fresh(self._native_logits(self._images(X)))

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Mean softmax cross-entropy and its gradient for every parameter (canonical layouts)."""
        loss, grads = self._native_loss_and_grads(*self._batch(X, y))
        return float(loss), _fresh_dict(grads)

    def train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        """One plain SGD step on the device; returns the batch loss and how many predictions were right."""
        X, y = self._batch(X, y)
        loss, correct = self._native_train_step(X, y, lenet.check_lr(lr))
        return float(loss), int(correct)

    def hvp(self, X: np.ndarray, y: np.ndarray, direction: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The Hessian of the mean loss at the model's parameters times ``direction`` (canonical
        names and layouts, every parameter), forward over reverse: the JVP of the gradient along
        ``direction``. Raises :class:`~backends.base.UnsupportedError` where the framework has no
        forward mode (the default)."""
        X, y = self._batch(X, y)
        lenet.check_params(direction)
        tangents = {name: _fresh(direction[name], self.dtype) for name in lenet.PARAM_SHAPES}
        return _fresh_dict(self._native_hvp(X, y, tangents))

    def _images(self, X: np.ndarray) -> np.ndarray:
        return _fresh(lenet.check_images(X), self.dtype)

    def _batch(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = self._images(X)
        return X, _fresh(lenet.check_labels(y, len(X)), np.int64)

    # -- the framework's hooks (valid arguments only) -----------------------
    @abc.abstractmethod
    def _native_load_params(self, params: dict[str, np.ndarray]) -> None:
        """Set every parameter from canonical arrays of the model's dtype (the model may keep them)."""

    @abc.abstractmethod
    def _native_params(self) -> Mapping[str, np.ndarray]:
        """Every parameter as canonical arrays (the caller copies them)."""

    @abc.abstractmethod
    def _native_logits(self, X: np.ndarray) -> np.ndarray:
        """(N, 10) logits of images of the model's dtype."""

    @abc.abstractmethod
    def _native_loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, Mapping[str, np.ndarray]]:
        """Mean loss and gradients of images of the model's dtype and int64 labels."""

    @abc.abstractmethod
    def _native_train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        """One SGD step; the batch loss and the number of right predictions."""

    def _native_hvp(
        self, X: np.ndarray, y: np.ndarray, direction: dict[str, np.ndarray]
    ) -> Mapping[str, np.ndarray]:
        """Hessian-vector products (canonical layouts) by forward over reverse; none by default."""
        raise UnsupportedError(f"{type(self).__name__} has no forward-mode Hessian-vector product")


def _fresh(value: object, dtype: object = None) -> np.ndarray:
    """A new C-contiguous, writeable NumPy array holding ``value`` (a framework array converts first)."""
    return np.array(np.asarray(value), dtype=dtype, order="C", copy=True)


def _fresh_dict(values: Mapping[str, object]) -> dict[str, np.ndarray]:
    return {name: _fresh(values[name]) for name in lenet.PARAM_SHAPES}


class ReferenceLeNet(LeNetModel):
    """The NumPy reference network behind the same interface as the backends' models."""

    def __init__(self, variant: str = "chapter", dtype: str = "float32") -> None:
        super().__init__(variant, dtype)
        self._params = lenet.init_params(0, self.dtype)

    def _native_load_params(self, params: dict[str, np.ndarray]) -> None:
        self._params = params

    def _native_params(self) -> dict[str, np.ndarray]:
        return self._params

    def _native_logits(self, X: np.ndarray) -> np.ndarray:
        return lenet.forward(self._params, X, self.variant)[0]

    def _native_loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        return lenet.loss_and_grads(self._params, X, y, self.variant)

    def _native_train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        self._params, loss, correct = lenet.train_step(self._params, X, y, lr, self.variant)
        return loss, correct
