"""The adapter's device-memory probe (``Backend.device_peak_memory``), which the benchmarks record
as ``device-allocator`` for a framework on an accelerator.

On the CPU every adapter returns None (the benchmarks probe the process there). On an
accelerator, the frameworks whose allocator keeps a resettable peak (PyTorch's caching allocator,
TensorFlow's GPU allocator) return at least the bytes of the output their call allocated; the
others return None (not probed).
"""

from __future__ import annotations

import numpy as np

PROBED_FRAMEWORKS = {"torch", "tensorflow"}


def test_the_device_probe_counts_at_least_the_output_of_the_call(backend) -> None:
    if backend.device == "cpu":
        assert backend.device_peak_memory(lambda: None) is None
        return
    X, W = np.ones((8, 16, 32, 32), np.float32), np.ones((16, 16, 3, 3), np.float32)
    prepared = backend.prepare("conv2d", X, W)
    prepared.run()  # compiled and warmed before it is probed
    peak = backend.device_peak_memory(prepared.run)
    if backend.framework in PROBED_FRAMEWORKS:
        assert peak is not None and peak >= 8 * 16 * 30 * 30 * 4  # the float32 output, (8, 16, 30, 30)
    else:
        assert peak is None
