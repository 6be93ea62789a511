"""The benchmarks' peak-memory probes measure the bytes a call allocates, and the probed fixture
records them (with the probe's name) before the timed rounds."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from benchmarks.memory import (
    DEVICE_ALLOCATOR,
    RSS_HWM,
    TRACEMALLOC,
    numpy_work,
    peak_memory,
    rss_hwm_available,
    rss_hwm_peak,
    tracemalloc_peak,
)
from conformance.results import BenchmarkInfo, BenchmarkResult, Kind, write_results

pytest_plugins = ("pytester",)
MIB = 2**20
# Headroom above an array's buffer: NumPy's array object, Python's frames, the allocator's pages.
SLACK = 64 * 1024


def test_tracemalloc_peak_is_the_largest_live_buffer_sum() -> None:
    # two 8 MB float64 buffers alive at once, then one of 4 MB after they are freed: peak 16 MB
    def call() -> None:
        a, b = np.ones(10**6), np.ones(10**6)
        del a, b
        np.ones(5 * 10**5)

    peak = tracemalloc_peak(call)
    assert 16_000_000 <= peak < 16_000_000 + SLACK


def test_tracemalloc_peak_counts_from_the_start_of_the_call() -> None:
    kept = np.ones(10**6)  # allocated before: not part of the call's peak
    assert 0 <= tracemalloc_peak(lambda: kept.sum()) < SLACK


def test_rss_high_water_mark_counts_the_pages_a_call_touches() -> None:
    assert rss_hwm_available()  # Linux: the tests' platform
    # 64 MiB written (every page touched), then freed: the high-water mark rises by 64 MiB, give or
    # take the pages the rest of the process touches or returns meanwhile (the resident set is the
    # whole process's)
    peak = rss_hwm_peak(lambda: np.ones(8 * MIB).sum())
    assert 63 * MIB <= peak < 68 * MIB


def test_numpy_work_is_the_reference_and_the_yardsticks() -> None:
    assert numpy_work(BenchmarkInfo(flops=10))  # a matmul yardstick, a reference op
    assert numpy_work(BenchmarkInfo(backend="torch", runner="reference", examples=128))
    assert not numpy_work(BenchmarkInfo(backend="torch", runner="adapter", examples=128))
    assert not numpy_work(BenchmarkInfo(backend="torch", op="conv2d"))


class _Backend:
    """A backend on ``device`` whose device probe makes the call and reports ``peak``."""

    def __init__(self, device: str, peak: int | None = None) -> None:
        self.device, self.peak, self.probed = device, peak, 0

    def device_peak_memory(self, call) -> int | None:
        call()
        self.probed += 1
        return self.peak


def test_peak_memory_chooses_the_probe_by_who_does_the_work() -> None:
    def call() -> None:
        np.ones(10**6)

    numpy_peak = peak_memory(call, BenchmarkInfo(flops=1), None)
    assert numpy_peak is not None and numpy_peak[1] == TRACEMALLOC and numpy_peak[0] >= 8_000_000
    framework = BenchmarkInfo(backend="torch", op="conv2d")
    cpu = _Backend("cpu", peak=1)
    on_cpu = peak_memory(call, framework, cpu)
    assert on_cpu is not None and on_cpu[1] == RSS_HWM and cpu.probed == 0  # the process, not the device
    gpu = _Backend("cuda:0", peak=12345)
    assert peak_memory(call, framework, gpu) == (12345, DEVICE_ALLOCATOR) and gpu.probed == 1
    assert peak_memory(call, framework, _Backend("cuda:0", peak=None)) is None  # the adapter does not probe


def test_the_fixture_records_the_peak_before_the_timed_rounds(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under pytest-xdist the inner run would inherit the worker's id, and pytest-benchmark
    # disables itself in a worker.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makeconftest(
        "import pytest\n"
        "from benchmarks.memory import probe_memory\n"
        "@pytest.fixture\n"
        "def benchmark(benchmark):\n"
        "    yield probe_memory(benchmark, lambda: None)\n"
    )
    pytester.makepyfile(
        "import json, numpy as np\n"
        "calls = []\n"
        "def allocate(n):\n"
        "    calls.append(n)\n"
        "    return np.ones(n)\n"
        "def test_call(benchmark):\n"
        "    benchmark.pedantic(allocate, args=(10**6,), rounds=2, setup=lambda: calls.append('setup'))\n"
        "    assert calls == [10**6, 'setup', 10**6, 'setup', 10**6]  # the probe's call has no setup\n"
        "    print('INFO', json.dumps(benchmark.extra_info))\n"
    )
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--benchmark-disable-gc")
    result.assert_outcomes(passed=1)
    line = next(line for line in result.outlines if "INFO " in line)
    info = BenchmarkInfo.from_extra_info(json.loads(line.partition("INFO ")[2]))
    assert info.memory_probe == TRACEMALLOC and 8_000_000 <= info.peak_bytes < 8_000_000 + SLACK


def _validate(tmp_path: Path, info: BenchmarkInfo) -> None:
    schema = json.loads((Path(__file__).parent.parent / "conformance" / "results.schema.json").read_text())
    path = tmp_path / "bench.json"
    write_results(path, Kind.BENCHMARKS, {}, [BenchmarkResult("conv", 0.5, info)])
    jsonschema.Draft202012Validator(schema).validate(json.loads(path.read_text()))


def test_the_schema_takes_the_peak_and_its_probe_and_records_without_them(tmp_path: Path) -> None:
    _validate(tmp_path, BenchmarkInfo(op="conv2d", peak_bytes=3 * MIB, memory_probe=RSS_HWM))
    _validate(tmp_path, BenchmarkInfo(op="conv2d"))  # not measured: null and ""
    with pytest.raises(jsonschema.ValidationError, match="'vmrss' is not one of"):
        _validate(tmp_path, BenchmarkInfo(op="conv2d", peak_bytes=1, memory_probe="vmrss"))


def test_a_record_written_before_the_memory_fields_reads_as_not_measured() -> None:
    record = BenchmarkResult("conv", 0.5, BenchmarkInfo(op="conv2d")).to_json()
    del record["peak_bytes"], record["memory_probe"]
    info = BenchmarkResult.from_json(record).info
    assert (info.peak_bytes, info.memory_probe) == (None, "")
