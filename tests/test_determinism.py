"""The determinism check: its comparison, its records, and the driver end to end on a backend
whose drift is known (tests/fake_determinism_backend.py)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from conformance.determinism import difference
from conformance.determinism.entries import entries
from conformance.results import DeterminismResult, Kind, read_results, write_results
from reporting.determinism_table import determinism_table
from tests.fake_determinism_backend import AFFINITY_DRIFT, CALL_DRIFT, THREAD_DRIFT

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "conformance" / "results.schema.json").read_text())


def test_identical_arrays_are_bitwise():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    found = difference([a, a[::-1]], [a.copy(), a[::-1].copy()])
    assert found.bitwise and found.max_abs == 0.0 and str(found) == "bitwise"


def test_the_largest_absolute_difference_over_all_outputs():
    a, b = np.zeros(4, np.float32), np.array([0, 1e-3, 0, -5e-3], np.float32)
    found = difference([a, a], [a, b])
    assert not found.bitwise
    assert found.max_abs == pytest.approx(5e-3)


def test_signed_zeros_differ_in_bits_not_in_value():
    found = difference([np.array([0.0])], [np.array([-0.0])])
    assert not found.bitwise and found.max_abs == 0.0


def test_nan_or_infinity_in_other_places_is_an_infinite_difference():
    assert difference([np.array([np.nan, 1.0])], [np.array([1.0, np.nan])]).max_abs == math.inf
    assert difference([np.array([np.inf])], [np.array([-np.inf])]).max_abs == math.inf
    same_nans = difference([np.array([np.nan, 1.0])], [np.array([np.nan, 1.5])])
    assert same_nans.max_abs == 0.5


def test_outputs_that_cannot_be_compared_are_an_error():
    with pytest.raises(ValueError, match="cannot be compared"):
        difference([np.zeros(2, np.float32)], [np.zeros(2, np.float64)])
    with pytest.raises(ValueError, match="1 outputs against 2"):
        difference([np.zeros(2)], [np.zeros(2), np.zeros(2)])


def test_record_round_trip_with_an_infinite_difference_and_the_schema(tmp_path):
    records = [
        DeterminismResult("relu[x]", "off", "", (1, 2), True, 0.0, False, math.inf),
        DeterminismResult("relu[x]", "on", "", (1, 2), gap="no switch"),
    ]
    path = tmp_path / "determinism-x.json"
    write_results(path, Kind.DETERMINISM, {"backend": "x"}, records)
    payload = json.loads(path.read_text())  # strict JSON: no Infinity literal
    jsonschema.validate(payload, SCHEMA)
    assert payload["records"][0]["threads_max_abs"] == "inf"
    assert read_results(path, Kind.DETERMINISM).records == tuple(records)


def test_entries_filter_and_unknown_filter():
    names = [entry.name for entry in entries(only=("relu",))]
    assert names and all("relu" in name.lower() for name in names)
    assert any(name.startswith("relu_vjp[") for name in names)
    with pytest.raises(ValueError, match="no determinism entry matches"):
        entries(only=("no-such-op",))


def test_every_op_spec_and_both_lenet_variants_have_entries():
    from conformance.specs import SPECS

    ops = {entry.op for entry in entries()}
    assert ops == {*SPECS, "lenet"}
    assert {e.name for e in entries() if e.op == "lenet"} == {
        "LeNet chapter train step",
        "LeNet relu-max train step",
    }


def test_driver_measures_the_known_drift_of_a_fake_backend(tmp_path):
    command = [sys.executable, "-m", "conformance.determinism", "--backend",
               "tests.fake_determinism_backend:DriftingBackend", "--entries", "relu[,sigmoid[",
               "--results-dir", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    found = read_results(tmp_path / "determinism-tests.fake_determinism_backend:DriftingBackend.json")
    records = {(r.entry.split("[")[0], r.switch): r for r in found.records}
    assert set(records) == {("relu", "off"), ("relu", "on"), ("sigmoid", "off"), ("sigmoid", "on")}
    cores = len(os.sched_getaffinity(0))
    off, on = records["relu", "off"], records["relu", "on"]
    assert off.threads == on.threads == (1, cores)
    assert not off.twice_bitwise and off.twice_max_abs == pytest.approx(CALL_DRIFT, rel=1e-5)
    assert on.twice_bitwise and on.twice_max_abs == 0.0
    assert on.switch_name == "DriftingBackend.enable_determinism()"
    for record in (off, on):  # both the thread variable and the affinity reached the worker
        assert record.threads_bitwise == (cores == 1)
        expected = (THREAD_DRIFT + AFFINITY_DRIFT) * (cores - 1)
        assert record.threads_max_abs == pytest.approx(expected, rel=1e-5, abs=1e-12)
    assert records["sigmoid", "off"].twice_bitwise and records["sigmoid", "off"].threads_bitwise
    assert records["sigmoid", "on"].error == "RuntimeError: sigmoid has no deterministic kernel"
    assert records["sigmoid", "on"].twice_bitwise is None


def test_unknown_backend_exits_2_with_a_message(tmp_path):
    command = [sys.executable, "-m", "conformance.determinism", "--backend", "no-such-backend"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "error" in done.stderr and "no-such-backend" in done.stderr and "Traceback" not in done.stderr


def test_report_table_cells(tmp_path):
    records = [
        DeterminismResult("a", "off", "", (1, 2), True, 0.0, True, 0.0),
        DeterminismResult("a", "on", "", (1, 2), gap="no switch here"),
        DeterminismResult("b", "off", "", (1, 2), False, 1e-7, False, 0.25),
        DeterminismResult("b", "on", "", (1, 2), gap="no switch here"),
    ]
    write_results(tmp_path / "determinism-x.json", Kind.DETERMINISM, {"backend": "x"}, records)
    table = determinism_table(tmp_path, ["x", "y"])
    assert table.header == ["entry", "x switch off", "x switch on"]
    cells = [[c if isinstance(c, str) else c.text for c in row] for row in table.rows]
    assert cells == [["a", "bitwise", "-"], ["b", "twice: 1e-07; 1 vs 2 threads: 0.25", "-"]]
    assert "x: no switch (no switch here)" in table.note
    write_results(
        tmp_path / "determinism-z.json",
        Kind.DETERMINISM,
        {"backend": "z"},
        [DeterminismResult("c", "on", "z.on()", (1, 2), error="UnimplementedError: no kernel")],
    )
    table = determinism_table(tmp_path, ["z"])
    assert [c.text for c in table.rows[0][1:]] == ["not run", "raises UnimplementedError"]
    assert "z with the switch on, c: UnimplementedError: no kernel." in table.note
    assert determinism_table(tmp_path, ["y"]).rows == []
