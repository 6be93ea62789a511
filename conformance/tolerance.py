"""The tolerance policy: an error bound computed from the reference, no magic rtol.

A float result ``y`` of a backend is accepted where

    |y - y_ref| <= C * u * k * magnitude + k * tiny

elementwise. ``u`` is the unit roundoff of the backend's dtype (2**-24 for
float32, 2**-53 for float64), ``k`` the length of the reduction behind each
element, ``magnitude`` the reference applied to absolute values (for a
convolution ``|X| * |W| + |b|``: the classic bound of a dot product computed in
any order is ``k * u * sum |x_i w_i|``), and ``tiny`` the smallest normal
number of the dtype, so denormals flushed to zero pass. ``C`` absorbs the
final rounding of the backend and of the reference and the few extra
operations a library may add (oneDNN's blocked or Winograd kernels, a
transposed convolution for the gradient). Selections (max pooling, ReLU,
flatten) are compared exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import reference
from reference.validation import conv2d_geometry, pool2d_geometry

C = 8.0
EXACT = None  # marker: compare bit for bit (NaN equal to NaN)

Bounds = list[np.ndarray | None]


def unit_roundoff(dtype: Any) -> float:
    """Half the machine epsilon: 2**-24 for float32, 2**-53 for float64."""
    return float(np.finfo(dtype).eps) / 2


def _scale(dtype: Any, k: float, magnitude: np.ndarray) -> np.ndarray:
    finfo = np.finfo(dtype)
    return C * unit_roundoff(dtype) * k * np.abs(magnitude) + k * float(finfo.tiny)


def _abs(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.abs(np.asarray(a, dtype=np.float64)) for a in arrays]


def _windows_per_element(kernel: tuple[int, int], stride: tuple[int, int], dilation=(1, 1)) -> int:
    """The most pooling windows that can cover one input element."""
    return int(
        np.prod([-(-(d * (k - 1) + 1) // s) for k, s, d in zip(kernel, stride, dilation, strict=True)])
    )


def _conv2d(arrays, kw, dtype) -> Bounds:
    X, W, *b = _abs(arrays)
    _, c_per_group, kh, kwid = W.shape
    magnitude = reference.conv2d(X, W, b[0] if b else None, **kw)
    return [_scale(dtype, c_per_group * kh * kwid + 1, magnitude)]


def _conv2d_vjp(arrays, kw, dtype) -> Bounds:
    X, W, dY = _abs(arrays)
    o, _, kh, kwid = W.shape
    geometry = conv2d_geometry(X.shape, W.shape, **kw)
    dX, dW, db = reference.conv2d_vjp(X, W, dY, **kw)
    positions = X.shape[0] * int(np.prod(geometry.output_size))
    return [
        _scale(dtype, o // geometry.groups * kh * kwid, dX),
        _scale(dtype, positions, dW),
        _scale(dtype, positions, db),
    ]


def _max_pool2d_vjp(arrays, kw, dtype) -> Bounds:
    X, dY = arrays
    geometry = pool2d_geometry(np.shape(X), **kw)
    overlap = _windows_per_element(geometry.kernel_size, geometry.stride, geometry.dilation)
    magnitude = reference.max_pool2d_vjp(X, np.abs(dY), **kw)
    return [_scale(dtype, overlap, magnitude)]


def _avg_pool2d(arrays, kw, dtype) -> Bounds:
    (X,) = _abs(arrays)
    geometry = pool2d_geometry(X.shape, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0))
    return [_scale(dtype, int(np.prod(geometry.kernel_size)) + 1, reference.avg_pool2d(X, **kw))]


def _avg_pool2d_vjp(arrays, kw, dtype) -> Bounds:
    X, dY = _abs(arrays)
    geometry = pool2d_geometry(X.shape, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0))
    overlap = _windows_per_element(geometry.kernel_size, geometry.stride)
    return [_scale(dtype, overlap + 1, reference.avg_pool2d_vjp(X, dY, **kw))]


def _sigmoid(arrays, kw, dtype) -> Bounds:
    # exp, add and divide: a few roundings relative to the result.
    return [_scale(dtype, 4, reference.sigmoid(arrays[0]))]


def _sigmoid_vjp(arrays, kw, dtype) -> Bounds:
    # dY*s*(1-s): 1-s loses relative accuracy when s is near 1, its absolute
    # error stays below u*s, hence the magnitude |dY|*s rather than |dY|*s*(1-s).
    X, dY = arrays
    return [_scale(dtype, 6, np.abs(np.asarray(dY, dtype=np.float64)) * reference.sigmoid(X))]


def _linear(arrays, kw, dtype) -> Bounds:
    X, W, *b = _abs(arrays)
    return [_scale(dtype, X.shape[1] + 1, reference.linear(X, W, b[0] if b else None))]


def _linear_vjp(arrays, kw, dtype) -> Bounds:
    X, W, dY = _abs(arrays)
    dX, dW, db = reference.linear_vjp(X, W, dY)
    n, out = dY.shape
    return [_scale(dtype, out, dX), _scale(dtype, n, dW), _scale(dtype, n, db)]


def _log_softmax_error(logits: np.ndarray) -> np.ndarray:
    """Per element: how far exp's argument z - max(z) is from 0, plus one (its relative error scale)."""
    z = np.asarray(logits, dtype=np.float64)
    return 1.0 + np.abs(z - z.max(axis=1, keepdims=True)) + np.abs(z.max(axis=1, keepdims=True))


def _softmax_cross_entropy(arrays, kw, dtype) -> Bounds:
    logits, _ = arrays
    n, k = np.shape(logits)
    magnitude = _log_softmax_error(logits).max(axis=1).mean()
    return [_scale(dtype, k + n, np.asarray(magnitude))]


def _softmax_cross_entropy_vjp(arrays, kw, dtype) -> Bounds:
    logits, labels = arrays
    n, k = np.shape(logits)
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.zeros_like(p)
    onehot[np.arange(n), np.asarray(labels)] = 1.0
    magnitude = (p * _log_softmax_error(logits) + onehot) / n
    return [_scale(dtype, k + 2, magnitude)]


def _exact(arrays, kw, dtype) -> Bounds:
    return [EXACT]


def _chapter(op: str) -> Callable[..., Bounds]:
    """corr2d family and pool2d: the bound of the batched op they are instances of."""

    def bound(arrays, kw, dtype) -> Bounds:
        if op == "pool2d":
            if kw.get("mode", "max") == "max":
                return [EXACT]
            (X,) = arrays
            batched = _avg_pool2d(
                [np.asarray(X)[None, None]], {"kernel_size": kw["pool_size"], "stride": 1}, dtype
            )
            return [batched[0][0, 0]]
        X, K = arrays
        X, K = np.asarray(X), np.asarray(K)
        if op == "corr2d":
            return [_conv2d([X[None, None], K[None, None]], {}, dtype)[0][0, 0]]
        if op == "corr2d_multi_in":
            return [_conv2d([X[None], K[None]], {}, dtype)[0][0, 0]]
        return [_conv2d([X[None], K], {}, dtype)[0][0]]

    return bound


BOUNDS: dict[str, Callable[..., Bounds]] = {
    "conv2d": _conv2d,
    "conv2d_vjp": _conv2d_vjp,
    "max_pool2d": _exact,
    "max_pool2d_vjp": _max_pool2d_vjp,
    "avg_pool2d": _avg_pool2d,
    "avg_pool2d_vjp": _avg_pool2d_vjp,
    "sigmoid": _sigmoid,
    "sigmoid_vjp": _sigmoid_vjp,
    "relu": _exact,
    "relu_vjp": _exact,
    "flatten": _exact,
    "flatten_vjp": _exact,
    "linear": _linear,
    "linear_vjp": _linear_vjp,
    "softmax_cross_entropy": _softmax_cross_entropy,
    "softmax_cross_entropy_vjp": _softmax_cross_entropy_vjp,
    "corr2d": _chapter("corr2d"),
    "corr2d_multi_in": _chapter("corr2d_multi_in"),
    "corr2d_multi_in_out": _chapter("corr2d_multi_in_out"),
    "corr2d_multi_in_out_1x1": _chapter("corr2d_multi_in_out"),
    "pool2d": _chapter("pool2d"),
}


def bounds(op: str, arrays: Sequence[np.ndarray], kwargs: dict[str, Any], dtype: Any) -> Bounds:
    """One bound array (or ``EXACT``) per output of ``op``."""
    return BOUNDS[op](list(arrays), kwargs, np.dtype(dtype))
