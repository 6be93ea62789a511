"""reporting.mutmut_summary on a hand-made mutants/ folder: changed lines, equivalents, the score."""

from __future__ import annotations

import json
from pathlib import Path

from reporting.mutmut_summary import mutant_change, summarise

TOY = """
def x_double__mutmut_orig(x):
    y = 2 * x
    return y


def x_double__mutmut_1(x):
    y = 3 * x
    return y


def x_double__mutmut_2(x):
    y = 2 * x


def xǁToyǁscale__mutmut_orig(self, x):
    return self.k * x


def xǁToyǁscale__mutmut_1(self, x):
    return self.k / x
"""

EQUIVALENTS = """
[[equivalent]]
function = "toy.double"
reason = "made up for the test"
changes = ["y = 3 * x"]
"""


def _mutants(tmp_path: Path) -> Path:
    mutants = tmp_path / "mutants"
    (mutants / "reference").mkdir(parents=True)
    (mutants / "reference" / "toy.py").write_text(TOY)
    stats = {"killed": 5, "survived": 3, "total": 9, "timeout": 1, "no_tests": 0}
    (mutants / "mutmut-cicd-stats.json").write_text(json.dumps(stats))
    return mutants


def test_the_change_is_the_differing_line_and_functions_are_named_without_mangling(tmp_path: Path) -> None:
    mutants = _mutants(tmp_path)
    assert mutant_change(mutants, "reference.toy.x_double__mutmut_1") == ("toy.double", "y = 3 * x")
    assert mutant_change(mutants, "reference.toy.x_double__mutmut_2") == ("toy.double", "deleted: return y")
    assert mutant_change(mutants, "reference.toy.xǁToyǁscale__mutmut_1") == (
        "toy.Toy.scale",
        "return self.k / x",
    )


def test_listed_survivors_are_equivalent_and_leave_the_score(tmp_path: Path) -> None:
    listing = "\n".join([
        "    reference.toy.x_double__mutmut_1: survived",
        "    reference.toy.x_double__mutmut_2: survived",
        "    reference.toy.xǁToyǁscale__mutmut_1: killed",
    ])  # fmt: skip
    summary = summarise(_mutants(tmp_path), listing, EQUIVALENTS)
    assert (summary["killed"], summary["equivalent"], summary["survived"], summary["total"]) == (5, 1, 1, 9)
    assert summary["score"] == 5 / 8  # killed / (total - equivalent)
    assert summary["survivors"] == [
        {
            "mutant": "reference.toy.x_double__mutmut_2",
            "function": "toy.double",
            "change": "deleted: return y",
        }
    ]
