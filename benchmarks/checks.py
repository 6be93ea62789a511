"""What every op benchmark does before it times anything: check the prepared op against the reference.

A benchmark times :attr:`backends.base.Prepared.run`; a no-op or a wrong
kernel would report a high GFLOP/s. So :func:`prepare_checked` calls the timed
path once, copies its outputs to NumPy (:meth:`~backends.base.Prepared.fetch`)
and compares them with the reference under the conformance suite's rules
(:func:`conformance.compare.check_output`, bounds from the op's spec,
:func:`conformance.specs.bounds`), raising
:class:`conformance.compare.ConformanceError` on a mismatch.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from backends.base import Backend, Prepared
from conformance.compare import ConformanceError, check_output
from conformance.specs import bounds, function
from reference.validation import result_dtype


def primal_count(op: str) -> int:
    """How many arrays the VJP of ``op`` differentiates: its parameters before ``dY``."""
    spec, _ = function(op)
    if spec.vjp is None:
        raise ValueError(f"{op} has no VJP to check a backward pass against")
    return list(inspect.signature(spec.vjp.reference).parameters).index("dY")


def expected_outputs(
    op: str, arrays: tuple[np.ndarray, ...], dY: np.ndarray | None, kwargs: dict[str, Any]
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """The reference's outputs of a prepared ``op``, each with its bound (or ``EXACT``).

    Forward (``dY`` None): ``op(*arrays)``. Backward: the gradients of
    ``sum(op(*arrays) * dY)`` with respect to each array, from ``<op>_vjp``.
    """
    dtype = result_dtype(*arrays) if dY is None else result_dtype(*arrays, dY)
    if dY is None:
        outputs = (function(op)[1].reference(*arrays, **kwargs),)
        return list(zip(outputs, bounds(op, arrays, kwargs, dtype), strict=True))
    primals = arrays[: primal_count(op)]
    if len(primals) != len(arrays):
        raise ValueError(f"a checked {op} backward takes {len(primals)} arrays, got {len(arrays)}")
    vjp = function(op)[0].vjp  # primal_count checked it exists
    grads = vjp.reference(*primals, dY, **kwargs)
    grads = grads if isinstance(grads, tuple) else (grads,)
    checks = zip(grads, bounds(vjp.name, (*primals, dY), kwargs, dtype), strict=True)
    return list(checks)[: len(primals)]  # conv2d_vjp's db has no input array here


def check_prepared(
    prepared: Prepared,
    op: str,
    arrays: tuple[np.ndarray, ...],
    dY: np.ndarray | None,
    kwargs: dict[str, Any],
) -> float:
    """Run ``prepared`` once and compare its outputs with the reference; the worst error/bound ratio.

    Raises :class:`~conformance.compare.ConformanceError` when an output is
    missing, has another shape or dtype, or lies outside its bound.
    """
    __tracebackhide__ = True
    expected = expected_outputs(op, arrays, dY, kwargs)
    actual = prepared.fetch()
    pass_ = "forward" if dY is None else "gradient"
    if len(actual) != len(expected):
        raise ConformanceError(f"prepared {op} {pass_} gave {len(actual)} outputs, reference {len(expected)}")
    worst = 0.0
    for index, (value, (reference_value, bound)) in enumerate(zip(actual, expected, strict=True)):
        name = f"prepared {op} {pass_} output {index}"
        worst = max(worst, check_output(name, value, reference_value, bound))
    return worst


def prepare_checked(
    backend: Backend,
    op: str,
    *arrays: np.ndarray,
    backward: bool = False,
    dY: np.ndarray | None = None,
    **kwargs: Any,
) -> tuple[Prepared, float]:
    """``backend.prepare(...)`` (same arguments), checked once by :func:`check_prepared`.

    Returns the prepared op, ready to time, and the check's worst error/bound ratio.
    """
    __tracebackhide__ = True
    prepared = backend.prepare(op, *arrays, backward=backward, dY=dY, **kwargs)
    return prepared, check_prepared(prepared, op, arrays, dY if backward else None, kwargs)
