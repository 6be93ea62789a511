"""A conformance run split over pytest-xdist workers (``-n``) writes the file a serial run writes.

Each worker queues the records its tests add (:class:`WorkerResults`) and attaches those of
each test to the test's reports (:func:`attach`), with the test's position in the collection
(every worker collects the same tests in the same order). The controller takes them from the
reports as they arrive (:class:`Gathered`, a plugin on the controller) and, at the end, adds them
to its own :class:`~conformance.results.Results` in collection order, each test's records in
the order the test added them: the order, and the record a repeated id keeps, of a serial run.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from conformance.results import CaseResult, Results

RECORDS = "conformance-records"  # the name of the user property that carries them


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is a pytest-xdist worker."""
    return hasattr(config, "workerinput")


def lenet_group(item: pytest.Item) -> str | None:
    """The pytest-xdist group (``--dist loadgroup``) of a test of a LeNet variant, else None.

    A variant's LeNet checks share what a process computes once and caches (the data, the
    reference's training trajectory), so they run on one worker.
    """
    params = getattr(getattr(item, "callspec", None), "params", {})
    variants = {getattr(value, "variant", None) for value in params.values()} - {None}
    return f"lenet-{variants.pop()}" if len(variants) == 1 else None


class WorkerResults(Results):
    """The results of one worker: every record added also waits for :meth:`take`."""

    def __init__(self, environment: dict[str, str]) -> None:
        super().__init__(environment)
        self._queued: list[CaseResult] = []

    def add(self, result: CaseResult) -> None:
        """:meth:`Results.add`, and queue the record as stored."""
        super().add(result)
        self._queued.append(self._cases[result.id])

    def take(self) -> list[CaseResult]:
        """The records added since the last call, in the order they were added."""
        taken, self._queued = self._queued, []
        return taken


def attach(report: pytest.TestReport, index: int, records: list[CaseResult]) -> None:
    """Attach ``records`` of the test at ``index`` in the collection to its ``report``.

    As JSON text (pytest-xdist serialises a report's plain values only), encoded as the results
    file encodes them (``default=str``), so the file holds the same bytes either way.
    """
    text = json.dumps([record.to_json() for record in records], default=str)
    # A new list: the report's is the test item's own, which later reports of the test share.
    report.user_properties = [*report.user_properties, (RECORDS, {"index": index, "records": text})]


class Gathered:
    """The controller's plugin: the records the workers attach to the reports, by test."""

    def __init__(self) -> None:
        self._by_test: dict[int, list[CaseResult]] = defaultdict(list)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == RECORDS:
                records = json.loads(value["records"])
                self._by_test[value["index"]] += [CaseResult.from_json(record) for record in records]

    def merge_into(self, results: Results) -> None:
        """Add the gathered records to ``results`` in collection order, and forget them."""
        for index in sorted(self._by_test):
            for record in self._by_test[index]:
                results.add(record)
        self._by_test.clear()
