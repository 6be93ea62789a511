"""Elementwise activations of LeNet and their vector-Jacobian products."""

from __future__ import annotations

from typing import Any

import numpy as np

from reference.dtypes import round_to
from reference.validation import check_elementwise, check_tangent, result_dtype


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
    """``1 / (1 + exp(-X))`` elementwise, one rounding of the float64 value.

    Stable for any ``|X|`` (no overflow warning): exactly 0 at -inf (and where
    the value underflows the dtype), exactly 1 at +inf and where it rounds to 1;
    NaN at NaN; ``sigmoid(+-0.0) = 0.5``.
    """
    check_elementwise(X)
    return round_to(_sigmoid64(np.asarray(X)), result_dtype(X))


def sigmoid_vjp(X: Any, dY: Any) -> np.ndarray:
    """``dY * s(X) * s(-X)`` (= ``dY * s * (1 - s)``), accurate relative to its value in both tails.

    Computed as ``dY * e / (1 + e)**2`` with ``e = exp(-|X|)``, so ``1 - s`` never
    cancels: ``sigmoid_vjp(40, 1)`` is ``exp(-40)``, not 0 (both tails right to
    one rounding). The derivative is 0 at +-inf and NaN at NaN; an infinite ``dY``
    at a finite ``X`` gives that infinity (the derivative is positive at every
    finite ``X``, even where it underflows), at +-inf it gives NaN (inf * 0).
    """
    check_elementwise(X, dY)
    return _sigmoid_slope_times(np.asarray(X), np.asarray(dY))


def _sigmoid_slope_times(X: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``V * s(X) * s(-X)`` by the rules of :func:`sigmoid_vjp`, one rounding to the result dtype."""
    e = np.abs(X, dtype=np.float64)
    np.negative(e, out=e)
    np.exp(e, out=e)
    grad = e / np.square(1.0 + e)
    grad *= V  # inf * 0 at X = +-inf: the NaN the rule gives
    grad = np.where(np.isinf(V) & np.isfinite(X), V, grad)
    return round_to(grad, result_dtype(X, V))


def sigmoid_jvp(X: Any, tX: Any) -> np.ndarray:
    """Jacobian-vector product of :func:`sigmoid`: ``tX * s(X) * s(-X)``, X's shape.

    The Jacobian is diagonal, so the JVP is :func:`sigmoid_vjp` with ``tX`` for ``dY``,
    by the same rules: accurate in both tails, 0 at +-inf, NaN at NaN; an infinite
    ``tX`` at a finite ``X`` gives that infinity, at +-inf NaN.
    """
    check_elementwise(X)
    check_tangent("tX", tX, X)
    return _sigmoid_slope_times(np.asarray(X), np.asarray(tX))


def sigmoid_vjp_from_output(Y: Any, dY: Any) -> np.ndarray:
    """``dY * Y * (1 - Y)`` with ``Y = sigmoid(X)`` already computed (as autograd does; no exp).

    Equal to :func:`sigmoid_vjp` up to float64 rounding for moderate ``X``; ``1 - Y``
    cancels in the positive tail (relative error ``u / (1 - Y)``, and 0 once ``Y``
    rounds to 1: ``X`` above about 37 in float64, 17 in float32). From a float32
    ``Y`` it carries that rounding (relative error about 6e-8 in ``Y``).
    """
    check_elementwise(Y, dY)
    Y64 = np.asarray(Y, dtype=np.float64)
    grad = 1.0 - Y64
    grad *= Y64
    grad *= dY
    return round_to(grad, result_dtype(Y, dY))


def relu(X: Any) -> np.ndarray:
    """``max(X, +0.0)`` elementwise; NaN propagates, ``relu(+inf) = +inf``, ``relu(-inf) = +0.0``.

    Signed zeros: the maximum of IEEE 754-2019, which orders -0.0 below +0.0, so
    ``relu(-0.0)`` is ``+0.0`` and no result carries a sign bit (except NaN).
    """
    check_elementwise(X)
    dtype = result_dtype(X)
    Y = np.maximum(np.asarray(X).astype(dtype, copy=False), np.zeros((), dtype))
    Y += 0.0  # -0.0 + 0.0 is +0.0, whichever zero np.maximum kept
    return Y


def relu_vjp(X: Any, dY: Any) -> np.ndarray:
    """``dY`` where ``X > 0`` (``+inf`` included), else 0: the gradient at exactly 0, -0.0,
    -inf and NaN is 0, whatever ``dY`` holds there (a NaN or inf ``dY`` included).

    The sign of a zero gradient is unspecified: native backwards multiply ``dY`` by 0.
    """
    check_elementwise(X, dY)
    dtype = result_dtype(X, dY)
    return np.where(np.asarray(X) > 0, dY, np.zeros((), dtype)).astype(dtype, copy=False)


def relu_jvp(X: Any, tX: Any) -> np.ndarray:
    """Jacobian-vector product of :func:`relu`: ``tX`` where ``X > 0`` (``+inf`` included), else 0.

    The derivative is :func:`relu_vjp`'s: 0 at exactly 0, -0.0, -inf and NaN, whatever
    ``tX`` holds there; the sign of a zero tangent is unspecified (``tX * 0`` in a framework).
    """
    check_elementwise(X)
    check_tangent("tX", tX, X)
    dtype = result_dtype(X, tX)
    return np.where(np.asarray(X) > 0, tX, np.zeros((), dtype)).astype(dtype, copy=False)
