"""The tolerance policy: an error bound derived from the reference, no magic rtol.

Reductions (conv2d, linear, their VJPs, the chapter's corr2d family, pooling).
Each result element is a sum of terms (products ``x_i w_i``, or values), and a
backend result ``y`` in dtype ``d`` (unit roundoff ``u``: 2**-24 for float32,
2**-53 for float64) is accepted where, elementwise,

    |y - y_ref| <= (gamma_d(n) + gamma_64(n) + u) * M + n * tiny_d

- ``M`` is the reference applied to absolute values (``|X| * |W| + |b|`` for a
  convolution): the sum of the terms' magnitudes.
- ``n`` bounds the roundings one term meets on its way to the result: the
  reduction length, plus one for the product or a bias, or for pooling's
  division. A sequential order reaches it; pairwise and blocked orders stay below.
- ``gamma(n) = min(n u / (1 - n u), exp(LAMBDA sqrt(n) u + n u**2 / (1 - u)) - 1)``.
  The first is the worst case over every order (Higham, *Accuracy and Stability
  of Numerical Algorithms*, 2002, Lemma 3.1), always valid. The second is the
  probabilistic bound of Higham & Mary (SIAM J. Sci. Comput. 41(5), 2019,
  Thms 3.1 and 4.1): if the rounding errors are independent with mean zero, an
  ``n``-term inner product computed in any order is within it with probability
  at least ``1 - 2 n exp(-LAMBDA**2 (1 - u)**2 / 2)``. With ``LAMBDA = 6`` that
  is a failure probability of at most ``3.1e-8 n`` per element (1.2e-5 at
  n = 401, the longest reduction of the named cases); it is the smaller term for
  ``n > 36``, so it is about ``6 sqrt(n) u`` where the worst case ``n u`` is far
  too loose (``linear-128x400x120-f32``: median bound 1.4e-4 |y|, where
  ``8 n u M`` gave 3.6e-3 |y| and let TF32 pass). ``tests/test_tolerance.py``
  simulates sequential, reversed, pairwise and blocked (8, 64) float32 orders on
  every float32 reduction case: all pass, sums longer than 36 terms with a
  worst ratio of 0.07, short ones (the worst case ``n u``) up to 0.67; and
  float32 inputs rounded to TF32's 10-bit mantissa fail every case whose
  result the rounding changes (178 of 178).
- ``gamma_d(n)``: the backend's own sum in ``d``, whatever its order, fused
  multiply-adds or a wider accumulator (then it is within ``u |y| <= gamma_d(n) M``);
  ``gamma_64(n)``: the reference's float64 sum; ``u``: the reference's final
  rounding to ``d``; ``n * tiny_d`` (the smallest normal number): terms or a
  result flushed to zero below it (FTZ/DAZ).

Elementwise functions are bounded relative to their true value. A library's
``exp`` is taken to be within ``ELEMENTARY_ULPS`` units in the last place
(relative error ``e_exp = 2 * ELEMENTARY_ULPS * u``). ``sigmoid = 1 / (1 + e)``
with ``e = exp(-x)`` is then within ``e_s = e_exp + 2u`` of ``s`` (``e``'s error
enters as ``(1 - s) e_exp``; the add and the divide round once each), and
``sigmoid_vjp = dY s(x) s(-x)`` within ``2 e_s + 2u`` of its true value, in both
tails (a native ``dY y (1 - y)`` from a rounded ``y`` is not: ``1 - y`` cancels
for large x). Each adds ``tiny`` for a result flushed to zero, the VJP also
``tiny |dY|`` for a flushed ``s(-x)``. The loss and its VJP take the same terms per row (see their
functions). Selections (max pooling, ReLU, flatten) are exact, signed zeros
included where the reference defines their sign (:class:`Exact`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import reference
from reference.shapes import conv2d_geometry, pool2d_geometry

LAMBDA = 6.0
ELEMENTARY_ULPS = 4


@dataclass(frozen=True, eq=False)
class Exact:
    """Compare bit for bit, NaN equal to NaN.

    ``signed``: where -0.0 and +0.0 differ: everywhere (True), nowhere (False),
    or a boolean mask of the output's shape (False where the reference leaves
    the sign of a zero unspecified).
    """

    signed: bool | np.ndarray = True


EXACT = Exact()  # exact, signed zeros compared everywhere
UNSIGNED_ZEROS = Exact(signed=False)  # exact values, the sign of a zero left open

Bound = np.ndarray | Exact
Bounds = list[Bound]


def unit_roundoff(dtype: Any) -> float:
    """Half the machine epsilon: 2**-24 for float32, 2**-53 for float64."""
    return float(np.finfo(dtype).eps) / 2


def gamma(n: int, dtype: Any) -> float:
    """The relative error bound of an ``n``-rounding sum in ``dtype`` (module docstring)."""
    u = unit_roundoff(dtype)
    worst_case = n * u / (1 - n * u)
    probabilistic = math.expm1(LAMBDA * math.sqrt(n) * u + n * u * u / (1 - u))
    return min(worst_case, probabilistic)


def reduction_bound(dtype: Any, n: int, magnitude: np.ndarray) -> np.ndarray:
    """``(gamma_d(n) + gamma_64(n) + u) * |magnitude| + n * tiny``: a sum of terms of total ``magnitude``."""
    relative = gamma(n, dtype) + gamma(n, np.float64) + unit_roundoff(dtype)
    return relative * np.abs(magnitude) + n * float(np.finfo(dtype).tiny)


def elementary_error(dtype: Any) -> float:
    """Relative error of a library ``exp`` (or ``log``): ``2 * ELEMENTARY_ULPS * u``."""
    return 2 * ELEMENTARY_ULPS * unit_roundoff(dtype)


def _relative(dtype: Any, relative: float, value: np.ndarray) -> np.ndarray:
    """``(relative + u) * |value| + tiny``: a backend within ``relative``, the reference's rounding, FTZ."""
    return (relative + unit_roundoff(dtype)) * np.abs(value) + float(np.finfo(dtype).tiny)


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
    return [reduction_bound(dtype, c_per_group * kh * kwid + 1, magnitude)]


def _conv2d_vjp(arrays, kw, dtype) -> Bounds:
    X, W, dY = _abs(arrays)
    o, _, kh, kwid = W.shape
    geometry = conv2d_geometry(X.shape, W.shape, **kw)
    dX, dW, db = reference.conv2d_vjp(X, W, dY, **kw)
    positions = X.shape[0] * int(np.prod(geometry.output_size))
    return [
        reduction_bound(dtype, o // geometry.groups * kh * kwid, dX),
        reduction_bound(dtype, positions, dW),
        reduction_bound(dtype, positions, db),
    ]


def _sign_unspecified(zeros: Callable[[np.ndarray], np.ndarray], X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Max-pool outputs whose window maximum is 0 with both +0.0 and -0.0 among the real elements."""
    X = np.asarray(X, dtype=np.float64)
    positive = zeros(((X == 0) & ~np.signbit(X)).astype(np.float64))
    negative = zeros(((X == 0) & np.signbit(X)).astype(np.float64))
    return (np.asarray(Y) == 0) & (positive == 1) & (negative == 1)


def _max_pool2d(arrays, kw, dtype) -> Bounds:
    (X,) = arrays

    def pool(A: np.ndarray) -> np.ndarray:
        return reference.max_pool2d(A, **kw)

    return [Exact(signed=~_sign_unspecified(pool, X, pool(X)))]


def _max_pool2d_vjp(arrays, kw, dtype) -> Bounds:
    X, dY = arrays
    geometry = pool2d_geometry(np.shape(X), **kw)
    overlap = _windows_per_element(geometry.kernel_size, geometry.stride, geometry.dilation)
    magnitude = reference.max_pool2d_vjp(X, np.abs(dY), **kw)
    return [reduction_bound(dtype, overlap, magnitude)]


def _avg_pool2d(arrays, kw, dtype) -> Bounds:
    (X,) = _abs(arrays)
    geometry = pool2d_geometry(X.shape, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0))
    return [reduction_bound(dtype, int(np.prod(geometry.kernel_size)) + 1, reference.avg_pool2d(X, **kw))]


def _avg_pool2d_vjp(arrays, kw, dtype) -> Bounds:
    X, dY = _abs(arrays)
    geometry = pool2d_geometry(X.shape, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0))
    overlap = _windows_per_element(geometry.kernel_size, geometry.stride)
    return [reduction_bound(dtype, overlap + 1, reference.avg_pool2d_vjp(X, dY, **kw))]


def sigmoid_error(dtype: Any) -> float:
    """Relative error of a float ``sigmoid``: ``e_exp + 2u`` (the exp, the add, the divide)."""
    return elementary_error(dtype) + 2 * unit_roundoff(dtype)


def _sigmoid(arrays, kw, dtype) -> Bounds:
    return [_relative(dtype, sigmoid_error(dtype), reference.sigmoid(np.asarray(arrays[0], np.float64)))]


def _sigmoid_vjp(arrays, kw, dtype) -> Bounds:
    # dY * s(x) * s(-x): two sigmoids and two products, relative to the true value in both tails;
    # below the smallest normal number a flushed s(-x) still meets |dY|: tiny * |dY| more.
    X, dY = (np.asarray(a, dtype=np.float64) for a in arrays)
    relative = 2 * sigmoid_error(dtype) + 2 * unit_roundoff(dtype)
    flushed = float(np.finfo(dtype).tiny) * np.abs(dY)
    return [_relative(dtype, relative, reference.sigmoid_vjp(X, dY)) + flushed]


def _linear(arrays, kw, dtype) -> Bounds:
    X, W, *b = _abs(arrays)
    return [reduction_bound(dtype, X.shape[1] + 1, reference.linear(X, W, b[0] if b else None))]


def _linear_vjp(arrays, kw, dtype) -> Bounds:
    X, W, dY = _abs(arrays)
    dX, dW, db = reference.linear_vjp(X, W, dY)
    n, out = dY.shape
    return [reduction_bound(dtype, out, dX), reduction_bound(dtype, n, dW), reduction_bound(dtype, n, db)]


def _log_softmax_error(logits: np.ndarray) -> np.ndarray:
    """Per element: the scale of its log-softmax's rounding errors, ``1 + |z - max z| + |max z|``.

    ``z - max z`` rounds relative to ``|z - max z|`` and feeds exp (whose relative
    error is then an absolute error of the log), the max enters the row's
    log-sum-exp with its own rounding, and the log of a sum >= 1 adds errors of order 1.
    """
    z = np.asarray(logits, dtype=np.float64)
    return 1.0 + np.abs(z - z.max(axis=1, keepdims=True)) + np.abs(z.max(axis=1, keepdims=True))


def _softmax_cross_entropy(arrays, kw, dtype) -> Bounds:
    # Per row: exp (e_exp) and a k-term sum (gamma(k)) at the row's error scale;
    # the mean over n rows is an n-term sum of the row losses.
    logits, _ = arrays
    n, k = np.shape(logits)
    scale = _log_softmax_error(logits).max(axis=1).mean()
    relative = elementary_error(dtype) + gamma(k + n + 2, dtype) + gamma(k + n + 2, np.float64)
    return [_relative(dtype, relative, np.asarray(scale))]


def _softmax_cross_entropy_vjp(arrays, kw, dtype) -> Bounds:
    # (p - onehot) / n with p = exp(z - max z) / sum: exp, a k-term sum and the
    # divide relative to p at its error scale; the one-hot subtraction and /n round once each.
    logits, labels = arrays
    n, k = np.shape(logits)
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.zeros_like(p)
    onehot[np.arange(n), np.asarray(labels)] = 1.0
    magnitude = (p * _log_softmax_error(logits) + onehot) / n
    relative = elementary_error(dtype) + gamma(k + 2, dtype) + gamma(k + 2, np.float64)
    return [_relative(dtype, relative, magnitude)]


def _relu(arrays, kw, dtype) -> Bounds:
    # relu(x) = max(x, +0.0): the result's sign is defined everywhere (relu(-0.0) = +0.0).
    return [EXACT]


def _relu_vjp(arrays, kw, dtype) -> Bounds:
    # dY where x > 0, else a zero whose sign is open (native backwards multiply dY by 0).
    return [UNSIGNED_ZEROS]


def _flatten(arrays, kw, dtype) -> Bounds:
    # A reshape: every value moves unchanged, the sign of a zero included.
    return [EXACT]


def _chapter(op: str) -> Callable[..., Bounds]:
    """corr2d family and pool2d: the bound of the batched op they are instances of."""

    def bound(arrays, kw, dtype) -> Bounds:
        if op == "pool2d":
            (X,) = arrays
            X = np.asarray(X)[None, None]
            if kw.get("mode", "max") == "max":
                (exact,) = _max_pool2d([X], {"kernel_size": kw["pool_size"], "stride": 1}, dtype)
                return [Exact(signed=exact.signed[0, 0])]
            batched = _avg_pool2d([X], {"kernel_size": kw["pool_size"], "stride": 1}, dtype)
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
    "max_pool2d": _max_pool2d,
    "max_pool2d_vjp": _max_pool2d_vjp,
    "avg_pool2d": _avg_pool2d,
    "avg_pool2d_vjp": _avg_pool2d_vjp,
    "sigmoid": _sigmoid,
    "sigmoid_vjp": _sigmoid_vjp,
    "relu": _relu,
    "relu_vjp": _relu_vjp,
    "flatten": _flatten,
    "flatten_vjp": _flatten,
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
    """One bound per output of ``op``: an array of the output's shape, or an :class:`Exact`."""
    return BOUNDS[op](list(arrays), kwargs, np.dtype(dtype))
