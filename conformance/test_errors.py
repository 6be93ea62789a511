"""Invalid arguments raise on the backend exactly what they raise on the reference."""

from __future__ import annotations

import pytest

from conformance.error_cases import ERROR_CASES, ErrorCase
from conformance.runner import run_error_case


@pytest.mark.parametrize("case", ERROR_CASES, ids=repr)
def test_invalid_argument_raises_like_the_reference(backend, results, case: ErrorCase) -> None:
    run_error_case(backend, case, results)
