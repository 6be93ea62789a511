"""One generated case again, exactly: ``pytest conformance/test_replay.py --backend NAME --replay '<JSON>'``.

A generated case is no test item of its own; its failure message prints this
command with the case's JSON (:meth:`conformance.cases.Case.rerun`). Collected
only when ``--replay`` is given.
"""

from __future__ import annotations

import pytest

from conformance.cases import Case
from conformance.runner import run_case


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A parameter (not a fixture), so a known gap that covers the case marks the item.
    case = Case.from_json(metafunc.config.getoption("replay"))
    metafunc.parametrize("replayed", [case], ids=[case.id])


def test_replay(backend, results, gaps, replayed: Case) -> None:
    run_case(backend, replayed, results, gaps)
