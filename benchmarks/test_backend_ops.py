"""Per-op benchmarks of one backend (``--backend NAME``): every op spec's workloads,
forward and forward+backward, float32.

The sizes are each spec's ``workloads`` (:mod:`conformance.specs`). Each
benchmark times a prepared callable that keeps tensors on the device and
synchronises before returning (:meth:`backends.base.Backend.prepare`), after
one call of it has been checked against the reference
(:func:`benchmarks.checks.prepare_checked`): a wrong or missing result fails
the benchmark instead of reporting a speed. A pass the backend raises
:class:`backends.UnsupportedError` for is recorded as a declared gap
(:func:`benchmarks.records.declare_gap`).
"""

from __future__ import annotations

import numpy as np
import pytest

from backends import UnsupportedError
from benchmarks.checks import prepare_checked
from benchmarks.records import declare_gap, record_info
from conformance.specs import SPECS

PASSES = ("forward", "forward+backward")
WORKLOADS = [
    pytest.param(spec.name, workload, id=f"{spec.name}-{workload.name}")
    for spec in SPECS.values()
    for workload in spec.workloads
]


@pytest.mark.parametrize("pass_", PASSES)
@pytest.mark.parametrize(("op", "workload"), WORKLOADS)
def test_op(benchmark, request, backend, op: str, workload, pass_: str) -> None:
    *primals, dY = workload.arrays(np.float32)
    backward = pass_ != "forward"
    try:
        prepared, ratio = prepare_checked(
            backend, op, *primals, backward=backward, dY=dY if backward else None, **workload.kwargs
        )
    except UnsupportedError as error:
        declare_gap(request, error, backend=backend.name, op=op, workload=workload.name, pass_=pass_)
    benchmark.group = op
    flops = workload.backward_flops if backward else workload.flops
    record_info(
        benchmark,
        backend=backend.name,
        op=op,
        workload=workload.name,
        pass_=pass_,
        check_ratio=ratio,
        flops=flops,
    )
    benchmark(prepared.run)
