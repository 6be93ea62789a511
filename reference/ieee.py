"""IEEE 754 semantics without NumPy's floating-point warnings.

NaN and infinite inputs, and results that overflow to infinity or underflow to
zero, are defined results of the reference's ops (README, "Semantics"), not
errors: the public ops (``reference.<op>``) run under :func:`ieee`, so they
neither warn nor raise under a caller's ``np.errstate``. The wrapper is applied
in ``reference/__init__.py``, not as a decorator, so that the modules' functions
stay plain (mutmut does not mutate decorated functions).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import numpy as np

P = ParamSpec("P")
R = TypeVar("R")


def ieee(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` run with every NumPy floating-point error ignored (IEEE's default results)."""

    @functools.wraps(function)
    def quiet(*args: P.args, **kwargs: P.kwargs) -> R:
        with np.errstate(all="ignore"):
            return function(*args, **kwargs)

    return quiet
