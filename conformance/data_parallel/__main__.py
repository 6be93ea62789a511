"""python -m conformance.data_parallel --backend torch [--processes 1,2,4] [--steps 100] [--variants ...]

For each variant: the backend's single-process run, then a data-parallel run with each process count,
every step checked (:mod:`conformance.data_parallel.check`). Writes ``<results-dir>/ddp-<backend>.json``
(kind ``data_parallel``, one record per variant and process count) and prints a table. A backend
without a data-parallel module, or a run that fails, is recorded as a declared gap when
``known_gaps.toml`` (op ``lenet_data_parallel``, case ``lenet-data-parallel-<variant>-<processes>``)
declares it. Exit status 1 when a run fails, errs or a declared gap passes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import backends
from backends import UnsupportedError
from conformance import known_gaps
from conformance.compare import ConformanceError
from conformance.data_parallel.check import (
    GLOBAL_BATCH,
    OP,
    SingleProcessRun,
    check_data_parallel,
    data_parallel_module,
    result_id,
    single_process_run,
    threads_per_process,
)
from conformance.data_parallel.launcher import DEFAULT_TIMEOUT, RankError
from conformance.lenet_checks import TRAJECTORY_LR
from conformance.results import DataParallelRun, Kind, Status, write_results
from reference import lenet


def _counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"process counts must be positive integers, got {text!r}")
    return counts


def _variants(text: str) -> list[str]:
    variants = [part for part in text.split(",") if part]
    for variant in variants:
        lenet.variant_of(variant)
    return variants


def measure(
    backend: backends.Backend,
    variant: str,
    processes: int,
    single: SingleProcessRun | None,
    gap: known_gaps.Gap | None,
    timeout: float,
    threads: int | None = None,
) -> DataParallelRun:
    """One record: the run checked, or the failure (a declared ``gap`` turns a failure into ``gap``,
    a pass into ``fixed``). ``single`` is None when the backend has no data-parallel module;
    ``threads`` per process, default ``cores // processes``."""
    threads = threads or threads_per_process(processes)
    base = {"backend": backend.name, "variant": variant, "processes": processes, "lr": TRAJECTORY_LR[variant],
            "global_batch": GLOBAL_BATCH, "threads": threads}  # fmt: skip
    try:
        if single is None:
            data_parallel_module(backend)
        measured = check_data_parallel(backend, single, processes, timeout, threads)
    except (UnsupportedError, ConformanceError, RankError, ValueError) as error:
        status = Status.FAIL if isinstance(error, ConformanceError) else Status.ERROR
        if gap is not None:
            return DataParallelRun(
                **base, status=Status.GAP, message=str(error), gap=gap.reason, upstream=gap.upstream
            )
        return DataParallelRun(**base, status=status, message=f"{type(error).__name__}: {error}")
    status = Status.FIXED if gap is not None else Status.PASS
    return DataParallelRun(
        **base, status=status, steps=single.steps, worst_ratio=measured.worst_ratio,
        examples_per_s=measured.examples_per_s, seconds=measured.seconds, losses=tuple(measured.losses),
        single_losses=tuple(single.losses), deviations=tuple(measured.deviations),
        message=gap.removal() if gap is not None else "",
    )  # fmt: skip


def describe(record: DataParallelRun) -> str:
    """One line: the run, its steps, worst ratio, examples/s and status (and the start of its message)."""
    ratio = "-" if record.worst_ratio is None else f"{record.worst_ratio:.3g}"
    rate = "-" if record.examples_per_s is None else f"{record.examples_per_s:.0f}"
    return (
        f"{record.backend} {record.variant} processes={record.processes} threads={record.threads} "
        f"steps={record.steps} worst ratio={ratio} examples/s={rate} {record.status} {record.message[:300]}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.data_parallel", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backend", required=True, choices=backends.known())
    parser.add_argument("--device", default="auto", help="the single-process run's device (default: auto)")
    parser.add_argument(
        "--processes", type=_counts, default=[1, 2, 4], help="comma-separated (default: 1,2,4)"
    )
    parser.add_argument("--steps", type=int, default=100, help="consecutive steps checked (default: 100)")
    parser.add_argument("--variants", type=_variants, default=["chapter", "relu-max"])
    parser.add_argument("--threads", type=int, help="threads per process (default: cores // processes, >= 1)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds without progress")
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the free run's first step is not timed)")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    backend = backends.get_backend(args.backend, device=args.device)
    files = (known_gaps.GAPS_FILE, backends.backend_folder(args.backend) / known_gaps.GAPS_FILE.name)
    gaps = known_gaps.load(backend.name, files)
    try:
        data_parallel_module(backend)
        supported = True
    except UnsupportedError:
        supported = False
    records: list[DataParallelRun] = []
    environment = {**backend.environment(), "cores": len(os.sched_getaffinity(0))}
    path = args.results_dir / f"ddp-{backend.name}.json"
    for variant in args.variants:
        if supported:
            print(
                f"{backend.name} {variant}: the single-process run and the bounds of {args.steps} steps",
                flush=True,
            )
        single = single_process_run(backend, variant, args.steps) if supported else None
        for processes in args.processes:
            gap = known_gaps.find(gaps, OP, result_id(variant, processes))
            record = measure(backend, variant, processes, single, gap, args.timeout, args.threads)
            records.append(record)
            print(describe(record), flush=True)
            write_results(path, Kind.DATA_PARALLEL, environment, records)  # after each run: a long job
    print(f"results: {path}")
    return 0 if all(record.status in (Status.PASS, Status.GAP) for record in records) else 1


if __name__ == "__main__":
    sys.exit(main())
