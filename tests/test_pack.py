"""The conformance pack: reproducible export, verify's verdicts and its errors, the example runner.

Small packs (two ops, two generated rows each) keep these fast; the whole pack
is exported by ``nox -s pack`` and checked against PyTorch by ``nox -s pack-check``.
"""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import reference
from backends.base import UnsupportedError
from conformance.pack.__main__ import main
from conformance.pack.export import export, generated_sample, pack_cases
from conformance.pack.layout import (
    CHECKSUMS,
    INDEX,
    MANIFEST,
    PackError,
    output_path,
    read_npy,
    write_checksums,
    write_npy,
)
from conformance.pack.run import run, tuples
from conformance.pack.verify import FAIL, MISSING, NOT_COMPUTED, PASS, verify
from conformance.specs import SPECS
from tests.conformance_fakes import NAME, ReferenceBackend, install

OPS = ("pool2d", "linear")  # bounds: exact (a signed-zero mask among them) and reductions with terms
RUNNER = Path(__file__).resolve().parents[1] / "examples" / "pack_runner_torch.py"


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pack") / "pack"
    export(root, OPS, per_op=2, seed=0)
    return root


@pytest.fixture()
def copy(pack: Path, tmp_path: Path) -> Path:
    """A copy of the pack that a test may damage."""
    root = tmp_path / "pack"
    for name in pack.rglob("*"):
        if name.is_file():
            target = root / name.relative_to(pack)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(name.read_bytes())
    return root


def manifest(root: Path) -> dict:
    return json.loads((root / MANIFEST).read_text())


def reference_outputs(pack: Path, outputs: Path) -> None:
    """Each case's outputs from ``reference.<function>`` on the pack's inputs (not its expected files)."""
    for case in manifest(pack)["cases"]:
        arrays = [np.load(pack / entry["file"]) for entry in case["inputs"]]
        kwargs = {name: tuples(value) for name, value in case["kwargs"].items()}
        with np.errstate(all="ignore"):
            values = getattr(reference, case["function"])(*arrays, **kwargs)
        values = values if isinstance(values, tuple) else (values,)
        for output, value in zip(case["outputs"], values, strict=True):
            write_npy(output_path(outputs, case["id"], output["name"]), value)


@pytest.fixture()
def outputs(pack: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "outputs"
    reference_outputs(pack, folder)
    return folder


def test_the_same_version_exports_the_same_bytes(pack: Path, tmp_path: Path) -> None:
    again = export(tmp_path / "again", OPS, per_op=2, seed=0)
    assert (tmp_path / "again" / CHECKSUMS).read_bytes() == (pack / CHECKSUMS).read_bytes()
    listed = [line.split("  ")[1] for line in (pack / CHECKSUMS).read_text().splitlines()]
    assert listed == sorted(listed) and len(listed) + 1 == again.files
    cases = manifest(pack)["cases"]
    assert {case["op"] for case in cases} == set(OPS)
    assert {case["function"] for case in cases} == {"pool2d", "linear", "linear_vjp", "linear_jvp"}
    assert sum(case["source"] == "adversarial" for case in cases) == 6  # 2 rows x (pool2d + linear, its VJP)


def test_the_generated_sample_does_not_depend_on_the_other_ops() -> None:
    alone = [case.id for case in pack_cases(["relu"], per_op=3, seed=5) if case.source == "adversarial"]
    together = [
        case.id for case in pack_cases(["relu", "sigmoid"], per_op=3, seed=5) if "hyp-relu" in case.id
    ]
    assert alone == together == [case.id for case in generated_sample(SPECS["relu"], 3, 5)]
    assert len(alone) == 6 and all(case.startswith(("hyp-relu-", "hyp-relu_vjp-")) for case in alone)


def test_the_recorded_terms_rebuild_the_bound(pack: Path) -> None:
    """linear: magnitude |X| |W|^T + |b|, and the coefficient from the reduction length by the formula."""
    case = next(
        case for case in manifest(pack)["cases"] if case["function"] == "linear" and len(case["inputs"]) == 3
    )
    X, W, b = (np.abs(np.load(pack / entry["file"]).astype(np.float64)) for entry in case["inputs"])
    (output,) = case["outputs"]
    terms = output["bound"]["terms"]
    magnitude = np.load(pack / terms["magnitude"])
    kwargs = {name: tuples(value) for name, value in case["kwargs"].items()}
    np.testing.assert_array_equal(magnitude, reference.linear(X, W, b, **kwargs))
    n, u = X.shape[1] + 1, 2.0**-24 if case["dtype"] == "float32" else 2.0**-53

    def gamma(n: int, u: float) -> float:
        return min(n * u / (1 - n * u), math.expm1(6 * math.sqrt(n) * u + n * u * u / (1 - u)))

    assert terms["parts"]["n"] == n
    assert terms["coefficient"] == pytest.approx(gamma(n, u) + gamma(n, 2.0**-53) + u, rel=1e-12)
    rebuilt = terms["coefficient"] * np.abs(magnitude) + terms["addend"]
    np.testing.assert_array_equal(rebuilt, np.load(pack / output["bound"]["file"]))


def test_the_reference_outputs_pass(pack: Path, outputs: Path) -> None:
    outcomes = verify(pack, outputs)
    assert len(outcomes) == len(manifest(pack)["cases"])
    assert {outcome.status for outcome in outcomes} == {PASS}


def test_an_output_beyond_its_bound_fails_naming_the_case(pack: Path, outputs: Path) -> None:
    case = next(c for c in manifest(pack)["cases"] if c["function"] == "linear" and c["dtype"] == "float64")
    (output,) = case["outputs"]
    path = output_path(outputs, case["id"], output["name"])
    value, bound = read_npy(path), np.load(pack / output["bound"]["file"])
    value.flat[0] += 3 * bound.flat[0]
    write_npy(path, value)
    failed = [outcome for outcome in verify(pack, outputs) if outcome.status != PASS]
    assert [(outcome.id, outcome.status) for outcome in failed] == [(case["id"], FAIL)]
    assert str(path) in failed[0].message and "exceeds bound" in failed[0].message
    assert failed[0].ratio == pytest.approx(3, rel=0.05)  # the added error, rounded to the output


def test_missing_and_not_computed_outputs(pack: Path, outputs: Path) -> None:
    first, second = manifest(pack)["cases"][:2]
    for case in (first, second):
        for output in case["outputs"]:
            output_path(outputs, case["id"], output["name"]).unlink()
    (outputs / INDEX).write_text(json.dumps({"not_computed": {second["id"]: "unsupported: no VJP"}}))
    by_id = {outcome.id: outcome for outcome in verify(pack, outputs)}
    assert by_id[first["id"]].status == MISSING and "missing" in by_id[first["id"]].message
    assert by_id[second["id"]].status == NOT_COMPUTED
    assert main(["verify", str(pack), str(outputs)]) == 1  # a missing output fails


def test_a_backend_without_vjps_leaves_them_not_computed(
    pack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def unsupported(*args: object, **kwargs: object) -> None:
        raise UnsupportedError("no VJP")

    install(monkeypatch, ReferenceBackend({"linear_vjp": unsupported}), tmp_path)
    counts = run(pack, tmp_path / "out", NAME)
    cases = manifest(pack)["cases"]
    vjps = sum(case["function"].endswith("_vjp") for case in cases)
    assert counts == {"computed": len(cases) - vjps, "not_computed": vjps}
    assert main(["verify", str(pack), str(tmp_path / "out")]) == 0
    rows = {line.split()[1]: line.split()[2:7] for line in capsys.readouterr().out.splitlines()[1:-1]}
    cases, passed, failed, missing, not_computed = rows["linear_vjp"]
    assert (passed, failed, missing) == ("0", "0", "0") and not_computed == cases != "0"
    for function in ("pool2d", "linear"):
        cases, passed, failed, missing, not_computed = rows[function]
        assert passed == cases and (failed, missing, not_computed) == ("0", "0", "0")


def test_run_with_an_unknown_backend_says_so_without_a_traceback(
    pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(pack), str(tmp_path / "out"), "--backend", "no-such-backend"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(
        "error: backend 'no-such-backend': unknown backend 'no-such-backend'; known backends:"
    )
    assert not (tmp_path / "out").exists()


def _error(pack: Path, outputs: Path) -> PackError:
    with pytest.raises(PackError) as raised:
        verify(pack, outputs)
    return raised.value


def test_a_truncated_output_names_the_file(pack: Path, outputs: Path) -> None:
    case = manifest(pack)["cases"][0]
    path = output_path(outputs, case["id"], case["outputs"][0]["name"])
    path.write_bytes(path.read_bytes()[:-5])
    error = _error(pack, outputs)
    assert error.path == path and "truncated" in str(error)


def test_a_truncated_array_in_the_pack_names_the_file(copy: Path, outputs: Path) -> None:
    path = copy / manifest(copy)["cases"][2]["outputs"][0]["file"]
    path.write_bytes(path.read_bytes()[:-8])
    error = _error(copy, outputs)
    assert error.path == path and "truncated" in str(error)


def test_a_flipped_byte_in_the_pack_names_the_file(copy: Path, outputs: Path) -> None:
    path = copy / manifest(copy)["cases"][3]["inputs"][0]["file"]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    error = _error(copy, outputs)
    assert error.path == path and "corrupted" in str(error)


@pytest.mark.parametrize("where", ["pack", "outputs"])
def test_a_foreign_file_names_the_file(copy: Path, outputs: Path, where: str) -> None:
    folder = copy if where == "pack" else outputs
    path = folder / "cases" / "stray.npy"
    np.save(path, np.zeros(3))
    error = _error(copy, outputs)
    assert error.path == path and "foreign file" in str(error)


def test_an_output_that_is_not_npy_names_the_file(pack: Path, outputs: Path) -> None:
    case = manifest(pack)["cases"][0]
    path = output_path(outputs, case["id"], case["outputs"][0]["name"])
    path.write_text("not an array")
    error = _error(pack, outputs)
    assert error.path == path and "not a .npy file" in str(error)


def test_a_manifest_that_breaks_the_schema_names_the_file(
    copy: Path, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = manifest(copy)
    del broken["cases"][0]["dtype"]
    (copy / MANIFEST).write_text(json.dumps(broken))
    write_checksums(copy)  # consistent checksums: the schema is what catches it
    error = _error(copy, outputs)
    assert error.path == copy / MANIFEST and "cases/0" in str(error) and "'dtype' is a required" in str(error)
    assert main(["verify", str(copy), str(outputs)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {copy / MANIFEST}: does not fit")


def test_an_output_of_another_shape_fails(pack: Path, outputs: Path) -> None:
    case = manifest(pack)["cases"][0]
    write_npy(output_path(outputs, case["id"], case["outputs"][0]["name"]), np.zeros(2))
    outcome = verify(pack, outputs)[0]
    assert outcome.status == FAIL and "has shape (2,)" in outcome.message


def test_the_example_runner_imports_numpy_torch_and_the_standard_library_only() -> None:
    tree = ast.parse(RUNNER.read_text())
    modules = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    modules |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert modules - set(sys.stdlib_module_names) == {"numpy", "torch"}
