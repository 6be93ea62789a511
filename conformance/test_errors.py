"""Invalid arguments raise on the backend exactly what they raise on the reference.

The op specs' error cases and the LeNet models' (:mod:`conformance.lenet_errors`).
"""

from __future__ import annotations

import pytest

from conformance.error_cases import ErrorCase
from conformance.lenet_errors import LENET_ERRORS
from conformance.runner import run_error_case
from conformance.specs import error_cases

ERROR_CASES = [*error_cases(), *LENET_ERRORS]


@pytest.mark.parametrize("case", ERROR_CASES, ids=repr)
def test_invalid_argument_raises_like_the_reference(backend, results, gaps, case: ErrorCase) -> None:
    run_error_case(backend, case, results, gaps)
