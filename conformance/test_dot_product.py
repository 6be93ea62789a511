"""Each JVP of the chosen backend against its own VJP: ``<J t, c> = <t, J^T c>`` (no reference).

The check and its bound are :mod:`conformance.dot_product`; each item is named after its
record's id (``dot-<JVP case id>``), so ``-k`` selects one.
"""

from __future__ import annotations

import pytest

from conformance.cases import rerun_item
from conformance.dot_product import DotCase, check_dot_product, dot_cases
from conformance.known_gaps import find
from conformance.runner import record_check

DOT_CASES = dot_cases()


@pytest.mark.parametrize("check", DOT_CASES, ids=repr)
def test_jvp_is_the_adjoint_of_the_vjp(backend, results, gaps, request, check: DotCase) -> None:
    case = check.case
    record = {"id": check.id, "op": check.op, "params": {**case.params(), "against": check.vjp},
              "dtype": case.dtype, "source": "dot-product",
              "rerun": rerun_item(backend.name, request.node.name)}  # fmt: skip
    notes: list[str] = []

    def run() -> float:
        with backend.recording() as recorded:
            try:
                return check_dot_product(backend, check)
            finally:
                notes.extend(recorded)

    record_check(results, record, find(gaps, check.op, check.id), run, notes)
