"""Check an implementation's outputs, written in the pack's layout, against the pack.

``OUTPUTS/cases/<id>/<output>.npy`` holds each output of each case the
implementation computed. ``OUTPUTS/index.json`` is optional:
``{"pack": <digest>, "implementation": <name>, "not_computed": {<id>: <reason>},
"failed": {<id>: <message>}}`` (every key optional). A case is

- ``not computed`` where the index declares it so (the implementation cannot
  compute it at all, e.g. a backend's ``UnsupportedError``); that is no failure;
- ``fail`` where the index records that the call failed, or an output does not
  conform (:func:`conformance.compare.check_output`: shape, dtype, NaN and
  infinity positions, the bound or the exact rule);
- ``missing`` where an output file is absent and the index declares nothing;
- ``pass`` otherwise.

A malformed pack or outputs folder (a checksum mismatch, a truncated or
foreign file, a manifest that does not fit the schema, an index of another
pack) raises :class:`~conformance.pack.layout.PackError`, naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from conformance.compare import ConformanceError, check_output
from conformance.pack.layout import (
    INDEX,
    PackError,
    files,
    load_json,
    load_manifest,
    output_path,
    read_checked_npy,
    read_npy,
    sha256,
)
from conformance.tolerance import Bound, Exact

PASS, FAIL, MISSING, NOT_COMPUTED = "pass", "fail", "missing", "not computed"
STATUSES = (PASS, FAIL, MISSING, NOT_COMPUTED)


@dataclass(frozen=True)
class Outcome:
    """One case's verdict: status (one of :data:`STATUSES`), worst error/bound ratio, and why."""

    id: str
    op: str
    function: str
    status: str
    ratio: float | None = None
    message: str = ""


def _aux(root: Path, relative: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """A bound's array (``.npy`` of the output's shape and ``dtype``)."""
    return read_checked_npy(root, {"file": relative, "shape": list(shape), "dtype": dtype})


def load_bound(root: Path, output: dict[str, Any]) -> Bound:
    """An output's bound as :func:`~conformance.compare.check_output` takes it."""
    bound, shape = output["bound"], tuple(output["shape"])
    if bound["kind"] == "exact":
        signed = bound["signed"]
        return Exact(signed if isinstance(signed, bool) else _aux(root, signed, shape, "bool"))
    return _aux(root, bound["file"], shape, "float64")


def _index(outputs: Path, digest: str) -> dict[str, Any]:
    path = outputs / INDEX
    if not path.is_file():
        return {}
    index = load_json(path)
    sections = ("not_computed", "failed")
    if not isinstance(index, dict) or not all(isinstance(index.get(key, {}), dict) for key in sections):
        raise PackError(path, "must be an object whose 'not_computed' and 'failed' map case ids to text")
    if index.get("pack", digest) != digest:
        raise PackError(path, f"written for the pack {index['pack']}, not this one ({digest})")
    return index


def check_case(pack: Path, outputs: Path, case: dict[str, Any], index: dict[str, Any]) -> Outcome:
    """The verdict on one case of the manifest (module docstring)."""
    where = {"id": case["id"], "op": case["op"], "function": case["function"]}
    if case["id"] in index.get("not_computed", {}):
        return Outcome(**where, status=NOT_COMPUTED, message=str(index["not_computed"][case["id"]]))
    if case["id"] in index.get("failed", {}):
        return Outcome(**where, status=FAIL, message=f"{case['id']}: {index['failed'][case['id']]}")
    worst = 0.0
    for output in case["outputs"]:
        path = output_path(outputs, case["id"], output["name"])
        if not path.is_file():
            return Outcome(**where, status=MISSING, message=f"{path}: missing (not declared not computed)")
        actual = read_npy(path)
        expected = read_checked_npy(pack, output)
        try:
            worst = max(worst, check_output(output["name"], actual, expected, load_bound(pack, output)))
        except ConformanceError as error:
            return Outcome(
                **where, status=FAIL, ratio=error.ratio, message=f"{path}: {error} [{case['call']}]"
            )
    return Outcome(**where, status=PASS, ratio=worst)


def verify(pack: Path, outputs: Path) -> list[Outcome]:
    """Every case's verdict, in manifest order; :class:`PackError` on a malformed pack or outputs folder."""
    manifest = load_manifest(pack)
    if not outputs.is_dir():
        raise PackError(outputs, "missing: no outputs folder")
    index = _index(outputs, sha256(pack / "SHA256SUMS"))
    known = {INDEX} | {
        output_path(Path(), case["id"], output["name"]).as_posix()
        for case in manifest["cases"]
        for output in case["outputs"]
    }
    foreign = [name for name in files(outputs) if name not in known]
    if foreign:
        raise PackError(outputs / foreign[0], "foreign file: no case of the pack has this output")
    return [check_case(pack, outputs, case, index) for case in manifest["cases"]]


def table(outcomes: list[Outcome]) -> list[str]:
    """The per-function table: op, function, cases, one column per status, worst ratio."""
    rows: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in outcomes:
        rows.setdefault((outcome.op, outcome.function), []).append(outcome)
    header = ("op", "function", "cases", *STATUSES, "worst ratio")
    lines = [header]
    for (op, name), group in rows.items():
        counts = [sum(outcome.status == status for outcome in group) for status in STATUSES]
        ratios = [outcome.ratio for outcome in group if outcome.ratio is not None]
        worst = f"{max(ratios):.3g}" if ratios else "-"
        lines.append((op, name, str(len(group)), *map(str, counts), worst))
    totals = [sum(outcome.status == status for outcome in outcomes) for status in STATUSES]
    lines.append(("all", "", str(len(outcomes)), *map(str, totals), ""))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines]
