"""An op's adversarial argument space, its pairwise-covering cases and its Hypothesis strategy.

A :class:`Space` lists an op's factors (argument, geometry, fill, layout and
dtype levels, every combination valid by construction: sizes and paddings are
named relative to the window, e.g. ``"minimal"`` or ``"half"``) and builds the
cases of one combination. From it come

- a pairwise-covering set of named cases (:meth:`Space.cases`): every pair of
  levels of two factors meets in at least one case (allpairspy's covering
  array, deterministic), measured by :meth:`Space.coverage`;
- a Hypothesis strategy over the whole space (:meth:`Space.strategy`), run with
  the ``ci`` profile (fast, derandomized) or the ``deep`` one (at least 200
  examples per op and dtype; ``pytest --hypothesis-profile=deep``).
"""

from __future__ import annotations

import functools
import itertools
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from allpairspy import AllPairs
from hypothesis import strategies as st

from conformance.cases import ADVERSARIAL, ArraySpec, Case, suffix

Levels = Mapping[str, Any]
# One call of a combination: (function name, input arrays, keyword arguments).
Call = tuple[str, tuple[ArraySpec, ...], dict[str, Any]]


@dataclass(frozen=True)
class Space:
    """An op's adversarial argument space: factors with finite levels, and the calls of one combination.

    ``factors``: ``(name, levels)`` pairs, every combination of levels valid;
    one is ``"dtype"``. ``calls(levels)``: the calls of one combination (the
    forward and its VJP, with the same inputs).
    """

    factors: tuple[tuple[str, tuple[Any, ...]], ...]
    calls: Callable[[Levels], tuple[Call, ...]]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.factors)

    def rows(self) -> list[dict[str, Any]]:
        """The pairwise-covering combinations (allpairspy's, deterministic)."""
        return [dict(zip(self.names, row, strict=True)) for row in _covering_array(self.factors)]

    def label(self, levels: Levels) -> str:
        """``levels`` as an id fragment: each factor's first four letters and level."""
        return "-".join(
            suffix(levels[name]) if name == "dtype" else f"{name[:4]}{_short(levels[name])}"
            for name in self.names
        )

    def build(self, levels: Levels, seed: int, source: str) -> tuple[Case, ...]:
        """The cases of one combination: ids ``pairwise-<function>-<levels>`` for the covering
        set, ``hyp-<function>-<levels>-<seed>`` for drawn ones (source ``"adversarial"``)."""
        label = self.label(levels)
        cases = []
        for function, inputs, kwargs in self.calls(levels):
            name = (
                f"hyp-{function}-{label}-{seed}" if source == ADVERSARIAL else f"{source}-{function}-{label}"
            )
            cases.append(Case(name, function, inputs, tuple(kwargs.items()), levels["dtype"], seed, source))
        return tuple(cases)

    def cases(self) -> Iterator[Case]:
        """The cases of every pairwise row (source ``"pairwise"``), each seeded from its levels."""
        for levels in self.rows():
            yield from self.build(levels, zlib.crc32(self.label(levels).encode()), "pairwise")

    def strategy(self, dtype: str) -> st.SearchStrategy[tuple[Case, ...]]:
        """The generated cases of one random combination with ``dtype``, over the whole space."""
        others = {name: st.sampled_from(values) for name, values in self.factors if name != "dtype"}
        return st.builds(
            lambda levels, seed: self.build({**levels, "dtype": dtype}, seed, ADVERSARIAL),
            st.fixed_dictionaries(others),
            st.integers(0, 2**31 - 1),
        )

    def coverage(self) -> tuple[int, int]:
        """(pairs of levels that some row holds, pairs possible) over every two factors."""
        return pair_coverage(self.factors, self.rows())


@functools.cache
def _covering_array(factors: tuple[tuple[str, tuple[Any, ...]], ...]) -> tuple[tuple[Any, ...], ...]:
    """allpairspy's rows for ``factors``' levels, computed once per space."""
    return tuple(tuple(row) for row in AllPairs([list(values) for _, values in factors]))


def pair_coverage(
    factors: tuple[tuple[str, tuple[Any, ...]], ...], rows: list[dict[str, Any]]
) -> tuple[int, int]:
    """(distinct pairs of levels of two factors that ``rows`` hold, all such pairs)."""
    names = [name for name, _ in factors]
    held = {(a, repr(row[a]), b, repr(row[b])) for row in rows for a, b in itertools.combinations(names, 2)}
    possible = sum(len(x) * len(y) for (_, x), (_, y) in itertools.combinations(factors, 2))
    return len(held), possible


def _short(value: Any) -> str:
    if isinstance(value, tuple):
        return "x".join(_short(v) for v in value)
    if isinstance(value, bool):
        return "T" if value else "F"
    if value is None:
        return "N"
    return str(value)
