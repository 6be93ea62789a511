"""The suite can fail: every faulty adapter of the catalogue is caught by the checks it names.

One test per fault, all in this process: the fault's ``must_fail`` checks run
through the suite's own code (:func:`conformance.runner.run_case` for op cases,
adversarial ones included, :func:`conformance.runner.run_error_case` for
invalid calls of the ops and of the LeNet models, the functions of
``conformance.lenet_checks`` for LeNet, :func:`conformance.isolation.check_op`
and :func:`conformance.isolation.check_lenet` for state isolation) and each
must be rejected by the suite (its comparison, or an error the fault declares
the framework raises), while the unmodified PyTorch adapter passes them (else
their failing says nothing about the fault); its ``must_pass`` checks must
pass. The outcome of every fault goes to ``<results-dir>/mutation-catalogue.json``
(see ``conftest.py``).
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backends import Backend, UnsupportedError
from backends.torch.adapter import TorchBackend
from conformance import isolation, lenet_checks
from conformance.compare import ConformanceError
from conformance.lenet_errors import LENET_ERRORS
from conformance.meta_tests.faulty_backends import FAULTS, Fault
from conformance.results import Results
from conformance.runner import run_case, run_error_case
from conformance.specs import all_cases, error_cases

CASES = {case.id: case for case in all_cases()}
# the invalid calls of conformance/test_errors.py: the op specs' and the LeNet models'
ERRORS = {case.result_id: case for case in [*error_cases(), *LENET_ERRORS]}
# the checks of conformance/test_isolation.py
ISOLATION = {check.id: check for check in [*isolation.op_checks(), *isolation.lenet_checks()]}
# LeNet check id prefix -> the function of conformance.lenet_checks that runs it
LENET_CHECKS = {
    "lenet-logits-": lenet_checks.check_logits,
    "lenet-grads-": lenet_checks.check_gradients,
    "lenet-train-step-": lenet_checks.check_train_step,
    "lenet-npz-": lenet_checks.check_params_round_trip,
}


def op_of(check_id: str) -> str:
    """The op a check exercises: a case's op, an invalid call's function (``lenet_arguments`` for
    LeNet's), an isolation check's function (``lenet_isolation`` for LeNet's), or ``lenet_<check>``."""
    if check_id in CASES:
        return CASES[check_id].op
    if check_id in ERRORS:
        return ERRORS[check_id].op
    if check_id in ISOLATION:
        return ISOLATION[check_id].op
    for prefix in LENET_CHECKS:
        if check_id.startswith(prefix):
            return prefix.rstrip("-").replace("-", "_")
    return "?"


def _run_lenet_check(backend: Backend, check_id: str, directory: Path) -> None:
    prefix = next(p for p in LENET_CHECKS if check_id.startswith(p))
    check = LENET_CHECKS[prefix]
    rest = check_id.removeprefix(prefix)
    if prefix == "lenet-npz-":
        check(backend, rest, directory)
    else:
        variant, dtype = rest.rsplit("-", 1)
        check(backend, variant, dtype)


def _run_isolation_check(backend: Backend, check: isolation.IsolationCheck) -> None:
    if check.case is not None:
        isolation.check_op(backend, check)
    else:
        isolation.check_lenet(backend, check)


def run_check(
    backend: Backend, check_id: str, directory: Path, raises: tuple[type[Exception], ...] = ()
) -> tuple[str, str]:
    """``(status, message)`` of one check on ``backend``.

    ``pass``; ``fail`` (the suite rejects the result, or the call raised one of
    ``raises``, the framework errors a fault declares, which the suite records as
    the backend's error: the fault is seen); ``error`` (the call raised something
    else: the fault itself is broken); ``unsupported``; or ``missing`` (no check
    of the suite has this id).
    """
    results = Results(backend.environment())  # thrown away: the record is the suite's, not ours
    try:
        if check_id in CASES:
            run_case(backend, CASES[check_id], results)
        elif check_id in ERRORS:
            run_error_case(backend, ERRORS[check_id], results)
        elif check_id in ISOLATION:
            _run_isolation_check(backend, ISOLATION[check_id])
        elif any(check_id.startswith(prefix) for prefix in LENET_CHECKS):
            (directory / check_id).mkdir()
            _run_lenet_check(backend, check_id, directory / check_id)
        else:
            return "missing", f"{check_id} names no case, invalid call or LeNet check of the suite"
    except ConformanceError as error:
        return "fail", str(error).splitlines()[0]
    except UnsupportedError as error:
        return "unsupported", str(error)
    except raises as error:
        return "fail", f"the backend raised {type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
    except Exception as error:
        return "error", f"{type(error).__name__}: {error}"
    return "pass", ""


def _statuses(outcomes: dict[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    return {
        check_id: {"status": status, "message": message} for check_id, (status, message) in outcomes.items()
    }


def record(
    fault: Fault, outcomes: dict[str, tuple[str, str]], control: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    """The catalogue's entry for ``fault``.

    ``outcomes``: each named check on the faulty adapter; ``control``: each
    must-fail check on the unmodified PyTorch adapter. A fault is caught when
    every must-fail check fails on it and passes on the unmodified adapter.
    """
    entry: dict[str, Any] = {
        "name": fault.name,
        "kind": fault.kind,
        "description": fault.description,
        "ops": sorted({op_of(check_id) for check_id in fault.must_fail}),
        "must_fail": list(fault.must_fail),
        "must_pass": list(fault.must_pass),
        "raises": [error.__name__ for error in fault.raises],
    }
    failed = [check_id for check_id in fault.must_fail if outcomes[check_id][0] == "fail"]
    unexpected = {
        check_id: outcomes[check_id]
        for check_id in fault.must_fail + fault.must_pass
        if outcomes[check_id][0] != ("fail" if check_id in fault.must_fail else "pass")
    }
    control_failures = {
        check_id: control[check_id] for check_id in fault.must_fail if control[check_id][0] != "pass"
    }
    return {
        **entry,
        "caught": bool(fault.must_fail) and len(failed) == len(fault.must_fail) and not control_failures,
        "failed": len(failed),
        "unexpected": _statuses(unexpected),
        "control_failures": _statuses(control_failures),
    }


@pytest.fixture(scope="module")
def control(pytestconfig, tmp_path_factory) -> Callable[[str], tuple[str, str]]:
    """``outcome(check_id)`` on the unmodified PyTorch adapter, each check run once."""
    backend = TorchBackend(device=pytestconfig.getoption("device"))
    directory = tmp_path_factory.mktemp("control")
    return functools.cache(lambda check_id: run_check(backend, check_id, directory))


@pytest.mark.parametrize("fault", FAULTS.values(), ids=list(FAULTS))
def test_fault_is_caught(
    fault: Fault, catalogue: list[dict[str, Any]], control, pytestconfig, tmp_path: Path
) -> None:
    backend = fault.backend(device=pytestconfig.getoption("device"))
    checks = fault.must_fail + fault.must_pass
    outcomes = {check_id: run_check(backend, check_id, tmp_path, fault.raises) for check_id in checks}
    entry = record(fault, outcomes, {check_id: control(check_id) for check_id in fault.must_fail})
    catalogue.append(entry)
    assert fault.must_fail, f"no check of the suite exercises {fault.name}: {fault.description}"
    assert not entry["control_failures"], (
        f"the unmodified PyTorch adapter does not pass checks that {fault.name} must fail, so their failing "
        f"is no catch of the fault: {entry['control_failures']}"
    )
    assert entry["caught"], (
        f"{fault.name} ({fault.description}) escapes {len(fault.must_fail) - entry['failed']} of its "
        f"{len(fault.must_fail)} must-fail checks: {entry['unexpected']}"
    )
    assert not entry["unexpected"], (
        f"checks that {fault.name} leaves correct did not pass: {entry['unexpected']}"
    )


def test_the_catalogue_runs_in_the_environment_of_the_adapter_it_subclasses() -> None:
    """nox runs the catalogue in the environment pyproject.toml names: the one of the adapter it extends."""
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    declared = pyproject["tool"]["cnn_chapter_reference"]["fault_catalogue_backend"]
    assert all(issubclass(fault.backend, TorchBackend) for fault in FAULTS.values())
    assert declared == TorchBackend.name
