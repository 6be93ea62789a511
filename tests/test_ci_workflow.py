"""The GitHub Actions workflow (.github/workflows/ci.yml): actionlint finds nothing in it, every
``nox -s`` session it names exists (nox itself is asked), its jobs cover the ``tests`` tag, and
its backend matrix is exactly the declared backends."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from backends.plugin_paths import PLUGINS_VARIABLE, discover

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
ACTIONLINT = Path(sysconfig.get_path("scripts")) / "actionlint"  # the test extra's actionlint
MATRIX_BACKEND = "${{ matrix.backend }}"


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    """actionlint on the workflow file ``path`` (``<repository>/.github/workflows/<name>``)."""
    return subprocess.run([str(ACTIONLINT), "-no-color", str(path)], capture_output=True, text=True,
                          cwd=path.parents[2], timeout=120, check=False)  # fmt: skip


def nox_list(*args: str) -> subprocess.CompletedProcess[str]:
    """``nox -l --json <args>`` on the project's noxfile."""
    command = [sys.executable, "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), "-l", "--json", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


def unknown_sessions(names: list[str]) -> list[str]:
    """The names nox does not know, from its own 'Sessions not found' error."""
    listing = nox_list("-s", *names)
    if listing.returncode == 0:
        return []
    found = re.search(r"Sessions not found: (.*)", listing.stderr)
    assert found, f"nox -l failed otherwise (status {listing.returncode}): {listing.stderr[-2000:]}"
    return found.group(1).split(", ")


def matrix_backends(workflow: dict) -> list[str]:
    """The backends of the per-backend job's matrix."""
    return workflow["jobs"]["backend"]["strategy"]["matrix"]["backend"]


def sessions_run(workflow: dict) -> dict[str, list[str]]:
    """Job -> the sessions its ``nox -s a b ...`` steps run, the matrix expanded."""
    found: dict[str, list[str]] = {}
    for job_name, job in workflow["jobs"].items():
        names: list[str] = []
        for step in job["steps"]:
            script = step.get("run", "").replace(MATRIX_BACKEND, "{backend}")
            for command in re.findall(r"\bnox -s ([^\n-][^\n]*?)(?: --|$)", script, re.M):
                names += command.split()
        backends = job.get("strategy", {}).get("matrix", {}).get("backend", [])
        templated = [name for name in names if "{backend}" in name]
        plain = [name for name in names if name not in templated]
        found[job_name] = [name.format(backend=b) for b in backends for name in templated] + plain
    return found


def load(path: Path = WORKFLOW) -> dict:
    return yaml.safe_load(path.read_text())


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = WORKFLOW.read_text()
    assert old in text
    copy = tmp_path / ".github" / "workflows" / "ci.yml"
    copy.parent.mkdir(parents=True)
    copy.write_text(text.replace(old, new))
    return copy


def test_actionlint_finds_nothing_in_the_workflow() -> None:
    done = actionlint(WORKFLOW)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_actionlint_flags_a_job_that_needs_a_missing_job(tmp_path: Path) -> None:
    done = actionlint(broken_copy(tmp_path, "needs: [tests, backend]", "needs: [tests, backends]"))
    assert done.returncode == 1
    assert 'job "report" needs job "backends" which does not exist in this workflow' in done.stdout


def test_every_session_the_workflow_runs_exists() -> None:
    runs = sessions_run(load())
    assert runs["backend"] == [*(f"conformance-{b}" for b in matrix_backends(load())), "report"]
    names = sorted({name for names in runs.values() for name in names})
    assert unknown_sessions(names) == []


def test_a_made_up_session_is_caught(tmp_path: Path) -> None:
    broken = load(broken_copy(tmp_path, "nox -s lint", "nox -s lint-everything"))
    names = sorted({name for names in sessions_run(broken).values() for name in names})
    assert unknown_sessions(names) == ["lint-everything"]


def test_the_jobs_run_every_session_of_the_tests_tag() -> None:
    listing = nox_list("-t", "tests")
    assert listing.returncode == 0, listing.stderr
    tagged = {session["name"] for session in json.loads(listing.stdout)}
    runs = sessions_run(load())
    conformance = {name for name in runs["backend"] if name.startswith("conformance-")}
    ran = set(runs["lint"] + runs["tests"]) | conformance
    assert ran == tagged


def test_the_matrix_is_exactly_the_declared_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PLUGINS_VARIABLE, raising=False)  # only the backends this checkout declares
    assert sorted(matrix_backends(load())) == sorted(discover(ROOT))
    assert {"torch", "tensorflow", "mxnet", "jax", "onnxruntime"} == set(matrix_backends(load()))
