"""Half-precision cases: a few of each function's named float32 cases, in float16 and bfloat16.

Every op is checked in both 16-bit dtypes, forward and VJP, without doubling the
suite: of each function's float32 named cases, every chapter case and up to
:data:`PER_SOURCE` cases of each other source (grid, ties, special), spread
evenly over the source's cases, are mirrored: the same inputs (drawn in float64,
rounded once to the dtype), arguments and seed, the id's ``f32`` replaced by
``f16`` or ``bf16``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

from conformance.cases import HALF, Case, suffix

PER_SOURCE = 3  # mirrored cases per function and source, the chapter's excepted (all of them)
_F32 = re.compile(r"-f32(?=-|$)")


def mirror(case: Case, dtype: str) -> Case:
    """``case`` (a float32 case) in ``dtype``: same inputs, arguments and seed, id re-suffixed."""
    if case.dtype != "float32" or not _F32.search(case.id):
        raise ValueError(f"mirror takes a float32 case whose id holds '-f32', got {case.id!r} ({case.dtype})")
    return replace(case, id=_F32.sub(f"-{suffix(dtype)}", case.id, count=1), dtype=dtype)


def _spread(cases: list[Case], count: int) -> list[Case]:
    """``count`` cases evenly spaced over ``cases`` (all of them when there are fewer)."""
    if len(cases) <= count:
        return cases
    return [cases[i * len(cases) // count] for i in range(count)]


def half_cases(named: Iterable[Case]) -> list[Case]:
    """The float16 and bfloat16 mirrors of a selection of ``named`` (module docstring)."""
    by_source: dict[tuple[str, str], list[Case]] = defaultdict(list)
    for case in named:
        if case.dtype == "float32":
            by_source[case.op, case.source].append(case)
    chosen = [
        case
        for (_, source), cases in by_source.items()
        for case in (cases if source == "chapter" else _spread(cases, PER_SOURCE))
    ]
    return [mirror(case, dtype) for dtype in HALF for case in chosen]
