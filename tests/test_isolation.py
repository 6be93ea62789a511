"""The isolation checks and the LeNet error cases without a framework: on the reference and fakes of it."""

from __future__ import annotations

import numpy as np
import pytest

import reference
from backends.lenet import ReferenceLeNet
from conformance import isolation
from conformance.compare import ConformanceError
from conformance.lenet_errors import LENET_ERRORS
from conformance.results import Results, Status
from conformance.runner import run_error_case
from tests.conformance_fakes import ReferenceBackend


class LeNetBackend(ReferenceBackend):
    """The reference backend whose LeNet is ``model_class`` (ReferenceLeNet unless given)."""

    def __init__(self, overrides=None, model_class=ReferenceLeNet) -> None:
        super().__init__(overrides)
        self.model_class = model_class

    def lenet(self, variant="chapter", dtype="float32"):
        return self.model_class(variant, dtype)


OP_CHECKS = {check.op: check for check in isolation.op_checks()}


def test_one_check_per_function_of_every_spec() -> None:
    assert len(OP_CHECKS) == len(isolation.op_checks()) >= 21
    assert {"conv2d", "conv2d_vjp", "flatten", "softmax_cross_entropy", "linear_vjp"} <= set(OP_CHECKS)
    assert all(check.id == f"isolation-{check.case.id}" for check in OP_CHECKS.values())


@pytest.mark.parametrize("check", isolation.op_checks() + isolation.lenet_checks(), ids=repr)
def test_the_reference_passes_every_isolation_check(check) -> None:
    backend = LeNetBackend()
    (isolation.check_lenet if check.case is None else isolation.check_op)(backend, check)


def _flatten_view(X):
    return np.asarray(X).reshape(len(X), -1)


def _relu_fortran(X):
    return np.asfortranarray(reference.relu(X))


def _relu_read_only(X):
    Y = reference.relu(X)
    Y.flags.writeable = False
    return Y


def _relu_tensor_like(X):
    return (
        np.asarray(reference.relu(X)).view(np.matrix) if np.ndim(X) == 2 else np.ma.asarray(reference.relu(X))
    )


def _loss_as_array(logits, labels):
    return np.asarray(reference.softmax_cross_entropy(logits, labels)).reshape(1)


def _relu_float64(X):
    return reference.relu(X).astype(np.float64)


@pytest.mark.parametrize(
    ("op", "fake", "message"),
    [
        ("flatten", _flatten_view, "flatten output Y: shares memory with input 0"),
        ("relu", _relu_fortran, "relu output Y: not C-contiguous"),
        ("relu", _relu_read_only, "relu output Y: read-only"),
        ("relu", _relu_tensor_like, "relu output Y: expected an np.ndarray, got numpy.ma"),
        ("relu", _relu_float64, "expected float32 (2, 3, 6, 6), got float64"),
        ("softmax_cross_entropy", _loss_as_array, "expected a NumPy scalar, got ndarray"),
    ],
    ids=["aliasing", "non-contiguous", "read-only", "not-an-ndarray", "dtype", "array-for-scalar"],
)
def test_the_op_check_rejects(op: str, fake, message: str) -> None:
    with pytest.raises(ConformanceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        isolation.check_op(ReferenceBackend({op: fake}), OP_CHECKS[op])


def test_the_op_check_rejects_a_result_that_changes_with_its_inputs() -> None:
    # No shared NumPy memory, yet the result reads the input later (a lazy or aliased framework buffer).
    class Lazy(np.ndarray):
        pass

    def relu_lazy(X):
        Y = np.lib.stride_tricks.as_strided(X, X.shape, X.strides)  # the same buffer, a fresh base
        return Y

    with pytest.raises(ConformanceError, match="relu output Y: shares memory with input 0"):
        isolation.check_op(ReferenceBackend({"relu": relu_lazy}), OP_CHECKS["relu"])


class AliasingLoad(ReferenceLeNet):
    def load_params(self, params) -> None:  # bypasses the base class: keeps the caller's arrays
        self._params = dict(params)


class AliasingParams(ReferenceLeNet):
    def params(self):
        return self._params


class ReadOnlyLogits(ReferenceLeNet):
    def logits(self, X):
        Y = super().logits(X)
        Y.flags.writeable = False
        return Y


class AliasingGrads(ReferenceLeNet):
    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        return loss, {**grads, "fc3.bias": self._params["fc3.bias"]}


class ArrayLoss(ReferenceLeNet):
    def train_step(self, X, y, lr):
        loss, correct = super().train_step(X, y, lr)
        return np.float32(loss), correct


@pytest.mark.parametrize(
    ("model_class", "check", "message"),
    [
        (AliasingLoad, "load-params", "LeNet load-params: changed after the loaded arrays were overwritten"),
        (AliasingParams, "params", "shares memory"),
        (ReadOnlyLogits, "logits", "LeNet logits output: read-only"),
        (AliasingGrads, "grads", "LeNet grads: changed after the gradients were overwritten"),
        (ArrayLoss, "train-step", r"returned \(float32, int\), not \(float, int\)"),
    ],
)
def test_the_lenet_check_rejects(model_class, check: str, message: str) -> None:
    backend = LeNetBackend(model_class=model_class)
    with pytest.raises(ConformanceError, match=message):
        isolation.check_lenet(
            backend, isolation.IsolationCheck("x", "lenet_isolation", check=check, dtype="float32")
        )


def test_the_lenet_error_cases_cover_every_entry_point() -> None:
    ids = [case.id for case in LENET_ERRORS]
    assert len(ids) == len(set(ids)) >= 20
    for part in ("variant", "dtype", "params", "logits", "loss", "step-lr", "step-y", "step-X"):
        assert any(case_id.startswith(f"lenet-{part}") for case_id in ids), part
    assert {case.op for case in LENET_ERRORS} == {"lenet_arguments"}
    assert {case.result_id for case in LENET_ERRORS} >= {
        "error-lenet-variant-unknown",
        "error-lenet-step-lr-nan",
    }


@pytest.mark.parametrize("case", LENET_ERRORS, ids=repr)
def test_the_lenet_error_cases_pass_on_a_backend_of_the_reference(case) -> None:
    results = Results({})
    run_error_case(LeNetBackend(), case, results)
    [record] = results.cases
    assert (record.id, record.op, record.status, record.source) == (
        case.result_id,
        "lenet_arguments",
        Status.PASS,
        "error",
    )


class Unchecked(ReferenceLeNet):
    """A model whose entry points skip the validation (as the adapters did before the base class did it)."""

    def logits(self, X):
        return self._native_logits(np.asarray(X, dtype=self.dtype))

    def train_step(self, X, y, lr):
        return self._native_train_step(np.asarray(X, dtype=self.dtype), np.asarray(y), lr)


@pytest.mark.parametrize("case_id", ["lenet-logits-X-spatial", "lenet-step-lr-nan", "lenet-logits-X-complex"])
def test_an_unvalidated_model_fails_the_lenet_error_cases(case_id: str) -> None:
    case = next(case for case in LENET_ERRORS if case.id == case_id)
    results = Results({})
    with pytest.raises(ConformanceError, match=rf"expected {case.error.__name__}"):
        run_error_case(LeNetBackend(model_class=Unchecked), case, results)
    assert results.cases[0].status == Status.FAIL
