"""Read a results folder and turn it into the report's tables (plain lists of rows).

Inputs, all optional: ``conformance-<backend>.json`` (the suite),
``divergences-<backend>.json`` (the probes), ``bench-<backend>.json``
(pytest-benchmark), ``train/<backend>-<variant>/metrics.json`` (full training
runs) or ``train-quick/...`` (the short CI runs).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.results import Status

MATMUL_NAME = "matmul-float64-2048"  # benchmarks.conftest.MATMUL_NAME, without importing pytest


@dataclass
class Table:
    """A titled table: ``header`` and ``rows`` of strings, with an optional note below."""

    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass
class Results:
    """Everything found in a results folder, per backend."""

    backends: list[str]
    conformance: dict[str, dict] = field(default_factory=dict)
    divergences: dict[str, dict] = field(default_factory=dict)
    benchmarks: dict[str, dict] = field(default_factory=dict)
    training: dict[tuple[str, str], dict] = field(default_factory=dict)  # (runner, variant) -> run
    training_source: str = ""
    catalogue: dict | None = None  # mutation-catalogue.json: the conformance suite's fault catalogue
    mutmut: dict | None = None  # mutmut-reference.json: mutation testing of reference/


def _read(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def load(results: Path, backends: list[str]) -> Results:
    """Load what exists for ``backends`` (the NumPy reference's training runs too)."""
    found = Results(backends)
    for backend in backends:
        for kind, store in (("conformance", found.conformance), ("divergences", found.divergences),
                            ("bench", found.benchmarks)):  # fmt: skip
            data = _read(results / f"{kind}-{backend}.json")
            if data is not None:
                store[backend] = data
    found.catalogue = _read(results / "mutation-catalogue.json")
    found.mutmut = _read(results / "mutmut-reference.json")
    for folder in ("train", "train-quick"):
        runs = {}
        for runner in ("reference", *backends):
            for variant in ("chapter", "relu-max"):
                metrics = _read(results / folder / f"{runner}-{variant}" / "metrics.json")
                if metrics:
                    run = _read(results / folder / f"{runner}-{variant}" / "run.json") or {}
                    runs[(runner, variant)] = {"metrics": metrics, **run}
        if runs:
            found.training, found.training_source = runs, folder
            break
    return found


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def conformance_matrix(found: Results) -> Table:
    """Op x backend: pass/fail/error/unsupported counts and the worst error-to-bound ratio."""
    backends = [b for b in found.backends if b in found.conformance]
    cells: dict[str, dict[str, str]] = defaultdict(dict)
    for backend in backends:
        by_op: dict[str, list[dict]] = defaultdict(list)
        for case in found.conformance[backend]["cases"]:
            by_op[case["op"]].append(case)
        for op, cases in by_op.items():
            counts = [sum(c["status"] == s for c in cases) for s in Status]
            ratios = [c["worst_ratio"] for c in cases if c.get("worst_ratio") is not None]
            cells[op][backend] = "/".join(map(str, counts)) + f" · {_ratio(max(ratios) if ratios else None)}"
    rows = [[op, *(cells[op].get(b, "-") for b in backends)] for op in sorted(cells)]
    return Table(
        "Conformance matrix",
        ["op", *backends],
        rows,
        "Each cell: pass/fail/error/unsupported case counts · the worst error-to-bound ratio "
        "(accepted at <= 1; 0 for exact comparisons).",
    )


def emulations(found: Results) -> Table:
    """Every emulation note an adapter recorded, with the ops that needed it."""
    rows = []
    for backend in found.backends:
        if backend not in found.conformance:
            continue
        ops_by_note: dict[str, set[str]] = defaultdict(set)
        for case in found.conformance[backend]["cases"]:
            for note in case.get("notes") or []:
                ops_by_note[note].add(case["op"])
        rows += [[backend, note, ", ".join(sorted(ops))] for note, ops in sorted(ops_by_note.items())]
    return Table("Emulations", ["backend", "what the adapter composes", "ops"], rows)


def divergence_table(found: Results) -> Table:
    """Each probe family: what the native call returns per backend, measured."""
    rows = []
    verdicts = {True: "same as reference", False: "DIFFERS", "refuses": "REFUSES", "n/a": "n/a"}
    for backend in found.backends:
        for probe in (found.divergences.get(backend) or {}).get("probes", []):
            rows.append([probe["family"], backend, f"`{probe['call']}`", verdicts[probe["matches"]],
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


def _gflops(bench: dict) -> float | None:
    flops = bench.get("extra_info", {}).get("flops")
    return flops / bench["stats"]["median"] / 1e9 if flops else None


def op_benchmarks(found: Results) -> tuple[Table, dict[tuple[str, str, str], dict[str, float]]]:
    """GFLOP/s per (op, size, pass) and backend, with ratios to the fastest and to matmul."""
    rates: dict[tuple[str, str, str], dict[str, float]] = defaultdict(dict)
    matmul: dict[str, float] = {}
    for backend, data in found.benchmarks.items():
        for bench in data.get("benchmarks", []):
            info, rate = bench.get("extra_info", {}), _gflops(bench)
            if rate is None:
                continue
            if bench["name"] == MATMUL_NAME:
                matmul[backend] = rate
            elif "op" in info:
                rates[(info["op"], info["workload"], info["pass_"])][backend] = rate
    backends = [b for b in found.backends if b in found.benchmarks]
    rows = []
    for key in sorted(rates):
        fastest = max(rates[key].values())
        cells = []
        for backend in backends:
            rate = rates[key].get(backend)
            if rate is None:
                cells.append("-")
                continue
            to_matmul = f", {rate / matmul[backend]:.2f} mm" if backend in matmul else ""
            cells.append(f"{rate:.2f} ({rate / fastest:.2f}x fastest{to_matmul})")
        rows.append([*key, *cells])
    matmul_note = ", ".join(f"{b}: {matmul[b]:.1f}" for b in backends if b in matmul)
    note = (
        "float32 GFLOP/s from the median time; in brackets the ratio to the fastest backend and to "
        "NumPy's float64 2048x2048 matmul measured in the same run (mm). "
        f"Matmul GFLOP/s per run: {matmul_note}."
    )
    return Table("Per-op benchmarks", ["op", "size", "pass", *backends], rows, note), rates


def lenet_table(found: Results) -> Table:
    """Per runner and variant: accuracy, throughput, and the epoch benchmark against the plain loop."""
    # (backend, runner, variant) -> (runner's ex/s, its yardstick's ex/s), from median rounds
    epoch: dict[tuple[str, str, str], tuple[float, float | None]] = {}
    for backend, data in found.benchmarks.items():
        for bench in data.get("benchmarks", []):
            info = bench.get("extra_info", {})
            if "examples" in info:
                seconds = info.get("yardstick_seconds")
                yardstick = info["examples"] / statistics.median(seconds) if seconds else None
                epoch[(backend, info["runner"], info["variant"])] = (
                    info["examples"] / bench["stats"]["median"],
                    yardstick,
                )
    rows = []
    for runner in ("reference", *found.backends):
        for variant in ("chapter", "relu-max"):
            run = found.training.get((runner, variant))
            last = run["metrics"][-1] if run else None
            # The reference is timed in turns with the PyTorch adapter, an adapter with its plain loop.
            key = ("torch", "reference", variant) if runner == "reference" else (runner, "adapter", variant)
            adapter, plain = epoch.get(key, (None, None))
            if not (last or adapter):
                continue
            rows.append([
                runner, variant,
                f"{last['test_acc']:.4f}" if last else "-",
                f"{len(run['metrics'])} ({run.get('lr', '-')}, {run.get('batch_size', '-')})" if run else "-",
                f"{last['examples_per_s']:,.0f}" if last else "-",
                f"{adapter:,.0f}" if adapter else "-",
                f"{plain:,.0f}" if plain else "-",
                f"{adapter / plain:.2f}" if adapter and plain else "-",
            ])  # fmt: skip
    source = {"train": "full training runs", "train-quick": "short CI runs (a few hundred steps)"}
    return Table(
        "LeNet on Fashion-MNIST",
        ["runner", "variant", "test acc", "epochs (lr, batch)", "train ex/s", "epoch bench ex/s",
         "plain loop ex/s", "adapter / plain"],
        rows,
        f"Accuracy from {source.get(found.training_source, 'no training runs')}; the epoch benchmark "
        "times the adapter's train_step and the framework's plain loop in turns, round by round "
        "(float32, batch 128, rates from the median round). For the NumPy reference the last two "
        "columns are the PyTorch adapter's rate, timed in turns with it, and the reference's rate over it.",
    )  # fmt: skip


def trajectories(found: Results) -> dict[str, dict[str, dict]]:
    """Variant -> backend -> the free-running float32 LeNet trajectory recorded by the suite.

    Each value is the ``params`` of a ``lenet_trajectory`` record (per-step losses
    and parameter deviations of the backend and of the reference's float32 run).
    """
    found_runs: dict[str, dict[str, dict]] = defaultdict(dict)
    for backend in found.backends:
        for case in (found.conformance.get(backend) or {}).get("cases", []):
            if case["op"] == "lenet_trajectory" and case.get("params", {}).get("losses"):
                found_runs[case["params"]["variant"]][backend] = case["params"]
    return dict(found_runs)


def environment_table(found: Results) -> Table:
    """Framework version, device, precision mode, NumPy, and the machine's CPU."""
    rows = []
    for backend in found.backends:
        env = (found.conformance.get(backend) or {}).get("environment", {})
        machine = (found.benchmarks.get(backend) or {}).get("machine_info", {})
        cpu = machine.get("cpu", {})
        rows.append([
            backend, env.get("framework_version", "-"), env.get("device", "-"), env.get("precision", "-"),
            env.get("numpy_version", "-"),
            f"{cpu.get('brand_raw', '-')} ({cpu.get('count', '?')} cores)" if cpu else "-",
        ])  # fmt: skip
    return Table("Environment", ["backend", "framework", "device", "precision", "NumPy", "CPU"], rows)


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

    def row(kind: str, group: list[dict]) -> list[str]:
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
        return Table(title, [], [], "Not run: nox -s mutation-reference.")
    header = ["mutants", "killed", "equivalent", "survived", "timeouts", "no tests", "score"]
    keys = ("total", "killed", "equivalent", "survived", "timeout", "no_tests")
    counts = [str(summary[key]) for key in keys]
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
