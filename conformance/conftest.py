"""pytest plugin of the conformance suite: ``pytest conformance --backend NAME [--device D]``.

Prints the backend's environment in the header, turns TF32 off through the
adapter, records every case and, at the end, writes
``<results-dir>/conformance-<backend>.json`` and prints a summary table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import backends
from conformance.results import Results

_RESULTS = pytest.StashKey[Results]()
_BACKEND = pytest.StashKey[backends.Backend]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--backend", help=f"backend to check, one of: {', '.join(backends.known())}")
    group.addoption(
        "--device", default="auto", help="'auto' (GPU when present), 'cpu', 'gpu' or e.g. 'cuda:1'"
    )
    group.addoption("--results-dir", default="results", help="where conformance-<backend>.json goes")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # The suite's own tests (fault injection) run without --backend.
    if collection_path.name == "meta_tests" and config.getoption("backend"):
        return True
    return None


def pytest_configure(config: pytest.Config) -> None:
    name = config.getoption("backend")
    if not name:
        return
    backend = backends.get_backend(name, device=config.getoption("device"))
    config.stash[_BACKEND] = backend
    config.stash[_RESULTS] = Results(backend.environment())


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if _BACKEND not in config.stash:
        return None
    env = config.stash[_BACKEND].environment()
    return ["conformance: " + ", ".join(f"{key}={value}" for key, value in env.items())]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs_backend = [item for item in items if "backend" in getattr(item, "fixturenames", ())]
    if needs_backend and _BACKEND not in config.stash:
        raise pytest.UsageError(f"pass --backend NAME (one of: {', '.join(backends.known())})")


@pytest.fixture(scope="session")
def backend(pytestconfig: pytest.Config) -> backends.Backend:
    return pytestconfig.stash[_BACKEND]


@pytest.fixture(scope="session")
def results(pytestconfig: pytest.Config) -> Results:
    return pytestconfig.stash[_RESULTS]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _RESULTS not in config.stash or not config.stash[_RESULTS].cases:
        return
    results = config.stash[_RESULTS]
    path = Path(config.getoption("results_dir")) / f"conformance-{config.stash[_BACKEND].name}.json"
    results.write(path)
    terminalreporter.section(f"conformance of {config.stash[_BACKEND].name}")
    for line in results.summary():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"results: {path}")
