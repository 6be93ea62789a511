"""Build report/REPORT.md (its LeNet plots beside it, lenet-<variant>.png) and report/index.html
from a results folder.

python -m reporting --results results --out report [--backends torch,jax] [--quick]

Without ``--backends``, every backend that has a conformance results file in the folder. A
``tf32/`` subfolder (``nox -s gpu-check``) adds the TF32 table (:mod:`reporting.tf32`).
``--quick`` labels the report as the quick (CI) form, shows the short training runs
(``train-quick``) before full ones, and compares the benchmark ratios with the saved quick runs
(``<results>/benchmark-history/<backend>-quick``, :mod:`reporting.regressions`).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from reporting import (
    benchmark_tables,
    charts,
    collect,
    data_parallel,
    determinism_table,
    dtype_matrix,
    forward_mode_table,
    lenet_training,
    regressions,
    render,
    tf32,
)


def build(results: Path, out: Path, backends: list[str] | None, quick: bool) -> tuple[Path, Path]:
    """Write both files for ``backends`` (None: those with conformance results); returns their paths."""
    found = collect.load(results, backends, quick=quick)
    backends = found.backends
    benchmarks, rates = benchmark_tables.op_benchmarks(found)
    tables = {
        "conformance-matrix": collect.conformance_matrix(found),
        "forward-mode": forward_mode_table.forward_mode_table(found),
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
        "data-parallel": data_parallel.data_parallel_table(found),
        "mutation-catalogue": collect.mutation_table(found.catalogue),
        "mutmut-reference": collect.mutmut_table(found.mutmut),
        "environment": collect.environment_table(found),
    }
    if tf32_runs := tf32.tf32_table(results, found):  # only where nox -s gpu-check wrote results/tf32/
        tables["tf32"] = tf32_runs
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = (
        f"Backends: {', '.join(backends)}. "
        + ("Quick form (CI): short benchmarks and training. " if quick else "")
        + (
            f"Conformance of {', '.join(short)} in the suite's short form (CI's: a third of the grid, "
            "pairwise, padding-form and dot-product cases, chosen by id; nox -s conformance-<backend> "
            "runs them all). "
            if (short := collect.short_form_backends(found))
            else ""
        )
        + f"Built {stamp} from {results}/."
    )
    title = "CNN chapter: conformance, divergences and performance"
    out.mkdir(parents=True, exist_ok=True)
    lenet_figures = lenet_training.figures(found)
    markdown = [f"# {title}", "", intro, ""]
    for table_id, table in tables.items():
        markdown.append(render.markdown_table(table))
        if table_id == "lenet":  # the curves beside REPORT.md, shown by any Markdown viewer
            for figure in lenet_figures:
                (out / figure.name).write_bytes(figure.png)
                markdown.append(render.markdown_image(figure.name, figure.caption))
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
        if table_id == "lenet":
            sections += [render.html_image(figure.png, figure.caption) for figure in lenet_figures]
            for variant, runs in sorted(collect.trajectories(found).items()):
                png = charts.trajectory_figure(runs, variant)
                sections.append(render.html_image(png, f"LeNet {variant}: float32 trajectories"))
        if table_id == "data-parallel":
            for backend in backends:
                for variant, runs in sorted(data_parallel.trajectories(found, backend).items()):
                    png = charts.data_parallel_figure(runs, backend, variant)
                    sections.append(render.html_image(png, f"{backend} LeNet {variant}: data-parallel runs"))
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
