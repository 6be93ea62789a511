"""Per-op benchmarks of one backend (``--backend NAME``): conv2d and both poolings,
forward and forward+backward, at LeNet and ResNet-like sizes, float32.

Each benchmark times a prepared callable that keeps tensors on the device and
synchronises before returning (:meth:`backends.base.Backend.prepare`).
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.conftest import record_flops
from benchmarks.workloads import LENET_CONVS, LENET_POOLS, RESNET_CONVS, RESNET_POOL

PASSES = {"forward": 1, "forward+backward": 3}


@pytest.mark.benchmark(group="conv2d")
@pytest.mark.parametrize("pass_", list(PASSES))
@pytest.mark.parametrize("workload", (*LENET_CONVS, *RESNET_CONVS), ids=lambda w: w.name)
def test_conv2d(benchmark, backend, workload, pass_) -> None:
    X, W, _ = workload.arrays(np.float32)
    run = backend.prepare("conv2d", X, W, backward=pass_ != "forward", **workload.kwargs)
    benchmark.extra_info.update(backend=backend.name, op="conv2d", workload=workload.name, pass_=pass_)
    record_flops(benchmark, workload.flops * PASSES[pass_])
    benchmark(run)


@pytest.mark.benchmark(group="pool")
@pytest.mark.parametrize("pass_", list(PASSES))
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("workload", (*LENET_POOLS, RESNET_POOL), ids=lambda w: w.name)
def test_pool2d(benchmark, backend, workload, mode, pass_) -> None:
    X, _ = workload.arrays(np.float32)
    kwargs = {"kernel_size": workload.kernel_size, **workload.kwargs}
    run = backend.prepare(f"{mode}_pool2d", X, backward=pass_ != "forward", **kwargs)
    benchmark.extra_info.update(
        backend=backend.name, op=f"{mode}_pool2d", workload=workload.name, pass_=pass_
    )
    record_flops(benchmark, workload.flops * (1 if pass_ == "forward" else 2))
    benchmark(run)
