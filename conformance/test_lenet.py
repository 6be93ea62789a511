"""LeNet on the backend's native layers against the NumPy reference network.

(a) the same parameters give the same logits, (b) the same loss and gradients
for every parameter, (c) one SGD step from each of ten states of the reference's
50-step trajectory gives the same parameters, (d) parameters survive the backend
and an .npz round trip bit for bit. The checks and their bounds, propagated
layer by layer, are :mod:`conformance.lenet_checks`. (e) The free-running float32
trajectory against the float64 reference is recorded as data for the report
(``lenet-trajectory-<variant>``), not judged.
"""

from __future__ import annotations

import pytest

from backends import UnsupportedError
from conformance import lenet_checks
from conformance.compare import ConformanceError
from conformance.results import CaseResult, Status
from reference import lenet

VARIANTS = sorted(lenet.VARIANTS)
DTYPES = ("float32", "float64")


def _run(backend, results, case_id: str, op: str, variant: str, dtype: str, check, **params) -> None:
    """Record ``check()``'s worst ratio (or its failure) under ``case_id``, then re-raise any failure.

    A backend without that LeNet (UnsupportedError) skips the test.
    """
    record = {"id": case_id, "op": op, "params": {"variant": variant, **params}, "dtype": dtype,
              "source": "lenet"}  # fmt: skip
    try:
        ratio = check()
    except UnsupportedError as error:
        pytest.skip(f"unsupported by {backend.name}: {error}")
    except ConformanceError as error:
        results.add(CaseResult(**record, status=Status.FAIL, worst_ratio=error.ratio, message=str(error)))
        raise
    results.add(CaseResult(**record, status=Status.PASS, worst_ratio=ratio))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_logits_match_the_reference(backend, results, variant: str, dtype: str) -> None:
    _run(backend, results, f"lenet-logits-{variant}-{dtype}", "lenet_logits", variant, dtype,
         lambda: lenet_checks.check_logits(backend, variant, dtype))  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_gradients_match_the_reference(backend, results, variant: str, dtype: str) -> None:
    _run(backend, results, f"lenet-grads-{variant}-{dtype}", "lenet_grads", variant, dtype,
         lambda: lenet_checks.check_gradients(backend, variant, dtype))  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_each_training_step_matches_the_reference(backend, results, variant: str, dtype: str) -> None:
    _run(backend, results, f"lenet-train-step-{variant}-{dtype}", "lenet_train_step", variant, dtype,
         lambda: lenet_checks.check_train_step(backend, variant, dtype),
         steps=list(lenet_checks.CHECKED_STEPS), lr=lenet_checks.TRAJECTORY_LR[variant])  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
def test_parameters_round_trip_bit_for_bit(backend, results, tmp_path, dtype: str) -> None:
    _run(backend, results, f"lenet-npz-{dtype}", "lenet_npz", "chapter", dtype,
         lambda: lenet_checks.check_params_round_trip(backend, dtype, tmp_path))  # fmt: skip


@pytest.mark.parametrize("variant", VARIANTS)
def test_record_the_free_running_float32_trajectory(backend, results, variant: str) -> None:
    """Data for the report: passes while every loss and deviation is finite."""
    try:
        trajectory = lenet_checks.free_trajectory(backend, variant)
    except UnsupportedError as error:
        pytest.skip(f"unsupported by {backend.name}: {error}")
    finite = lenet_checks.all_finite(trajectory)
    results.add(CaseResult(
        id=f"lenet-trajectory-{variant}", op="lenet_trajectory", dtype="float32", source="lenet",
        params={"variant": variant, "lr": lenet_checks.TRAJECTORY_LR[variant], **trajectory},
        status=Status.PASS if finite else Status.FAIL,
        message="" if finite else "a loss or parameter deviation is not finite",
    ))  # fmt: skip
    assert finite, "the float32 trajectory has a non-finite loss or parameter"
