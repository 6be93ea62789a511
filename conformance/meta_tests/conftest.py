"""The fault catalogue's score: ``<results-dir>/mutation-catalogue.json`` at the end of the session.

``{"schema": 1, "catalogue_size": N, "faults": [...]}``; each fault that ran
has ``name``, ``kind``, ``description``, ``ops``, ``must_fail``, ``must_pass``,
``raises`` (the framework errors that count as a catch), ``caught`` (true or
false), ``failed`` (how many of its must-fail checks the suite rejected),
``unexpected`` (each check with another outcome than required, with its
status and message) and ``control_failures``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CATALOGUE_FILE = "mutation-catalogue.json"


@pytest.fixture(scope="session")
def catalogue(pytestconfig: pytest.Config) -> Iterator[list[dict[str, Any]]]:
    """The entries the fault tests append; written as JSON when the session ends."""
    from conformance.meta_tests.faulty_backends import FAULTS

    entries: list[dict[str, Any]] = []
    yield entries
    path = Path(pytestconfig.getoption("results_dir")) / CATALOGUE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"schema": 1, "catalogue_size": len(FAULTS), "faults": entries}
    path.write_text(json.dumps(payload, indent=1) + "\n")
