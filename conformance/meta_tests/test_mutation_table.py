"""The report's mutation-score table, on a hand-made catalogue (no framework needed)."""

from __future__ import annotations

from reporting.collect import mutation_table


def _fault(name: str, kind: str, caught: bool | None) -> dict:
    return {"name": name, "kind": kind, "caught": caught}


def test_score_by_kind_counts_not_run_faults_as_not_caught() -> None:
    catalogue = {
        "schema": 1,
        "catalogue_size": 5,
        "faults": [
            _fault("a", "gradient", True),
            _fault("b", "loss", False),
            _fault("c", "gradient", False),
            _fault("d", "gradient", None),
        ],
    }
    table = mutation_table(catalogue)
    assert table.rows == [
        ["gradient", "1/3", "33%", "c, d (not run)"],
        ["loss", "0/1", "0%", "b"],
        ["all", "1/4", "25%", "b, c, d (not run)"],
    ]
    assert table.note.startswith("4 of the catalogue's 5 faulty adapters run")


def test_no_catalogue_gives_an_empty_table() -> None:
    assert mutation_table(None).rows == []
