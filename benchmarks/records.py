"""What each benchmark measured, as fields of :class:`conformance.results.BenchmarkInfo`.

A benchmark describes itself with :func:`record_info` (op benchmarks:
``record_info(benchmark, backend=..., op=..., workload=..., pass_=..., flops=...,
check_ratio=...)``; LeNet epochs: ``backend``, ``runner``, ``variant``, ``examples``, ``flops``
(per round), ``yardstick``, ``yardstick_seconds``; the matmul yardsticks: ``flops``; the probed
``benchmark`` fixture of ``benchmarks/conftest.py`` adds ``peak_bytes`` and ``memory_probe``). The keys
are BenchmarkInfo's fields, defined there once; pytest-benchmark keeps them in its
``extra_info``, and :func:`benchmark_result` turns a finished benchmark into the
typed record that ``benchmarks/conftest.py`` writes to ``bench-<backend>.json``.
A pass the backend cannot run (:class:`backends.UnsupportedError`, e.g. a backward pass of an
inference-only framework) is recorded by :func:`declare_gap` instead: a record with a NaN median
and the reason as ``gap``, and the test reports an expected failure, never a pass or a skip.
The rates and ratios derived from records (per second, the LeNet roof, a run's ratios) are
defined here once, for the terminal summary, the report and the regression check alike.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
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


def per_second(amount: int, result: BenchmarkResult) -> float:
    """``amount`` (operations, examples) per second of the median time."""
    return amount / result.median_s


def matmul_flops_per_second(results: Iterable[BenchmarkResult], name: str) -> float | None:
    """The FLOP/s of the matmul yardstick ``name`` (:data:`MATMUL_NAME`, :data:`MATMUL_FLOAT32_NAME`)
    among ``results``; None when it did not run."""
    return next((per_second(r.info.flops, r) for r in results if r.name == name and r.info.flops), None)


def yardstick_rate(info: BenchmarkInfo) -> float | None:
    """A LeNet epoch's yardstick in examples/s, from its median round; None without one."""
    seconds = info.yardstick_seconds
    return info.examples / statistics.median(seconds) if seconds and info.examples else None


def flops_per_example(info: BenchmarkInfo) -> float | None:
    """A LeNet epoch's FLOPs per training example (its ``flops`` per round over its ``examples``)."""
    return info.flops / info.examples if info.flops and info.examples else None


def roof(info: BenchmarkInfo, matmul_float32: float | None) -> float | None:
    """A LeNet epoch's roof in examples/s: the float32 matmul FLOP/s of the same run over the FLOPs
    of one training example (None when either is missing). A runner's share of the roof is its
    examples/s over this."""
    per_example = flops_per_example(info)
    return matmul_float32 / per_example if matmul_float32 and per_example else None


def run_ratios(results: Iterable[BenchmarkResult]) -> dict[str, float]:
    """The machine-independent ratios of one run, by name, compared between runs: each op's
    GFLOP/s over the float64 matmul's (``<name> / float64 matmul``), each LeNet epoch runner's
    examples/s over its yardstick's (``<name> / <yardstick>``) and over its roof
    (``<name> share of roof``). Ratios whose terms did not run are left out."""
    results = [r for r in results if not r.info.gap]
    matmul64 = matmul_flops_per_second(results, MATMUL_NAME)
    matmul32 = matmul_flops_per_second(results, MATMUL_FLOAT32_NAME)
    ratios = {}
    for result in results:
        info = result.info
        if info.examples:
            rate = per_second(info.examples, result)
            base, ceiling = yardstick_rate(info), roof(info, matmul32)
            if base:
                ratios[f"{result.name} / {info.yardstick}"] = rate / base
            if ceiling:
                ratios[f"{result.name} share of roof"] = rate / ceiling
        elif info.op and info.flops and matmul64:
            ratios[f"{result.name} / float64 matmul"] = per_second(info.flops, result) / matmul64
    return ratios
