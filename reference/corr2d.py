"""The chapter's from-scratch code: corr2d, the Conv2D layer, channels, pool2d.

These are the book's loop versions, kept as readable definitions (and as an
independent check of the vectorised ops in tests). They accumulate in float64
and round once to the result dtype of their inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference.dtypes import round_to
from reference.shapes import int_pair
from reference.validation import check_corr2d, check_real_array, result_dtype


def _corr2d64(X: np.ndarray, K: np.ndarray) -> np.ndarray:
    h, w = K.shape
    X, K = X.astype(np.float64), K.astype(np.float64)
    Y = np.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def corr2d(X: Any, K: Any) -> np.ndarray:
    """2-D cross-correlation: X (H, W), K (kh, kw) -> (H-kh+1, W-kw+1); no padding, stride 1."""
    check_corr2d(X, K)
    return round_to(_corr2d64(np.asarray(X), np.asarray(K)), result_dtype(X, K))


class Conv2D:
    """The chapter's convolutional layer: ``corr2d(X, weight) + bias``.

    ``weight`` (kh, kw) is uniform in [0, 1) (the chapter's ``rand``) from ``rng``
    (default: a generator seeded with 0); ``bias`` (1,) starts at zero.
    """

    def __init__(self, kernel_size: Any, rng: np.random.Generator | None = None) -> None:
        rng = np.random.default_rng(0) if rng is None else rng
        self.weight = rng.random(int_pair("kernel_size", kernel_size, 1))
        self.bias = np.zeros(1)

    def forward(self, X: Any) -> np.ndarray:
        """``corr2d(X, weight) + bias`` for a 2-D X."""
        return corr2d(X, self.weight) + self.bias

    __call__ = forward


def corr2d_multi_in(X: Any, K: Any) -> np.ndarray:
    """Sum over channels of corr2d: X (C, H, W), K (C, kh, kw) -> (Ho, Wo); zeros when C is 0."""
    check_corr2d(X, K, channels=1)
    X, K = np.asarray(X), np.asarray(K)
    Y = np.zeros((X.shape[1] - K.shape[1] + 1, X.shape[2] - K.shape[2] + 1))
    for x, k in zip(X, K, strict=True):
        Y += _corr2d64(x, k)
    return round_to(Y, result_dtype(X, K))


def corr2d_multi_in_out(X: Any, K: Any) -> np.ndarray:
    """One multi-input corr2d per output channel: X (C, H, W), K (O, C, kh, kw) -> (O, Ho, Wo)."""
    check_corr2d(X, K, channels=2)
    return np.stack([corr2d_multi_in(X, k) for k in np.asarray(K)])


def corr2d_multi_in_out_1x1(X: Any, K: Any) -> np.ndarray:
    """A 1x1 convolution as a matrix product: X (C, H, W), K (O, C, 1, 1) -> (O, H, W)."""
    check_corr2d(X, K, channels=2)
    X, K = np.asarray(X), np.asarray(K)
    if K.shape[2:] != (1, 1):
        raise ValueError(f"K must be a 1x1 kernel (O, C, 1, 1), got K.shape={K.shape}")
    c, h, w = X.shape
    Y = K.reshape(K.shape[0], c).astype(np.float64) @ X.reshape(c, h * w).astype(np.float64)
    return round_to(Y.reshape(-1, h, w), result_dtype(X, K))


def pool2d(X: Any, pool_size: Any, mode: str = "max") -> np.ndarray:
    """The chapter's pooling: X (H, W), window ``pool_size``, stride 1, no padding.

    ``mode`` is ``"max"`` or ``"avg"``; output (H-ph+1, W-pw+1).
    """
    X = check_real_array("X", X, 2)
    p_h, p_w = int_pair("pool_size", pool_size, 1)
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got mode={mode!r}")
    if p_h > X.shape[0] or p_w > X.shape[1]:
        raise ValueError(f"pool_size={pool_size!r} must fit in X.shape={X.shape}")
    reduce = np.max if mode == "max" else np.mean
    Y = np.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = reduce(X[i : i + p_h, j : j + p_w].astype(np.float64))
    return round_to(Y, result_dtype(X))
