"""Each half-precision reduction's declared accumulation dtype against a measurement
(:mod:`conformance.accumulation`); each is one result record (source ``accumulation``)."""

from __future__ import annotations

import numpy as np
import pytest

from conformance import accumulation
from conformance.cases import rerun_item
from conformance.known_gaps import find
from conformance.runner import record_check


@pytest.mark.parametrize("check", accumulation.checks(), ids=repr)
def test_declared_accumulation_is_measured(backend, results, gaps, request, check) -> None:
    declared = backend.accumulation_dtype(check.op, np.dtype(check.dtype))
    record = {"id": check.id, "op": check.op, "params": {"declared": str(declared)}, "dtype": check.dtype,
              "source": "accumulation", "rerun": rerun_item(backend.name, request.node.name)}  # fmt: skip
    run = lambda: accumulation.check_declaration(backend, check)  # noqa: E731
    record_check(results, record, find(gaps, check.op, check.id), run)
