"""Benchmarks of the NumPy reference: each op spec's workloads marked ``on_reference``,
forward and forward+VJP.

Run with ``nox -s bench-reference`` (it adds the matmul yardstick of ``test_yardstick.py``).
"""

from __future__ import annotations

import pytest

from benchmarks.records import record_info
from conformance.specs import SPECS

WORKLOADS = [
    pytest.param(spec, workload, id=f"{spec.name}-{workload.name}")
    for spec in SPECS.values()
    for workload in spec.workloads
    if workload.on_reference
]


@pytest.mark.parametrize("pass_", ["forward", "forward+vjp"])
@pytest.mark.parametrize(("spec", "workload"), WORKLOADS)
def test_op(benchmark, spec, workload, pass_: str) -> None:
    *primals, dY = workload.arrays()
    kwargs = workload.kwargs
    forward, vjp = spec.reference, spec.vjp.reference

    def forward_vjp():
        forward(*primals, **kwargs)
        return vjp(*primals, dY, **kwargs)

    benchmark.group = spec.name
    flops = workload.backward_flops if pass_ != "forward" else workload.flops
    record_info(benchmark, op=spec.name, workload=workload.name, pass_=pass_, flops=flops)
    if pass_ == "forward":
        benchmark(forward, *primals, **kwargs)
    else:
        benchmark(forward_vjp)
