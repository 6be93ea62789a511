"""Run one case on a backend and on the reference, compare, and record the outcome.

Every record carries the command that reruns exactly its case, and every
failure message ends with it. A case declared as a known gap
(:mod:`conformance.known_gaps`) that fails is recorded as ``gap`` and its error
re-raised (the test is a strict expected failure); one that passes is recorded
as ``fixed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from backends.base import Backend, UnsupportedError
from conformance.cases import Case, rerun_item
from conformance.compare import ConformanceError, check_output
from conformance.error_cases import ErrorCase
from conformance.known_gaps import Gap, find
from conformance.results import CaseResult, Results, Status
from conformance.spec import Function
from conformance.specs import function
from conformance.tolerance import Bounds, summing

ERROR_TEST = "test_invalid_argument_raises_like_the_reference"  # conformance/test_errors.py


def _outputs(value: Any) -> list[np.ndarray]:
    return list(value) if isinstance(value, tuple) else [value]


def _expected(
    spec_function: Function, case: Case, arrays: list[np.ndarray], accumulation: np.dtype
) -> tuple[list[np.ndarray], Bounds]:
    """The reference's outputs of ``case`` and one bound per output, for a backend that sums in
    ``accumulation`` (:func:`conformance.tolerance.summing`)."""
    with np.errstate(all="ignore"):  # NaN and Inf cases compute them on purpose
        expected = _outputs(spec_function.reference(*arrays, **case.kw))
        with summing(accumulation):
            return expected, spec_function.bound(arrays, case.kw, np.dtype(case.dtype))


def _compare(spec_function: Function, actual: list, expected: list, bounds: Bounds) -> float:
    """The worst error/bound ratio over the outputs; :class:`ConformanceError` on a mismatch."""
    __tracebackhide__ = True
    if len(actual) != len(expected):
        raise ConformanceError(
            f"{spec_function.name} returned {len(actual)} outputs, the reference {len(expected)}"
        )
    outputs = zip(spec_function.outputs, actual, expected, bounds, strict=True)
    return max(check_output(name, a, e, b) for name, a, e, b in outputs)


def _describe(error: Exception) -> tuple[Status, str]:
    """A failed check's status and message: ``fail`` when the suite rejects a result, else ``error``."""
    if isinstance(error, ConformanceError):
        return Status.FAIL, str(error)
    if isinstance(error, UnsupportedError):
        return Status.ERROR, f"unsupported: {error}"
    return Status.ERROR, f"{type(error).__name__}: {error}"


def record_check(
    results: Results,
    record: dict[str, Any],
    gap: Gap | None,
    check: Callable[[], float | None],
    notes: Sequence[str] = (),
) -> float | None:
    """Run ``check``, record its outcome under ``record`` (CaseResult fields), re-raise a failure.

    ``notes``: the adapter's emulation notes, filled while ``check`` runs. A pass
    returns the worst ratio; with a declared ``gap`` it is recorded
    ``fixed``. A failure is recorded ``gap`` (with the gap's reason and upstream)
    when declared, else ``fail`` or ``error``, and re-raised; an undeclared one
    with the rerun command as a note (pytest prints it under the error).
    """
    __tracebackhide__ = True
    try:
        ratio = check()
    except Exception as error:
        record = {**record, "notes": tuple(notes)}
        status, message = _describe(error)
        ratio = getattr(error, "ratio", None)
        if gap is not None:
            results.add(CaseResult(**record, status=Status.GAP, worst_ratio=ratio, message=message,
                                   gap=gap.reason, upstream=gap.upstream))  # fmt: skip
            raise
        results.add(CaseResult(**record, status=status, worst_ratio=ratio, message=message))
        error.add_note(f"rerun: {record['rerun']}")
        raise
    record = {**record, "notes": tuple(notes)}
    if gap is not None:
        results.add(CaseResult(**record, status=Status.FIXED, worst_ratio=ratio, message=gap.removal(),
                               gap=gap.reason, upstream=gap.upstream))  # fmt: skip
    else:
        results.add(CaseResult(**record, status=Status.PASS, worst_ratio=ratio))
    return ratio


def run_case(backend: Backend, case: Case, results: Results, gaps: Sequence[Gap] = ()) -> float | None:
    """Check ``case`` on ``backend``; record it; raise on anything but a pass.

    Returns the worst error-to-bound ratio over the op's outputs. ``gaps``: the
    backend's known gaps (one that covers the case changes what is recorded).
    """
    __tracebackhide__ = True
    _, spec_function = function(case.op)
    arrays = case.arrays()
    accumulation = backend.accumulation_dtype(case.op, np.dtype(case.dtype))
    expected, bounds = _expected(spec_function, case, arrays, accumulation)
    notes: list[str] = []

    def check() -> float:
        with backend.recording() as recorded:
            try:
                actual = _outputs(getattr(backend, case.op)(*arrays, **case.kw))
            finally:
                notes.extend(recorded)
        try:
            return _compare(spec_function, actual, expected, bounds)
        except ConformanceError as error:
            raise ConformanceError(f"{error} [{backend.name} {case.call()}]", error.ratio) from None

    record = {"id": case.id, "op": case.op, "params": case.params(), "dtype": case.dtype,
              "source": case.source, "rerun": case.rerun(backend.name)}  # fmt: skip
    return record_check(results, record, find(gaps, case.op, case.id), check, notes)


class DrawnCases:
    """Runs the cases Hypothesis draws in one test, declared gaps case by case.

    A drawn test mixes functions (an op's forward and VJP), so it is not marked as
    an expected failure as a whole: a declared gap's failure is recorded (``gap``)
    and counted, not raised, so the search goes on and any other failure still
    fails the test; a declared case that passes (``fixed``) fails it. After the
    search, :meth:`finish` ends the test as an expected failure if a declared gap
    failed, naming each gap and how many drawn cases it covered.
    """

    def __init__(self, backend: Backend, results: Results, gaps: Sequence[Gap]) -> None:
        self._backend, self._results, self._gaps = backend, results, gaps
        self.declared: dict[str, int] = {}

    def run(self, case: Case) -> None:
        """:func:`run_case` on one drawn case; a declared gap's failure is counted, its pass raised."""
        __tracebackhide__ = True
        gap = find(self._gaps, case.op, case.id)
        if gap is None:
            run_case(self._backend, case, self._results, self._gaps)
            return
        try:
            run_case(self._backend, case, self._results, self._gaps)
        except Exception:
            self.declared[gap.where] = self.declared.get(gap.where, 0) + 1
            return
        raise AssertionError(gap.removal())

    def finish(self) -> None:
        """``pytest.xfail`` naming each declared gap met and its count; nothing when none was."""
        if self.declared:
            met = (f"known gap ({where}): {count} drawn cases" for where, count in self.declared.items())
            pytest.xfail("; ".join(met))


def run_error_case(backend: Backend, case: ErrorCase, results: Results, gaps: Sequence[Gap] = ()) -> None:
    """Check that ``case`` raises on ``backend`` what it raises on the reference; record it.

    Passes when the call raises exactly ``case.error`` with a message holding every
    text of ``case.mentions``; raises :class:`ConformanceError` on another exception
    type, a message that lacks one, or no exception at all.
    """
    __tracebackhide__ = True
    record = {"id": case.result_id, "op": case.op, "params": {"expects": case.error.__name__}, "dtype": "-",
              "source": "error", "rerun": rerun_item(backend.name, f"{ERROR_TEST}[{case.id}]")}  # fmt: skip

    def check() -> None:
        expected = f"expected {case.error.__name__}"
        try:
            case.call(backend)
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            if type(error) is case.error and all(text in str(error) for text in case.mentions):
                return None
            raise ConformanceError(
                f"{expected} naming {case.mentions}, got {message!r} [{backend.name} {case.id}]"
            ) from None
        raise ConformanceError(f"{expected}, the call succeeded [{backend.name} {case.id}]")

    record_check(results, record, find(gaps, case.op, case.result_id), check)
