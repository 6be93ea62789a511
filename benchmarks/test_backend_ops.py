"""Per-op benchmarks of one backend (``--backend NAME``): conv2d and both poolings,
forward and forward+backward, at LeNet and ResNet-like sizes, float32.

Each benchmark times a prepared callable that keeps tensors on the device and
synchronises before returning (:meth:`backends.base.Backend.prepare`), after
one call of it has been checked against the reference
(:func:`benchmarks.checks.prepare_checked`): a wrong or missing result fails
the benchmark instead of reporting a speed.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.checks import prepare_checked
from benchmarks.conftest import record_flops
from benchmarks.workloads import LENET_CONVS, LENET_POOLS, RESNET_CONVS, RESNET_POOL

PASSES = {"forward": 1, "forward+backward": 3}


@pytest.mark.benchmark(group="conv2d")
@pytest.mark.parametrize("pass_", list(PASSES))
@pytest.mark.parametrize("workload", (*LENET_CONVS, *RESNET_CONVS), ids=lambda w: w.name)
def test_conv2d(benchmark, backend, workload, pass_) -> None:
    X, W, dY = workload.arrays(np.float32)
    backward = pass_ != "forward"
    prepared, ratio = prepare_checked(
        backend, "conv2d", X, W, backward=backward, dY=dY if backward else None, **workload.kwargs
    )
    benchmark.extra_info.update(
        backend=backend.name, op="conv2d", workload=workload.name, pass_=pass_, check_ratio=ratio
    )
    record_flops(benchmark, workload.flops * PASSES[pass_])
    benchmark(prepared.run)


@pytest.mark.benchmark(group="pool")
@pytest.mark.parametrize("pass_", list(PASSES))
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("workload", (*LENET_POOLS, RESNET_POOL), ids=lambda w: w.name)
def test_pool2d(benchmark, backend, workload, mode, pass_) -> None:
    X, dY = workload.arrays(np.float32)
    kwargs = {"kernel_size": workload.kernel_size, **workload.kwargs}
    backward = pass_ != "forward"
    op = f"{mode}_pool2d"
    seed = dY if backward else None
    prepared, ratio = prepare_checked(backend, op, X, backward=backward, dY=seed, **kwargs)
    benchmark.extra_info.update(
        backend=backend.name, op=op, workload=workload.name, pass_=pass_, check_ratio=ratio
    )
    record_flops(benchmark, workload.flops * (1 if pass_ == "forward" else 2))
    benchmark(prepared.run)
