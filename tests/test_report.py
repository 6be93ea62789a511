"""The report from a small synthetic results folder of typed records: Markdown tables, cell
tones, the known-gaps table, backends found from their files, and the HTML page loaded in
headless Chromium from a file URL with the network off."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.results import (
    BenchmarkInfo,
    BenchmarkResult,
    CaseResult,
    EpochMetrics,
    Kind,
    Status,
    TrainingRun,
    write_results,
)
from conformance.specs import SPECS
from reporting.__main__ import build
from reporting.collect import Tone, known_gaps, load, status_cell
from reporting.dtype_matrix import dtype_matrix

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
GAP_REASON = "MXNet pooling has no dilation"
GAP_LINK = "https://github.com/apache/mxnet/issues/1"


def _case(op: str, status: Status, ratio: float | None, notes=(), **fields) -> CaseResult:
    return CaseResult(f"{op}-{status}-{ratio}-{fields.get('gap', '')}", op, status, "float32", "grid",
                      worst_ratio=ratio, notes=tuple(notes), **fields)  # fmt: skip


def _trajectory(variant: str) -> CaseResult:
    """A free-running LeNet trajectory record of three steps."""
    params = {"variant": variant, "losses": [2.3, 2.0, 1.7], "reference_losses": [2.3, 2.0, 1.7],
              "reference_float32_losses": [2.3, 2.0, 1.7], "deviations": [1e-8, 2e-8, 4e-8],
              "reference_float32_deviations": [1e-8, 3e-8, 5e-8]}  # fmt: skip
    return CaseResult(f"lenet-trajectory-{variant}", "lenet_trajectory", Status.PASS, params=params)


def _conformance(folder: Path, backend: str, cases: list[CaseResult]) -> None:
    environment = {"backend": backend, "framework_version": "9.9", "device": "cpu", "precision": "ieee",
                   "numpy_version": "2.0"}  # fmt: skip
    write_results(folder / f"conformance-{backend}.json", Kind.CONFORMANCE, environment, cases)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    padded = _case("conv2d", Status.PASS, 0.12, ["asymmetric padding via F.pad"])
    cases = [
        _case("max_pool2d", Status.PASS, 0.0),
        padded,
        _case("conv2d", Status.FAIL, 3.0),
        _trajectory("chapter"),
    ]
    _conformance(folder, "torch", cases)
    probes = [{"family": "ceil_mode", "call": "F.max_pool2d(x, 2, ceil_mode=True)", "matches": False,
               "detail": "shape (1, 1, 3, 3), reference (1, 1, 2, 2)", "adapter": "native"}]  # fmt: skip
    (folder / "divergences-torch.json").write_text(json.dumps({"backend": "torch", "probes": probes}))
    conv = BenchmarkInfo(backend="torch", op="conv2d", workload="lenet-conv1", pass_="forward", flops=10**9)
    epoch = BenchmarkInfo(
        backend="torch",
        runner="adapter",
        variant="chapter",
        examples=1000,
        yardstick="plain",
        yardstick_seconds=(2.4, 2.5, 9.0),
    )  # the yardstick's median round, 2.5 s: 400 ex/s
    benches = [
        BenchmarkResult("matmul-float64-2048", 0.5, BenchmarkInfo(flops=2 * 2048**3)),
        BenchmarkResult("conv", 0.01, conv),
        BenchmarkResult("epoch-a", 2.0, epoch),
    ]
    machine = {"backend": "torch", "cpu": "Test CPU", "cpu_count": 2}
    write_results(folder / "bench-torch.json", Kind.BENCHMARKS, machine, benches)
    metrics = tuple(EpochMetrics(epoch=e, train_loss=2.0 / e, train_acc=0.5, test_acc=0.6 + e / 100,
                                 examples_per_s=5000.0, steps=10) for e in (1, 2))  # fmt: skip
    run = TrainingRun(
        "torch", "chapter", lr=0.9, batch_size=128, epochs=2, seed=0, max_steps=None, metrics=metrics
    )
    write_results(folder / "train" / "torch-chapter" / "run.json", Kind.TRAINING, {"backend": "torch"}, [run])
    faults = [{"name": "dropped-bias", "kind": "forward value", "caught": True},
              {"name": "flushed-tail", "kind": "activation", "caught": True},
              {"name": "lazy-step", "kind": "activation", "caught": False}]  # fmt: skip
    catalogue = {"schema": 1, "catalogue_size": 3, "faults": faults}
    (folder / "mutation-catalogue.json").write_text(json.dumps(catalogue))
    survivor = {"mutant": "reference.pool.x_f__mutmut_1", "function": "pool.f", "change": "a = b + 1"}
    mutmut = {"killed": 97, "survived": 1, "equivalent": 2, "timeout": 0, "no_tests": 0, "total": 100,
              "score": 97 / 98, "survivors": [survivor]}  # fmt: skip
    (folder / "mutmut-reference.json").write_text(json.dumps(mutmut))
    return folder


def test_markdown_holds_every_table_with_measured_values(results: Path, tmp_path: Path) -> None:
    markdown, _ = build(results, tmp_path / "report", ["torch"], quick=False)
    text = markdown.read_text()
    assert "| conv2d | 1/1/0/0/0 · 3 |" in text  # one pass, one fail, worst ratio 3
    assert "| max_pool2d | 1/0/0/0/0 · 0 |" in text
    assert "| lenet_trajectory | 1/0/0/0/0 · - |" in text
    assert "No declared gaps: every case runs on every backend." in text
    assert "asymmetric padding via F.pad" in text
    assert "| ceil_mode | torch | `F.max_pool2d(x, 2, ceil_mode=True)` | DIFFERS |" in text
    # 1e9 flop in 0.01 s = 100 GFLOP/s; matmul 2*2048^3 flop in 0.5 s = 34.4 GFLOP/s: ratio 2.91
    assert "100.00 (1.00x fastest, 2.91 mm)" in text
    assert "| torch | chapter | 0.6200 | 2 epochs (0.9, 128) | 5,000 | 500 | 400 | 1.25 |" in text
    assert "Test CPU (2 cores)" in text
    assert "| forward value | 1/1 | 100% | - |" in text  # the mutation catalogue, by kind of fault
    assert "| activation | 1/2 | 50% | lazy-step |" in text
    assert "| all | 2/3 | 67% | lazy-step |" in text
    assert "| 100 | 97 | 2 | 1 | 0 | 0 | 99.0% |" in text  # mutmut: 97 killed of 100 - 2 equivalent
    assert "| survived: pool.f | `a = b + 1` |" in text


def test_adversarial_coverage_counts_pairs_and_cases(tmp_path: Path) -> None:
    """relu: 5 factors; the row counts the pairwise and drawn relu cases per backend."""
    folder = tmp_path / "results"
    cases = [
        CaseResult("pairwise-relu-a", "relu", Status.PASS, "float32", "pairwise", worst_ratio=0.0),
        CaseResult("pairwise-relu_vjp-a", "relu_vjp", Status.FAIL, "float32", "pairwise", worst_ratio=9.0),
        CaseResult("hyp-relu-a-1", "relu", Status.PASS, "float32", "adversarial", worst_ratio=0.0),
        CaseResult("relu-5-f32", "relu", Status.PASS, "float32", "grid", worst_ratio=0.0),
    ]
    _conformance(folder, "torch", cases)
    text = build(folder, tmp_path / "report", ["torch"], quick=True)[0].read_text()
    space = SPECS["relu"].space
    possible = sum(len(a) * len(b) for (_, a), (_, b) in itertools.combinations(space.factors, 2))
    rows = len(space.rows())
    assert f"| relu | 5 | {rows} | {possible}/{possible} (100%) | 1/2 · 1/1 |" in text
    assert "| sigmoid | 5 |" in text and "| - |" in text  # no sigmoid results: a dash


def test_the_dtype_matrix_counts_passed_gaps_and_failures_per_part(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    gap = {"gap": "no bfloat16 kernel", "upstream": ""}
    cases = [
        CaseResult("conv2d-a-f16", "conv2d", Status.PASS, "float16", "grid", worst_ratio=0.2),
        CaseResult("conv2d-b-f16", "conv2d", Status.FAIL, "float16", "grid", worst_ratio=3.0),
        CaseResult("conv2d_vjp-a-f16", "conv2d_vjp", Status.ERROR, "float16", "grid"),
        CaseResult("conv2d_jvp-a-f16", "conv2d_jvp", Status.PASS, "float16", "grid", worst_ratio=0.1),
        CaseResult("dot-conv2d_jvp-a-f32", "conv2d_jvp", Status.PASS, "float32", "dot-product"),
        CaseResult("conv2d-a-bf16", "conv2d", Status.GAP, "bfloat16", "grid", **gap),
        CaseResult("lenet-logits-chapter-bfloat16", "lenet_logits", Status.PASS, "bfloat16", "lenet"),
        CaseResult("error-conv2d-x", "conv2d", Status.PASS, "-", "error"),  # no dtype: not counted
    ]
    _conformance(folder, "torch", cases)
    table = dtype_matrix(load(folder, ["torch"]))
    cells = {(row[0], row[1]): [getattr(c, "text", c) for c in row[2:]] for row in table.rows}
    assert cells["torch", "forward"] == ["-", "-", "1 / 0 / 1", "0 / 1 / 0"]
    assert cells["torch", "VJP"] == ["-", "-", "0 / 0 / 1", "-"]
    assert cells["torch", "JVP"] == ["-", "-", "1 / 0 / 0", "-"]  # the dot-product check is not counted
    assert cells["torch", "LeNet"] == ["-", "-", "-", "1 / 0 / 0"]
    assert table.rows[0][4].tone == Tone.BAD and table.rows[0][5].tone == Tone.NEUTRAL
    assert table.rows[3][5].tone == Tone.GOOD


def test_matrix_rows_follow_the_chapter_then_the_lenet_checks(results: Path, tmp_path: Path) -> None:
    """Convolution comes before pooling in the chapter (and the op-spec registry); checks that no
    op spec names, such as the LeNet trajectory, follow."""
    text = build(results, tmp_path / "report", ["torch"], quick=False)[0].read_text()
    pattern = r"^\| (conv2d|max_pool2d|lenet_trajectory) \| \d+/\d+/\d+/\d+/\d+ "  # the matrix's rows
    rows = re.findall(pattern, text, flags=re.MULTILINE)
    assert rows == ["conv2d", "max_pool2d", "lenet_trajectory"]


def test_cell_tones_come_from_the_status_counts() -> None:
    assert (
        status_cell([_case("conv2d", Status.PASS, 0.5), _case("conv2d", Status.FAIL, 2.0)]).tone == Tone.BAD
    )
    assert (
        status_cell([_case("conv2d", Status.PASS, 0.5), _case("conv2d", Status.ERROR, None)]).tone == Tone.BAD
    )
    assert (
        status_cell([_case("conv2d", Status.PASS, 0.5), _case("conv2d", Status.PASS, 0.0)]).tone == Tone.GOOD
    )
    assert (
        status_cell([_case("conv2d", Status.PASS, 0.5), _case("conv2d", Status.GAP, None)]).tone
        == Tone.NEUTRAL
    )
    assert status_cell([_case("conv2d", Status.FIXED, 0.1)]).tone == Tone.BAD
    assert (
        status_cell([_case("conv2d", Status.PASS, 0.5), _case("conv2d", Status.GAP, None)]).text
        == "1/0/0/1/0 · 0.5"
    )


def test_a_declared_gap_is_listed_with_its_reason_and_link(tmp_path: Path) -> None:
    gap = {"gap": GAP_REASON, "upstream": GAP_LINK}
    cases = [_case("max_pool2d", Status.PASS, 0.1)]
    cases += [CaseResult(f"max_pool2d-d2-{i}", "max_pool2d", Status.GAP, **gap) for i in range(5)]
    _conformance(tmp_path / "results", "mxnet", cases)
    text = build(tmp_path / "results", tmp_path / "report", None, quick=False)[0].read_text()
    five = "max_pool2d-d2-0, max_pool2d-d2-1, max_pool2d-d2-2 and 2 more (5 cases)"
    assert f"| mxnet | max_pool2d | gap | {five} | {GAP_REASON} | {GAP_LINK} |" in text
    assert "| max_pool2d | 1/0/0/5/0 · 0.1 |" in text


def test_a_fixed_gap_shows_as_bad(tmp_path: Path) -> None:
    fixed = CaseResult(
        "conv2d-g2", "conv2d", Status.FIXED, worst_ratio=0.2, gap=GAP_REASON, upstream=GAP_LINK
    )
    _conformance(tmp_path / "results", "mxnet", [fixed])
    found = load(tmp_path / "results")
    (row,) = known_gaps(found).rows
    assert row[:2] == ["mxnet", "conv2d"] and row[2].tone == Tone.BAD
    _, page = build(tmp_path / "results", tmp_path / "report", None, quick=False)
    html = page.read_text()
    assert '<td class="bad">fixed: remove it</td>' in html
    assert '<td>conv2d</td><td class="bad">0/0/0/0/1 · 0.2</td>' in html


def test_a_backend_found_by_its_results_files_gets_its_column(results: Path, tmp_path: Path) -> None:
    """A plugin backend that the report has never heard of, shown without --backends."""
    _conformance(results, "onnxruntime", [_case("conv2d", Status.PASS, 0.25)])
    text = build(results, tmp_path / "report", None, quick=False)[0].read_text()
    assert "| op | onnxruntime | torch |" in text
    assert "| conv2d | 1/0/0/0/0 · 0.25 | 1/1/0/0/0 · 3 |" in text
    assert "Backends: onnxruntime, torch." in text


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_html_renders_offline_in_headless_chromium(results: Path, tmp_path: Path) -> None:
    _, page = build(results, tmp_path / "report", ["torch"], quick=False)
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
        "--dump-dom", page.resolve().as_uri(),
    ]  # fmt: skip
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    assert '<table id="conformance-matrix">' in dom
    assert re.search(r"<td>conv2d</td><td class=\"bad\">1/1/0/0/0 · 3</td>", dom)
    assert re.search(r"<td>max_pool2d</td><td class=\"good\">1/0/0/0/0 · 0</td>", dom)
    images = dom.count("<img ")
    assert images == 3  # the conv2d benchmark chart, the LeNet curves and trajectory of the one variant
    rendered = re.search(r'data-plots-rendered="(\d+)"', dom)
    assert rendered and int(rendered.group(1)) == images, "some plots did not decode"
