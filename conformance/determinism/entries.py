"""What the determinism check runs: each op function once, each op workload forward and backward,
and one LeNet training step per variant, all float32 with fixed seeds.

An :class:`Entry` is a name and a callable that takes a backend and returns its output arrays;
calling it twice must give the same inputs (every array is made from a seed inside the call).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backends.base import Backend
from conformance.cases import ArraySpec, Case
from conformance.specs import SPECS
from reference import lenet

LENET_BATCH = 128
"""Examples in the LeNet step's batch (the chapter's batch size)."""


@dataclass(frozen=True)
class Entry:
    """One computation of the check: ``run(backend)`` returns its outputs (a tuple of arrays)."""

    name: str
    op: str
    run: Callable[[Backend], tuple[np.ndarray, ...]]


def _largest_case(function: str) -> Case | None:
    """The float32 named case of ``function`` with the most input elements, finite, C-contiguous."""
    spec = next(spec for spec in SPECS.values() if function in {spec.forward.name, *_vjp_name(spec)})
    cases = [
        case
        for case in spec.cases()
        if case.op == function and case.dtype == "float32" and all(_plain(array) for array in case.inputs)
    ]
    return max(cases, key=lambda case: sum(int(np.prod(a.shape)) for a in case.inputs), default=None)


def _plain(array: ArraySpec) -> bool:
    """Finite values (no special or adversarial fill) in C order."""
    finite = array.fill in ("normal", "ties", "given") or array.fill.startswith("labels:")
    return finite and array.layout == "C"


def _vjp_name(spec) -> tuple[str, ...]:
    return (spec.vjp.name,) if spec.vjp else ()


def _call(case: Case) -> Callable[[Backend], tuple[np.ndarray, ...]]:
    def run(backend: Backend) -> tuple[np.ndarray, ...]:
        value = getattr(backend, case.op)(*case.arrays(), **case.kw)
        return tuple(np.asarray(v) for v in (value if isinstance(value, tuple) else (value,)))

    return run


def _prepared(op: str, workload, backward: bool) -> Callable[[Backend], tuple[np.ndarray, ...]]:
    def run(backend: Backend) -> tuple[np.ndarray, ...]:
        *primals, dY = workload.arrays(np.float32)
        prepared = backend.prepare(
            op, *primals, backward=backward, dY=dY if backward else None, **workload.kwargs
        )
        prepared.run()
        return tuple(np.asarray(v) for v in prepared.fetch())

    return run


def lenet_batch(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A (128, 1, 28, 28) float32 batch of pixels uniform in [0, 1) and int64 labels 0-9."""
    rng = np.random.default_rng(seed)
    X = rng.random((LENET_BATCH, 1, 28, 28), dtype=np.float32)
    return X, rng.integers(0, 10, LENET_BATCH).astype(np.int64)


def _lenet_step(variant: str) -> Callable[[Backend], tuple[np.ndarray, ...]]:
    def run(backend: Backend) -> tuple[np.ndarray, ...]:
        model = backend.lenet(variant, "float32")
        model.load_params(lenet.init_params(0, np.float32))
        X, y = lenet_batch()
        loss, _ = model.train_step(X, y, 0.1)
        params = model.params()
        return (np.float32(loss), *(params[name] for name in lenet.PARAM_SHAPES))

    return run


def entries(workloads: str = "lenet", only: tuple[str, ...] = ()) -> list[Entry]:
    """Every entry, in the registry's order: op functions (their largest plain float32 named
    case), then the op workloads whose name starts with ``workloads`` (``"lenet"``: LeNet's
    sizes; ``""``: all, up to ResNet sizes) forward and forward+backward, then LeNet steps.
    ``only``: keep the entries whose name contains one of these strings (case-insensitive)."""
    chosen = [
        entry for entry in _all(workloads) if not only or any(s.lower() in entry.name.lower() for s in only)
    ]
    if not chosen:
        raise ValueError(f"no determinism entry matches {list(only)}")
    return chosen


def _all(workloads: str) -> list[Entry]:
    found: list[Entry] = []
    for spec in SPECS.values():
        for function in (spec.forward.name, *_vjp_name(spec)):
            case = _largest_case(function)
            if case is not None:
                found.append(Entry(f"{function}[{case.id}]", spec.name, _call(case)))
    for spec in SPECS.values():
        for workload in spec.workloads:
            if workload.name.startswith(workloads):
                for backward in (False, True):
                    pass_ = "forward+backward" if backward else "forward"
                    found.append(
                        Entry(
                            f"{spec.name} {workload.name} {pass_}",
                            spec.name,
                            _prepared(spec.name, workload, backward),
                        )
                    )
    found += [
        Entry(f"LeNet {variant} train step", "lenet", _lenet_step(variant)) for variant in lenet.VARIANTS
    ]
    return found
