"""A backend packaged outside the tree, found through its entry point alone, taken through nox.

The package, written in a temporary folder, is the PyTorch adapter under the name
``torchalias`` with one chapter op (``corr2d_multi_in_out_1x1``) raising
``UnsupportedError`` and declared as a known gap in its own ``known_gaps.toml``. With
``CNN_CHAPTER_REFERENCE_PLUGINS`` naming that folder, nox must make its sessions, its
conformance run must pass with the gap cases as expected failures (status ``gap``, with the
declared reason and upstream link, in the results file), and the report must show it.
Slow (it installs torch into ``.nox/env-torchalias``, kept for later runs): ``nox -s plugin-check``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NAME = "torchalias"
GAP_OP = "corr2d_multi_in_out_1x1"
# Every case of the op: the adapter cannot compute it at all.
GAP_CASES = "*"
GAP_REASON = "torchalias leaves 1x1 channel mixing to a later release"
GAP_UPSTREAM = "https://example.org/torchalias/issues/1"
# Its environment installs torch alone: the exported LeNet cannot run in ONNX Runtime there.
EXPORT_GAP_REASON = "torchalias's environment installs no onnxruntime to run its exported LeNet"
# A fresh environment installs torch from the local wheel mirror, then runs the chapter's cases
# and two short LeNet trainings; the limit only stops a hung run.
NOX_TIMEOUT_S = 1800

PLUGIN_FILES = {
    "pyproject.toml": f"""\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "cnn-chapter-torch-alias"
version = "0.1.0"
requires-python = ">=3.11"

[project.entry-points."cnn_chapter_reference.backends"]
{NAME} = "{NAME}.adapter:TorchAliasBackend"

[tool.setuptools]
packages = ["{NAME}"]

[tool.setuptools.package-data]
{NAME} = ["*.toml"]
""",
    f"{NAME}/__init__.py": '"""The PyTorch adapter under another name: a backend from outside the tree."""\n',
    f"{NAME}/adapter.py": f'''\
"""The in-tree PyTorch adapter, renamed, without 1x1 channel mixing."""

from typing import Any

import numpy as np

from backends import UnsupportedError
from backends.torch.adapter import TorchBackend


class TorchAliasBackend(TorchBackend):
    name = "{NAME}"

    def {GAP_OP}(self, X: Any, K: Any) -> np.ndarray:
        raise UnsupportedError("{NAME} has no 1x1 channel mixing")
''',
    f"{NAME}/environment.toml": """\
framework = "torch"

[[packages]]
requirement = "torch==2.13.0"
reason = "the CPU build the in-tree PyTorch adapter is checked with"
""",
    f"{NAME}/known_gaps.toml": f"""\
[[gap]]
backend = "{NAME}"
op = "{GAP_OP}"
cases = "{GAP_CASES}"
reason = "{GAP_REASON}"
upstream = "{GAP_UPSTREAM}"

[[gap]]
backend = "{NAME}"
op = "lenet_export"
cases = "*"
reason = "{EXPORT_GAP_REASON}"
upstream = ""
""",
}


@pytest.fixture(scope="module")
def workspace() -> Iterator[dict[str, Path]]:
    """The plugin project, a results folder and a report folder, outside the source tree."""
    with tempfile.TemporaryDirectory(prefix="cnn-chapter-plugin-") as temporary:
        folder = Path(temporary)
        for relative, text in PLUGIN_FILES.items():
            path = folder / "plugin" / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        yield {"plugin": folder / "plugin", "results": folder / "results", "report": folder / "report"}


def nox(workspace: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    """``nox <args>`` on the project's noxfile with the plugin declared; fails the test on a non-zero exit."""
    env = {
        **os.environ,
        "CNN_CHAPTER_REFERENCE_PLUGINS": str(workspace["plugin"]),
        "CNN_CHAPTER_REFERENCE_RESULTS": str(workspace["results"]),
        "CNN_CHAPTER_REFERENCE_REPORT": str(workspace["report"]),
    }
    command = [sys.executable, "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=NOX_TIMEOUT_S)
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def test_nox_lists_the_plugin_sessions(workspace: dict[str, Path]) -> None:
    listing = nox(workspace, "-l").stdout
    for session in (f"conformance-{NAME}", f"bench-{NAME}", f"train-{NAME}"):
        assert re.search(rf"^[*-] {session} ", listing, re.MULTILINE), listing


@pytest.fixture(scope="module")
def conformance_run(workspace: dict[str, Path]) -> str:
    """The plugin's conformance session on the chapter's cases; its output (pytest's summary included)."""
    done = nox(workspace, "-s", f"conformance-{NAME}", "--", "-k", "chapter")
    return done.stdout + done.stderr


def test_conformance_runs_the_declared_gap_as_expected_failures(
    workspace: dict[str, Path], conformance_run: str
) -> None:
    records = json.loads((workspace["results"] / f"conformance-{NAME}.json").read_text())["records"]
    gaps = [record for record in records if record["status"] == "gap"]
    declared = {GAP_OP: (GAP_REASON, GAP_UPSTREAM), "lenet_export": (EXPORT_GAP_REASON, "")}
    in_declared_ops = {record["id"] for record in records if record["op"] in declared}
    assert {record["id"] for record in gaps} == in_declared_ops
    # The chapter's 1x1 example in float32, float64, float16 and bfloat16, the isolation check of
    # its first case, and the export of the chapter's LeNet.
    assert {record["id"] for record in gaps} == {
        "chapter-1x1-f32",
        "chapter-1x1-f64",
        "chapter-1x1-f16",
        "chapter-1x1-bf16",
        "isolation-chapter-1x1-f32",
        "lenet-export-chapter-float32",
    }
    assert all((record["gap"], record["upstream"]) == declared[record["op"]] for record in gaps)
    assert {record["status"] for record in records} == {"pass", "gap"}
    # One more expected failure than records: the export check's own test (a perturbed file caught).
    assert re.search(rf"\b{len(gaps) + 1} xfailed\b", conformance_run), conformance_run


def test_report_has_the_plugin_column_and_its_gap(workspace: dict[str, Path], conformance_run: str) -> None:
    nox(workspace, "-s", "report", "--", "--rebuild", "--backends", NAME)
    report = (workspace["report"] / "REPORT.md").read_text()
    header = next(line for line in report.splitlines() if line.startswith("|") and NAME in line)
    assert NAME in [cell.strip() for cell in header.strip("|").split("|")]
    assert GAP_REASON in report
