"""The dot-product check of a backend's JVP against its own VJP, with no reference at all.

For every op ``f`` with a JVP ``J t`` and a VJP ``J^T c`` the identity
``<J t, c> = <t, J^T c>`` holds exactly (both are ``sum_ij c_i J_ij t_j``). A backend's
two sides differ only by their roundings, so, for a tangent ``t`` (the JVP case's) and
a standard normal cotangent ``c`` (drawn from the case's seed), the check passes where

    |<J t, c>_b - <t, J^T c>_b| <= sum |c| E(J t) + sum_k sum |t_k| E(J^T c)_k
                                    + gamma_64(n_1) sum |J t| |c| + gamma_64(n_2) sum |t| |J^T c|

- ``E(J t)`` and ``E(J^T c)_k`` are the op's JVP and VJP bounds (:mod:`conformance.specs`) at
  the same arrays: each is the backend's own rounding ``gamma_d(n) M`` plus the reference's
  (``gamma_64(n) M + u M``), so it bounds the backend's distance from the exact value too;
  an exact function (a selection: max pooling, ReLU, flatten) contributes 0.
- The two inner products are summed here in float64 from the backend's outputs (the
  products of float32 or float64 values, rounded once each: ``gamma_64(n)`` with ``n``
  the number of terms plus one).
- Only the first ``k`` outputs of the VJP meet a tangent (``k`` tangents: ``(tX, tW)``
  against ``(dX, dW)``; the bias gradient has no tangent).

Cases with a NaN or infinity among the inputs are left out: the identity holds for real
numbers only. A JVP that is the adjoint of the VJP but wrong in both (the same wrong
selection at a tie, the same wrong scale) passes this check; the comparison with the
reference (:mod:`conformance.test_ops`) catches those.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance.cases import Case
from conformance.compare import ConformanceError
from conformance.spec import Function, OpSpec
from conformance.specs import SPECS
from conformance.tolerance import gamma

FINITE_FILLS = ("normal", "ties")


@dataclass(frozen=True)
class DotCase:
    """The dot-product check of one JVP case: result id ``dot-<case id>``, op the JVP's name."""

    case: Case
    vjp: str
    tangents: int

    @property
    def id(self) -> str:
        return f"dot-{self.case.id}"

    @property
    def op(self) -> str:
        return self.case.op

    def __repr__(self) -> str:
        return self.id


def _finite(case: Case) -> bool:
    """Whether every input of the case is finite by construction (its fill)."""
    for spec in case.inputs:
        if spec.fill == "given":
            if not np.isfinite(np.asarray(spec.values, dtype=np.float64)).all():
                return False
        elif spec.fill not in FINITE_FILLS and not spec.fill.startswith("labels:"):
            return False
    return True


def _tangent_count(case: Case) -> int:
    """The trailing inputs that are tangents: ``t<name>`` of an earlier input."""
    names = [spec.name for spec in case.inputs]
    return sum(name.startswith("t") and name[1:] in names for name in names)


def dot_cases(specs: Sequence[OpSpec] | None = None) -> list[DotCase]:
    """One check per finite named JVP case of every spec with a JVP, in registry order."""
    checks = []
    for spec in SPECS.values() if specs is None else specs:
        if spec.jvp is None or spec.vjp is None:
            continue
        for case in spec.cases():
            if case.op == spec.jvp.name and _finite(case):
                checks.append(DotCase(case, spec.vjp.name, _tangent_count(case)))
    return checks


def _error(function: Function, arrays: list[np.ndarray], kwargs: dict[str, Any], dtype: np.dtype) -> list:
    """The function's bound per output as float64 arrays; 0 for an exact output."""
    bounds = function.bound(arrays, kwargs, dtype)
    numeric = (np.ndarray, np.generic, float)
    return [np.asarray(b, np.float64) if isinstance(b, numeric) else 0.0 for b in bounds]


def _outputs(value: Any) -> list[np.ndarray]:
    return [np.asarray(v, np.float64) for v in (value if isinstance(value, tuple) else (value,))]


def check_dot_product(backend: Any, check: DotCase) -> float:
    """``<J t, c>`` against ``<t, J^T c>`` on ``backend``; the ratio of their gap to the bound.

    Raises :class:`ConformanceError` naming both sides and the bound when the gap exceeds it.
    """
    case = check.case
    spec_jvp, spec_vjp = _functions(check)
    arrays = case.arrays()
    primals, tangents = arrays[: -check.tangents], arrays[-check.tangents :]
    dtype = np.dtype(case.dtype)
    (jvp,) = _outputs(getattr(backend, case.op)(*arrays, **case.kw))
    c = np.random.default_rng(case.seed + 1).standard_normal(jvp.shape).astype(dtype)
    # The cotangent is the VJP's parameter after the primals: an array ``dY``, or the loss's ``dloss``.
    cotangent = list(inspect.signature(spec_vjp.reference).parameters)[len(primals)]
    vjp_arrays, vjp_kw = (
        ([*primals, c], case.kw) if cotangent == "dY" else (primals, {**case.kw, cotangent: c})
    )
    vjp = _outputs(getattr(backend, check.vjp)(*primals, **{cotangent: c}, **case.kw))[: check.tangents]
    c64 = c.astype(np.float64)
    t64 = [t.astype(np.float64) for t in tangents]
    left = float(np.sum(jvp * c64))
    right = sum(float(np.sum(t * g)) for t, g in zip(t64, vjp, strict=True))
    (e_jvp,) = _error(spec_jvp, arrays, case.kw, dtype)
    e_vjp = _error(spec_vjp, vjp_arrays, vjp_kw, dtype)[: check.tangents]
    carried = float(np.sum(np.abs(c64) * e_jvp)) + sum(
        float(np.sum(np.abs(t) * e)) for t, e in zip(t64, e_vjp, strict=True)
    )
    summed = gamma(jvp.size + 1, np.float64) * float(np.sum(np.abs(jvp * c64))) + sum(
        gamma(t.size + 1, np.float64) * float(np.sum(np.abs(t * g))) for t, g in zip(t64, vjp, strict=True)
    )
    bound, gap = carried + summed, abs(left - right)
    ratio = gap / bound if bound > 0 else (0.0 if gap == 0 else float("inf"))
    if not ratio <= 1.0:
        raise ConformanceError(
            f"<J t, c> = {left!r} but <t, J^T c> = {right!r}: gap {gap:.3g}, bound {bound:.3g},"
            f" ratio {ratio:.3g} [{backend.name} {case.call()} against {check.vjp}]",
            ratio,
        )
    return ratio


def _functions(check: DotCase) -> tuple[Function, Function]:
    spec = next(spec for spec in SPECS.values() if spec.jvp is not None and spec.jvp.name == check.op)
    assert spec.vjp is not None  # a spec with a JVP has a VJP (OpSpec.check)
    return spec.jvp, spec.vjp
