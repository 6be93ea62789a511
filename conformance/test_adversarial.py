"""Every op's adversarial space on the chosen backend: a deep Hypothesis search per op and dtype.

The pairwise-covering cases of each space are named cases (``test_case``);
this test draws random combinations over the whole space, as many as the
Hypothesis profile says: ``ci`` (the default, fast and derandomized) or ``deep``
(``--hypothesis-profile=deep``, at least 200 per op and dtype).
"""

from __future__ import annotations

import pytest
from hypothesis import given

from conformance.cases import DTYPES, Generated, suffix
from conformance.runner import DrawnCases
from conformance.specs import SPECS

ADVERSARIAL = [
    Generated(
        f"{spec.name}-{suffix(dtype)}", spec.space.strategy(dtype), tuple(f.name for f in spec.functions)
    )
    for spec in SPECS.values()
    if spec.space is not None
    for dtype in DTYPES
]


@pytest.mark.parametrize("generated", ADVERSARIAL, ids=[generated.name for generated in ADVERSARIAL])
def test_adversarial(backend, results, gaps, generated: Generated) -> None:
    drawn = DrawnCases(backend, results, gaps)

    @given(cases=generated.strategy)
    def check(cases) -> None:
        for case in cases:
            drawn.run(case)

    check()
    drawn.finish()
