"""The suite's short form (``--short``, CI's): a quarter of each enumerated family, the rest whole.

Checked on the case lists themselves, on a run of the suite (the NumPy reference as a backend,
``-p tests.fake_backend_plugin``) and on the report that says which form ran.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conformance import short_form
from conformance.dot_product import dot_cases
from conformance.results import CaseResult, Kind, Status, write_results
from conformance.specs import all_cases
from reporting.__main__ import build
from reporting.collect import environment_table, load

ROOT = Path(__file__).resolve().parents[1]
CASES = all_cases()


def test_the_short_form_keeps_about_a_quarter_of_each_enumerated_family_and_op() -> None:
    total, kept = Counter(), Counter()
    for case in CASES:
        if case.source in short_form.ENUMERATED:
            total[case.source, case.op] += 1
            kept[case.source, case.op] += short_form.keeps({"case": case})
    for check in dot_cases():
        total["dot-product", check.op] += 1
        kept["dot-product", check.op] += short_form.keeps({"check": check})
    assert {source for source, _ in total} == {"grid", "pairwise", "padding-forms", "dot-product"}
    for key, count in total.items():
        if count >= 40:  # a hash splits a large family closely: 0.15 to 0.35 of it kept
            assert 0.15 * count <= kept[key] <= 0.35 * count, (key, kept[key], count)
        assert kept[key] < count or count < 4, key  # a family of four or more loses some
    share = sum(kept.values()) / sum(total.values())
    assert 0.22 <= share <= 0.28, share


def test_the_short_form_keeps_every_other_case_and_test() -> None:
    others = [case for case in CASES if case.source not in short_form.ENUMERATED]
    assert {case.source for case in others} == {"chapter", "special", "ties"}
    assert all(short_form.keeps({"case": case}) for case in others)
    assert short_form.keeps({}) and short_form.keeps({"variant": "chapter", "dtype": "float32"})


def test_the_choice_depends_on_the_id_alone() -> None:
    grid = [case for case in CASES if case.source == "grid"]
    assert [short_form.keeps({"case": c}) for c in grid] == [short_form.kept(c.id) for c in grid]
    # The published CRC-32 of "" is 0 (kept); of "a" 0xE8B7BE43, 3 mod 4; of "b" 0x71BEEFF9, 1 mod 4.
    assert short_form.kept("") and not short_form.kept("a") and not short_form.kept("b")


@pytest.mark.parametrize("short", [False, True])
def test_a_short_run_records_the_kept_cases_and_says_so(tmp_path: Path, short: bool) -> None:
    selection = "test_case and relu-"  # relu's grid, pairwise and special cases (not relu_vjp's)
    command = [sys.executable, "-m", "pytest", "conformance", "--backend", "fake", "-p",
               "tests.fake_backend_plugin", "-p", "no:cacheprovider", "-n", "0", "-q", "-k", selection,
               "--results-dir", str(tmp_path), *(["--short"] if short else [])]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    written = json.loads((tmp_path / "conformance-fake.json").read_text())
    ids = {record["id"] for record in written["records"]}
    relu = [case for case in CASES if case.op == "relu"]
    expected = {case.id for case in relu if not short or short_form.keeps({"case": case})}
    assert ids == expected
    assert (written["environment"].get(short_form.ENVIRONMENT_KEY) == short_form.SHORT) is short


def test_the_report_says_which_backends_ran_the_short_form(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    case = CaseResult("relu-a-f32", "relu", Status.PASS, "float32", "grid", worst_ratio=0.0)
    write_results(folder / "conformance-torch.json", Kind.CONFORMANCE,
                  {"backend": "torch", short_form.ENVIRONMENT_KEY: short_form.SHORT}, [case])  # fmt: skip
    write_results(folder / "conformance-jax.json", Kind.CONFORMANCE, {"backend": "jax"}, [case])
    rows = {row[0]: row[-1] for row in environment_table(load(folder, ["torch", "jax"])).rows}
    assert rows == {"torch": short_form.SHORT, "jax": "full"}
    report = build(folder, tmp_path / "report", ["torch", "jax"], quick=True)[0].read_text()
    assert "Conformance of torch in the suite's short form" in report
