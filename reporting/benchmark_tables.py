"""The report's benchmark tables: per-op GFLOP/s and peak memory, and LeNet's accuracy, epoch
throughput, roof and peak memory, from the ``bench-<backend>.json`` records (:mod:`benchmarks.records`).

Peak memory is in MiB with the probe that measured it (:mod:`benchmarks.memory`): ``tracemalloc``
(NumPy's allocations) and ``rss-hwm`` (the process's resident-set high-water mark) are not
comparable with each other. A record written before a field existed shows ``-``.
"""

from __future__ import annotations

from collections import defaultdict

from benchmarks.records import (
    MATMUL_FLOAT32_NAME,
    MATMUL_NAME,
    flops_per_example,
    matmul_flops_per_second,
    per_second,
    roof,
    yardstick_rate,
)
from conformance.results import BenchmarkResult
from reference.lenet import VARIANTS
from reporting.collect import Cell, Found, Table, Tone
from reporting.lenet_training import trained_cell, training_note

MIB = 2**20
GAP = Cell("gap", Tone.NEUTRAL)
Key = tuple[str, str, str]  # (op, workload, pass)


def _gflops(result: BenchmarkResult) -> float | None:
    return per_second(result.info.flops, result) / 1e9 if result.info.flops else None


def peak_mib(result: BenchmarkResult | None) -> str:
    """The record's peak memory in MiB (one decimal), or ``-`` when it has none."""
    if result is None or result.info.peak_bytes is None:
        return "-"
    return f"{result.info.peak_bytes / MIB:.1f}"


def _matmul_gflops(found: Found, name: str) -> dict[str, float]:
    """Backend -> the GFLOP/s of the matmul yardstick ``name`` in its run."""
    rates = {backend: matmul_flops_per_second(run.records, name) for backend, run in found.benchmarks.items()}
    return {backend: rate / 1e9 for backend, rate in rates.items() if rate}


def op_benchmarks(found: Found) -> tuple[Table, dict[Key, dict[str, float]]]:
    """GFLOP/s per (op, size, pass) and backend, with ratios to the fastest and to matmul, and
    each backend's peak memory beside it."""
    records: dict[Key, dict[str, BenchmarkResult]] = defaultdict(dict)
    gaps: dict[Key, set[str]] = defaultdict(set)  # passes a backend declared it cannot run
    probes: dict[str, set[str]] = defaultdict(set)
    for backend, result in found.benchmark_results():
        key = (result.info.op, result.info.workload, result.info.pass_)
        if result.info.gap:
            gaps[key].add(backend)
        elif result.info.op and _gflops(result) is not None:
            records[key][backend] = result
            probes[backend] |= {result.info.memory_probe} - {""}
    rates = {key: {b: _gflops(r) for b, r in timed.items()} for key, timed in records.items()}
    matmul = _matmul_gflops(found, MATMUL_NAME)
    backends = [b for b in found.backends if b in found.benchmarks]
    rows: list[list[str | Cell]] = []
    for key in sorted(set(rates) | {key for key in gaps if key[0]}):
        timed = rates.get(key, {})  # a row of gaps only adds no (empty) entry to the rates
        fastest = max(timed.values(), default=0.0)
        cells: list[str | Cell] = []
        for backend in backends:
            rate = timed.get(backend)
            if rate is None:
                cells += [GAP, GAP] if backend in gaps[key] else ["-", "-"]
                continue
            to_matmul = f", {rate / matmul[backend]:.2f} mm" if backend in matmul else ""
            speed = f"{rate:.2f} ({rate / fastest:.2f}x fastest{to_matmul})"
            cells += [speed, peak_mib(records[key][backend])]
        rows.append([*key, *cells])
    header = ["op", "size", "pass"]
    for backend in backends:
        probe = ", ".join(sorted(probes[backend]))
        header += [backend, f"{backend} peak MiB" + (f" ({probe})" if probe else "")]
    matmul_note = ", ".join(f"{b}: {matmul[b]:.1f}" for b in backends if b in matmul)
    note = (
        "float32 GFLOP/s from the median time; in brackets the ratio to the fastest backend and to "
        "NumPy's float64 2048x2048 matmul measured in the same run (mm). "
        f"Matmul GFLOP/s per run: {matmul_note}. Peak MiB: one untimed call, by the probe named in the "
        "header (rss-hwm: the process's resident-set high-water mark above its start; tracemalloc: "
        "NumPy's allocations; device-allocator: the framework's GPU allocator peak above its start; "
        "the probes are not comparable)."
    )
    return Table("Per-op benchmarks", header, rows, note), rates


def _number(value: float | None, spec: str) -> str:
    return f"{value:{spec}}" if value else "-"


def lenet_table(found: Found) -> Table:
    """Per runner and variant: accuracy, throughput, the epoch benchmark against the plain loop,
    the roof (float32 matmul FLOP/s over FLOPs per example) with the runner's share of it, and the
    epoch's peak memory."""
    epoch: dict[tuple[str, str, str], BenchmarkResult] = {}  # (backend, runner, variant) -> record
    epoch_gaps: set[tuple[str, str, str]] = set()  # a runner that cannot train (declared gap)
    for backend, result in found.benchmark_results():
        info = result.info
        if info.gap and info.runner:
            epoch_gaps.add((backend, info.runner, info.variant))
        elif info.examples:
            epoch[(backend, info.runner, info.variant)] = result
    matmul32 = _matmul_gflops(found, MATMUL_FLOAT32_NAME)
    rows: list[list[str | Cell]] = []
    for runner in ("reference", *found.backends):
        for variant in sorted(VARIANTS):
            run = found.training.get((runner, variant))
            last = run.metrics[-1] if run and run.metrics else None
            # The reference is timed in turns with the PyTorch adapter, an adapter with its plain loop.
            key = ("torch", "reference", variant) if runner == "reference" else (runner, "adapter", variant)
            result = epoch.get(key)
            gap = run.gap if run else ""  # a backend that cannot train: its declared reason
            if not (last or result or gap or key in epoch_gaps):
                continue
            accuracy = f"{last.test_acc:.4f}" if last else Cell(f"gap: {gap}", Tone.NEUTRAL) if gap else "-"
            rate = per_second(result.info.examples, result) if result else None
            plain = yardstick_rate(result.info) if result else None
            per_example = flops_per_example(result.info) if result else None
            ceiling = roof(result.info, matmul32[key[0]] * 1e9) if result and key[0] in matmul32 else None
            probe = f" ({result.info.memory_probe})" if result and result.info.memory_probe else ""
            rows.append([
                runner, variant, accuracy,
                trained_cell(run) if last else "-",
                f"{last.examples_per_s:,.0f}" if last else "-",
                f"{rate:,.0f}" if rate else GAP if key in epoch_gaps else "-",
                _number(plain, ",.0f"),
                _number(rate and plain and rate / plain, ".2f"),
                _number(per_example and per_example / 1e6, ".2f"),
                _number(ceiling, ",.0f"),
                _number(rate and ceiling and rate / ceiling, ".3f"),
                peak_mib(result) + probe,
            ])  # fmt: skip
    matmul_note = ", ".join(f"{b}: {matmul32[b]:.1f}" for b in found.backends if b in matmul32) or "-"
    return Table(
        "LeNet on Fashion-MNIST",
        ["runner", "variant", "test acc", "trained (lr, batch)", "train ex/s", "epoch bench ex/s",
         "plain loop ex/s", "adapter / plain", "MFLOP/example", "roof ex/s", "share of roof",
         "epoch peak MiB"],
        rows,
        f"{training_note(found)} The epoch benchmark times the adapter's train_step and the "
        "framework's plain loop in turns, round by round "
        "(float32, batch 128, rates from the median round). For the NumPy reference the plain-loop and "
        "ratio columns are the PyTorch adapter's rate, timed in turns with it, and the reference's rate "
        "over it. Roof: NumPy's float32 2048x2048 matmul FLOP/s of the same run over the FLOPs of one "
        f"training example (float32 matmul GFLOP/s per run: {matmul_note}); share of roof: the epoch "
        "bench ex/s over it. Peak MiB: one untimed round, by the probe in brackets (not comparable "
        "across probes).",
        empty=training_note(found),
    )  # fmt: skip
