"""Shared benchmark plumbing: options, the matmul yardstick, the results file and the summary tables.

Each benchmark says what it measured with :func:`benchmarks.records.record_info`
(its operation count, or the examples of a LeNet epoch). At the end of the run
the typed records (:class:`conformance.results.BenchmarkResult`: name, median
seconds, info) go to ``<results-dir>/bench-<backend>.json`` (``bench-reference.json``
without ``--backend``) with the machine's environment, and two tables are printed:
each op's GFLOP/s (from its median time) beside its ratio to NumPy's float64 matmul
GFLOP/s measured in the same run (``test_matmul_float64``), and each LeNet epoch
runner's examples/s beside its yardstick's and its roof (the float32 matmul's FLOP/s over the
epoch's FLOPs per example, :func:`benchmarks.records.roof`).

The ``benchmark`` fixture here is pytest-benchmark's, wrapped so that each benchmark's peak
memory is measured in one untimed call before its timed rounds
(:class:`benchmarks.memory.MemoryProbedBenchmark`). The backend's environment (device,
framework version) joins pytest-benchmark's ``machine_info``, so a run saved with
``--benchmark-autosave`` names what it measured (``reporting.regressions`` compares saved runs).
"""

from __future__ import annotations

import platform
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import backends
from benchmarks.memory import MemoryProbedBenchmark, probe_memory
from benchmarks.records import (
    GAPS,
    MATMUL_FLOAT32_NAME,
    MATMUL_NAME,
    benchmark_result,
    flops_per_example,
    matmul_flops_per_second,
    per_second,
    roof,
    yardstick_rate,
)
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


@pytest.fixture
def benchmark(benchmark: Any, request: pytest.FixtureRequest) -> Iterator[MemoryProbedBenchmark]:
    """pytest-benchmark's fixture, each benchmark's peak memory probed before it is timed."""
    yield probe_memory(benchmark, lambda: request.getfixturevalue("backend"))


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    """The backend's environment (device, framework version) beside pytest-benchmark's machine."""
    machine_info["backend"] = config.getoption("backend") or "reference"
    machine_info.update(config.stash.get(_ENVIRONMENT, {}))


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


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    results = [r for r in map(benchmark_result, getattr(session, "benchmarks", [])) if r is not None]
    gaps = config.stash.get(GAPS, [])
    if not results and not gaps:
        return
    path = Path(config.getoption("results_dir")) / f"bench-{config.getoption('backend') or 'reference'}.json"
    write_results(path, Kind.BENCHMARKS, _environment(config, session), [*results, *gaps])
    write = terminalreporter.write_line
    flops = [r for r in results if r.info.flops and not r.info.examples]
    if flops:
        matmul = matmul_flops_per_second(results, MATMUL_NAME)
        terminalreporter.section("GFLOP/s (median time) and peak memory")
        write(f"{'benchmark':<72} {'GFLOP/s':>9} {'/ matmul':>9} {'peak MiB':>9}  probe")
        for result in flops:
            rate = per_second(result.info.flops, result)
            ratio = f"{rate / matmul:9.3f}" if matmul else f"{'n/a':>9}"
            write(f"{result.name:<72} {rate / 1e9:9.2f} {ratio} {_mib(result)}")
        if matmul:
            write(f"NumPy float64 matmul (2048x2048) in this run: {matmul / 1e9:.1f} GFLOP/s")
    epochs = [r for r in results if r.info.examples]
    if epochs:
        matmul32 = matmul_flops_per_second(results, MATMUL_FLOAT32_NAME)
        terminalreporter.section("LeNet training epoch (examples/s, median round, in turns with a yardstick)")
        write(f"{'benchmark':<48} {'ex/s':>9} {'yardstick':>10} {'ex/s':>9} {'ratio':>7} {'MFLOP/ex':>9} "
              f"{'roof ex/s':>10} {'share':>7} {'peak MiB':>9}  probe")  # fmt: skip
        for result in epochs:
            info = result.info
            rate = per_second(info.examples, result)
            base, per_example, ceiling = yardstick_rate(info), flops_per_example(info), roof(info, matmul32)
            cells = [
                _number(base, 9, ".0f"),
                _number(base and rate / base, 7, ".3f"),
                _number(per_example and per_example / 1e6, 9, ".2f"),
                _number(ceiling, 10, ".0f"),
                _number(ceiling and rate / ceiling, 7, ".3f"),
                _mib(result),
            ]
            write(f"{result.name:<48} {rate:9.0f} {info.yardstick or '-':>10} {' '.join(cells)}")
        if matmul32:
            write(f"NumPy float32 matmul (2048x2048) in this run: {matmul32 / 1e9:.1f} GFLOP/s "
                  "(roof = its FLOP/s / FLOPs per example; share = ex/s / roof)")  # fmt: skip
    if gaps:
        terminalreporter.section("declared gaps (not timed)")
        for result in gaps:
            write(f"{result.name:<72} {result.info.gap}")
    terminalreporter.write_line(f"results: {path}")


def _number(value: float | None, width: int, spec: str) -> str:
    """``value`` formatted right-aligned in ``width``, or ``-`` when it is missing."""
    return f"{value:{width}{spec}}" if value else f"{'-':>{width}}"


def _mib(result: BenchmarkResult) -> str:
    """The peak memory in MiB and its probe, or ``-``."""
    peak = result.info.peak_bytes
    return f"{peak / 2**20:9.1f}  {result.info.memory_probe}" if peak is not None else f"{'-':>9}"
