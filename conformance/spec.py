"""One record per op (PyTorch OpInfo, smaller): everything the suite needs to check it.

An :class:`OpSpec` names the op's reference function, its argument validator,
its public callables (:class:`Function`: the forward and, where it has them, the
vector-Jacobian and Jacobian-vector products, each with its output names and
error bound), its
named cases, a Hypothesis strategy of generated cases, its invalid calls and
the sizes it is benchmarked at. The registry of every spec is
:mod:`conformance.specs`; tests, the runner, the tolerance policy's callers and
the benchmarks iterate it, so adding an op touches its reference function, its
spec, one method per adapter and its tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis.strategies import SearchStrategy

import reference
from conformance.cases import Case
from conformance.error_cases import ErrorCase
from conformance.space import Space
from conformance.tolerance import Bounds
from conformance.workloads import Workload

BoundFn = Callable[[list[np.ndarray], dict[str, Any], np.dtype], Bounds]
# The chapter's sections in reading order (d2l-en chapter_convolutional-neural-networks);
# the registry lists the ops in this order.
CHAPTER_SECTIONS = ("conv-layer", "padding-and-strides", "channels", "pooling", "lenet")


class SpecError(ValueError):
    """A spec that cannot be used: the message names the op and what is missing."""


@dataclass(frozen=True)
class Function:
    """One public callable of an op: ``reference.<name>``, its output names and their bound.

    ``bound(arrays, kwargs, dtype)`` returns one bound per output, in ``outputs`` order
    (an array of the output's shape, or an :class:`~conformance.tolerance.Exact`).
    """

    name: str
    outputs: tuple[str, ...]
    bound: BoundFn | None

    @property
    def reference(self) -> Callable[..., Any]:
        """``reference.<name>``, the function every backend is checked against."""
        return getattr(reference, self.name)


@dataclass(frozen=True)
class OpSpec:
    """An op: its validator, forward, VJP and JVP, named and generated cases, invalid calls, workloads.

    ``section``: the chapter section that introduces the op (one of
    :data:`CHAPTER_SECTIONS`). ``cases()`` yields the named cases of the op's functions; ``strategy`` draws
    generated ones (None: the op has none); ``space`` is its adversarial argument
    space; ``errors`` are its invalid calls; ``workloads`` the sizes
    :mod:`benchmarks.test_backend_ops` times it at.
    """

    name: str
    section: str
    validate: Callable[..., Any]
    forward: Function
    cases: Callable[[], Iterable[Case]]
    vjp: Function | None = None
    jvp: Function | None = None
    strategy: SearchStrategy[Case] | None = None
    space: Space | None = None
    errors: tuple[ErrorCase, ...] = ()
    workloads: tuple[Workload, ...] = ()

    @property
    def reference(self) -> Callable[..., Any]:
        """The reference implementation of the forward function."""
        return self.forward.reference

    @property
    def functions(self) -> tuple[Function, ...]:
        """The forward, then the VJP and the JVP where the op has them."""
        return tuple(function for function in (self.forward, self.vjp, self.jvp) if function is not None)

    def check(self) -> None:
        """Raise :class:`SpecError`, naming the op, unless the spec is complete."""
        if self.section not in CHAPTER_SECTIONS:
            raise SpecError(f"op {self.name!r}: section {self.section!r} is not one of {CHAPTER_SECTIONS}")
        if self.workloads and self.vjp is None:
            raise SpecError(f"op {self.name!r} has workloads but no VJP to time forward+backward")
        for function in self.functions:
            if not hasattr(reference, function.name):
                raise SpecError(f"op {self.name!r}: reference.{function.name} does not exist")
            if function.bound is None:
                raise SpecError(f"op {self.name!r}: {function.name} has no error bound")
            if not function.outputs:
                raise SpecError(f"op {self.name!r}: {function.name} declares no outputs")
        names = {function.name for function in self.functions}
        cases = list(self.cases())
        if not cases:
            raise SpecError(f"op {self.name!r} has no named cases")
        if self.space is not None:
            if "dtype" not in self.space.names:
                raise SpecError(f"op {self.name!r}: its space has no dtype factor")
            cases += self.space.build(self.space.rows()[0], 0, "pairwise")
        strays = sorted({case.op for case in cases} - names)
        if strays:
            raise SpecError(f"op {self.name!r}: named cases call {strays}, not one of {sorted(names)}")
        if self.jvp is not None and self.vjp is None:
            raise SpecError(f"op {self.name!r} has a JVP but no VJP to check it by <J t, c> = <t, J^T c>")


def check_registry(specs: Sequence[OpSpec]) -> dict[str, OpSpec]:
    """The specs by name, in chapter order (by section, then as given), after each one's
    :meth:`OpSpec.check`.

    Raises :class:`SpecError` naming the op on an incomplete spec, or on a name
    (of an op or of one of its functions) that two specs share.
    """
    registry: dict[str, OpSpec] = {}
    owners: dict[str, str] = {}
    for spec in specs:
        spec.check()
    for spec in sorted(specs, key=lambda spec: CHAPTER_SECTIONS.index(spec.section)):
        if spec.name in registry:
            raise SpecError(f"op {spec.name!r} is specified twice")
        registry[spec.name] = spec
        for function in spec.functions:
            if function.name in owners and owners[function.name] != spec.name:
                raise SpecError(
                    f"op {spec.name!r}: {function.name} is already specified by op {owners[function.name]!r}"
                )
            owners[function.name] = spec.name
    return registry
