"""The forward-mode table from synthetic records: JVPs against the reference and by the
dot-product identity in separate rows, the LeNet HVP in its own, gaps neutral, failures bad."""

from __future__ import annotations

from pathlib import Path

from conformance.results import CaseResult, Kind, Status, write_results
from reporting.collect import Tone, load
from reporting.forward_mode_table import forward_mode_table

ENVIRONMENT = {"framework_version": "9.9", "device": "cpu", "precision": "ieee", "numpy_version": "2.0"}


def _write(folder: Path, backend: str, cases: list[CaseResult]) -> None:
    environment = {"backend": backend, **ENVIRONMENT}
    write_results(folder / f"conformance-{backend}.json", Kind.CONFORMANCE, environment, cases)


def _case(
    result_id: str, op: str, status: Status, source: str, ratio: float | None = None, **kw
) -> CaseResult:
    return CaseResult(result_id, op, status, "float32", source, worst_ratio=ratio, **kw)


def test_rows_split_the_reference_the_dot_product_and_the_hvp(tmp_path: Path) -> None:
    torch_cases = [
        _case("conv2d_jvp-a", "conv2d_jvp", Status.PASS, "grid", 0.25),
        _case("conv2d_jvp-b", "conv2d_jvp", Status.FAIL, "grid", 3.0),
        _case("dot-conv2d_jvp-a", "conv2d_jvp", Status.PASS, "dot-product", 0.125),
        _case("lenet-hvp-chapter-float32", "lenet_hvp", Status.PASS, "lenet", 0.5),
    ]
    _write(tmp_path, "torch", torch_cases)
    _write(
        tmp_path, "mxnet", [_case("dot-conv2d_jvp-a", "conv2d_jvp", Status.GAP, "dot-product", gap="none")]
    )
    table = forward_mode_table(load(tmp_path))
    assert table.header == ["function", "check", "mxnet", "torch"]
    rows = {(row[0], row[1][:5]): row[2:] for row in table.rows}
    mxnet, torch = rows[("conv2d_jvp", "again")]
    assert mxnet == "-"
    assert (torch.text, torch.tone) == ("1/1/0/0/0 · 3", Tone.BAD)
    mxnet, torch = rows[("conv2d_jvp", "<J t,")]
    assert (mxnet.text, mxnet.tone) == ("0/0/0/1/0 · -", Tone.NEUTRAL)
    assert (torch.text, torch.tone) == ("1/0/0/0/0 · 0.125", Tone.GOOD)
    mxnet, torch = rows[("lenet_hvp", "forwa")]
    assert mxnet == "-" and torch.text == "1/0/0/0/0 · 0.5"
    assert rows[("relu_jvp", "again")] == ["-", "-"]
