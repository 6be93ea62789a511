"""The report from a small synthetic results folder: Markdown tables, and the HTML page
loaded in headless Chromium from a file URL with the network off."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reporting.__main__ import build

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _case(op: str, status: str, ratio: float | None, notes=()) -> dict:
    return {"id": f"{op}-{status}-{ratio}", "op": op, "params": {}, "dtype": "float32", "status": status,
            "worst_ratio": ratio, "notes": list(notes), "source": "grid"}  # fmt: skip


def _bench(name: str, median: float, **extra) -> dict:
    return {"name": name, "stats": {"median": median}, "extra_info": extra}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    (folder / "train" / "torch-chapter").mkdir(parents=True)
    environment = {"backend": "torch", "framework_version": "9.9", "device": "cpu", "precision": "ieee",
                   "numpy_version": "2.0"}  # fmt: skip
    cases = [_case("conv2d", "pass", 0.12, ["asymmetric padding via F.pad"]), _case("conv2d", "fail", 3.0),
             _case("max_pool2d", "pass", 0.0), _trajectory("chapter")]  # fmt: skip
    (folder / "conformance-torch.json").write_text(json.dumps({"environment": environment, "cases": cases}))
    probes = [{"family": "ceil_mode", "call": "F.max_pool2d(x, 2, ceil_mode=True)", "matches": False,
               "detail": "shape (1, 1, 3, 3), reference (1, 1, 2, 2)", "adapter": "native"}]  # fmt: skip
    (folder / "divergences-torch.json").write_text(json.dumps({"backend": "torch", "probes": probes}))
    benches = [
        _bench("matmul-float64-2048", 0.5, flops=2 * 2048**3),
        _bench(
            "conv", 0.01, flops=10**9, backend="torch", op="conv2d", workload="lenet-conv1", pass_="forward"
        ),
        _bench(
            "epoch-a",
            2.0,
            examples=1000,
            runner="adapter",
            variant="chapter",
            yardstick="plain",
            yardstick_seconds=[2.4, 2.5, 9.0],
        ),  # median 2.5: 400 ex/s
    ]
    (folder / "bench-torch.json").write_text(json.dumps({"machine_info": {"cpu": {"brand_raw": "Test CPU",
                                                          "count": 2}}, "benchmarks": benches}))  # fmt: skip
    metrics = [{"epoch": e, "train_loss": 2.0 / e, "train_acc": 0.5, "test_acc": 0.6 + e / 100,
                "examples_per_s": 5000.0, "steps": 10} for e in (1, 2)]  # fmt: skip
    (folder / "train" / "torch-chapter" / "metrics.json").write_text(json.dumps(metrics))
    (folder / "train" / "torch-chapter" / "run.json").write_text(json.dumps({"lr": 0.9, "batch_size": 128}))
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


def _trajectory(variant: str) -> dict:
    """A free-running LeNet trajectory record of three steps."""
    params = {"variant": variant, "losses": [2.3, 2.0, 1.7], "reference_losses": [2.3, 2.0, 1.7],
              "reference_float32_losses": [2.3, 2.0, 1.7], "deviations": [1e-8, 2e-8, 4e-8],
              "reference_float32_deviations": [1e-8, 3e-8, 5e-8]}  # fmt: skip
    return {**_case("lenet_trajectory", "pass", None), "params": params}


def test_markdown_holds_every_table_with_measured_values(results: Path, tmp_path: Path) -> None:
    markdown, _ = build(results, tmp_path / "report", ["torch"], quick=False)
    text = markdown.read_text()
    assert "| conv2d | 1/1/0/0 · 3 |" in text  # one pass, one fail, worst ratio 3
    assert "| max_pool2d | 1/0/0/0 · 0 |" in text
    assert "asymmetric padding via F.pad" in text
    assert "| ceil_mode | torch | `F.max_pool2d(x, 2, ceil_mode=True)` | DIFFERS |" in text
    # 1e9 flop in 0.01 s = 100 GFLOP/s; matmul 2*2048^3 flop in 0.5 s = 34.4 GFLOP/s: ratio 2.91
    assert "100.00 (1.00x fastest, 2.91 mm)" in text
    assert "| torch | chapter | 0.6200 | 2 (0.9, 128) | 5,000 | 500 | 400 | 1.25 |" in text
    assert "Test CPU (2 cores)" in text
    assert "| forward value | 1/1 | 100% | - |" in text  # the mutation catalogue, by kind of fault
    assert "| activation | 1/2 | 50% | lazy-step |" in text
    assert "| all | 2/3 | 67% | lazy-step |" in text
    assert "| 100 | 97 | 2 | 1 | 0 | 0 | 99.0% |" in text  # mutmut: 97 killed of 100 - 2 equivalent
    assert "| survived: pool.f | `a = b + 1` |" in text


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
    assert re.search(r"<td>conv2d</td><td class=\"bad\">1/1/0/0 · 3</td>", dom)
    images = dom.count("<img ")
    assert images == 3  # the conv2d benchmark chart, the LeNet curves and trajectory of the one variant
    rendered = re.search(r'data-plots-rendered="(\d+)"', dom)
    assert rendered and int(rendered.group(1)) == images, "some plots did not decode"
