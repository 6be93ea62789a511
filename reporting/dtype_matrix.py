"""The dtype matrix: per backend and dtype, how the forward ops, the VJPs, the JVPs and LeNet fared."""

from __future__ import annotations

from collections import Counter

from conformance.results import CaseResult, Status
from conformance.specs import SPECS
from reporting.collect import Cell, Found, Table, Tone

DTYPES = ("float64", "float32", "float16", "bfloat16")
PARTS = ("forward", "VJP", "JVP", "LeNet")
_VJPS = {spec.vjp.name for spec in SPECS.values() if spec.vjp is not None}
_JVPS = {spec.jvp.name for spec in SPECS.values() if spec.jvp is not None}
_FORWARDS = {spec.forward.name for spec in SPECS.values()}


def part_of(case: CaseResult) -> str | None:
    """``forward``, ``VJP``, ``JVP`` or ``LeNet`` for a record of an op function (checked against the
    reference: not a dot-product check) or a LeNet check, else None."""
    if case.op.startswith("lenet_"):
        return "LeNet"
    if case.op in _VJPS:
        return "VJP"
    if case.op in _JVPS:
        return "JVP" if case.source != "dot-product" else None
    return "forward" if case.op in _FORWARDS else None


def count_cell(cases: list[CaseResult]) -> Cell | str:
    """``passed / gap / failed`` (failed: fail, error or a fixed gap); "-" when there are none.

    Bad with a failure, neutral with a gap, good when every check passed.
    """
    if not cases:
        return "-"
    counts = Counter(case.status for case in cases)
    failed = counts[Status.FAIL] + counts[Status.ERROR] + counts[Status.FIXED]
    text = f"{counts[Status.PASS]} / {counts[Status.GAP]} / {failed}"
    if failed:
        return Cell(text, Tone.BAD)
    return Cell(text, Tone.NEUTRAL if counts[Status.GAP] else Tone.GOOD)


def dtype_matrix(found: Found) -> Table:
    """Backend x part (forward, VJP, JVP, LeNet) rows, one column per dtype: passed / gap / failed counts."""
    rows: list[list[str | Cell]] = []
    for backend in (b for b in found.backends if b in found.conformance):
        groups: dict[tuple[str, str], list[CaseResult]] = {}
        for case in found.cases(backend):
            part = part_of(case)
            if part is not None and case.dtype in DTYPES:
                groups.setdefault((part, case.dtype), []).append(case)
        for part in PARTS:
            rows.append([backend, part, *(count_cell(groups.get((part, dtype), [])) for dtype in DTYPES)])
    return Table(
        "Dtype matrix",
        ["backend", "checks", *DTYPES],
        rows,
        "Each cell: checks passed / declared gaps / failed (fail, error or a gap that now passes) of "
        "the forward op functions, their VJPs, their JVPs (against the reference), or the LeNet checks, "
        "in that dtype. float16 and bfloat16 "
        "mirror a few of each function's float32 named cases, check each backend's declared "
        "accumulation dtype, and check the LeNet logits; their bounds use the dtype's unit roundoff "
        "(2**-11, 2**-8) and the dtype each backend sums in.",
    )
