"""The benchmarks' check before timing (benchmarks/checks.py) catches a prepared op that lies.

A fake backend prepares each op in one way: honestly (the naive oracle's float64
result rounded to float32, as a correct float32 kernel returns), as a no-op that returns an
untouched output buffer, with a 1e-3 relative error, with nothing at all, or
with the forward output where the gradients belong. Only the honest one passes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from backends.base import Backend, Prepared
from benchmarks.checks import prepare_checked
from conformance.compare import ConformanceError
from conformance.workloads import ConvWorkload, PoolWorkload
from tests import naive

CONV = ConvWorkload("small-conv", (1, 2, 5, 4), (3, 2, 3, 3), stride=2, padding=1)
POOL = PoolWorkload("small-pool", (2, 3, 7, 6), 3, stride=2, padding=1)


def _unit(shape: tuple[int, ...], index: tuple[int, ...]) -> np.ndarray:
    unit = np.zeros(shape)
    unit[index] = 1.0
    return unit


def _true_outputs(op: str, arrays: tuple, backward: bool, dY: Any, kwargs: dict) -> tuple[np.ndarray, ...]:
    """The op's outputs from the naive loops (float64, rounded once to float32)."""
    if op == "conv2d":
        X, W = (a.astype(np.float64) for a in arrays)
        if not backward:
            return (naive.conv2d(X, W, **kwargs).astype(np.float32),)
        # y = conv(X, W) is linear in each argument: sum(y * dY) = <X, dX> = <W, dW>, so the
        # gradients are read off by probing with unit inputs (one naive conv per element).
        dX, dW = np.zeros_like(X), np.zeros_like(W)
        for index in np.ndindex(X.shape):
            dX[index] = np.sum(naive.conv2d(_unit(X.shape, index), W, **kwargs) * dY)
        for index in np.ndindex(W.shape):
            dW[index] = np.sum(naive.conv2d(X, _unit(W.shape, index), **kwargs) * dY)
        return dX.astype(np.float32), dW.astype(np.float32)
    (X,) = arrays
    if op == "max_pool2d":
        if not backward:
            return (naive.max_pool2d(X, **kwargs).astype(np.float32),)
        return (naive.max_pool2d_grad(X, dY, **kwargs).astype(np.float32),)
    if not backward:
        return (naive.avg_pool2d(X, **kwargs).astype(np.float32),)
    return (naive.avg_pool2d_grad(X, dY, **kwargs).astype(np.float32),)


class FakeBackend:
    """Duck-types :meth:`Backend.prepare`; ``fault`` says how the prepared op misbehaves."""

    name = "fake"

    def __init__(self, fault: str) -> None:
        self.fault = fault

    def prepare(
        self, op: str, *arrays: np.ndarray, backward: bool = False, dY: Any = None, **kwargs: Any
    ) -> Prepared:
        Backend._check_prepare(backward, dY)
        outputs = _true_outputs(op, arrays, backward, dY, kwargs)
        runs: dict[str, Callable[[], Any]] = {
            "honest": lambda: outputs,
            "no-op": lambda: tuple(np.zeros_like(y) for y in outputs),  # the buffers, never written
            "1e-3 relative error": lambda: tuple(y * np.float32(1 + 1e-3) for y in outputs),
            "nothing": lambda: (),
            "forward for gradients": lambda: _true_outputs(op, arrays, False, None, kwargs),
        }
        return Prepared(runs[self.fault], tuple)


FAULTS = ["no-op", "1e-3 relative error", "nothing"]


def _cases() -> list:
    cases = []
    for backward in (False, True):
        cases.append(pytest.param("conv2d", backward, id=f"conv2d-{'backward' if backward else 'forward'}"))
        for op in ("max_pool2d", "avg_pool2d"):
            cases.append(pytest.param(op, backward, id=f"{op}-{'backward' if backward else 'forward'}"))
    return cases


def _prepare(backend: FakeBackend, op: str, backward: bool) -> tuple[Prepared, float]:
    if op == "conv2d":
        X, W, dY = CONV.arrays(np.float32)
        return prepare_checked(
            backend, op, X, W, backward=backward, dY=dY if backward else None, **CONV.kwargs
        )
    X, dY = POOL.arrays(np.float32)
    return prepare_checked(backend, op, X, backward=backward, dY=dY if backward else None, **POOL.kwargs)


@pytest.mark.parametrize(("op", "backward"), _cases())
def test_an_honest_prepared_op_passes(op: str, backward: bool) -> None:
    _, ratio = _prepare(FakeBackend("honest"), op, backward)
    assert 0.0 <= ratio <= 1.0


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(("op", "backward"), _cases())
def test_a_faulty_prepared_op_fails(op: str, backward: bool, fault: str) -> None:
    with pytest.raises(ConformanceError):
        _prepare(FakeBackend(fault), op, backward)


@pytest.mark.parametrize("op", ["conv2d", "max_pool2d", "avg_pool2d"])
def test_forward_outputs_in_place_of_gradients_fail(op: str) -> None:
    with pytest.raises(ConformanceError):
        _prepare(FakeBackend("forward for gradients"), op, backward=True)


def test_prepare_needs_dy_exactly_with_backward() -> None:
    X, W, dY = CONV.arrays(np.float32)
    with pytest.raises(ValueError, match="dY"):
        prepare_checked(FakeBackend("honest"), "conv2d", X, W, backward=True, **CONV.kwargs)
    with pytest.raises(ValueError, match="dY"):
        prepare_checked(FakeBackend("honest"), "conv2d", X, W, dY=dY, **CONV.kwargs)
