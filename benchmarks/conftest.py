"""Shared benchmark plumbing: options, the matmul yardstick, the results file and the summary tables.

Each benchmark says what it measured with :func:`benchmarks.records.record_info`
(its operation count, or the examples of a LeNet epoch). At the end of the run
the typed records (:class:`conformance.results.BenchmarkResult`: name, median
seconds, info) go to ``<results-dir>/bench-<backend>.json`` (``bench-reference.json``
without ``--backend``) with the machine's environment, and two tables are printed:
each op's GFLOP/s (from its median time) beside its ratio to NumPy's float64 matmul
GFLOP/s measured in the same run (``test_matmul_float64``), and each LeNet epoch
runner's examples/s beside its yardstick's.
"""

from __future__ import annotations

import platform
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import backends
from benchmarks.records import GAPS, MATMUL_NAME, benchmark_result
from conformance.results import BenchmarkResult, Kind, write_results

_ENVIRONMENT = pytest.StashKey[dict[str, Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("benchmarks")
    group.addoption("--backend", help=f"backend to time, one of: {', '.join(backends.known())}")
    group.addoption("--device", default="auto", help="'auto' (GPU when present), 'cpu', 'gpu', ...")
    group.addoption(
        "--lenet-steps", type=int, default=None, help="LeNet epoch benchmarks: stop after this many batches"
    )
    group.addoption(
        "--results-dir", default="results", help="where bench-<backend>.json (typed records) goes"
    )


@pytest.fixture(scope="session")
def backend(pytestconfig: pytest.Config) -> backends.Backend:
    name = pytestconfig.getoption("backend")
    if not name:
        raise pytest.UsageError(f"pass --backend NAME (one of: {', '.join(backends.known())})")
    chosen = backends.get_backend(name, device=pytestconfig.getoption("device"))
    pytestconfig.stash[_ENVIRONMENT] = chosen.environment()
    return chosen


def _environment(config: pytest.Config, session: Any) -> dict[str, Any]:
    """The backend's environment (when one ran) and the machine's: CPU, cores, Python."""
    name = config.getoption("backend") or "reference"
    cpu = session.get_machine_info().get("cpu", {})
    return {
        "backend": name,
        "numpy_version": np.__version__,
        **config.stash.get(_ENVIRONMENT, {}),
        "cpu": cpu.get("brand_raw", platform.processor() or "-"),
        "cpu_count": cpu.get("count"),
        "python": platform.python_version(),
    }


def _per_second(amount: int, result: BenchmarkResult) -> float:
    """``amount`` (operations, examples) per second of the median time."""
    return amount / result.median_s


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    results = [r for r in map(benchmark_result, getattr(session, "benchmarks", [])) if r is not None]
    gaps = config.stash.get(GAPS, [])
    if not results and not gaps:
        return
    path = Path(config.getoption("results_dir")) / f"bench-{config.getoption('backend') or 'reference'}.json"
    write_results(path, Kind.BENCHMARKS, _environment(config, session), [*results, *gaps])
    write = terminalreporter.write_line
    flops = [r for r in results if r.info.flops]
    if flops:
        matmul = next((_per_second(r.info.flops, r) / 1e9 for r in flops if MATMUL_NAME in r.name), None)
        terminalreporter.section("GFLOP/s (median time)")
        write(f"{'benchmark':<72} {'GFLOP/s':>9} {'/ matmul':>9}")
        for result in flops:
            rate = _per_second(result.info.flops, result) / 1e9
            ratio = f"{rate / matmul:9.3f}" if matmul else f"{'n/a':>9}"
            write(f"{result.name:<72} {rate:9.2f} {ratio}")
        if matmul:
            write(f"NumPy float64 matmul (2048x2048) in this run: {matmul:.1f} GFLOP/s")
    epochs = [r for r in results if r.info.examples]
    if epochs:
        terminalreporter.section("LeNet training epoch (examples/s, median round, in turns with a yardstick)")
        write(f"{'benchmark':<48} {'ex/s':>9} {'yardstick':>10} {'ex/s':>9} {'ratio':>7}")
        for result in epochs:
            info = result.info
            rate = _per_second(info.examples, result)
            seconds = info.yardstick_seconds
            base = info.examples / statistics.median(seconds) if seconds else None
            ratio = f"{rate / base:7.3f}" if base else f"{'n/a':>7}"
            write(f"{result.name:<48} {rate:9.0f} {info.yardstick or '-':>10} {base or 0:9.0f} {ratio}")
    if gaps:
        terminalreporter.section("declared gaps (not timed)")
        for result in gaps:
            write(f"{result.name:<72} {result.info.gap}")
    terminalreporter.write_line(f"results: {path}")
