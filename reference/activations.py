"""Elementwise activations of LeNet and their vector-Jacobian products."""

from __future__ import annotations

from typing import Any

import numpy as np

from reference.validation import check_elementwise, result_dtype


def _sigmoid64(X: np.ndarray) -> np.ndarray:
    # With e = exp(-|x|) <= 1 nothing overflows: 1/(1+e) for x >= 0, e/(1+e) below.
    e = np.abs(X, dtype=np.float64)
    np.negative(e, out=e)
    np.exp(e, out=e)
    denominator = e + 1.0
    # The numerator, 1 where X >= 0 and e below (0 < e <= 1; NaN stays NaN), without a slow masked copy.
    numerator = np.maximum(e, np.asarray(X) >= 0)
    numerator /= denominator
    return numerator


def sigmoid(X: Any) -> np.ndarray:
    """``1 / (1 + exp(-X))`` elementwise, stable for large ``|X|``."""
    check_elementwise(X)
    return _sigmoid64(np.asarray(X)).astype(result_dtype(X))


def _sigmoid_grad64(s: np.ndarray, dY: Any) -> np.ndarray:
    """``dY * s * (1 - s)`` in float64 from a float64 ``s`` (left unchanged)."""
    grad = 1.0 - s
    grad *= s
    grad *= dY
    return grad


def sigmoid_vjp(X: Any, dY: Any) -> np.ndarray:
    """``dY * s * (1 - s)`` with ``s = sigmoid(X)``."""
    check_elementwise(X, dY)
    return _sigmoid_grad64(_sigmoid64(np.asarray(X)), dY).astype(result_dtype(X, dY))


def sigmoid_vjp_from_output(Y: Any, dY: Any) -> np.ndarray:
    """``dY * Y * (1 - Y)`` with ``Y = sigmoid(X)`` already computed (as autograd does; no exp).

    Equal to :func:`sigmoid_vjp` when ``Y`` is float64; from a float32 ``Y`` it
    carries that rounding (relative error about 6e-8 in ``Y``).
    """
    check_elementwise(Y, dY)
    return _sigmoid_grad64(np.asarray(Y, dtype=np.float64), dY).astype(result_dtype(Y, dY))


def relu(X: Any) -> np.ndarray:
    """``max(X, 0)`` elementwise; NaN propagates."""
    check_elementwise(X)
    X = np.asarray(X)
    return np.maximum(X, 0).astype(result_dtype(X), copy=False)


def relu_vjp(X: Any, dY: Any) -> np.ndarray:
    """``dY`` where ``X > 0``, else 0 (the gradient at exactly 0 is 0)."""
    check_elementwise(X, dY)
    return np.where(np.asarray(X) > 0, dY, 0).astype(result_dtype(X, dY), copy=False)
