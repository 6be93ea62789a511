"""LeNet on the backend's native layers against the NumPy reference network.

(a) the same parameters give the same logits, (b) the same loss and gradients
for every parameter, (b') the Hessian-vector product of the loss (forward over reverse)
against central differences of the reference gradient (:mod:`conformance.lenet_hvp`),
(c) one SGD step from each of ten states of the reference's
50-step trajectory gives the same parameters, (d) parameters survive the backend
and an .npz round trip bit for bit. The checks and their bounds, propagated
layer by layer, are :mod:`conformance.lenet_checks`. (e) The free-running float32
trajectory against the float64 reference is recorded as data for the report
(``lenet-trajectory-<variant>``), not judged.

Each test item is named after the id of its record, so ``-k`` selects one check.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance import lenet_checks, lenet_hvp
from conformance.cases import HALF, rerun_item
from conformance.compare import ConformanceError
from conformance.known_gaps import find
from conformance.runner import record_check
from reference import lenet

VARIANTS = sorted(lenet.VARIANTS)
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class LenetCheck:
    """One LeNet check: its result id, op name (``lenet_<check>``), variant and dtype."""

    id: str
    op: str
    variant: str
    dtype: str
    params: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return self.id


def _checks(name: str, **params: Any) -> list[LenetCheck]:
    """The check ``lenet_<name>`` for every variant and dtype."""
    return [
        LenetCheck(
            f"lenet-{name.replace('_', '-')}-{variant}-{dtype}", f"lenet_{name}", variant, dtype, params
        )
        for variant, dtype in itertools.product(VARIANTS, DTYPES)
    ]


def _run(backend, results, gaps, request, check: LenetCheck, run) -> None:
    """Record ``run()``'s worst ratio (or its failure) under ``check.id``, then re-raise any failure."""
    __tracebackhide__ = True
    params = {"variant": check.variant, **check.params}
    record = {"id": check.id, "op": check.op, "params": params, "dtype": check.dtype, "source": "lenet",
              "rerun": rerun_item(backend.name, request.node.name)}  # fmt: skip
    record_check(results, record, find(gaps, check.op, check.id), run)


# The LeNet forward in half precision too: logits only (the network's gradients and training
# steps are float32 and float64 checks).
HALF_LOGITS = [
    LenetCheck(f"lenet-logits-{variant}-{dtype}", "lenet_logits", variant, dtype)
    for variant, dtype in itertools.product(VARIANTS, HALF)
]


@pytest.mark.parametrize("check", _checks("logits") + HALF_LOGITS, ids=repr)
def test_logits_match_the_reference(backend, results, gaps, request, check: LenetCheck) -> None:
    _run(backend, results, gaps, request, check,
         lambda: lenet_checks.check_logits(backend, check.variant, check.dtype))  # fmt: skip


@pytest.mark.parametrize("check", _checks("grads"), ids=repr)
def test_gradients_match_the_reference(backend, results, gaps, request, check: LenetCheck) -> None:
    _run(backend, results, gaps, request, check,
         lambda: lenet_checks.check_gradients(backend, check.variant, check.dtype))  # fmt: skip


@pytest.mark.parametrize("check", _checks("hvp"), ids=repr)
def test_hessian_vector_products_match_central_differences(
    backend, results, gaps, request, check: LenetCheck
) -> None:
    _run(backend, results, gaps, request, check,
         lambda: lenet_hvp.check_hvp(backend, check.variant, check.dtype))  # fmt: skip


TRAIN_STEPS = [
    LenetCheck(c.id, c.op, c.variant, c.dtype,
               {"steps": list(lenet_checks.CHECKED_STEPS), "lr": lenet_checks.TRAJECTORY_LR[c.variant]})
    for c in _checks("train_step")
]  # fmt: skip


@pytest.mark.parametrize("check", TRAIN_STEPS, ids=repr)
def test_each_training_step_matches_the_reference(backend, results, gaps, request, check: LenetCheck) -> None:
    _run(backend, results, gaps, request, check,
         lambda: lenet_checks.check_train_step(backend, check.variant, check.dtype))  # fmt: skip


ROUND_TRIPS = [LenetCheck(f"lenet-npz-{dtype}", "lenet_npz", "chapter", dtype) for dtype in DTYPES]


@pytest.mark.parametrize("check", ROUND_TRIPS, ids=repr)
def test_parameters_round_trip_bit_for_bit(
    backend, results, gaps, request, tmp_path, check: LenetCheck
) -> None:
    _run(backend, results, gaps, request, check,
         lambda: lenet_checks.check_params_round_trip(backend, check.dtype, tmp_path))  # fmt: skip


TRAJECTORIES = [
    LenetCheck(f"lenet-trajectory-{variant}", "lenet_trajectory", variant, "float32",
               {"lr": lenet_checks.TRAJECTORY_LR[variant]})
    for variant in VARIANTS
]  # fmt: skip


@pytest.mark.parametrize("check", TRAJECTORIES, ids=repr)
def test_record_the_free_running_float32_trajectory(
    backend, results, gaps, request, check: LenetCheck
) -> None:
    """Data for the report: passes while every loss and deviation is finite."""
    params = {"variant": check.variant, **check.params}  # the trajectory joins them

    def run() -> None:
        trajectory = lenet_checks.free_trajectory(backend, check.variant)
        params.update(trajectory)
        if not lenet_checks.all_finite(trajectory):
            raise ConformanceError("a loss or parameter deviation of the float32 trajectory is not finite")

    record = {"id": check.id, "op": check.op, "params": params, "dtype": check.dtype, "source": "lenet",
              "rerun": rerun_item(backend.name, request.node.name)}  # fmt: skip
    record_check(results, record, find(gaps, check.op, check.id), run)
