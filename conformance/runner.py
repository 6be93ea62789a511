"""Run one case on a backend and on the reference, compare, and record the outcome."""

from __future__ import annotations

import numpy as np

import reference
from backends.base import Backend, UnsupportedError
from conformance.cases import Case
from conformance.compare import ConformanceError, check_output
from conformance.error_cases import ErrorCase
from conformance.results import CaseResult, Results, Status
from conformance.tolerance import bounds

OUTPUT_NAMES = {
    "conv2d_vjp": ("dX", "dW", "db"),
    "linear_vjp": ("dX", "dW", "db"),
}


def _outputs(value) -> list[np.ndarray]:
    return list(value) if isinstance(value, tuple) else [value]


def run_case(backend: Backend, case: Case, results: Results) -> float:
    """Check ``case`` on ``backend``; record it; raise on anything but a pass.

    Returns the worst error-to-bound ratio over the op's outputs.
    """
    __tracebackhide__ = True
    arrays = case.arrays()
    kwargs = case.kw
    record = {
        "id": case.id,
        "op": case.op,
        "params": case.params(),
        "dtype": case.dtype,
        "source": case.source,
    }
    with np.errstate(all="ignore"):  # NaN and Inf cases compute them on purpose
        expected = _outputs(getattr(reference, case.op)(*arrays, **kwargs))
        case_bounds = bounds(case.op, arrays, kwargs, case.dtype)
    try:
        with backend.recording() as notes:
            actual = _outputs(getattr(backend, case.op)(*arrays, **kwargs))
    except UnsupportedError as error:
        results.add(CaseResult(**record, status=Status.ERROR, message=f"unsupported: {error}"))
        raise
    except Exception as error:
        results.add(CaseResult(**record, status=Status.ERROR, message=f"{type(error).__name__}: {error}"))
        raise
    names = OUTPUT_NAMES.get(case.op, ("Y",))
    try:
        if len(actual) != len(expected):
            raise ConformanceError(f"{case.op} returned {len(actual)} outputs, the reference {len(expected)}")
        ratios = [
            check_output(name, a, e, b)
            for name, a, e, b in zip(names, actual, expected, case_bounds, strict=True)
        ]
    except ConformanceError as error:
        message = f"{error} [{backend.name} {case.call()}]"
        results.add(
            CaseResult(
                **record, status=Status.FAIL, worst_ratio=error.ratio, notes=tuple(notes), message=message
            )
        )
        raise ConformanceError(
            f"{message}\nreproduce: pytest conformance --backend {backend.name} -k '{case.id}'"
        ) from None
    worst = max(ratios)
    results.add(CaseResult(**record, status=Status.PASS, worst_ratio=worst, notes=tuple(notes)))
    return worst


def _error_op(case_id: str) -> str:
    """The reference function an error case calls: the longest public name its id starts with."""
    names = [name for name in reference.__all__ if case_id.startswith(name + "-")]
    return max(names, key=len) if names else case_id.split("-")[0]


def run_error_case(backend: Backend, case: ErrorCase, results: Results) -> None:
    """Check that ``case`` raises on ``backend`` what it raises on the reference; record it.

    Passes when the call raises exactly ``case.error`` with a message holding every
    text of ``case.mentions``; raises :class:`ConformanceError` on another exception
    type, a message that lacks one, or no exception at all.
    """
    __tracebackhide__ = True
    record = {
        "id": f"error-{case.id}",
        "op": _error_op(case.id),
        "params": {"expects": case.error.__name__},
        "dtype": "-",
        "source": "error",
    }
    try:
        case.call(backend)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        missing = [text for text in case.mentions if text not in str(error)]
        if type(error) is case.error and not missing:
            results.add(CaseResult(**record, status=Status.PASS))
            return
        results.add(CaseResult(**record, status=Status.FAIL, message=message))
        expected = f"expected {case.error.__name__} naming {case.mentions}"
        raise ConformanceError(f"{expected}, got {message!r} [{backend.name} {case.id}]") from None
    results.add(CaseResult(**record, status=Status.FAIL, message="no exception"))
    raise ConformanceError(f"expected {case.error.__name__}, the call succeeded [{backend.name} {case.id}]")
