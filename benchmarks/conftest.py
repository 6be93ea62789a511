"""Shared benchmark plumbing: options, the matmul yardstick and the summary tables.

Every op benchmark records its floating-point operation count with
:func:`record_flops`; at the end of the run a table gives each one's GFLOP/s
(from its median time) and its ratio to NumPy's float64 matmul GFLOP/s measured
in the same run (``test_matmul_float64``), so ratios are side by side. LeNet
epoch benchmarks record examples with :func:`record_examples` and get an
examples/s table with each runner's ratio to the plain framework loop.
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

import backends

MATMUL_NAME = "matmul-float64-2048"
_FLOPS_KEY = "flops"
_EXAMPLES_KEY = "examples"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("benchmarks")
    group.addoption("--backend", help=f"backend to time, one of: {', '.join(backends.known())}")
    group.addoption("--device", default="auto", help="'auto' (GPU when present), 'cpu', 'gpu', ...")
    group.addoption(
        "--lenet-steps", type=int, default=None, help="LeNet epoch benchmarks: stop after this many batches"
    )


@pytest.fixture(scope="session")
def backend(pytestconfig: pytest.Config) -> backends.Backend:
    name = pytestconfig.getoption("backend")
    if not name:
        raise pytest.UsageError(f"pass --backend NAME (one of: {', '.join(backends.known())})")
    return backends.get_backend(name, device=pytestconfig.getoption("device"))


def record_flops(benchmark: Any, flops: int) -> None:
    """Attach the operation count to a benchmark (saved in pytest-benchmark's JSON too)."""
    benchmark.extra_info[_FLOPS_KEY] = flops


def record_examples(benchmark: Any, examples: int, runner: str) -> None:
    """Attach the number of training examples one round processes, and who ran them."""
    benchmark.extra_info[_EXAMPLES_KEY] = examples
    benchmark.extra_info["runner"] = runner


def _rate(bench: Any, key: str, scale: float) -> float | None:
    amount = bench.extra_info.get(key)
    if not amount or not bench.stats:
        return None
    return amount / bench.stats.median / scale


def pytest_terminal_summary(terminalreporter: Any, config: Any) -> None:
    session = getattr(config, "_benchmarksession", None)
    benches = list(getattr(session, "benchmarks", []))
    write = terminalreporter.write_line
    flops = [b for b in benches if _rate(b, _FLOPS_KEY, 1e9) is not None]
    if flops:
        matmul = next((_rate(b, _FLOPS_KEY, 1e9) for b in flops if MATMUL_NAME in b.name), None)
        terminalreporter.section("GFLOP/s (median time)")
        write(f"{'benchmark':<72} {'GFLOP/s':>9} {'/ matmul':>9}")
        for bench in flops:
            rate = _rate(bench, _FLOPS_KEY, 1e9)
            ratio = f"{rate / matmul:9.3f}" if matmul else f"{'n/a':>9}"
            write(f"{bench.name:<72} {rate:9.2f} {ratio}")
        if matmul:
            write(f"NumPy float64 matmul (2048x2048) in this run: {matmul:.1f} GFLOP/s")
    epochs = [b for b in benches if _rate(b, _EXAMPLES_KEY, 1.0) is not None]
    if epochs:
        terminalreporter.section("LeNet training epoch (examples/s, median round, in turns with a yardstick)")
        write(f"{'benchmark':<48} {'ex/s':>9} {'yardstick':>10} {'ex/s':>9} {'ratio':>7}")
        for bench in epochs:
            rate = _rate(bench, _EXAMPLES_KEY, 1.0)
            seconds = bench.extra_info.get("yardstick_seconds")
            base = bench.extra_info[_EXAMPLES_KEY] / statistics.median(seconds) if seconds else None
            ratio = f"{rate / base:7.3f}" if base else f"{'n/a':>7}"
            yardstick = bench.extra_info.get("yardstick", "-")
            write(f"{bench.name:<48} {rate:9.0f} {yardstick:>10} {base or 0:9.0f} {ratio}")
