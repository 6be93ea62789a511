"""pytest plugin of the conformance suite: ``pytest conformance --backend NAME [--device D]``.

Prints the backend's environment in the header, turns TF32 off through the
adapter, marks the backend's known gaps as strict expected failures, records
every case and, at the end, writes ``<results-dir>/conformance-<backend>.json``
and prints a summary table. ``--replay '<case JSON>'`` runs one generated case
again (``conformance/test_replay.py``), as its failure message says.

With pytest-xdist (``-n 2 --dist loadgroup``) every worker creates its own backend and
caches its own data; the controller gathers the workers' records (:mod:`conformance.workers`)
and writes the same file, and prints the same summary, as a serial run. A LeNet variant's
checks share one worker (``--dist loadgroup``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import backends
from conformance import known_gaps, short_form, workers
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
_GATHERED = pytest.StashKey[workers.Gathered]()  # on the controller of a pytest-xdist run
_INDEX = pytest.StashKey[int]()  # a test's position in the collection, on a worker
REPLAY_MODULE = "test_replay.py"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--backend", help=f"backend to check, one of: {', '.join(backends.known())}")
    group.addoption(
        "--device", default="auto", help="'auto' (GPU when present), 'cpu', 'gpu' or e.g. 'cuda:1'"
    )
    group.addoption("--results-dir", default="results", help="where conformance-<backend>.json goes")
    group.addoption("--replay", help="a generated case's JSON, as a failure prints it: run it alone")
    group.addoption(
        "--short",
        action="store_true",
        help="the short form (CI's): a quarter of the enumerated case families (conformance/short_form.py)",
    )


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
    environment = backend.environment()
    if config.getoption("short"):
        environment[short_form.ENVIRONMENT_KEY] = short_form.SHORT
    if workers.is_worker(config):
        config.stash[_RESULTS] = workers.WorkerResults(environment)
    else:
        config.stash[_RESULTS] = Results(environment)
        config.stash[_GATHERED] = workers.Gathered()
        config.pluginmanager.register(config.stash[_GATHERED], "conformance-gathered")
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


def _usage_error(session: pytest.Session, items: list[pytest.Item], message: str) -> None:
    """Raise ``pytest.UsageError(message)``; on a pytest-xdist worker, where that would crash the
    worker unexplained, run nothing and stop the run (pytest-xdist prints ``Interrupted: message``)."""
    if not workers.is_worker(session.config):
        raise pytest.UsageError(message)
    items.clear()
    session.shouldstop = message


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect: every gap is matched against the whole suite
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    needs_backend = [item for item in items if "backend" in getattr(item, "fixturenames", ())]
    if needs_backend and _BACKEND not in config.stash:
        _usage_error(session, items, f"pass --backend NAME (one of: {', '.join(backends.known())})")
        return
    if _GAPS not in config.stash:
        return
    if workers.is_worker(config):  # xdist_group is known where pytest-xdist runs the tests
        for item in items:
            if group := workers.lenet_group(item):
                item.add_marker(pytest.mark.xdist_group(group))
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
        _usage_error(
            session, items, f"known gaps that match no test of {config.stash[_BACKEND].name}: {entries}"
        )
        return
    if config.getoption("short"):  # after the gaps are matched against the whole suite
        keep = [short_form.keeps(getattr(getattr(item, "callspec", None), "params", {})) for item in items]
        dropped = [item for item, kept in zip(items, keep, strict=True) if not kept]
        items[:] = [item for item, kept in zip(items, keep, strict=True) if kept]
        config.hook.pytest_deselected(items=dropped)


def pytest_collection_finish(session: pytest.Session) -> None:
    if workers.is_worker(session.config):
        for index, item in enumerate(session.items):
            item.stash[_INDEX] = index


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report = yield
    results = item.config.stash.get(_RESULTS, None)
    if isinstance(results, workers.WorkerResults) and (records := results.take()):
        workers.attach(report, item.stash[_INDEX], records)
    return report


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
    if _GATHERED not in config.stash:  # no --backend, or a worker
        return
    results = config.stash[_RESULTS]
    config.stash[_GATHERED].merge_into(results)
    if not results.cases:
        return
    path = Path(config.getoption("results_dir")) / f"conformance-{config.stash[_BACKEND].name}.json"
    results.write(path)
    terminalreporter.section(f"conformance of {config.stash[_BACKEND].name}")
    for line in results.summary():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"results: {path}")
