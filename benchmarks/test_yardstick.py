"""NumPy's float64 matmul: the machine's yardstick, measured in the same run as every benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.records import MATMUL_NAME, record_info


@pytest.mark.benchmark(group="yardstick")
def test_matmul_float64(benchmark) -> None:
    n = 2048
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    benchmark.name = MATMUL_NAME
    record_info(benchmark, flops=2 * n**3)
    benchmark(np.matmul, a, b)
