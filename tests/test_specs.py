"""The op-spec registry: complete, checked at import, and every case rerunnable by one command.

- Every public function of the reference (but the shape helpers and the
  ``Conv2D`` layer, checked by ``conformance/test_interface.py``) belongs to
  exactly one spec; a broken spec raises an error that names its op.
- A named case's rerun command selects exactly one test item under pytest's own
  ``-k`` matching; a generated case's command replays it, with the same outcome.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
from pathlib import Path

import numpy as np
import pytest
from _pytest.mark import KeywordMatcher
from _pytest.mark.expression import Expression
from hypothesis import given, settings
from hypothesis import strategies as st

import reference
from conformance.cases import GENERATED, ArraySpec, Case, rerun_item
from conformance.results import Results, Status, read_results
from conformance.runner import run_case, run_error_case
from conformance.spec import CHAPTER_SECTIONS, Function, OpSpec, SpecError, check_registry
from conformance.specs import SPECS, all_cases, bounds, error_cases, function
from conformance.specs.conv import CONV2D
from tests.conformance_fakes import NAME, ReferenceBackend, install

pytest_plugins = ("pytester",)

SUITE = Path(__file__).resolve().parents[1] / "conformance"
SHAPE_HELPERS = {
    "conv_output_size",
    "conv2d_output_shape",
    "pool_output_size",
    "pool2d_output_shape",
    "same_padding",
}
CASES = all_cases()
LENET_TESTS = (
    "test_logits",
    "test_gradients",
    "test_each_training",
    "test_parameters",
    "test_record_the_free",
)


def test_every_reference_function_has_exactly_one_spec() -> None:
    owners = [function.name for spec in SPECS.values() for function in spec.functions]
    assert sorted(owners) == sorted(set(reference.__all__) - SHAPE_HELPERS - {"Conv2D"})


def test_the_registry_is_in_chapter_order() -> None:
    assert list(SPECS)[:2] == ["corr2d", "conv2d"]  # conv-layer.md: corr2d first
    assert list(SPECS).index("pool2d") < list(SPECS).index("sigmoid")  # pooling.md before lenet.md
    sections = [CHAPTER_SECTIONS.index(spec.section) for spec in SPECS.values()]
    assert sections == sorted(sections)


def test_the_registry_orders_by_section_whatever_the_declaration_order() -> None:
    lenet_first = [SPECS["sigmoid"], SPECS["max_pool2d"], SPECS["corr2d"]]
    assert list(check_registry(lenet_first)) == ["corr2d", "max_pool2d", "sigmoid"]


def test_function_finds_the_spec_of_a_forward_and_of_a_vjp() -> None:
    assert function("conv2d") == (CONV2D, CONV2D.forward)
    assert function("conv2d_vjp")[1].outputs == ("dX", "dW", "db")
    with pytest.raises(SpecError, match="conv3d"):
        function("conv3d")


def _no_cases() -> list[Case]:
    return []


def _no_vjp_cases():
    return [case for case in CONV2D.cases() if case.op != "conv2d_vjp"]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (dataclasses.replace(CONV2D, forward=Function("conv2d", ("Y",), None)), "conv2d has no error bound"),
        (
            dataclasses.replace(CONV2D, vjp=Function("conv2d_vjp", ("dX",), None)),
            "conv2d_vjp has no error bound",
        ),
        (dataclasses.replace(CONV2D, forward=Function("conv2d", (), CONV2D.forward.bound)), "no outputs"),
        (dataclasses.replace(CONV2D, cases=_no_cases), "has no named cases"),
        (
            dataclasses.replace(CONV2D, forward=Function("conv3d", ("Y",), CONV2D.forward.bound)),
            "conv3d does not",
        ),
        (dataclasses.replace(CONV2D, vjp=None, workloads=()), "named cases call ['conv2d_vjp']"),
        (dataclasses.replace(CONV2D, vjp=None), "has workloads but no VJP"),
        (dataclasses.replace(CONV2D, section="resnet"), "section 'resnet' is not one of"),
        (
            dataclasses.replace(CONV2D, vjp=None, workloads=(), space=None, cases=_no_vjp_cases),
            "has a JVP but no VJP",
        ),
    ],
    ids=[
        "no-bound",
        "vjp-without-bound",
        "no-outputs",
        "no-cases",
        "no-reference",
        "stray-cases",
        "vjp-less-workloads",
        "unknown-section",
        "jvp-without-vjp",
    ],
)
def test_a_broken_spec_is_an_error_naming_its_op(broken: OpSpec, message: str) -> None:
    with pytest.raises(SpecError) as info:
        check_registry([broken])
    assert "op 'conv2d'" in str(info.value) and message in str(info.value)


def test_a_duplicate_spec_is_an_error_naming_its_op() -> None:
    with pytest.raises(SpecError, match="op 'conv2d' is specified twice"):
        check_registry([CONV2D, CONV2D])
    renamed = dataclasses.replace(CONV2D, name="convolution")
    with pytest.raises(SpecError, match="op 'convolution': conv2d is already specified by op 'conv2d'"):
        check_registry([CONV2D, renamed])


def test_ids_are_unique_and_every_spec_has_error_cases() -> None:
    ids = [case.id for case in CASES]
    # Cases are only ever added: 1,082 named and 79 invalid calls when the specs took them over.
    assert len(ids) == len(set(ids)) >= 1082
    assert len({case.id for case in error_cases()}) == len(error_cases()) >= 79
    assert all(spec.errors for spec in SPECS.values())


def test_bounds_give_one_bound_per_declared_output() -> None:
    for case in CASES[:: len(CASES) // 50]:
        with np.errstate(all="ignore"):
            found = bounds(case.op, case.arrays(), case.kw, case.dtype)
        assert len(found) == len(function(case.op)[1].outputs), case.id


def test_every_named_case_survives_json() -> None:
    """The record read back writes the same JSON (compared as text: given NaN values are unequal
    to themselves, so the records themselves cannot be compared with ==)."""
    for case in CASES:
        again = Case.from_json(case.to_json())
        assert again.to_json() == case.to_json(), case.id
        for a, b in zip(again.arrays(), case.arrays(), strict=True):  # bit for bit (NaN, bfloat16 too)
            assert (a.dtype, a.shape, a.tobytes()) == (b.dtype, b.shape, b.tobytes()), case.id


@settings(max_examples=30, deadline=None, derandomize=True)
@given(case=st.one_of([spec.strategy for spec in SPECS.values() if spec.strategy is not None]))
def test_every_generated_case_survives_json(case: Case) -> None:
    copy = Case.from_json(case.to_json())
    assert copy == case
    np.testing.assert_array_equal(copy.arrays()[-1], case.arrays()[-1])


def _k_expression(command: str) -> Expression:
    """The compiled ``-k`` expression of a pytest command line."""
    arguments = shlex.split(command)
    return Expression.compile(arguments[arguments.index("-k") + 1])


def _single_keyword(expression: Expression) -> str | None:
    """The keyword of an expression that is one keyword (its value is that keyword's match), else None."""
    asked: set[str] = set()

    def answering(value: bool):  # a matcher that answers every keyword alike
        def matcher(subname: str, /, **_: object) -> bool:
            asked.add(subname)
            return value

        return matcher

    if expression.evaluate(answering(True)) and not expression.evaluate(answering(False)) and len(asked) == 1:
        return asked.pop()
    return None


class _Selection:
    """The items a ``-k`` expression selects, by pytest's own matching (``KeywordMatcher``).

    A one-keyword expression (every rerun command's) selects the items with a name holding the
    keyword, case-insensitively: looked up in each item's names, lowercased and joined by NUL
    (which no keyword holds), it selects the same items without evaluating the expression per item.
    """

    def __init__(self, items: list[pytest.Item]) -> None:
        self.items = items
        self.matchers = [KeywordMatcher.from_item(item) for item in items]
        self.names = ["\0".join(name.lower() for name in matcher._names) for matcher in self.matchers]

    def __call__(self, command: str) -> list[str]:
        expression = _k_expression(command)
        keyword = _single_keyword(expression)
        if keyword is None or "\0" in keyword:
            return self.evaluated(command)
        keyword = keyword.lower()
        return [item.name for item, names in zip(self.items, self.names, strict=True) if keyword in names]

    def evaluated(self, command: str) -> list[str]:
        """The same selection, the expression evaluated on every item (pytest's way, slower)."""
        expression = _k_expression(command)
        pairs = zip(self.items, self.matchers, strict=True)
        return [item.name for item, matcher in pairs if expression.evaluate(matcher)]


def test_each_rerun_command_selects_exactly_its_test(pytester, monkeypatch, tmp_path) -> None:
    install(monkeypatch, ReferenceBackend(), tmp_path)
    items, _ = pytester.inline_genitems(str(SUITE), "--backend", NAME, "-p", "no:cacheprovider")
    assert len(items) >= 1207  # the suite's tests when the specs took it over; ops only add tests
    selected = _Selection(items)
    # The shortcut selects what pytest's evaluation does: a prefix of many ids, a test's name alone.
    for keyword in ("test_case[conv2d", "test_case and relu", "TEST_CASE[RELU", "not test_case"):
        assert selected(f"pytest -k '{keyword}'") == selected.evaluated(f"pytest -k '{keyword}'"), keyword
    for case in CASES:
        assert selected(case.rerun(NAME)) == [f"test_case[{case.id}]"], case.id
    records = Results({})
    for case in error_cases():
        run_error_case(ReferenceBackend(), case, records)
    for case, record in zip(error_cases(), records.cases, strict=True):
        expected = [f"test_invalid_argument_raises_like_the_reference[{case.id}]"]
        assert selected(record.rerun) == expected, case.id
    lenet = [item.name for item in items if item.name.startswith(LENET_TESTS)]
    assert len(lenet) == 20  # 16 float32 and float64 checks, the logits in float16 and bfloat16
    for name in lenet:  # a LeNet check's rerun command names its item
        assert selected(rerun_item(NAME, name)) == [name]


def _wrong_conv2d(X, W, b=None, **kwargs):
    """conv2d, off by one part in a thousand: a failure with a finite ratio."""
    return reference.conv2d(X, W, b, **kwargs) * np.float32(1.001).astype(np.result_type(X, W))


@pytest.mark.parametrize(
    ("backend", "status"),
    [(ReferenceBackend(), Status.PASS), (ReferenceBackend({"conv2d": _wrong_conv2d}), Status.FAIL)],
    ids=["passing", "failing"],
)
def test_a_generated_case_replays_with_the_recorded_result(
    pytester, monkeypatch, tmp_path, backend, status
) -> None:
    case = Case(
        "hyp-conv2d-2x4x9x8-6x2x3x2-s21-same-d2-g2-float32-77",
        "conv2d",
        (ArraySpec("X", (2, 4, 9, 8)), ArraySpec("W", (3 * 2, 2, 3, 2)), ArraySpec("b", (6,))),
        (("stride", (2, 1)), ("padding", "same"), ("dilation", 2), ("groups", 2)),
        "float32",
        77,
        source=GENERATED,
    )
    first = Results({})
    with contextlib.suppress(AssertionError):  # the failing backend's failure is recorded
        run_case(backend, case, first)
    (recorded,) = first.cases
    assert recorded.status == status
    arguments = shlex.split(recorded.rerun)
    assert arguments[:4] == ["pytest", "conformance/test_replay.py", "--backend", NAME]
    install(monkeypatch, backend, tmp_path)
    run = pytester.runpytest_inprocess(
        str(SUITE / "test_replay.py"),
        *arguments[2:],
        "-p",
        "no:cacheprovider",
        "--results-dir",
        str(tmp_path),
    )
    (replayed,) = read_results(tmp_path / f"conformance-{NAME}.json").records
    assert (replayed.id, replayed.status, replayed.worst_ratio) == (
        case.id,
        recorded.status,
        recorded.worst_ratio,
    )
    run.assert_outcomes(**{"passed" if status == Status.PASS else "failed": 1})
    assert (f"rerun: {recorded.rerun}" in run.stdout.str()) == (status == Status.FAIL)  # printed on failure
