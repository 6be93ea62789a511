"""Shared benchmark plumbing: the matmul yardstick and the GFLOP/s summary.

Every benchmark records its floating-point operation count with
:func:`record_flops`; at the end of the run a table gives each one's GFLOP/s
(from its median time) and its ratio to NumPy's float64 matmul GFLOP/s measured
in the same run (``test_matmul_float64``), so ratios are side by side.
"""

from __future__ import annotations

from typing import Any

import pytest

MATMUL_NAME = "matmul-float64-2048"
_FLOPS_KEY = "flops"


def record_flops(benchmark: Any, flops: int) -> None:
    """Attach the operation count to a benchmark (saved in pytest-benchmark's JSON too)."""
    benchmark.extra_info[_FLOPS_KEY] = flops


def _gflops(bench: Any) -> float | None:
    flops = bench.extra_info.get(_FLOPS_KEY)
    if not flops or not bench.stats:
        return None
    return flops / bench.stats.median / 1e9


def pytest_terminal_summary(terminalreporter: Any, config: Any) -> None:
    session = getattr(config, "_benchmarksession", None)
    benches = [b for b in getattr(session, "benchmarks", []) if _gflops(b) is not None]
    if not benches:
        return
    matmul = next((_gflops(b) for b in benches if MATMUL_NAME in b.name), None)
    write = terminalreporter.write_line
    terminalreporter.section("GFLOP/s (median time)")
    write(f"{'benchmark':<64} {'GFLOP/s':>9} {'/ matmul':>9}")
    for bench in benches:
        rate = _gflops(bench)
        ratio = f"{rate / matmul:9.3f}" if matmul else f"{'n/a':>9}"
        write(f"{bench.name:<64} {rate:9.2f} {ratio}")
    if matmul:
        write(f"NumPy float64 matmul (2048x2048) in this run: {matmul:.1f} GFLOP/s")


@pytest.fixture
def flops_of() -> Any:
    return record_flops
