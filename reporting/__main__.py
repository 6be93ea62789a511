"""Build report/REPORT.md and report/index.html from a results folder.

python -m reporting --results results --out report [--backends torch,jax] [--quick]

Without ``--backends``, every backend that has a conformance results file in the folder.
``--quick`` labels the report as the quick (CI) form and compares the benchmark ratios with the
saved quick runs (``<results>/benchmark-history/<backend>-quick``, :mod:`reporting.regressions`).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from reporting import benchmark_tables, charts, collect, determinism_table, dtype_matrix, regressions, render


def build(results: Path, out: Path, backends: list[str] | None, quick: bool) -> tuple[Path, Path]:
    """Write both files for ``backends`` (None: those with conformance results); returns their paths."""
    found = collect.load(results, backends)
    backends = found.backends
    benchmarks, rates = benchmark_tables.op_benchmarks(found)
    tables = {
        "conformance-matrix": collect.conformance_matrix(found),
        "dtype-matrix": dtype_matrix.dtype_matrix(found),
        "adversarial-coverage": collect.adversarial_coverage(found),
        "known-gaps": collect.known_gaps(found),
        "emulations": collect.emulations(found),
        "divergences": collect.divergence_table(found),
        "benchmarks": benchmarks,
        "lenet": benchmark_tables.lenet_table(found),
        "regressions": regressions.regression_table(results, found.backends, quick),
        "export": collect.export_table(found),
        "determinism": determinism_table.determinism_table(results, found.backends),
        "mutation-catalogue": collect.mutation_table(found.catalogue),
        "mutmut-reference": collect.mutmut_table(found.mutmut),
        "environment": collect.environment_table(found),
    }
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = (
        f"Backends: {', '.join(backends)}. "
        + ("Quick form (CI): short benchmarks and training. " if quick else "")
        + f"Built {stamp} from {results}/."
    )
    title = "CNN chapter: conformance, divergences and performance"
    out.mkdir(parents=True, exist_ok=True)
    markdown = [f"# {title}", "", intro, ""] + [render.markdown_table(t) for t in tables.values()]
    markdown_path = out / "REPORT.md"
    markdown_path.write_text("\n".join(markdown))

    bench_backends = [b for b in backends if b in found.benchmarks]
    sections = []
    for table_id, table in tables.items():
        sections.append(render.html_table(table, table_id))
        if table_id == "benchmarks" and rates:
            for op in sorted({key[0] for key in rates}):
                sections.append(
                    render.html_image(charts.benchmark_bars(rates, bench_backends, op), f"{op} GFLOP/s")
                )
        if table_id == "lenet" and found.training:
            for variant in sorted({variant for _, variant in found.training}):
                sections.append(
                    render.html_image(charts.accuracy_curves(found.training, variant), f"LeNet {variant}")
                )
        if table_id == "lenet":
            for variant, runs in sorted(collect.trajectories(found).items()):
                png = charts.trajectory_figure(runs, variant)
                sections.append(render.html_image(png, f"LeNet {variant}: float32 trajectories"))
    html_path = out / "index.html"
    html_path.write_text(render.html_page(title, intro, sections))
    return markdown_path, html_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reporting", description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--out", type=Path, default=Path("report"))
    parser.add_argument(
        "--backends", help="comma-separated (default: every backend with a conformance results file)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="the quick (CI) form (compared with saved quick runs)"
    )
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b] if args.backends else None
    if not args.results.is_dir():
        parser.error(f"no results folder {args.results} (run nox -s report first)")
    for path in build(args.results, args.out, backends, args.quick):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
