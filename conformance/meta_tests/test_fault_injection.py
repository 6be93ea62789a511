"""The suite can fail: run it against deliberately wrong adapters and check each fault is caught.

Each run is a separate pytest process (``--backend faulty-<fault>``) restricted
to the ops the fault touches; its results JSON must list failing cases of the
faulty op (and only of it), each message naming the op and a bad element.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the faulty adapters wrap the PyTorch adapter (nox -s conformance-torch)")

ROOT = Path(__file__).resolve().parents[2]

CORR2D_FAMILY = {"conv2d", "corr2d", "corr2d_multi_in", "corr2d_multi_in_out"}
CONV2D_VALUES = "test_case and conv2d and not vjp"
# fault -> (pytest -k selection, the ops allowed to fail, a case that must be among the failures)
FAULTS = {
    "shifted-padding": (CONV2D_VALUES, {"conv2d"}, "conv2d-stri1-padd1-dila1-grou1-f32"),
    "flipped-kernel": ("test_case and chapter", CORR2D_FAMILY, "chapter-corr2d-3x3-f32"),
    "dropped-bias": (CONV2D_VALUES, {"conv2d"}, "conv2d-stri1-padd0-dila1-grou1-f64"),
    "last-tie": ("ties", {"max_pool2d_vjp"}, "max_pool2d_vjp-kern2-striNone-padd0-ties-f32"),
    "no-ceil-drop": ("test_case and max_pool2d and not vjp", {"max_pool2d"}, None),
    "float32-as-float64": (CONV2D_VALUES, {"conv2d"}, "conv2d-stri1-padd0-dila1-grou1-f64"),
}


def run_suite(fault: str, selection: str, tmp_path: Path) -> list[dict]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(ROOT / "conformance"),
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "conformance.meta_tests.faulty_backends",
        "--backend",
        f"faulty-{fault}",
        "--results-dir",
        str(tmp_path),
        "-k",
        selection,
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, f"the suite did not fail (exit {done.returncode}):\n{done.stdout[-3000:]}"
    return json.loads((tmp_path / f"conformance-faulty-{fault}.json").read_text())["cases"]


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_is_caught_and_named(fault: str, tmp_path: Path) -> None:
    selection, ops, must_fail = FAULTS[fault]
    cases = run_suite(fault, selection, tmp_path)
    failed = [case for case in cases if case["status"] == "fail"]
    assert failed, f"no case failed for fault {fault}"
    assert {case["op"] for case in failed} <= ops
    for case in failed:
        assert f"faulty-{fault} {case['op']}(" in case["message"], case["message"]
        assert "reference" in case["message"]
    if must_fail:
        assert must_fail in {case["id"] for case in failed}
    assert any(case["status"] == "pass" for case in cases), "the fault should leave some cases passing"
