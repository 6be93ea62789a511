"""Choosing between two ways of computing the same thing by timing them on the caller's data.

Used where which way is faster depends on the machine (the TensorFlow LeNet's XLA, the
PyTorch LeNet's conv1 gradient): each way runs in turns after one warm-up turn (compilation,
allocation), and the best of ``turns`` decides. The ways' results must agree, so the way not
chosen is checked against the chosen one, which the conformance suite checks against the
reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import numpy as np

Way = TypeVar("Way")
AGREEMENT = 1e-3  # relative to the largest magnitude of each result


def faster(ways: Mapping[Way, Callable[[], Sequence[np.ndarray]]], what: str, turns: int = 3) -> Way:
    """The key of the fastest of ``ways`` (each a call returning its results as NumPy arrays, which
    waits for a device to finish).

    Raises ``RuntimeError`` naming ``what`` unless every way's results agree with the first way's
    within :data:`AGREEMENT` times the largest magnitude of each result.
    """
    seconds: dict[Way, list[float]] = {way: [] for way in ways}
    results: dict[Way, Sequence[np.ndarray]] = {}
    for _ in range(turns + 1):
        for way, run in ways.items():
            start = time.perf_counter()
            results[way] = run()
            seconds[way].append(time.perf_counter() - start)
    first, *others = results.values()
    for other in others:
        for expected, actual in zip(first, other, strict=True):
            scale = float(np.abs(expected).max(initial=0.0))
            if not np.allclose(expected, actual, rtol=AGREEMENT, atol=AGREEMENT * scale):
                worst = float(np.abs(expected - actual).max())
                raise RuntimeError(f"{what} disagree between ways: largest difference {worst} of {scale}")
    return min(seconds, key=lambda way: min(seconds[way][1:]))
