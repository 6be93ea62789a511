"""Known gaps run as strict expected failures, and the gap file cannot go stale or malformed.

The conformance suite runs in-process (pytester) on a backend without a
framework, the NumPy reference itself (:mod:`tests.conformance_fakes`), whose
folder holds a ``known_gaps.toml`` written by each test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backends import UnsupportedError
from conformance.known_gaps import GapFileError, parse
from conformance.results import Status, read_results
from conformance.specs import SPECS
from tests.conformance_fakes import NAME, ReferenceBackend, install

pytest_plugins = ("pytester",)

SUITE = Path(__file__).resolve().parents[1] / "conformance"
UPSTREAM = "https://example.org/tracker/1"


def _gap(op: str, cases: str, reason: str = "cannot mix channels yet") -> str:
    fields = {"backend": NAME, "op": op, "cases": cases, "reason": reason, "upstream": UPSTREAM}
    return "[[gap]]\n" + "".join(f'{key} = "{value}"\n' for key, value in fields.items())


def _unsupported(*args, **kwargs):
    raise UnsupportedError("1x1 channel mixing")


def _run(pytester, monkeypatch, tmp_path: Path, gaps: str, backend: ReferenceBackend, *args: str):
    folder = tmp_path / "backend"
    folder.mkdir()
    (folder / "known_gaps.toml").write_text(gaps)
    install(monkeypatch, backend, folder)
    results = tmp_path / "results"
    # -k picks cases by id; the isolation checks (isolation-<case id>, covered by the same gaps) and the
    # half-precision mirrors (ids ending -f16 and -bf16) stay out.
    args = tuple(f"({arg}) and not isolation and not f16" if previous == "-k" else arg
                 for previous, arg in zip(("", *args), args, strict=False))  # fmt: skip
    run = pytester.runpytest_inprocess(
        str(SUITE), "--backend", NAME, "-p", "no:cacheprovider", "--results-dir", str(results), *args
    )
    path = results / f"conformance-{NAME}.json"
    records = {record.id: record for record in read_results(path).records} if path.exists() else {}
    return run, records


def test_a_declared_gap_that_fails_is_an_expected_failure_with_status_gap(pytester, monkeypatch, tmp_path):
    backend = ReferenceBackend({"corr2d_multi_in_out_1x1": _unsupported})
    gaps = _gap("corr2d_multi_in_out_1x1", "chapter-1x1-*")
    run, records = _run(
        pytester, monkeypatch, tmp_path, gaps, backend, "-k", "chapter-1x1 or chapter-corr2d-3x3"
    )
    run.assert_outcomes(passed=2, xfailed=2)
    for dtype in ("f32", "f64"):
        record = records[f"chapter-1x1-{dtype}"]
        assert (record.status, record.gap, record.upstream) == (
            Status.GAP,
            "cannot mix channels yet",
            UPSTREAM,
        )
        assert "unsupported: 1x1 channel mixing" in record.message
    assert records["chapter-corr2d-3x3-f32"].status == Status.PASS


def test_a_declared_gap_that_passes_fails_the_run_with_status_fixed(pytester, monkeypatch, tmp_path):
    gaps = _gap("corr2d_multi_in_out_1x1", "chapter-1x1-*")
    run, records = _run(pytester, monkeypatch, tmp_path, gaps, ReferenceBackend(), "-k", "chapter-1x1")
    run.assert_outcomes(failed=2)
    assert records["chapter-1x1-f32"].status == Status.FIXED
    assert "remove the entry" in records["chapter-1x1-f64"].message


def test_a_gap_covers_an_op_spec_forward_and_vjp_alike(pytester, monkeypatch, tmp_path):
    scaled = ReferenceBackend({"relu_vjp": lambda X, dY: 2 * np.asarray(dY)})  # wrong where x > 0
    gaps = _gap("relu", "relu*-2x3x4x4-f64")
    run, records = _run(
        pytester,
        monkeypatch,
        tmp_path,
        gaps,
        scaled,
        "-k",
        "relu and 2x3x4x4 and not pairwise and not adversarial and not jvp",
    )
    # relu itself passes (an XPASS, strict: failed), relu_vjp fails as declared; float32 runs as usual.
    run.assert_outcomes(passed=1, failed=2, xfailed=1)
    assert records["relu-2x3x4x4-f64"].status == Status.FIXED
    assert records["relu_vjp-2x3x4x4-f64"].status == Status.GAP
    assert records["relu_vjp-2x3x4x4-f32"].status == Status.FAIL
    assert "rerun: pytest conformance --backend fake -k 'test_case[relu_vjp-2x3x4x4-f32]'" in run.stdout.str()


def _relu_vjp_unsupported(X, dY):
    raise UnsupportedError("no autograd")


DRAWN_RELU = "test_adversarial and relu-f32"  # draws relu and relu_vjp cases in one test


def test_a_drawn_test_takes_a_vjp_gap_case_by_case(pytester, monkeypatch, tmp_path):
    backend = ReferenceBackend({"relu_vjp": _relu_vjp_unsupported})
    run, records = _run(pytester, monkeypatch, tmp_path, _gap("relu_vjp", "*"), backend, "-k", DRAWN_RELU)
    run.assert_outcomes(xfailed=1)
    drawn = [record for record in records.values() if record.source == "adversarial"]
    statuses = {(record.op, record.status) for record in drawn}
    assert statuses == {("relu", Status.PASS), ("relu_vjp", Status.GAP)}
    run.stdout.fnmatch_lines(["*known gap (*gap 1): * drawn cases*"])


def test_a_wrong_forward_fails_a_drawn_test_that_also_meets_a_declared_gap(pytester, monkeypatch, tmp_path):
    backend = ReferenceBackend({"relu_vjp": _relu_vjp_unsupported, "relu": lambda X: np.asarray(X) + 1})
    run, records = _run(pytester, monkeypatch, tmp_path, _gap("relu_vjp", "*"), backend, "-k", DRAWN_RELU)
    run.assert_outcomes(failed=1)
    assert Status.FAIL in {record.status for record in records.values() if record.op == "relu"}


def test_a_declared_gap_that_passes_in_a_drawn_test_fails_it(pytester, monkeypatch, tmp_path):
    run, records = _run(
        pytester, monkeypatch, tmp_path, _gap("relu_vjp", "*"), ReferenceBackend(), "-k", DRAWN_RELU
    )
    run.assert_outcomes(failed=1)
    assert Status.FIXED in {record.status for record in records.values() if record.op == "relu_vjp"}
    run.stdout.fnmatch_lines(["*now passes: remove the entry*"])


def test_an_unsupported_call_without_a_gap_is_an_error_not_a_skip(pytester, monkeypatch, tmp_path):
    backend = ReferenceBackend({"corr2d_multi_in_out_1x1": _unsupported})
    run, records = _run(pytester, monkeypatch, tmp_path, "", backend, "-k", "chapter-1x1")
    run.assert_outcomes(failed=2)
    assert records["chapter-1x1-f32"].status == Status.ERROR
    assert "rerun: pytest conformance --backend fake -k 'test_case[chapter-1x1-f64]'" in run.stdout.str()


def test_an_entry_that_matches_no_test_is_an_error_naming_it(pytester, monkeypatch, tmp_path):
    gaps = _gap("corr2d", "chapter-1x1-*") + _gap("corr2d", "chapter-corr2d-3x3-*")
    run, _ = _run(pytester, monkeypatch, tmp_path, gaps, ReferenceBackend(), "-k", "chapter-corr2d-3x3")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines(["*known gaps that match no test of fake*gap 1 (corr2d, 'chapter-1x1-*')*"])
    assert "gap 2" not in run.stderr.str()  # deselected by -k, but matched at collection


def test_an_entry_for_another_backend_is_ignored(pytester, monkeypatch, tmp_path):
    gaps = _gap("corr2d", "nothing-*").replace(f'backend = "{NAME}"', 'backend = "other"')
    run, _ = _run(pytester, monkeypatch, tmp_path, gaps, ReferenceBackend(), "-k", "chapter-corr2d-3x3")
    run.assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            _gap("corr2d", "*").replace('reason = "cannot mix channels yet"\n', ""),
            "gap 1: missing keys ['reason']",
        ),
        (_gap("corr2d", "*") + 'severity = "high"\n', "gap 1: missing keys [], unknown keys ['severity']"),
        (_gap("corr2d", "*") + _gap("conv3d", "*"), "gap 2: unknown op 'conv3d'"),
        (_gap("corr2d", "*", reason=" "), "gap 1: the reason is empty"),
        ("[gaps]\n", "unknown top-level keys ['gaps']"),
        ("[[gap]\n", "known_gaps.toml: "),
    ],
    ids=["missing-reason", "unknown-key", "unknown-op", "empty-reason", "misspelt-table", "not-toml"],
)
def test_a_malformed_file_is_an_error_naming_the_entry(text: str, message: str) -> None:
    with pytest.raises(GapFileError) as info:
        parse(text, "known_gaps.toml")
    assert message in str(info.value)


def test_the_in_tree_file_declares_jax_export_data_parallel_and_mxnet_forward_mode_gaps() -> None:
    gaps = parse((SUITE / "known_gaps.toml").read_text(), "known_gaps.toml")
    jvps = [spec.jvp.name for spec in SPECS.values() if spec.jvp is not None]
    assert [(gap.backend, gap.op, gap.cases) for gap in gaps] == [
        ("jax", "lenet_export", "lenet-export-relu-max-*"),
        ("tensorflow", "lenet_data_parallel", "*"),
        ("mxnet", "lenet_data_parallel", "*"),
        *(("mxnet", name, "[!e]*") for name in jvps),
        ("mxnet", "lenet_hvp", "*"),
    ]
    assert gaps[0].upstream.startswith("https://github.com/")
    assert all(gap.reason.startswith("not built yet") and not gap.upstream for gap in gaps[1:3])
    assert all(gap.upstream.startswith("https://mxnet.apache.org/") for gap in gaps[3:])
