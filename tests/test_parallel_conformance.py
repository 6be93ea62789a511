"""A conformance run on pytest-xdist workers writes the results file, and prints the summary, of a serial run.

The suite runs in subprocesses on the NumPy reference as a backend (``-p tests.fake_backend_plugin``:
the workers are processes of their own), on its chapter cases, error cases and drawn (Hypothesis)
tests: once in one process (``-n 0``), once on two workers as nox runs it (``-n 2 --dist loadgroup``).
The two files must hold the same bytes: the same records, in the same order, with the same
environment. The controller's merge (:mod:`conformance.workers`) is also checked on its own, on
reports that arrive out of order.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.results import CaseResult, Results, Status, read_results
from conformance.workers import Gathered, WorkerResults, attach
from tests.conformance_fakes import NAME

ROOT = Path(__file__).resolve().parents[1]
# About 150 tests, 630 records: the chapter's cases, the error cases, and every drawn test
# (the op specs' generated cases and the adversarial search). LeNet has no fake.
SELECTION = "(chapter or test_generated or test_adversarial or test_errors) and not lenet and not export"
PLUGIN = "tests.fake_backend_plugin"  # --backend fake in every process, workers included
TIMEOUT_S = 300  # each run takes seconds; the limit only stops a hung one


def _run(folder: Path, workers: int) -> tuple[str, Path]:
    """The suite on ``workers`` workers (0: in one process): its output and its results file."""
    results = folder / f"n{workers}"
    command = [sys.executable, "-m", "pytest", "conformance", "--backend", NAME, "-p", PLUGIN,
               "-p", "no:cacheprovider", "-v", "-n", str(workers), "--dist", "loadgroup", "-k", SELECTION,
               "--results-dir", str(results)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, f"-n {workers} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout, results / f"conformance-{NAME}.json"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("parallel-conformance")
    return {workers: _run(folder, workers) for workers in (0, 2)}


def test_two_workers_write_the_file_one_process_writes(runs) -> None:
    serial, parallel = read_results(runs[0][1]), read_results(runs[2][1])
    assert parallel.environment == serial.environment
    assert [record.to_json() for record in parallel.records] == [
        record.to_json() for record in serial.records
    ]
    assert runs[2][1].read_bytes() == runs[0][1].read_bytes()


def test_both_workers_ran_tests_and_drew_cases(runs) -> None:
    output = runs[2][0]
    for worker in ("gw0", "gw1"):
        assert re.search(rf"^\[{worker}\] .*PASSED", output, re.MULTILINE), output
    sources = {record.source for record in read_results(runs[2][1]).records}
    assert {"chapter", "error", "hypothesis", "adversarial"} <= sources


def _summary(output: str) -> list[str]:
    """The suite's summary table: the lines between its section header and the results path."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if f"conformance of {NAME}" in line)
    end = next(i for i, line in enumerate(lines) if line.startswith("results: "))
    return lines[start + 1 : end]


def test_the_controller_prints_the_summary_of_every_record(runs) -> None:
    assert _summary(runs[2][0]) == _summary(runs[0][0])
    total = _summary(runs[2][0])[-1].split()
    assert total[:2] == ["total", str(len(read_results(runs[2][1]).records))]


def _report(nodeid: str, index: int, records: list[CaseResult]) -> pytest.TestReport:
    """A report of the test at ``index`` as a worker sends it, carrying ``records``."""
    report = pytest.TestReport(nodeid, ("x.py", 0, nodeid), {}, "passed", None, "call", user_properties=[])
    worker = WorkerResults({"device": "cpu"})
    for record in records:
        worker.add(record)
    attach(report, index, worker.take())
    return report


def _case(case_id: str, ratio: float) -> CaseResult:
    return CaseResult(case_id, "relu", Status.PASS, worst_ratio=ratio)


def test_the_merge_keeps_collection_order_and_the_last_record_of_a_repeated_id() -> None:
    gathered = Gathered()
    # Two workers' reports as they may arrive: test 2 first, then test 0, then test 1;
    # test 0 and test 2 both record "b" (a serial run keeps test 2's, where test 0 put it).
    for report in (
        _report("t[2]", 2, [_case("b", 0.5), _case("d", 0.25)]),
        _report("t[0]", 0, [_case("a", 0.0), _case("b", 1.0)]),
        _report("t[1]", 1, [_case("c", 0.125)]),
    ):
        gathered.pytest_runtest_logreport(report)
    merged = Results({"device": "cpu"})
    gathered.merge_into(merged)
    assert [(case.id, case.worst_ratio) for case in merged.cases] == [
        ("a", 0.0), ("b", 0.5), ("c", 0.125), ("d", 0.25)
    ]  # fmt: skip
    assert {case.device for case in merged.cases} == {"cpu"}


def test_the_comparison_of_record_lists_catches_a_record_a_worker_lost() -> None:
    tests = [[_case("a", 0.0), _case("b", 1.0)], [_case("c", 0.125)], [_case("d", 0.25)]]
    serial = Results({"device": "cpu"})
    for record in (record for records in tests for record in records):
        serial.add(record)

    def merged(indices: list[int]) -> list[CaseResult]:
        gathered, results = Gathered(), Results({"device": "cpu"})
        for index in indices:
            gathered.pytest_runtest_logreport(_report(f"t[{index}]", index, tests[index]))
        gathered.merge_into(results)
        return results.cases

    assert merged([1, 2, 0]) == serial.cases
    assert merged([2, 0]) != serial.cases  # test 1's report never came
