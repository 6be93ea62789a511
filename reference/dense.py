"""Flatten and the dense (fully connected) layer, with vector-Jacobian products."""

from __future__ import annotations

from typing import Any

import numpy as np

from reference.dtypes import round_to
from reference.validation import check_dense, check_flatten, check_tangent, result_dtype


def flatten(X: Any) -> np.ndarray:
    """(N, ...) -> (N, prod(...)) in C order (for images: C, H, W order); values move unchanged, -0.0 too.

    A 1-D input (N,) gives (N, 1); zero-size inputs keep their shape's product, e.g. (0, 3, 2) -> (0, 6).
    """
    check_flatten(X)
    X = np.asarray(X)
    features = int(np.prod(X.shape[1:], dtype=np.int64))
    return X.reshape(X.shape[0], features).astype(result_dtype(X), order="C")  # new, never a view of X


def flatten_vjp(X: Any, dY: Any) -> np.ndarray:
    """dY (N, prod(...)) reshaped to X's shape; values move unchanged, -0.0 too."""
    check_flatten(X, dY)
    return np.asarray(dY).reshape(np.shape(X)).astype(result_dtype(X, dY))


def linear(X: Any, W: Any, b: Any = None) -> np.ndarray:
    """Dense layer ``X @ W.T + b``: X (N, in), W (out, in), b (out,) -> (N, out)."""
    check_dense(X, W, b)
    Y = np.asarray(X, dtype=np.float64) @ np.asarray(W, dtype=np.float64).T
    if b is not None:
        Y += np.asarray(b, dtype=np.float64)
        return round_to(Y, result_dtype(X, W, b))
    return round_to(Y, result_dtype(X, W))


def linear_vjp(X: Any, W: Any, dY: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vector-Jacobian product of :func:`linear`: ``(dX, dW, db)`` = ``(dY W, dYᵀ X, Σ_n dY)``."""
    check_dense(X, W, dY=dY)
    dtype = result_dtype(X, W, dY)
    X64, W64, dY64 = (np.asarray(a, dtype=np.float64) for a in (X, W, dY))
    return round_to(dY64 @ W64, dtype), round_to(dY64.T @ X64, dtype), round_to(dY64.sum(axis=0), dtype)


def flatten_jvp(X: Any, tX: Any) -> np.ndarray:
    """Jacobian-vector product of :func:`flatten`: ``flatten(tX)``; values move unchanged, -0.0 too."""
    check_flatten(X)
    check_tangent("tX", tX, X)
    tX = np.asarray(tX)
    features = int(np.prod(tX.shape[1:], dtype=np.int64))
    return tX.reshape(tX.shape[0], features).astype(result_dtype(X, tX), order="C")


def linear_jvp(X: Any, W: Any, tX: Any, tW: Any) -> np.ndarray:
    """Jacobian-vector product of :func:`linear` (without bias): ``tX @ W.T + X @ tW.T``, (N, out).

    A bias enters linearly and is left out. float64 products and sum, one rounding
    to the result dtype of X, W, tX and tW.
    """
    check_dense(X, W)
    check_tangent("tX", tX, X)
    check_tangent("tW", tW, W)
    X64, W64, tX64, tW64 = (np.asarray(a, dtype=np.float64) for a in (X, W, tX, tW))
    return round_to(tX64 @ W64.T + X64 @ tW64.T, result_dtype(X, W, tX, tW))
