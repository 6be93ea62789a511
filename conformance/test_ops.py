"""Every op spec's functions on the chosen backend: its named cases and its generated ones."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from conformance.cases import Case, Generated
from conformance.runner import DrawnCases, run_case
from conformance.specs import SPECS, all_cases

CASES = all_cases()
EXAMPLES = 60  # generated cases per strategy
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _generated() -> list[Generated]:
    """One entry per spec with a strategy, named after it, with the functions it draws."""
    return [
        Generated(spec.name, spec.strategy, tuple(function.name for function in spec.functions))
        for spec in SPECS.values()
        if spec.strategy is not None
    ]


GENERATED = _generated()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case(backend, results, gaps, case: Case) -> None:
    run_case(backend, case, results, gaps)


@pytest.mark.parametrize("generated", GENERATED, ids=[generated.name for generated in GENERATED])
def test_generated(backend, results, gaps, generated: Generated) -> None:
    drawn = DrawnCases(backend, results, gaps)

    @HYPOTHESIS
    @given(case=generated.strategy)
    def check(case: Case) -> None:
        drawn.run(case)

    check()
    drawn.finish()
