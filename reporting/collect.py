"""Read a results folder and turn it into the report's tables.

Inputs, all optional: ``conformance-<backend>.json`` (the suite), ``bench-<backend>.json``
(the benchmarks), ``ddp-<backend>.json`` (data-parallel LeNet) and
``train/<runner>-<variant>/run.json`` (full training runs) or
``train-quick/...`` (the short CI runs), each a results file of
:mod:`conformance.results` read with :func:`~conformance.results.read_results`;
``divergences-<backend>.json`` (the probes, :func:`read_divergences`);
``mutation-catalogue.json`` and ``mutmut-reference.json`` (the mutation scores).
Table cells are strings, or a :class:`Cell` whose tone the HTML page colours.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from conformance.cases import ADVERSARIAL
from conformance.lenet_checks import BATCH, EXPORT_STEPS
from conformance.results import (
    TRAINING_FILE,
    BenchmarkResult,
    CaseResult,
    Kind,
    ResultsFile,
    Status,
    TrainingRun,
    read_results,
)
from conformance.short_form import ENVIRONMENT_KEY as SUITE_KEY
from conformance.specs import SPECS

TRAINING_FOLDERS = {"train": "full training runs", "train-quick": "short CI runs (a few hundred steps)"}
# A known-gaps row lists this many case ids, then counts the rest.
LISTED_GAP_CASES = 3


class Tone(StrEnum):
    """How a cell reads: as a good or a bad outcome, or neither."""

    GOOD = "good"
    BAD = "bad"
    NEUTRAL = "neutral"


@dataclass(frozen=True)
class Cell:
    """A table cell with a tone (a plain ``str`` cell is neutral)."""

    text: str
    tone: Tone = Tone.NEUTRAL


@dataclass
class Table:
    """A titled table: ``header`` and ``rows`` of cells, an optional note below, and what an
    empty table says instead."""

    title: str
    header: list[str]
    rows: list[list[str | Cell]]
    note: str = ""
    empty: str = "No results."


@dataclass
class Found:
    """Everything found in a results folder for ``backends``."""

    backends: list[str]
    conformance: dict[str, ResultsFile] = field(default_factory=dict)
    divergences: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    benchmarks: dict[str, ResultsFile] = field(default_factory=dict)
    training: dict[tuple[str, str], TrainingRun] = field(default_factory=dict)  # (runner, variant) -> run
    data_parallel: dict[str, ResultsFile] = field(default_factory=dict)  # ddp-<backend>.json
    training_source: str = ""
    catalogue: dict | None = None  # mutation-catalogue.json: the conformance suite's fault catalogue
    mutmut: dict | None = None  # mutmut-reference.json: mutation testing of reference/

    def cases(self, backend: str) -> tuple[CaseResult, ...]:
        """The conformance records of ``backend`` (none when it has no results file)."""
        found = self.conformance.get(backend)
        return found.records if found else ()

    def benchmark_results(self) -> Iterable[tuple[str, BenchmarkResult]]:
        """(backend, record) for every benchmark of every backend."""
        for backend, found in self.benchmarks.items():
            for record in found.records:
                yield backend, record


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def read_divergences(path: Path) -> list[dict[str, Any]]:
    """The probe entries of a ``divergences-<backend>.json`` (family, call, matches, detail,
    adapter); none when the file is absent."""
    return (_read_json(path) or {}).get("probes", [])


def backends_with_results(results: Path) -> list[str]:
    """The backends that have a conformance results file in ``results``, sorted by name."""
    prefix = "conformance-"
    return sorted(path.stem.removeprefix(prefix) for path in results.glob(f"{prefix}*.json"))


def load(results: Path, backends: list[str] | None = None, *, quick: bool = False) -> Found:
    """Load what exists for ``backends`` (default: :func:`backends_with_results`), and the training
    runs of the backends and the NumPy reference: those of the first folder of ``train`` and
    ``train-quick`` (the other way round when ``quick``) that holds a run."""
    found = Found(backends_with_results(results) if backends is None else list(backends))
    for backend in found.backends:
        for kind, name, store in ((Kind.CONFORMANCE, "conformance", found.conformance),
                                  (Kind.BENCHMARKS, "bench", found.benchmarks),
                                  (Kind.DATA_PARALLEL, "ddp", found.data_parallel)):  # fmt: skip
            path = results / f"{name}-{backend}.json"
            if path.exists():
                store[backend] = read_results(path, kind)
        probes = read_divergences(results / f"divergences-{backend}.json")
        if probes:
            found.divergences[backend] = probes
    found.catalogue = _read_json(results / "mutation-catalogue.json")
    found.mutmut = _read_json(results / "mutmut-reference.json")
    runners = {"reference", *found.backends}
    folders = list(TRAINING_FOLDERS)  # "train", then "train-quick"
    for folder in reversed(folders) if quick else folders:
        runs: dict[tuple[str, str], TrainingRun] = {}
        for path in sorted((results / folder).glob(f"*/{TRAINING_FILE}")):
            for run in read_results(path, Kind.TRAINING).records:
                if run.runner in runners:
                    runs[(run.runner, run.variant)] = run
        if runs:
            found.training, found.training_source = runs, folder
            break
    return found


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def op_order(ops: Iterable[str]) -> list[str]:
    """``ops`` in the op-spec registry's order (each spec's functions in turn); ops that no
    spec names (the LeNet checks) follow, sorted."""
    registry = [function.name for spec in SPECS.values() for function in spec.functions]
    present = set(ops)
    return [op for op in registry if op in present] + sorted(present - set(registry))


def status_cell(cases: list[CaseResult]) -> Cell:
    """Counts per status (pass/fail/error/gap/fixed) · the worst error-to-bound ratio.

    Bad when a case failed, raised or is a fixed gap; good when every case passed;
    neutral when the rest are declared gaps.
    """
    counts = {status: sum(case.status == status for case in cases) for status in Status}
    ratios = [case.worst_ratio for case in cases if case.worst_ratio is not None]
    worst = _ratio(max(ratios) if ratios else None)
    text = "/".join(str(counts[status]) for status in Status) + f" · {worst}"
    if counts[Status.FAIL] or counts[Status.ERROR] or counts[Status.FIXED]:
        return Cell(text, Tone.BAD)
    return Cell(text, Tone.NEUTRAL if counts[Status.GAP] else Tone.GOOD)


def conformance_matrix(found: Found) -> Table:
    """Op x backend: the count of each status and the worst error-to-bound ratio."""
    backends = [b for b in found.backends if b in found.conformance]
    by_op: dict[str, dict[str, list[CaseResult]]] = defaultdict(lambda: defaultdict(list))
    for backend in backends:
        for case in found.cases(backend):
            by_op[case.op][backend].append(case)
    rows: list[list[str | Cell]] = [
        [op, *(status_cell(by_op[op][b]) if by_op[op][b] else "-" for b in backends)]
        for op in op_order(by_op)
    ]
    return Table(
        "Conformance matrix",
        ["op", *backends],
        rows,
        "Each cell: pass/fail/error/gap/fixed case counts · the worst error-to-bound ratio "
        "(accepted at <= 1; 0 for exact comparisons). A gap is a declared known gap that failed "
        "as declared; a fixed gap passed and fails the run until its entry is removed.",
    )


def _passed(cases: list[CaseResult]) -> Cell:
    """``passed/total``, good when all passed (declared gaps count as not passed)."""
    passed = sum(case.status == Status.PASS for case in cases)
    return Cell(f"{passed}/{len(cases)}", Tone.GOOD if passed == len(cases) else Tone.BAD)


def adversarial_coverage(found: Found) -> Table:
    """Per op with an adversarial space: its pairwise coverage, and per backend the pairwise
    cases and the cases of the Hypothesis search that passed."""
    backends = [b for b in found.backends if b in found.conformance]
    rows: list[list[str | Cell]] = []
    for name, spec in SPECS.items():
        if spec.space is None:
            continue
        covered, possible = spec.space.coverage()
        functions = {function.name for function in spec.functions}
        row: list[str | Cell] = [
            name,
            str(len(spec.space.factors)),
            str(len(spec.space.rows())),
            Cell(f"{covered}/{possible} ({100 * covered / possible:.0f}%)",
                 Tone.GOOD if covered == possible else Tone.BAD),
        ]  # fmt: skip
        for backend in backends:
            mine = [case for case in found.cases(backend) if case.op in functions]
            pairwise = [case for case in mine if case.source == "pairwise"]
            drawn = [case for case in mine if case.source == ADVERSARIAL]
            if not (pairwise or drawn):
                row.append("-")
                continue
            cells = _passed(pairwise), _passed(drawn)
            row.append(Cell(f"{cells[0].text} · {cells[1].text}", _worst(*cells)))
        rows.append(row)
    return Table(
        "Adversarial coverage",
        ["op", "factors", "pairwise rows", "pairs covered", *backends],
        rows,
        "Each op's adversarial space (special values, memory layouts, degenerate geometry, dtypes): "
        "its pairwise-covering rows hold every pair of levels of two factors; a backend cell is "
        "pairwise cases passed/run · cases of the Hypothesis search passed/run (the deep profile "
        "in the full report, the ci profile in the quick one).",
    )


def _worst(*cells: Cell) -> Tone:
    return Tone.BAD if any(cell.tone == Tone.BAD for cell in cells) else Tone.GOOD


def known_gaps(found: Found) -> Table:
    """Every declared gap (status gap or fixed): backend, op, the cases, the reason, where it is tracked."""
    groups: dict[tuple[str, str, Status, str, str], list[str]] = defaultdict(list)
    for backend in found.backends:
        for case in found.cases(backend):
            if case.status in (Status.GAP, Status.FIXED):
                groups[(backend, case.op, case.status, case.gap, case.upstream)].append(case.id)
    rows: list[list[str | Cell]] = []
    for (backend, op, status, reason, upstream), ids in sorted(groups.items()):
        listed = ", ".join(ids[:LISTED_GAP_CASES])
        more = len(ids) - LISTED_GAP_CASES
        cases = f"{listed} and {more} more ({len(ids)} cases)" if more > 0 else listed
        verdict = Cell("gap", Tone.NEUTRAL) if status == Status.GAP else Cell("fixed: remove it", Tone.BAD)
        rows.append([backend, op, verdict, cases, reason or "-", upstream or "-"])
    return Table(
        "Known gaps",
        ["backend", "op", "status", "cases", "reason", "upstream"],
        rows,
        "Declared in conformance's known-gaps file and run as strict expected failures: a gap that "
        "starts passing is reported as fixed.",
        "No declared gaps: every case runs on every backend." if found.conformance else "No results.",
    )


def emulations(found: Found) -> Table:
    """Every emulation note an adapter recorded, with the ops that needed it."""
    rows: list[list[str | Cell]] = []
    for backend in found.backends:
        ops_by_note: dict[str, set[str]] = defaultdict(set)
        for case in found.cases(backend):
            for note in case.notes:
                ops_by_note[note].add(case.op)
        rows += [[backend, note, ", ".join(sorted(ops))] for note, ops in sorted(ops_by_note.items())]
    return Table("Emulations", ["backend", "what the adapter composes", "ops"], rows)


_VERDICTS = {
    True: Cell("same as reference", Tone.GOOD),
    False: Cell("DIFFERS", Tone.BAD),
    "refuses": Cell("REFUSES", Tone.BAD),
    "n/a": Cell("n/a"),
}


def divergence_table(found: Found) -> Table:
    """Each probe family: what the native call returns per backend, measured."""
    rows: list[list[str | Cell]] = []
    for backend in found.backends:
        for probe in found.divergences.get(backend, []):
            rows.append([probe["family"], backend, f"`{probe['call']}`", _VERDICTS[probe["matches"]],
                         probe["detail"], probe["adapter"]])  # fmt: skip
    rows.sort(key=lambda row: (row[0], row[1]))
    return Table(
        "Divergences of the native calls",
        [
            "family",
            "backend",
            "native call (obvious arguments)",
            "verdict",
            "measured",
            "how the adapter matches",
        ],
        rows,
        "Measured by running each framework's native call on a small fixed input against the reference.",
    )


def _export_verdict(case: CaseResult) -> Cell:
    """pass (good); a gap with its reason and upstream link (neutral); else the status and message (bad)."""
    if case.status == Status.PASS:
        return Cell("pass", Tone.GOOD)
    if case.status == Status.GAP:
        return Cell(f"gap: {case.gap} ({case.upstream or 'no upstream link'})", Tone.NEUTRAL)
    return Cell(f"{case.status}: {case.message}", Tone.BAD)


def export_table(found: Found) -> Table:
    """Per backend and variant, the ``lenet_export`` record: the trained LeNet exported to ONNX and
    run in ONNX Runtime (exporter, version, opset, worst ratios, seconds, verdict)."""
    rows: list[list[str | Cell]] = []
    for backend in found.backends:
        for case in found.cases(backend):
            if case.op != "lenet_export":
                continue
            params = case.params
            exporter = f"{params['exporter']} {params['exporter_version']}" if "exporter" in params else "-"
            seconds = [f"{params[key]:.2f}" if key in params else "-" for key in ("export_s", "check_s")]
            rows.append([
                backend, params.get("variant", "-"), exporter, str(params.get("opset", "-")),
                _ratio(params.get("ratio_backend")), _ratio(params.get("ratio_reference")),
                " / ".join(seconds), _export_verdict(case),
            ])  # fmt: skip
    return Table(
        "Exported LeNets in ONNX Runtime",
        ["backend", "variant", "exporter and version", "opset", "ratio vs backend", "ratio vs reference",
         "export / check s", "verdict"],
        rows,
        f"Each backend's float32 LeNet after {EXPORT_STEPS} SGD steps, exported with its framework's "
        f"exporter and run in ONNX Runtime's CPU provider on {BATCH} test images; worst error-to-bound "
        "ratios of its logits against the backend's own (bound: twice the LeNet logits bound) and "
        "against the float64 reference at the same parameters (the LeNet logits bound), accepted at <= 1.",
        "No export results (conformance/test_export.py).",
    )  # fmt: skip


def trajectories(found: Found) -> dict[str, dict[str, dict]]:
    """Variant -> backend -> the free-running float32 LeNet trajectory recorded by the suite.

    Each value is the ``params`` of a ``lenet_trajectory`` record (per-step losses
    and parameter deviations of the backend and of the reference's float32 run).
    """
    found_runs: dict[str, dict[str, dict]] = defaultdict(dict)
    for backend in found.backends:
        for case in found.cases(backend):
            if case.op == "lenet_trajectory" and case.params.get("losses"):
                found_runs[case.params["variant"]][backend] = dict(case.params)
    return dict(found_runs)


def environment_table(found: Found) -> Table:
    """Framework version, device, precision mode, NumPy, the machine's CPU, and the suite's form
    (``full``, or the short form's description, conformance/short_form.py)."""
    rows: list[list[str | Cell]] = []
    for backend in found.backends:
        conformance = found.conformance.get(backend)
        env = conformance.environment if conformance else {}
        bench = found.benchmarks.get(backend)
        machine = bench.environment if bench else {}
        rows.append([
            backend, env.get("framework_version", "-"), env.get("device", "-"), env.get("precision", "-"),
            env.get("numpy_version", "-"),
            f"{machine['cpu']} ({machine.get('cpu_count') or '?'} cores)" if "cpu" in machine else "-",
            env.get(SUITE_KEY, "full") if conformance else "-",
        ])  # fmt: skip
    columns = ["backend", "framework", "device", "precision", "NumPy", "CPU", "conformance suite"]
    return Table("Environment", columns, rows)


def short_form_backends(found: Found) -> list[str]:
    """The backends whose conformance results come from the suite's short form (``--short``)."""
    return [name for name, file in found.conformance.items() if SUITE_KEY in file.environment]


def mutation_table(catalogue: dict[str, Any] | None) -> Table:
    """The conformance suite's mutation score by kind of fault, from ``mutation-catalogue.json``.

    ``catalogue`` is that file's content (``None`` when absent). Per kind: faults
    caught / faults in the catalogue, and the names of those not caught (a fault
    that could not run counts as not caught); the last row is the overall score.
    """
    faults = (catalogue or {}).get("faults", [])
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for fault in faults:
        by_kind[fault["kind"]].append(fault)

    def row(kind: str, group: list[dict]) -> list[str | Cell]:
        caught = sum(fault["caught"] is True for fault in group)
        missed = [fault["name"] + ("" if fault["caught"] is False else " (not run)")
                  for fault in group if fault["caught"] is not True]  # fmt: skip
        return [kind, f"{caught}/{len(group)}", f"{100 * caught / len(group):.0f}%", ", ".join(missed) or "-"]

    rows = [row(kind, group) for kind, group in by_kind.items()]
    if faults:
        rows.append(row("all", faults))
    size = (catalogue or {}).get("catalogue_size", 0)
    return Table(
        "Mutation score of the conformance suite",
        ["kind of fault", "caught", "score", "not caught"],
        rows,
        f"{len(faults)} of the catalogue's {size} faulty adapters run (the PyTorch adapter with one "
        "deliberate mistake each); a fault is caught when every check it names fails.",
    )


def mutmut_table(summary: dict[str, Any] | None) -> Table:
    """mutmut's score on ``reference/`` (``nox -s mutation-reference``), and each surviving mutant.

    ``summary`` is ``mutmut-reference.json`` (``None`` when the session has not run):
    the score is killed / (total - equivalent), equivalent mutants being those listed
    with a reason in ``tests/equivalent_mutants.toml``.
    """
    title = "Mutation testing of the reference (mutmut)"
    if not summary:
        return Table(title, [], [], "", "Not run: nox -s mutation-reference.")
    header = ["mutants", "killed", "equivalent", "survived", "timeouts", "no tests", "score"]
    keys = ("total", "killed", "equivalent", "survived", "timeout", "no_tests")
    counts: list[str | Cell] = [str(summary[key]) for key in keys]
    rows = [[*counts, f"{summary['score']:.1%}"]]
    rows += [[f"survived: {s['function']}", f"`{s['change']}`", "", "", "", "", ""]
             for s in summary.get("survivors", [])]  # fmt: skip
    return Table(
        title,
        header,
        rows,
        "Every mutant of reference/ run against the reference's own tests; the equivalent ones "
        "(no test can observe the change) are listed with their reasons in tests/equivalent_mutants.toml.",
    )
