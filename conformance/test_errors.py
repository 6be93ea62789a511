"""Invalid arguments raise on the backend exactly what they raise on the reference."""

from __future__ import annotations

import pytest

import reference
from conformance.error_cases import ERROR_CASES, ErrorCase


def _op(case_id: str) -> str:
    """The reference function an error case calls: the longest public name its id starts with."""
    names = [name for name in reference.__all__ if case_id.startswith(name + "-")]
    return max(names, key=len) if names else case_id.split("-")[0]


@pytest.mark.parametrize("case", ERROR_CASES, ids=repr)
def test_invalid_argument_raises_like_the_reference(backend, results, case: ErrorCase) -> None:
    record = {
        "id": f"error-{case.id}",
        "op": _op(case.id),
        "params": {"expects": case.error.__name__},
        "dtype": "-",
        "source": "error",
        "notes": [],
        "worst_ratio": None,
    }
    try:
        case.call(backend)
    except case.error as error:
        message = str(error)
        missing = [text for text in case.mentions if text not in message]
        if type(error) is case.error and not missing:
            results.add(**record, status="pass")
            return
        results.add(**record, status="fail", message=f"{type(error).__name__}: {message}")
        pytest.fail(f"{type(error).__name__}: {message!r} lacks {missing}")
    except Exception as error:
        results.add(**record, status="fail", message=f"{type(error).__name__}: {error}")
        pytest.fail(f"expected {case.error.__name__}, got {type(error).__name__}: {error}")
    else:
        results.add(**record, status="fail", message="no exception")
        pytest.fail(f"expected {case.error.__name__}, the call succeeded")
