"""Known gaps: what a backend cannot do, declared as data and run as strict expected failures.

A gap file (``conformance/known_gaps.toml``, or a backend folder's own
``known_gaps.toml``) holds one ``[[gap]]`` table per gap:

- ``backend``: the backend's registered name;
- ``op``: an op spec's name (its forward and VJP), one public function
  (``conv2d_vjp``), or a LeNet check (``lenet_logits``, ...);
- ``cases``: an ``fnmatch`` pattern over result ids (``"*"`` for all; generated
  cases have ids ``hyp-<function>-...``);
- ``reason``: why, in a sentence;
- ``upstream``: where the limitation is tracked (a link; required, may be
  empty only when the gap is not a framework limitation).

The conformance plugin marks every matching test ``xfail(strict=True)`` at
collection; an entry for the running backend that matches no collected test is
an error (the file cannot go stale), and so is an entry naming an unknown op or
a malformed one. The runner records a declared case that fails as status
``gap`` and one that passes as ``fixed`` (and the strict xfail fails the run).
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.lenet_checks import LENET_OPS
from conformance.specs import SPECS, error_cases

GAPS_FILE = Path(__file__).with_name("known_gaps.toml")
REQUIRED = ("backend", "op", "cases", "reason", "upstream")


class GapFileError(ValueError):
    """A gap file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Gap:
    """One declared gap; ``where`` names its file and entry (``known_gaps.toml, gap 2``)."""

    backend: str
    op: str
    cases: str
    reason: str
    upstream: str
    where: str

    def functions(self) -> tuple[str, ...]:
        """The public functions (or LeNet check names) the gap covers."""
        spec = SPECS.get(self.op)
        return tuple(function.name for function in spec.functions) if spec else (self.op,)

    def matches(self, op: str, result_id: str) -> bool:
        """Whether the gap covers the check ``result_id`` of function ``op``."""
        return op in self.functions() and fnmatch.fnmatchcase(result_id, self.cases)

    def removal(self) -> str:
        """What to do when the gap's cases pass."""
        return f"known gap {self.where} ({self.op}, {self.cases!r}) now passes: remove the entry"


def known_ops() -> set[str]:
    """Every name a gap's ``op`` may take."""
    names = set(SPECS) | {function.name for spec in SPECS.values() for function in spec.functions}
    return names | {case.op for case in error_cases()} | set(LENET_OPS)


def parse(text: str, source: str) -> list[Gap]:
    """The gaps of one file's ``text``; :class:`GapFileError` names ``source`` and the entry."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise GapFileError(f"{source}: {error}") from None
    if set(document) - {"gap"}:
        raise GapFileError(
            f"{source}: unknown top-level keys {sorted(set(document) - {'gap'})}; use [[gap]] tables"
        )
    ops = known_ops()
    gaps = []
    for number, entry in enumerate(document.get("gap", []), start=1):
        where = f"{source}, gap {number}"
        missing = [key for key in REQUIRED if key not in entry]
        unknown = sorted(set(entry) - set(REQUIRED))
        if missing or unknown:
            raise GapFileError(
                f"{where}: missing keys {missing}, unknown keys {unknown} (allowed: {list(REQUIRED)})"
            )
        if not all(isinstance(entry[key], str) for key in REQUIRED):
            raise GapFileError(f"{where}: every value must be a string")
        if not entry["reason"].strip():
            raise GapFileError(f"{where}: the reason is empty")
        if entry["op"] not in ops:
            raise GapFileError(f"{where}: unknown op {entry['op']!r}")
        gaps.append(Gap(**{key: entry[key] for key in REQUIRED}, where=where))
    return gaps


def load(backend: str, files: Iterable[Path]) -> list[Gap]:
    """The gaps of ``backend`` declared in those of ``files`` that exist."""
    gaps = [gap for path in files if path.is_file() for gap in parse(path.read_text(), str(path))]
    return [gap for gap in gaps if gap.backend == backend]


def find(gaps: Sequence[Gap], op: str, result_id: str) -> Gap | None:
    """The first gap covering check ``result_id`` of function ``op``, if any."""
    return next((gap for gap in gaps if gap.matches(op, result_id)), None)


def stale(gaps: Sequence[Gap], checks: Iterable[tuple[str, str]]) -> list[Gap]:
    """The gaps that match none of ``checks`` (``(function, result id)`` pairs)."""
    checks = list(checks)
    return [gap for gap in gaps if not any(gap.matches(op, result_id) for op, result_id in checks)]
