"""Benchmarks of the NumPy reference: conv2d and both poolings, forward and forward+VJP.

Run with ``nox -s bench-reference`` (it adds the matmul yardstick of ``test_yardstick.py``).
"""

from __future__ import annotations

import pytest

import reference
from benchmarks.conftest import record_flops
from benchmarks.workloads import LARGE_CONV, LENET_CONVS, LENET_POOLS, RESNET_POOL

CONVS = (*LENET_CONVS, LARGE_CONV)
POOLS = (*LENET_POOLS, RESNET_POOL)


@pytest.mark.benchmark(group="conv2d")
@pytest.mark.parametrize("pass_", ["forward", "forward+vjp"])
@pytest.mark.parametrize("workload", CONVS, ids=lambda w: w.name)
def test_conv2d(benchmark, workload, pass_) -> None:
    X, W, dY = workload.arrays()
    kwargs = workload.kwargs

    def forward_vjp():
        reference.conv2d(X, W, **kwargs)
        return reference.conv2d_vjp(X, W, dY, **kwargs)

    record_flops(benchmark, workload.flops * (1 if pass_ == "forward" else 3))
    if pass_ == "forward":
        benchmark(reference.conv2d, X, W, **kwargs)
    else:
        benchmark(forward_vjp)


@pytest.mark.benchmark(group="pool")
@pytest.mark.parametrize("pass_", ["forward", "forward+vjp"])
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("workload", POOLS, ids=lambda w: w.name)
def test_pool2d(benchmark, workload, mode, pass_) -> None:
    X, dY = workload.arrays()
    pool = getattr(reference, f"{mode}_pool2d")
    pool_vjp = getattr(reference, f"{mode}_pool2d_vjp")
    kwargs = {"kernel_size": workload.kernel_size, **workload.kwargs}

    def forward_vjp():
        pool(X, **kwargs)
        return pool_vjp(X, dY, **kwargs)

    record_flops(benchmark, workload.flops * (1 if pass_ == "forward" else 2))
    if pass_ == "forward":
        benchmark(pool, X, **kwargs)
    else:
        benchmark(forward_vjp)
