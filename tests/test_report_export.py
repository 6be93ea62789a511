"""The report's export table from synthetic ``lenet_export`` records: one row per backend and
variant with the exporter, its version, the opset, both worst ratios, the seconds and the verdict
(a declared gap with its reason and upstream link)."""

from __future__ import annotations

from pathlib import Path

from conformance.results import CaseResult, Kind, Status, write_results
from reporting.__main__ import build
from reporting.collect import Cell, Tone, export_table, load

GAP_REASON = "the exporter's max pooling has four spatial axes"
GAP_LINK = "https://github.com/example/exporter/issues/1"


def _export(variant: str, status: Status, exporter: str, **fields) -> CaseResult:
    params = {"variant": variant, "steps": 50, "lr": 0.1, "batch": 64, "exporter": exporter,
              "exporter_version": "1.2.3", "opset": 20, "export_s": 1.25}  # fmt: skip
    if status == Status.PASS:
        params.update(ratio_backend=0.0125, ratio_reference=0.0241, check_s=0.5)
    return CaseResult(f"lenet-export-{variant}-float32", "lenet_export", status, "float32", "lenet",
                      params=params, worst_ratio=params.get("ratio_reference"), **fields)  # fmt: skip


def _results(folder: Path) -> Path:
    environment = {"device": "cpu", "precision": "ieee", "numpy_version": "2.0"}
    records = {
        "torch": [_export("chapter", Status.PASS, "torch.onnx.export"),
                  _export("relu-max", Status.PASS, "torch.onnx.export")],
        "jax": [_export("chapter", Status.PASS, "jax2onnx.to_onnx"),
                _export("relu-max", Status.GAP, "jax2onnx.to_onnx", gap=GAP_REASON, upstream=GAP_LINK,
                        message="InvalidArgument: Unsupported pooling size.")],
        "mxnet": [_export("chapter", Status.FAIL, "mx.onnx.export_model", message="logits[0, 3] = 1.0")],
    }  # fmt: skip
    for backend, cases in records.items():
        write_results(folder / f"conformance-{backend}.json", Kind.CONFORMANCE,
                      {"backend": backend, "framework_version": "9.9", **environment}, cases)  # fmt: skip
    return folder


def test_one_row_per_backend_and_variant_with_its_facts(tmp_path: Path) -> None:
    table = export_table(load(_results(tmp_path / "results"), ["jax", "mxnet", "torch"]))
    rows = {(row[0], row[1]): row[2:] for row in table.rows}
    assert rows == {
        ("jax", "chapter"): ["jax2onnx.to_onnx 1.2.3", "20", "0.0125", "0.0241", "1.25 / 0.50",
                             Cell("pass", Tone.GOOD)],
        ("jax", "relu-max"): ["jax2onnx.to_onnx 1.2.3", "20", "-", "-", "1.25 / -",
                              Cell(f"gap: {GAP_REASON} ({GAP_LINK})", Tone.NEUTRAL)],
        ("mxnet", "chapter"): ["mx.onnx.export_model 1.2.3", "20", "-", "-", "1.25 / -",
                               Cell("fail: logits[0, 3] = 1.0", Tone.BAD)],
        ("torch", "chapter"): ["torch.onnx.export 1.2.3", "20", "0.0125", "0.0241", "1.25 / 0.50",
                               Cell("pass", Tone.GOOD)],
        ("torch", "relu-max"): ["torch.onnx.export 1.2.3", "20", "0.0125", "0.0241", "1.25 / 0.50",
                                Cell("pass", Tone.GOOD)],
    }  # fmt: skip


def test_the_report_holds_the_export_table(tmp_path: Path) -> None:
    markdown, html = build(_results(tmp_path / "results"), tmp_path / "report", ["torch", "jax"], quick=True)
    text = markdown.read_text()
    assert "Exported LeNets in ONNX Runtime" in text
    row = "| torch | relu-max | torch.onnx.export 1.2.3 | 20 | 0.0125 | 0.0241 | 1.25 / 0.50 | pass |"
    assert row in text
    assert f"| jax | relu-max | jax2onnx.to_onnx 1.2.3 | 20 | - | - | 1.25 / - | gap: {GAP_REASON}" in text
    assert GAP_LINK in html.read_text()


def test_without_export_records_the_table_says_so(tmp_path: Path) -> None:
    table = export_table(load(tmp_path, []))
    assert table.rows == []
    assert "conformance/test_export.py" in table.empty
