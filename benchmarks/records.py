"""What each benchmark measured, as fields of :class:`conformance.results.BenchmarkInfo`.

A benchmark describes itself with :func:`record_info` (op benchmarks:
``record_info(benchmark, backend=..., op=..., workload=..., pass_=..., flops=...,
check_ratio=...)``; LeNet epochs: ``backend``, ``runner``, ``variant``, ``examples``,
``yardstick``, ``yardstick_seconds``; the matmul yardstick: ``flops``). The keys
are BenchmarkInfo's fields, defined there once; pytest-benchmark keeps them in its
``extra_info``, and :func:`benchmark_result` turns a finished benchmark into the
typed record that ``benchmarks/conftest.py`` writes to ``bench-<backend>.json``.
A pass the backend cannot run (:class:`backends.UnsupportedError`, e.g. a backward pass of an
inference-only framework) is recorded by :func:`declare_gap` instead: a record with a NaN median
and the reason as ``gap``, and the test reports an expected failure, never a pass or a skip.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NoReturn

import pytest

from conformance.results import BenchmarkInfo, BenchmarkResult

# The name of NumPy's float64 2048x2048 matmul benchmark, each run's yardstick.
MATMUL_NAME = "matmul-float64-2048"
# NumPy's float32 2048x2048 matmul: the machine's float32 rate, the roof of the LeNet epochs.
MATMUL_FLOAT32_NAME = "matmul-float32-2048"
# The declared gaps of a run (records of :func:`declare_gap`), written beside the timed results.
GAPS = pytest.StashKey[list[BenchmarkResult]]()


def record_info(benchmark: Any, **fields: Any) -> None:
    """Merge ``fields`` of :class:`BenchmarkInfo` into the benchmark's ``extra_info``.

    Calls accumulate; a name that is not a field raises ``TypeError``.
    """
    info = replace(BenchmarkInfo.from_extra_info(benchmark.extra_info), **fields)
    benchmark.extra_info.update(info.to_extra_info())


def benchmark_result(bench: Any) -> BenchmarkResult | None:
    """The typed record of a finished pytest-benchmark run (None when it has no timings)."""
    if not bench:
        return None
    return BenchmarkResult(bench.name, bench.stats.median, BenchmarkInfo.from_extra_info(bench.extra_info))


def declare_gap(request: pytest.FixtureRequest, error: Exception, **fields: Any) -> NoReturn:
    """Record the test's pass as a declared gap (``fields`` of :class:`BenchmarkInfo`, ``gap`` the
    backend's reason), then end the test as an expected failure."""
    info = BenchmarkInfo(**fields, gap=str(error))
    request.config.stash.setdefault(GAPS, []).append(BenchmarkResult(request.node.name, float("nan"), info))
    pytest.xfail(f"declared gap: {error}")
