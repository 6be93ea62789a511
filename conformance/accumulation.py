"""The accumulation dtype a backend declares for half precision, checked by measurement.

A half-precision reduction bound depends on the dtype the backend sums in
(:mod:`conformance.tolerance`, "Half precision"), which each adapter declares
(``Backend.accumulation_dtype``). The declaration is measured here, on long
reductions (:data:`PROBES`, 36 to 648 terms per element): a backend that sums
in float32 and rounds once returns the correctly rounded value, the
reference's, for nearly every element (it can differ only where the exact
value lies within float32's error, about ``sqrt(n) 2**-24`` relative, of a
half-precision rounding boundary); one that sums in the half dtype, or
rounds partial sums to it, misses a large share (its error is of the order
of ``sqrt(n)`` half-precision units). An output counts as summed in float32
where at least :data:`THRESHOLD` of its elements equal the reference's;
a declaration of float32 must have every output of the function so, and a
declaration of the half dtype itself at least one output below it (a wider
sum declared as a narrow one would leave the bound needlessly loose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import reference
from backends.base import Backend
from conformance.cases import HALF, ArraySpec, Case, suffix
from conformance.compare import ConformanceError

THRESHOLD = 0.95  # float32 sums measured at 0.99 and above; half sums at 0.6 and below
# One long reduction per function with sums (seeded inputs, standard normal).
PROBES: dict[str, tuple[tuple[ArraySpec, ...], tuple[tuple[str, object], ...]]] = {
    "conv2d": ((ArraySpec("X", (2, 16, 9, 9)), ArraySpec("W", (4, 16, 5, 5))), ()),  # n = 400
    "conv2d_vjp": (  # dX: 16 * 9 = 144 terms, dW and db: 2 * 18 * 18 = 648
        (ArraySpec("X", (2, 4, 20, 20)), ArraySpec("W", (16, 4, 3, 3)), ArraySpec("dY", (2, 16, 18, 18))),
        (),
    ),
    "linear": ((ArraySpec("X", (8, 512)), ArraySpec("W", (16, 512))), ()),  # n = 512
    "linear_vjp": (  # dX: 64 terms, dW and db: 256
        (ArraySpec("X", (256, 32)), ArraySpec("W", (64, 32)), ArraySpec("dY", (256, 64))),
        (),
    ),
    "avg_pool2d": ((ArraySpec("X", (2, 4, 16, 16)),), (("kernel_size", 6), ("stride", 1))),  # n = 36
    "avg_pool2d_vjp": (  # up to 36 overlapping windows per element
        (ArraySpec("X", (2, 4, 16, 16)), ArraySpec("dY", (2, 4, 11, 11))),
        (("kernel_size", 6), ("stride", 1)),
    ),
}


@dataclass(frozen=True)
class AccumulationCheck:
    """One function in one half dtype: its result id ``accumulation-<function>-<f16|bf16>``."""

    op: str
    dtype: str

    @property
    def id(self) -> str:
        return f"accumulation-{self.op}-{suffix(self.dtype)}"

    def case(self) -> Case:
        inputs, kwargs = PROBES[self.op]
        return Case(self.id, self.op, inputs, kwargs, self.dtype, seed=11, source="accumulation")

    def __repr__(self) -> str:
        return self.id


def checks() -> list[AccumulationCheck]:
    """Every function of :data:`PROBES` in float16 and bfloat16."""
    return [AccumulationCheck(op, dtype) for dtype in HALF for op in PROBES]


def equal_shares(backend: Backend, check: AccumulationCheck) -> list[float]:
    """Per output, the share of the backend's elements equal to the reference's (bit for bit)."""
    case = check.case()
    arrays = case.arrays()
    actual = getattr(backend, case.op)(*arrays, **case.kw)
    expected = getattr(reference, case.op)(*arrays, **case.kw)
    pairs = zip(actual, expected, strict=True) if isinstance(expected, tuple) else [(actual, expected)]
    return [float(np.mean(np.asarray(a) == np.asarray(e))) for a, e in pairs]


def check_declaration(backend: Backend, check: AccumulationCheck) -> None:
    """Raise :class:`ConformanceError` unless the measured shares agree with the declaration."""
    declared = np.dtype(backend.accumulation_dtype(check.op, np.dtype(check.dtype)))
    shares = equal_shares(backend, check)
    wide = declared != np.dtype(check.dtype)
    measured = ", ".join(f"{share:.3f}" for share in shares)
    if wide and min(shares) < THRESHOLD:
        raise ConformanceError(
            f"{check.id}: declared accumulation {declared}, but only {measured} of the outputs' elements"
            f" equal the correctly rounded value (float32 sums give at least {THRESHOLD})"
        )
    if not wide and min(shares) >= THRESHOLD:
        raise ConformanceError(
            f"{check.id}: declared accumulation {declared} (the result dtype), but {measured} of the"
            f" outputs' elements equal the correctly rounded value: it sums wider; declare that"
        )
