"""NumPy's 2048x2048 matmuls, measured in the same run as every benchmark: float64 is the machine's
yardstick, float32 the numerator of the LeNet epochs' roof (its GFLOP/s over FLOPs per example)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.records import MATMUL_FLOAT32_NAME, MATMUL_NAME, record_info

N = 2048


def time_matmul(benchmark, dtype: str, name: str) -> None:
    """Time ``a @ b`` of two standard-normal N x N arrays of ``dtype``: 2 N³ FLOPs."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((N, N)).astype(dtype) for _ in range(2))
    benchmark.name = name
    record_info(benchmark, flops=2 * N**3)
    benchmark(np.matmul, a, b)


@pytest.mark.benchmark(group="yardstick")
def test_matmul_float64(benchmark) -> None:
    time_matmul(benchmark, "float64", MATMUL_NAME)


@pytest.mark.benchmark(group="yardstick")
def test_matmul_float32(benchmark) -> None:
    time_matmul(benchmark, "float32", MATMUL_FLOAT32_NAME)
