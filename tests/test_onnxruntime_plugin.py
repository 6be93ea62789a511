"""The ONNX Runtime backend is a plugin found by the plugin route alone, with pinned, explained
requirements and gap declarations that cover exactly what an inference-only framework lacks.

Reads files only: runs without ONNX Runtime installed (its conformance run is
``nox -s conformance-onnxruntime``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from backends.plugin_paths import discover
from conformance.known_gaps import parse
from conformance.lenet_checks import LENET_OPS
from conformance.specs import SPECS

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "plugins" / "onnxruntime"
PACKAGE = PLUGIN / "cnn_chapter_onnxruntime"


def test_the_plugin_is_declared_outside_the_core_project() -> None:
    declared = discover(ROOT)["onnxruntime"]
    assert declared.project == PLUGIN
    assert declared.entry_point == "cnn_chapter_onnxruntime.adapter:OnnxRuntimeBackend"
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert "onnxruntime" not in core["cnn_chapter_reference.backends"]
    # The import package must not shadow the framework's own ``onnxruntime``.
    assert not (PLUGIN / "onnxruntime").exists() and (PACKAGE / "__init__.py").is_file()


def test_onnx_and_onnxruntime_are_pinned_exactly_with_reasons() -> None:
    environment = discover(ROOT)["onnxruntime"].environment
    assert environment.framework == "onnxruntime"
    assert sorted(package.requirement.partition("==")[0] for package in environment.packages) == [
        "onnx", "onnxruntime",
    ]  # fmt: skip
    for package in environment.packages:
        _, pin, version = package.requirement.partition("==")
        assert pin and version.count(".") == 2 and "*" not in version, package.requirement
        assert len(package.reason.split()) >= 5, package.reason


def test_every_vjp_and_only_the_training_checks_are_declared_gaps() -> None:
    gaps = parse((PACKAGE / "known_gaps.toml").read_text(), "known_gaps.toml")
    assert {gap.backend for gap in gaps} == {"onnxruntime"}
    vjps = {spec.vjp.name for spec in SPECS.values() if spec.vjp is not None}
    declared = {gap.op for gap in gaps if gap.op.endswith("_vjp")}
    assert declared == vjps
    # Invalid arguments of a VJP raise like the reference's: the gaps leave the "error-*" ids out.
    for gap in gaps:
        if gap.op in vjps:
            assert gap.matches(gap.op, f"{gap.op}-stri1-f32") and not gap.matches(
                gap.op, f"error-{gap.op}-dY"
            )
    lenet = {gap.op for gap in gaps if gap.op.startswith("lenet_")}
    assert lenet <= set(LENET_OPS)
    assert "lenet_npz" not in lenet and "lenet_arguments" not in lenet  # no training needed: they run
    assert all(gap.upstream.startswith("https://") for gap in gaps)


def test_every_environment_runs_exported_files_in_the_plugins_onnxruntime() -> None:
    """One ONNX Runtime version across the suite: the exported-LeNet check in each framework's
    environment runs the version the plugin backend is checked with."""
    declared = discover(ROOT)
    pins = {
        name: {
            package.requirement
            for package in backend.environment.packages
            if "onnxruntime" in package.requirement
        }
        for name, backend in declared.items()
        if name in ("torch", "tensorflow", "mxnet", "jax", "onnxruntime")
    }
    assert pins == dict.fromkeys(pins, pins["onnxruntime"]) and len(pins) == 5
