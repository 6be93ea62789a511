"""Invalid calls as data: each record is a call, the exception and what its message names.

The same records run against the reference (``tests/test_validation.py``) and
against every backend (``conformance/test_errors.py``): ``case.call(ops)``
calls the op on ``ops``, the ``reference`` module or a backend, so errors are
checked to be identical everywhere. Each message must contain every string
of ``mentions`` (the argument's name and its bad value). The records live
with their op's spec (:mod:`conformance.specs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import reference

X4 = np.ones((1, 1, 4, 4))  # a valid image batch
W3 = np.ones((1, 1, 3, 3))  # a valid conv weight for it
Y2 = np.ones((1, 1, 2, 2))  # conv2d(X4, W3) has this shape

VE, TE = ValueError, TypeError


@dataclass(frozen=True)
class ErrorCase:
    """``call(ops)`` must raise exactly ``error`` with a message holding each of ``mentions``.

    ``id`` starts with the name of the public function it calls (or ``function`` names the op its
    record is filed under, as for the LeNet models' arguments).
    """

    id: str
    call: Callable[[Any], object]
    error: type[Exception]
    mentions: tuple[str, ...]  # each must occur in the message (plain text, not regex)
    function: str = ""  # the op its record is filed under when that is no function of reference.__all__

    def __repr__(self) -> str:
        return self.id

    @property
    def result_id(self) -> str:
        """The id of its record in the results file."""
        return f"error-{self.id}"

    @property
    def op(self) -> str:
        """``function`` if set, else the public function it calls: the longest name of ``reference.__all__``
        its id starts with."""
        if self.function:
            return self.function
        return max((name for name in reference.__all__ if self.id.startswith(name + "-")), key=len)


def E(case_id: str, call: Callable[[Any], object], error: type[Exception], *mentions: str) -> ErrorCase:  # noqa: N802 - a short name keeps the tables readable
    """An :class:`ErrorCase`, positionally."""
    return ErrorCase(case_id, call, error, mentions)
