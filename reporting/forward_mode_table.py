"""The forward-mode table: per JVP function and backend, the checks against the reference and
against the backend's own VJP (the dot-product identity), and the LeNet Hessian-vector products.

Reads the conformance records (:class:`~reporting.collect.Found`): a JVP function's cases of
source ``dot-product`` are the identity's checks (:mod:`conformance.dot_product`), its other
cases the comparison with the reference; ``lenet_hvp`` records are the HVP checks
(:mod:`conformance.lenet_hvp`).
"""

from __future__ import annotations

from conformance.results import CaseResult
from conformance.specs import SPECS
from reporting.collect import Cell, Found, Table, status_cell

DOT_PRODUCT = "dot-product"
CHECKS = (
    ("against the reference", lambda case: case.source != DOT_PRODUCT),
    ("<J t, c> = <t, J^T c> (own VJP)", lambda case: case.source == DOT_PRODUCT),
)


def _cell(cases: list[CaseResult]) -> Cell | str:
    return status_cell(cases) if cases else "-"


def forward_mode_table(found: Found) -> Table:
    """Rows: each JVP function twice (reference, dot product), then the LeNet HVP; a column per backend."""
    backends = [b for b in found.backends if b in found.conformance]
    by_op = {b: list(found.cases(b)) for b in backends}
    rows: list[list[str | Cell]] = []
    for spec in SPECS.values():
        if spec.jvp is None:
            continue
        for label, selected in CHECKS:
            cells = [_cell([c for c in by_op[b] if c.op == spec.jvp.name and selected(c)]) for b in backends]
            rows.append([spec.jvp.name, label, *cells])
    hvp = [_cell([c for c in by_op[b] if c.op == "lenet_hvp"]) for b in backends]
    rows.append(["lenet_hvp", "forward over reverse vs central differences of the float64 gradient", *hvp])
    return Table(
        "Forward mode: JVPs and Hessian-vector products",
        ["function", "check", *backends],
        rows,
        "Each cell: pass/fail/error/gap/fixed counts · the worst error-to-bound ratio. A JVP against "
        "the reference uses the op's JVP bound; the dot-product check compares a backend's JVP with its "
        "own VJP (no reference), within both sides' bounds; the HVP of the LeNet loss (both variants, "
        "float32 and float64) is compared with central differences of the reference gradient "
        "(truncation, the difference's float64 rounding and the backend's own rounding). MXNet and the "
        "ONNX Runtime plugin have no forward mode: declared gaps.",
        "No conformance results.",
    )
