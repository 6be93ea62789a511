"""Command line: ``python -m conformance.determinism --backend NAME [--results-dir results]``.

Runs the workers the package docstring describes (each in its own process, with the thread
variables of :meth:`backends.base.Backend.thread_environment`), compares their outputs and
writes ``<results-dir>/determinism-<backend>.json``. ``--workloads all`` adds the ResNet-sized
workloads to LeNet's. Exit status 0 whatever the verdicts (they are data); 2 for an unknown
backend or a worker that fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from backends import UnsupportedError, backend_class, get_backend
from conformance.determinism import Difference, difference
from conformance.determinism.entries import Entry, entries
from conformance.results import DeterminismResult, Kind, write_results

WORKER_TIMEOUT_S = 900
SWITCHES = ("off", "on")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.determinism", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backend", required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    parser.add_argument("--workloads", choices=("lenet", "all"), default="lenet")
    parser.add_argument(
        "--entries",
        default="",
        help="comma-separated: only entries whose name contains one (e.g. relu,LeNet)",
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # internal: write outputs here
    parser.add_argument("--switch", choices=SWITCHES, default="off", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)  # 0: leave the affinity
    return parser


def _entries(args: argparse.Namespace) -> list[Entry]:
    only = tuple(name for name in args.entries.split(",") if name)
    return entries("" if args.workloads == "all" else args.workloads, only)


def worker(args: argparse.Namespace) -> int:
    """Run every entry twice in this process; write the first run's outputs and both runs' difference.

    With ``--threads N`` the process first keeps only N of its CPUs (its affinity), before any
    framework starts: XLA, TensorFlow and MXNet size some pools by it, not by the variables."""
    if args.threads and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])
    backend = get_backend(args.backend, device=args.device)
    summary: dict[str, object] = {"environment": backend.environment(), "switch": "", "entries": {}}
    if args.switch == "on":
        summary["switch"] = backend.enable_determinism()  # UnsupportedError: the driver asked wrongly
    outputs: dict[str, np.ndarray] = {}
    for index, entry in enumerate(_entries(args)):
        try:
            first = entry.run(backend)
            second = entry.run(backend)
        except UnsupportedError as error:
            summary["entries"][entry.name] = {"gap": str(error)}
            continue
        except Exception as error:  # a finding, not a crash: e.g. no deterministic kernel with the switch on
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            summary["entries"][entry.name] = {"error": f"{type(error).__name__}: {first_line}"}
            continue
        found = difference(first, second)
        summary["entries"][entry.name] = {"bitwise": found.bitwise, "max_abs": found.max_abs}
        outputs.update({f"{index}/{k}": np.asarray(v) for k, v in enumerate(first)})
    np.savez(args.worker / "outputs.npz", **outputs)
    (args.worker / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


def _run_worker(args: argparse.Namespace, threads: int, switch: str, folder: Path) -> dict:
    """One worker process with ``threads`` threads; its summary with its outputs under ``"outputs"``."""
    folder.mkdir(parents=True)
    env = {**os.environ, **backend_class(args.backend).thread_environment(threads)}
    command = [sys.executable, "-m", "conformance.determinism", "--backend", args.backend,
               "--device", args.device, "--workloads", args.workloads, "--entries", args.entries,
               "--worker", str(folder), "--switch", switch, "--threads", str(threads)]  # fmt: skip
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"determinism worker ({threads} threads, switch {switch}) exited {done.returncode}:\n"
            f"{done.stderr[-4000:]}"
        )
    summary = json.loads((folder / "summary.json").read_text())
    with np.load(folder / "outputs.npz") as stored:
        summary["outputs"] = {key: stored[key] for key in stored.files}
    return summary


def _outputs(summary: dict, index: int) -> list[np.ndarray]:
    prefix = f"{index}/"
    keys = sorted(
        (key for key in summary["outputs"] if key.startswith(prefix)), key=lambda k: int(k[len(prefix) :])
    )
    return [summary["outputs"][key] for key in keys]


def _worse(a: dict, b: dict) -> Difference:
    return Difference(a["bitwise"] and b["bitwise"], max(a["max_abs"], b["max_abs"]))


def compare_workers(
    names: list[str], one: dict, many: dict, switch: str, switch_name: str
) -> list[DeterminismResult]:
    """One record per entry from the 1-thread and the all-cores worker of one switch setting."""
    records = []
    threads = (int(one["threads"]), int(many["threads"]))
    for index, name in enumerate(names):
        a, b = one["entries"][name], many["entries"][name]
        if {"gap", "error"} & {*a, *b}:
            gap, error = a.get("gap") or b.get("gap", ""), a.get("error") or b.get("error", "")
            records.append(DeterminismResult(name, switch, switch_name, threads, gap=gap, error=error))
            continue
        twice = _worse(a, b)
        across = difference(_outputs(one, index), _outputs(many, index))
        records.append(
            DeterminismResult(
                name,
                switch,
                switch_name,
                threads,
                twice.bitwise,
                twice.max_abs,
                across.bitwise,
                across.max_abs,
            )
        )
    return records


def driver(args: argparse.Namespace) -> int:
    """Every worker of the module docstring, compared, into ``determinism-<backend>.json``."""
    cls = backend_class(args.backend)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    names = [entry.name for entry in _entries(args)]
    records: list[DeterminismResult] = []
    environment: dict = {}
    with tempfile.TemporaryDirectory(prefix="determinism-") as tmp:
        progress = tqdm(total=2 * len(SWITCHES), desc=f"determinism {args.backend}", unit="worker")
        for switch in SWITCHES:
            if switch == "on":
                try:
                    switch_name = get_backend(args.backend, device=args.device).enable_determinism()
                except UnsupportedError as error:
                    records += [
                        DeterminismResult(name, "on", "", (1, cores), gap=str(error)) for name in names
                    ]
                    progress.update(2)
                    continue
            else:
                switch_name = ""
            runs = []
            for threads in (1, cores):
                summary = _run_worker(args, threads, switch, Path(tmp) / f"{switch}-{threads}")
                summary["threads"] = threads
                runs.append(summary)
                progress.update(1)
            environment = runs[-1]["environment"]  # the all-cores worker's
            records += compare_workers(names, *runs, switch, switch_name)
        progress.close()
    path = args.results_dir / f"determinism-{args.backend}.json"
    write_results(
        path, Kind.DETERMINISM, {**environment, "backend_class": cls.__name__, "cores": cores}, records
    )
    measured = [r for r in records if not (r.gap or r.error)]
    same = sum(r.twice_bitwise and r.threads_bitwise for r in measured)
    print(
        f"{args.backend}: {same} of {len(measured)} measured entries bitwise identical twice and across"
        f" thread counts ({len(records) - len(measured)} gaps or errors) -> {path}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return worker(args) if args.worker else driver(args)
    except (ValueError, ModuleNotFoundError, RuntimeError) as error:
        print(f"python -m conformance.determinism: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
