"""pytest plugin of the conformance suite: ``pytest conformance --backend NAME [--device D]``.

Prints the backend's environment in the header, turns TF32 off through the
adapter, marks the backend's known gaps as strict expected failures, records
every case and, at the end, writes ``<results-dir>/conformance-<backend>.json``
and prints a summary table. ``--replay '<case JSON>'`` runs one generated case
again (``conformance/test_replay.py``), as its failure message says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import backends
from conformance import known_gaps
from conformance.cases import Generated
from conformance.results import Results

# Hypothesis profiles of the adversarial search (conformance/test_adversarial.py), chosen with
# ``--hypothesis-profile``: "ci" (the default) is fast; "deep" (nox -s report) draws at least 200
# combinations per op and dtype. Both are derandomized, so a run is reproducible and a results
# file does not depend on when it was written.
_PROFILE = {"deadline": None, "derandomize": True, "database": None, "print_blob": True,
            "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}  # fmt: skip
settings.register_profile("ci", max_examples=8, **_PROFILE)
settings.register_profile("deep", max_examples=200, **_PROFILE)
settings.load_profile("ci")

_RESULTS = pytest.StashKey[Results]()
_BACKEND = pytest.StashKey[backends.Backend]()
_GAPS = pytest.StashKey[list[known_gaps.Gap]]()
REPLAY_MODULE = "test_replay.py"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--backend", help=f"backend to check, one of: {', '.join(backends.known())}")
    group.addoption(
        "--device", default="auto", help="'auto' (GPU when present), 'cpu', 'gpu' or e.g. 'cuda:1'"
    )
    group.addoption("--results-dir", default="results", help="where conformance-<backend>.json goes")
    group.addoption("--replay", help="a generated case's JSON, as a failure prints it: run it alone")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # The suite's own tests (fault injection) run without --backend.
    if collection_path.name == "meta_tests" and config.getoption("backend"):
        return True
    # The replay test exists only for the one case --replay names.
    if collection_path.name == REPLAY_MODULE and not config.getoption("replay"):
        return True
    return None


def pytest_configure(config: pytest.Config) -> None:
    name = config.getoption("backend")
    if not name:
        return
    backend = backends.get_backend(name, device=config.getoption("device"))
    config.stash[_BACKEND] = backend
    config.stash[_RESULTS] = Results(backend.environment())
    files = (known_gaps.GAPS_FILE, backends.backend_folder(name) / known_gaps.GAPS_FILE.name)
    config.stash[_GAPS] = known_gaps.load(backend.name, files)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if _BACKEND not in config.stash:
        return None
    env = config.stash[_BACKEND].environment()
    return ["conformance: " + ", ".join(f"{key}={value}" for key, value in env.items())]


def item_checks(item: pytest.Item) -> list[tuple[str, str]]:
    """The ``(function, result id)`` pairs a test item checks, from its parameters.

    A parameter with ``op`` and ``id`` (a :class:`~conformance.cases.Case`, a
    LeNet check), ``result_id`` (an :class:`~conformance.error_cases.ErrorCase`) or ``gap_id`` (an
    :class:`~conformance.isolation.IsolationCheck`, matched as the case it calls)
    is one check; a :class:`~conformance.cases.Generated` stands for the cases
    it draws, ``hyp-<function>-...`` for each of its functions.
    """
    checks: list[tuple[str, str]] = []
    for value in getattr(getattr(item, "callspec", None), "params", {}).values():
        if isinstance(value, Generated):
            checks += [(function, f"hyp-{function}-") for function in value.functions]
        elif hasattr(value, "op"):
            gap_id = getattr(value, "gap_id", getattr(value, "result_id", getattr(value, "id", "")))
            checks.append((value.op, gap_id))
    return checks


def _draws(item: pytest.Item) -> bool:
    """Whether the item draws its cases with Hypothesis (has a :class:`~conformance.cases.Generated`)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(isinstance(value, Generated) for value in params.values())


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect: every gap is matched against the whole suite
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs_backend = [item for item in items if "backend" in getattr(item, "fixturenames", ())]
    if needs_backend and _BACKEND not in config.stash:
        raise pytest.UsageError(f"pass --backend NAME (one of: {', '.join(backends.known())})")
    if _GAPS not in config.stash:
        return
    gaps, seen = config.stash[_GAPS], []
    for item in items:
        checks = item_checks(item)
        seen += checks
        gap = next((gap for op, result_id in checks if (gap := known_gaps.find(gaps, op, result_id))), None)
        if gap is not None and not _draws(item):  # a drawn test takes its gaps case by case (DrawnCases)
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"known gap ({gap.where}): {gap.reason}"))
    # An entry only goes stale where the suite collected its op (a run of one file is no evidence).
    collected_ops = {op for op, _ in seen}
    stale = [gap for gap in known_gaps.stale(gaps, seen) if set(gap.functions()) & collected_ops]
    if stale:
        entries = "; ".join(f"{gap.where} ({gap.op}, {gap.cases!r})" for gap in stale)
        raise pytest.UsageError(f"known gaps that match no test of {config.stash[_BACKEND].name}: {entries}")


@pytest.fixture(scope="session")
def backend(pytestconfig: pytest.Config) -> backends.Backend:
    return pytestconfig.stash[_BACKEND]


@pytest.fixture(scope="session")
def results(pytestconfig: pytest.Config) -> Results:
    return pytestconfig.stash[_RESULTS]


@pytest.fixture(scope="session")
def gaps(pytestconfig: pytest.Config) -> list[known_gaps.Gap]:
    """The backend's declared known gaps."""
    return pytestconfig.stash[_GAPS]


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
