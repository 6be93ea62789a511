"""Results written apart (a CI matrix) and merged give the report of one run that wrote them all.

Two fake backends (the NumPy reference under two names, ``-p tests.fake_backend_plugin``) run a
few chapter cases of the suite, each into its own folder, and both into one folder; the reports
built from the merge and from the shared folder must be the same text. Normalised: the time the
report was built and the results folder's path (the intro and the regressions note name it),
which are not results.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reporting import merge
from reporting.__main__ import build
from tests.fake_backend_plugin import FAKE_NAME_VARIABLE

ROOT = Path(__file__).resolve().parents[1]
SELECTION = "test_case and chapter and conv2d"
PLUGIN = "tests.fake_backend_plugin"
STAMP = re.compile(r"Built \d{4}-\d\d-\d\d \d\d:\d\d UTC")


def run_suite(name: str, folder: Path) -> None:
    options = ["-p", PLUGIN, "-p", "no:cacheprovider", "-n", "0", "-q", "-k", SELECTION]
    command = [sys.executable, "-m", "pytest", "conformance", "--backend", name, *options]
    command += ["--results-dir", str(folder)]
    env = {**os.environ, FAKE_NAME_VARIABLE: name}
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def report_text(results: Path, out: Path) -> tuple[str, ...]:
    """REPORT.md and index.html, normalised (see the module)."""
    files = build(results, out, None, quick=True)
    return tuple(
        STAMP.sub("Built <time>", path.read_text().replace(str(results), "<results>")) for path in files
    )


def test_a_merged_report_is_the_report_of_one_run(tmp_path: Path) -> None:
    apart, together = {"fake": tmp_path / "a", "fake2": tmp_path / "b"}, tmp_path / "c"
    for name, folder in apart.items():
        run_suite(name, folder)
        run_suite(name, together)
    merged = tmp_path / "merged"
    merge.merge(list(apart.values()), merged)
    assert sorted(p.name for p in merged.iterdir()) == ["conformance-fake.json", "conformance-fake2.json"]
    from_merge = report_text(merged, tmp_path / "report-merged")
    from_one_run = report_text(together, tmp_path / "report-one")
    assert from_merge == from_one_run
    # the chapter's 8 conv2d cases (float32, float64) and their 8 half mirrors of each backend, all passed
    table = "| op | fake | fake2 |\n|---|---|---|\n| conv2d | 16/0/0/0/0 · 0 | 16/0/0/0/0 · 0 |"
    assert table in from_merge[0]


def test_a_file_in_both_folders_with_different_content_stops_the_merge(tmp_path: Path) -> None:
    a, b, into = tmp_path / "a", tmp_path / "b", tmp_path / "into"
    for folder, text in ((a, "1"), (b, "2")):
        (folder / "train-quick" / "torch-chapter").mkdir(parents=True)
        (folder / "train-quick" / "torch-chapter" / "run.json").write_text(text)
        (folder / f"only-{folder.name}.json").write_text("x")
    with pytest.raises(merge.MergeConflictError, match=r"train-quick/torch-chapter/run.json differs between"):
        merge.merge([a, b], into)
    assert not into.exists()  # nothing copied
    done = subprocess.run([sys.executable, "-m", "reporting.merge", str(a), str(b), "--into", str(into)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2 and "run.json differs between" in done.stderr


def test_identical_files_and_subfolders_merge(tmp_path: Path) -> None:
    a, b, into = tmp_path / "a", tmp_path / "b", tmp_path / "into"
    for folder in (a, b):
        (folder / "benchmark-history" / f"{folder.name}-quick").mkdir(parents=True)
        (folder / "benchmark-history" / f"{folder.name}-quick" / "0001.json").write_text(folder.name)
        (folder / "mutation-catalogue.json").write_text("same")
    written = merge.merge([a, b], into)
    assert sorted(str(p.relative_to(into)) for p in written) == [
        "benchmark-history/a-quick/0001.json",
        "benchmark-history/b-quick/0001.json",
        "mutation-catalogue.json",
    ]
    assert (into / "benchmark-history" / "b-quick" / "0001.json").read_text() == "b"


def test_a_missing_source_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"results folder .*nowhere does not exist"):
        merge.merge([tmp_path / "nowhere"], tmp_path / "into")
