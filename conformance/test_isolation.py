"""State isolation on the backend: every op's results and every LeNet method's (:mod:`conformance.isolation`).

One named case of each function of every op spec (the first), and each LeNet
check in float32 and float64; each is one result record (source ``isolation``).
"""

from __future__ import annotations

import pytest

from conformance import isolation
from conformance.cases import rerun_item
from conformance.known_gaps import find
from conformance.runner import record_check


def _run(backend, results, gaps, request, check: isolation.IsolationCheck, run) -> None:
    __tracebackhide__ = True
    params = {"case": check.case.id} if check.case else {"check": check.check, "variant": "chapter"}
    record = {"id": check.id, "op": check.op, "params": params, "dtype": check.dtype, "source": "isolation",
              "rerun": rerun_item(backend.name, request.node.name)}  # fmt: skip
    record_check(results, record, find(gaps, check.op, check.gap_id), run)


@pytest.mark.parametrize("check", isolation.op_checks(), ids=repr)
def test_op_results_are_the_callers_own(backend, results, gaps, request, check) -> None:
    _run(backend, results, gaps, request, check, lambda: isolation.check_op(backend, check))


@pytest.mark.parametrize("check", isolation.lenet_checks(), ids=repr)
def test_lenet_keeps_and_hands_out_copies(backend, results, gaps, request, check) -> None:
    _run(backend, results, gaps, request, check, lambda: isolation.check_lenet(backend, check))
