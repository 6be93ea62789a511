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
  rounding to ``d``; ``n * tiny_d`` (the smallest normal number): products,
  partial sums or a result below it flushed to zero (FTZ). Inputs read as zero
  (DAZ) are not covered: a subnormal times a large operand loses far more than
  ``tiny``, and a subnormal times inf becomes NaN, so a backend whose kernels
  read subnormal inputs as zero must emulate (the TensorFlow adapter does).

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

Half precision (float16, u = 2**-11; bfloat16, u = 2**-8). Frameworks often sum
half-precision products in float32 and round once at the end; then the backend's
error is ``gamma_a(n) M`` in its accumulation dtype ``a`` plus its final roundings
to ``d``: the sum's, and one more where a bias is added or pooling divides in ``d``
after the rounded sum (``2 u_d M``), and the bound reads
``(gamma_a(n) + 2 u_d + gamma_64(n) + u_d) M + n tiny_a + tiny_d``. Each backend
declares ``a`` per function and dtype (``Backend.accumulation_dtype``; the suite
computes the bound inside
:func:`summing`); undeclared, ``a = d``, the formula above, which holds for any
implementation but grows as ``sqrt(n) u_d`` (``6 sqrt(n) u_d`` is already 0.29 at
n = 400 in float16, 2.3 in bfloat16, so a float32 accumulation must be declared
to be held to it). Products of two half-precision numbers are exact in float32
(22 and 16 significant bits). Elementwise bounds stay in the result dtype: valid
whether the backend computes them in it or in float32 and rounds once.

This module holds the policy's primitives; each op's bound, built from them,
is a function of its spec (:mod:`conformance.specs`, ``bounds(name, ...)``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.dtypes import finfo

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
    """Half the machine epsilon: 2**-53 for float64, 2**-24 float32, 2**-11 float16, 2**-8 bfloat16."""
    return float(finfo(dtype).eps) / 2


def tiny(dtype: Any) -> float:
    """The smallest normal number of ``dtype`` (bfloat16 included)."""
    return float(finfo(dtype).tiny)


_ACCUMULATION: ContextVar[np.dtype | None] = ContextVar("accumulation", default=None)


@contextmanager
def summing(accumulation: Any) -> Iterator[None]:
    """Inside the block, :func:`reduction_bound` of a result dtype narrower than ``accumulation``
    takes the sums in ``accumulation`` and one final rounding (module docstring)."""
    token = _ACCUMULATION.set(np.dtype(accumulation))
    try:
        yield
    finally:
        _ACCUMULATION.reset(token)


def gamma(n: int, dtype: Any) -> float:
    """The relative error bound of an ``n``-rounding sum in ``dtype`` (module docstring)."""
    u = unit_roundoff(dtype)
    worst_case = n * u / (1 - n * u)
    probabilistic = math.expm1(LAMBDA * math.sqrt(n) * u + n * u * u / (1 - u))
    return min(worst_case, probabilistic)


@dataclass(frozen=True, eq=False)
class BoundTerms:
    """The terms one bound was built from: ``bound = coefficient * |magnitude| + addend``.

    ``formula``: ``"reduction"`` (:func:`reduction_bound`) or ``"relative"``
    (:func:`relative_bound`); ``parts``: the numbers ``coefficient`` and
    ``addend`` were computed from (``n``, ``u``, ``gamma_d``, ``gamma_64``,
    ``tiny``; or ``relative``, ``u``, ``tiny``). Recorded by :func:`recording_terms`.
    """

    formula: str
    magnitude: np.ndarray
    coefficient: float
    addend: float
    parts: dict[str, float]
    bound: np.ndarray


_RECORDERS: list[list[BoundTerms]] = []


@contextmanager
def recording_terms() -> Iterator[list[BoundTerms]]:
    """Collect, in call order, the :class:`BoundTerms` of every reduction or relative bound
    computed inside the block (the conformance pack writes them down)."""
    terms: list[BoundTerms] = []
    _RECORDERS.append(terms)
    try:
        yield terms
    finally:
        _RECORDERS.remove(terms)


def _bound(formula: str, magnitude: Any, coefficient: float, addend: float, parts: dict) -> np.ndarray:
    bound = coefficient * np.abs(magnitude) + addend
    for terms in _RECORDERS:
        terms.append(BoundTerms(formula, np.asarray(magnitude), coefficient, addend, parts, bound))
    return bound


def reduction_bound(dtype: Any, n: int, magnitude: np.ndarray) -> np.ndarray:
    """``(gamma_d(n) + gamma_64(n) + u) * |magnitude| + n * tiny``: a sum of terms of total ``magnitude``.

    Inside :func:`summing` with a wider accumulation dtype ``a``:
    ``(gamma_a(n) + 2u + gamma_64(n) + u) * |magnitude| + n * tiny_a + tiny``.
    """
    dtype = np.dtype(dtype)
    u = unit_roundoff(dtype)
    accumulation = _ACCUMULATION.get() or dtype
    if unit_roundoff(accumulation) >= u:  # not wider: the sums are in the result dtype
        accumulation = dtype
    # The backend's own roundings to the dtype after a wider sum: the sum's, and one more where it
    # adds a bias or divides in the dtype (TensorFlow's and JAX's dense layer: up to 0.85 of one u).
    final = 0.0 if accumulation == dtype else 2 * u
    parts = {"n": n, "u": u, "gamma_d": gamma(n, accumulation), "gamma_64": gamma(n, np.float64),
             "tiny": tiny(accumulation)}  # fmt: skip
    addend = n * parts["tiny"]
    if final:
        parts |= {"u_final": final, "tiny_final": tiny(dtype)}
        addend += tiny(dtype)
    coefficient = parts["gamma_d"] + final + parts["gamma_64"] + u
    return _bound("reduction", magnitude, coefficient, addend, parts)


def elementary_error(dtype: Any) -> float:
    """Relative error of a library ``exp`` (or ``log``): ``2 * ELEMENTARY_ULPS * u``."""
    return 2 * ELEMENTARY_ULPS * unit_roundoff(dtype)


def relative_bound(dtype: Any, relative: float, value: np.ndarray) -> np.ndarray:
    """``(relative + u) * |value| + tiny``: a backend within ``relative``, the reference's rounding, FTZ."""
    u, smallest = unit_roundoff(dtype), tiny(dtype)
    return _bound("relative", value, relative + u, smallest, {"relative": relative, "u": u, "tiny": smallest})


def absolute(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Each array's absolute values in float64: the magnitudes a bound is computed from."""
    return [np.abs(np.asarray(a, dtype=np.float64)) for a in arrays]
