"""The one assertion of the suite: a backend's output against the reference's.

:func:`check_output` compares shape, dtype, the pattern of non-finite values
(exactly: a NaN or an infinity passes only where the reference has the same
value, NaN matching any NaN) and the finite values (within the bound, or
exactly, signed zeros included where the bound's :class:`Exact` says so), and
returns the worst error-to-bound ratio. A failure names the output, the first
bad element in row-major order, both values, the rule and the ratio.
"""

from __future__ import annotations

import numpy as np

from conformance.tolerance import Bound, Exact
from reference.dtypes import is_floating


class ConformanceError(AssertionError):
    """A backend result that the reference does not accept; ``ratio`` is its worst error/bound."""

    def __init__(self, message: str, ratio: float = float("inf")) -> None:
        super().__init__(message)
        self.ratio = ratio


def _element(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, index)) + "]"


def _fail(
    name: str, index: tuple[int, ...], actual, expected, rule: str, ratio=float("inf")
) -> ConformanceError:
    actual, expected = actual.item(), expected.item()  # plain Python numbers print alike on every NumPy
    return ConformanceError(f"{name}{_element(index)} = {actual!r}, reference {expected!r}: {rule}", ratio)


def check_output(name: str, actual, expected, bound: Bound) -> float:
    """Raise :class:`ConformanceError` unless ``actual`` conforms; return the worst ratio.

    ``bound`` is an array of ``expected``'s shape (``|actual - expected| <= bound``
    where the reference is finite), or an :class:`Exact` for a bit-exact
    comparison (NaN equal to NaN; -0.0 differs from +0.0 where ``bound.signed``).
    The ratio of an exact comparison is 0.
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    __tracebackhide__ = True
    if actual.shape != expected.shape:
        raise ConformanceError(f"{name} has shape {actual.shape}, reference {expected.shape}")
    if actual.dtype != expected.dtype:
        raise ConformanceError(f"{name} has dtype {actual.dtype}, reference {expected.dtype}")
    if not is_floating(expected.dtype):
        mismatch = actual != expected
        if mismatch.any():
            index = tuple(int(i) for i in np.argwhere(mismatch)[0])
            raise _fail(name, index, actual[index], expected[index], "must be equal")
        return 0.0
    finite = np.isfinite(expected)
    same = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    special = ~(finite & np.isfinite(actual)) & ~same
    if special.any():
        index = tuple(int(i) for i in np.argwhere(special)[0])
        raise _fail(name, index, actual[index], expected[index], "non-finite values must match exactly")
    if isinstance(bound, Exact):
        differs = finite & (actual != expected)
        if differs.any():
            index = tuple(int(i) for i in np.argwhere(differs)[0])
            raise _fail(name, index, actual[index], expected[index], "selection must be exact")
        signs = finite & bound.signed & (np.signbit(actual) != np.signbit(expected))
        if signs.any():
            index = tuple(int(i) for i in np.argwhere(signs)[0])
            raise _fail(name, index, actual[index], expected[index], "the sign of zero must match")
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        ratio = np.where(finite & (error > 0), error / np.asarray(bound, dtype=np.float64), 0.0)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)  # a NaN bound accepts no error
    worst = float(ratio.max(initial=0.0))
    if worst > 1.0:
        index = tuple(int(i) for i in np.unravel_index(int(np.argmax(ratio > 1.0)), ratio.shape))
        raise _fail(
            name,
            index,
            actual[index],
            expected[index],
            f"error {error[index]:.3g} exceeds bound {np.asarray(bound)[index]:.3g}"
            f" (ratio {ratio[index]:.3g})",
            worst,
        )
    return worst
