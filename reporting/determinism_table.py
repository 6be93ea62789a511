"""The determinism table: per backend and entry, bitwise identical or the largest difference.

Reads ``<results>/determinism-<backend>.json`` (:mod:`conformance.determinism`) of each backend.
"""

from __future__ import annotations

from pathlib import Path

from conformance.results import DeterminismResult, Kind, read_results
from reporting.collect import Cell, Table, Tone


def _cell(record: DeterminismResult | None) -> Cell:
    """ "bitwise", or what differed and by how much (largest absolute difference)."""
    if record is None:
        return Cell("not run")
    if record.gap:
        return Cell("-")
    if record.error:
        return Cell(f"raises {record.error.split(':')[0]}")
    parts = []
    if not record.twice_bitwise:
        parts.append(f"twice: {record.twice_max_abs:.3g}")
    if not record.threads_bitwise:
        parts.append(f"{record.threads[0]} vs {record.threads[1]} threads: {record.threads_max_abs:.3g}")
    return Cell("; ".join(parts), Tone.NEUTRAL) if parts else Cell("bitwise", Tone.GOOD)


def determinism_table(results: Path, backends: list[str]) -> Table:
    """Rows: entries in the check's order; two columns per backend with results (switch off, on)."""
    found = {
        backend: read_results(path, Kind.DETERMINISM)
        for backend in backends
        if (path := results / f"determinism-{backend}.json").exists()
    }
    header, columns, notes, entries = ["entry"], [], [], {}
    for backend, file in found.items():
        by_switch = {(r.entry, r.switch): r for r in file.records}
        entries.update(dict.fromkeys(r.entry for r in file.records))
        for switch in ("off", "on"):
            names = {r.switch_name for r in file.records if r.switch == switch and r.switch_name}
            gaps = {r.gap for r in file.records if r.switch == switch and r.gap}
            header.append(f"{backend} switch {switch}")
            columns.append((backend, switch, by_switch))
            if switch == "on" and names:
                notes.append(f"{backend}: switch on is {' '.join(sorted(names))}.")
            if switch == "on" and gaps and not names:
                notes.append(f"{backend}: no switch ({' / '.join(sorted(gaps))}).")
            errors = {f"{r.entry}: {r.error}" for r in file.records if r.switch == switch and r.error}
            notes += [f"{backend} with the switch {switch}, {error}." for error in sorted(errors)]
    rows = [[entry, *(_cell(by.get((entry, switch))) for _, switch, by in columns)] for entry in entries]
    threads = sorted({r.threads for file in found.values() for r in file.records})
    note = (
        "Each entry run twice in one process, and in two processes with "
        + " and ".join(f"{a} and {b}" for a, b in threads)
        + " CPU threads (python -m conformance.determinism). bitwise: the same bits every time; otherwise "
        "the largest absolute difference (inf: NaN or infinity positions differ). " + " ".join(notes)
    )
    return Table(
        "Determinism",
        header,
        rows,
        note,
        "Not run: python -m conformance.determinism --backend NAME (nox -s report).",
    )
