"""The registry of op specs, in chapter order, and what the suite derives from it.

``SPECS`` maps each op's name to its :class:`~conformance.spec.OpSpec`; every
spec is checked at import (:func:`conformance.spec.check_registry`), so an
incomplete spec fails loudly, naming its op. Adding an op adds its spec to its
family module's ``SPECS`` tuple; nothing else in the suite lists ops.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from conformance.cases import Case
from conformance.error_cases import ErrorCase
from conformance.half import half_cases
from conformance.spec import Function, OpSpec, SpecError, check_registry
from conformance.specs import activations, chapter, conv, dense, flatten, loss, pool
from conformance.tolerance import Bounds

__all__ = ["SPECS", "all_cases", "bounds", "error_cases", "function", "unique"]

# Each family module of this package ends with its ``SPECS`` tuple; an op added to a
# family is registered by its spec alone. Within a chapter section, this order.
_FAMILIES = (chapter, conv, pool, activations, flatten, dense, loss)
SPECS: Mapping[str, OpSpec] = check_registry([spec for family in _FAMILIES for spec in family.SPECS])
_FUNCTIONS: dict[str, tuple[OpSpec, Function]] = {
    function.name: (spec, function) for spec in SPECS.values() for function in spec.functions
}


def function(name: str) -> tuple[OpSpec, Function]:
    """The spec and the :class:`Function` of a public callable, e.g. ``"conv2d_vjp"``."""
    try:
        return _FUNCTIONS[name]
    except KeyError:
        raise SpecError(f"no op spec has a function {name!r}; specified: {', '.join(_FUNCTIONS)}") from None


def unique(ids: Sequence[str], what: str) -> None:
    """Raise :class:`SpecError` naming the first few ids that occur more than once."""
    duplicates = sorted(i for i, count in Counter(ids).items() if count > 1)
    if duplicates:
        raise SpecError(f"duplicate {what} ids: {duplicates[:5]}")


def all_cases() -> list[Case]:
    """Every named case of every spec, their half-precision mirrors (:mod:`conformance.half`),
    then the pairwise-covering cases of each space; ids unique."""
    cases = [case for spec in SPECS.values() for case in spec.cases()]
    cases += half_cases(cases)
    cases += [case for spec in SPECS.values() if spec.space is not None for case in spec.space.cases()]
    unique([case.id for case in cases], "case")
    return cases


def error_cases() -> list[ErrorCase]:
    """Every invalid call of every spec, in registry order; ids unique."""
    cases = [case for spec in SPECS.values() for case in spec.errors]
    unique([case.id for case in cases], "error case")
    return cases


def bounds(name: str, arrays: Sequence[np.ndarray], kwargs: dict[str, Any], dtype: Any) -> Bounds:
    """One bound per output of the function ``name``: an array of the output's shape, or an ``Exact``."""
    _, spec_function = function(name)
    return spec_function.bound(list(arrays), kwargs, np.dtype(dtype))
