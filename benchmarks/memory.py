"""Peak memory of one untimed call of a benchmarked callable, and the probe that measured it.

Two probes, whose numbers are not comparable with each other:

- ``tracemalloc`` (work done by NumPy: the reference, the matmul yardsticks): the peak of the
  bytes traced above those traced at the start. NumPy reports its array buffers to
  :mod:`tracemalloc`, so this is the peak of the arrays (and Python objects) the call allocated.
- ``rss-hwm`` (a framework on the CPU, Linux only): the process's resident-set high-water mark
  (``VmHWM``, reset by writing ``5`` to ``/proc/self/clear_refs``) minus its resident set at the
  start, after glibc's free memory is handed back (``malloc_trim``). It counts the pages the
  call newly touched: memory a framework pools across calls (a caching allocator) is not counted,
  and a page freed and reused within the call counts once.

- ``device-allocator`` (a framework on an accelerator): the peak of the framework's own device
  allocator during the call above what it held before, from the adapter's
  :meth:`~backends.base.Backend.device_peak_memory` (PyTorch: ``torch.cuda.max_memory_allocated``;
  TensorFlow: ``tf.config.experimental.get_memory_info``). The host's resident set says nothing
  of device memory.

Where none applies nothing is recorded: on another OS, and on an accelerator whose adapter does
not probe it (JAX: its ``memory_stats`` peak cannot be reset between calls; MXNet).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_benchmark.fixture import BenchmarkFixture

from backends import Backend
from conformance.results import BenchmarkInfo

TRACEMALLOC = "tracemalloc"
RSS_HWM = "rss-hwm"
DEVICE_ALLOCATOR = "device-allocator"
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_LIBC_NAME = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_LIBC_NAME) if _LIBC_NAME else None

Call = Callable[[], object]
Peak = tuple[int, str]  # (bytes, probe)


def tracemalloc_peak(call: Call) -> int:
    """Peak bytes traced by :mod:`tracemalloc` during ``call()`` above those traced before it.

    >>> import numpy as np
    >>> tracemalloc_peak(lambda: np.ones(1_000_000)) >= 8_000_000
    True
    """
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        call()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        if not tracing:
            tracemalloc.stop()


def _status_kib(key: str) -> int:
    match = re.search(rf"^{key}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    if match is None:
        raise OSError(f"no {key} in {_STATUS}")
    return int(match.group(1))


def rss_hwm_available() -> bool:
    """Whether this process can reset and read its resident-set high-water mark (Linux)."""
    try:
        _CLEAR_REFS.write_text("5")
        _status_kib("VmHWM")
    except OSError:
        return False
    return True


def rss_hwm_peak(call: Call) -> int:
    """Bytes by which the resident set's high-water mark during ``call()`` exceeds the resident
    set before it (free heap memory trimmed first, so pages reused from it count)."""
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)
    before = _status_kib("VmRSS")
    _CLEAR_REFS.write_text("5")
    call()
    return max(0, _status_kib("VmHWM") - before) * 1024


def numpy_work(info: BenchmarkInfo) -> bool:
    """Whether a benchmark times NumPy code: no backend (the reference's ops, the yardsticks) or
    the reference's LeNet runner."""
    return not info.backend or info.runner == "reference"


def peak_memory(call: Call, info: BenchmarkInfo, backend: Backend | None) -> Peak | None:
    """``(peak bytes, probe)`` of one call of ``call`` for a benchmark described by ``info`` and
    run by ``backend`` (None for NumPy work); None when no probe applies."""
    if numpy_work(info) or backend is None:
        return tracemalloc_peak(call), TRACEMALLOC
    if backend.device == "cpu":
        return (rss_hwm_peak(call), RSS_HWM) if rss_hwm_available() else None
    peak = backend.device_peak_memory(call)
    return None if peak is None else (peak, DEVICE_ALLOCATOR)


class MemoryProbedBenchmark(BenchmarkFixture):
    """pytest-benchmark's ``benchmark`` fixture whose timed calls are preceded by one untimed call
    under :func:`peak_memory`; the peak goes to the record's ``peak_bytes`` and ``memory_probe``.

    :func:`probe_memory` turns the plugin's fixture into one (pytest-benchmark accepts nothing but
    its own class as ``benchmark``). ``pedantic`` probes ``target(*args, **kwargs)`` alone:
    ``setup`` and ``teardown`` are the timed rounds' bookkeeping (the LeNet epoch's yardstick
    turns), not the benchmarked work.
    """

    backend_of_run: Callable[[], Backend | None]

    def _probe(self, call: Call) -> None:
        info = BenchmarkInfo.from_extra_info(self.extra_info)
        peak = peak_memory(call, info, None if numpy_work(info) else self.backend_of_run())
        if peak is not None:
            self.extra_info.update(peak_bytes=peak[0], memory_probe=peak[1])

    def __call__(self, function_to_benchmark: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._probe(lambda: function_to_benchmark(*args, **kwargs))
        return super().__call__(function_to_benchmark, *args, **kwargs)

    def pedantic(self, target: Callable[..., Any], args: tuple = (), kwargs: dict | None = None,
                 **options: Any) -> Any:  # fmt: skip
        self._probe(lambda: target(*args, **(kwargs or {})))
        return super().pedantic(target, args, kwargs, **options)


def probe_memory(fixture: BenchmarkFixture, backend: Callable[[], Backend | None]) -> MemoryProbedBenchmark:
    """``fixture`` (pytest-benchmark's, for one test) as a :class:`MemoryProbedBenchmark`;
    ``backend`` gives the run's backend when a benchmark times a framework."""
    fixture.__class__ = MemoryProbedBenchmark
    fixture.backend_of_run = backend
    return fixture
