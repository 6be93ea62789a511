"""The pure parts of the data-parallel check: splitting a global batch, the job files, the per-step
comparison and its bound (against a data-parallel step computed by hand with the NumPy reference), and
the fault-injection parser. The launcher's failure handling: tests/test_data_parallel_launcher.py."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.compare import ConformanceError
from conformance.data_parallel import job as ddp_job
from conformance.data_parallel.__main__ import measure
from conformance.data_parallel.check import OP, SingleProcessRun, check_steps, threads_per_process
from conformance.data_parallel.job import Job, RankResult, flat, read_job, shard, unflat, write_job
from conformance.data_parallel.worker import parse_fault
from conformance.known_gaps import Gap
from conformance.lenet_checks import allowance, train_step_bounds
from conformance.results import Status
from reference import lenet

BATCH = 8
LR = 0.9


def _batch(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((BATCH, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, BATCH).astype(np.int64)


@pytest.mark.parametrize("processes", [1, 2, 4, 8])
def test_shards_are_equal_in_order_and_cover_the_batch(processes: int) -> None:
    rows = [np.arange(128)[shard(128, rank, processes)] for rank in range(processes)]
    assert [len(r) for r in rows] == [128 // processes] * processes
    assert np.array_equal(np.concatenate(rows), np.arange(128))


def test_a_batch_that_does_not_split_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="global batch of 130 does not split equally over 4 processes"):
        shard(130, 0, 4)
    with pytest.raises(ValueError, match=r"rank must be in \[0, 2\), got 2"):
        shard(128, 2, 2)
    with pytest.raises(ValueError, match="processes must be at least 1"):
        shard(128, 0, 0)
    state = lenet.init_params(0, np.float32)
    with pytest.raises(ValueError, match="does not split equally over 3"):
        write_job(tmp_path, Job("chapter", LR, 3, 1, BATCH, 1), [state], [_batch()])
    assert not (tmp_path / "job.json").exists()


def test_the_mean_of_the_shards_mean_gradients_is_the_global_mean_gradient() -> None:
    """The premise of the check, in float64 with the reference: averaging equals the global batch."""
    params = lenet.init_params(4, np.float64)
    X, y = _batch(1)
    loss, grads = lenet.loss_and_grads(params, X.astype(np.float64), y)
    for processes in (2, 4):
        parts = [lenet.loss_and_grads(params, X[shard(BATCH, r, processes)].astype(np.float64),
                                      y[shard(BATCH, r, processes)]) for r in range(processes)]  # fmt: skip
        assert np.mean([part[0] for part in parts]) == pytest.approx(loss, rel=1e-13)
        for name in lenet.PARAM_SHAPES:
            mean = sum(part[1][name] for part in parts) / processes
            np.testing.assert_allclose(mean, grads[name], rtol=1e-10, atol=1e-15)
            summed = sum(part[1][name] for part in parts)  # summing instead: processes times the gradient
            np.testing.assert_allclose(summed, processes * grads[name], rtol=1e-10, atol=1e-15)


def test_parameters_flatten_and_come_back() -> None:
    params = lenet.init_params(2, np.float32)
    vector = flat(params)
    assert vector.shape == (sum(int(np.prod(s)) for s in lenet.PARAM_SHAPES.values()),) == (61706,)
    back = unflat(vector)
    for name in lenet.PARAM_SHAPES:
        assert np.array_equal(back[name], params[name])


def test_a_job_round_trips_through_its_folder(tmp_path) -> None:
    states = [lenet.init_params(seed, np.float32) for seed in (0, 1)]
    batches = [_batch(0), _batch(1)]
    job = Job("relu-max", 0.1, 2, 2, BATCH, 1)
    write_job(tmp_path, job, states, batches)
    read, read_states, X, y = read_job(tmp_path)
    assert read == job
    assert X.shape == (2, BATCH, 1, 28, 28) and y.dtype == np.int64
    assert np.array_equal(X[1], batches[1][0]) and np.array_equal(y[0], batches[0][1])
    assert all(np.array_equal(read_states[1][n], states[1][n]) for n in lenet.PARAM_SHAPES)


def test_a_rank_without_a_result_is_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="rank 3 wrote no result"):
        ddp_job.read_rank_result(tmp_path, 3)


def test_faults_parse_and_bad_ones_are_refused() -> None:
    assert parse_fault("") is None
    assert parse_fault("2:exit:0") == (2, "exit", 0)
    for bad in ("1:crash:2", "1:exit", "a:hang:1", "1:hang:-1"):
        with pytest.raises(ValueError, match="CNN_CHAPTER_REFERENCE_DDP_FAULT"):
            parse_fault(bad)


def test_threads_per_process_share_the_cores() -> None:
    assert [threads_per_process(p, 2) for p in (1, 2, 4)] == [2, 1, 1]
    assert [threads_per_process(p, 16) for p in (1, 2, 4, 32)] == [16, 8, 4, 1]


# -- the per-step comparison -------------------------------------------------
def _single(variant: str = "chapter") -> SingleProcessRun:
    """One float32 step of the reference network (the "single-process run") and its allowance."""
    state = lenet.init_params(5, np.float32)
    X, y = _batch(2)
    after, loss, _ = lenet.train_step(state, X, y, LR, variant)
    params64 = {name: value.astype(np.float64) for name, value in state.items()}
    expected = train_step_bounds(params64, X.astype(np.float64), y, variant, "float32", LR)
    allowances = {
        n: 2 * allowance(expected.params[n], expected.bounds[n], "float32") for n in lenet.PARAM_SHAPES
    }
    loss_allowance = float(2 * allowance(expected.loss, expected.loss_bound, "float32"))
    return SingleProcessRun(variant, LR, [state, after], [loss], [(X, y)], [loss_allowance], [allowances])


def _by_hand(single: SingleProcessRun, processes: int, lr_factor: float = 1.0) -> list[RankResult]:
    """A data-parallel step computed by hand: each shard's float32 gradient, their mean, the update."""
    state, (X, y) = single.states[0], single.batches[0]
    parts = [lenet.loss_and_grads(state, X[shard(BATCH, r, processes)], y[shard(BATCH, r, processes)],
                                  single.variant) for r in range(processes)]  # fmt: skip
    grads = {n: (sum(part[1][n] for part in parts) / np.float32(processes)).astype(np.float32) for n in state}
    updated = lenet.sgd_step(state, grads, np.float32(LR * lr_factor))
    loss = float(np.mean([part[0] for part in parts]))
    digest = np.zeros((2, 20), np.uint8)
    row = flat(updated)[None]
    return [RankResult(row, np.array([loss]), row, np.array([loss]), digest, 1.0) for _ in range(processes)]


@pytest.mark.parametrize("variant", ["chapter", "relu-max"])
@pytest.mark.parametrize("processes", [2, 4])
def test_a_correct_data_parallel_step_is_within_the_bound(variant: str, processes: int) -> None:
    single = _single(variant)
    ratio = check_steps(single, _by_hand(single, processes))
    assert 0 < ratio < 1  # another summation order: not bit for bit, but within twice the bound


def test_summed_gradients_and_differing_replicas_fail() -> None:
    single = _single()
    with pytest.raises(ConformanceError, match=r"step 0: conv1\.weight"):
        check_steps(single, _by_hand(single, 2, lr_factor=2.0))  # the sum of 2 ranks' mean gradients
    ranks = _by_hand(single, 2)
    other = ranks[1].digests.copy()
    other[1, 0] ^= 1
    ranks[1] = RankResult(
        ranks[1].checked, ranks[1].checked_losses, ranks[1].free, ranks[1].free_losses, other, 1.0
    )
    with pytest.raises(ConformanceError, match="rank 1's parameters after free step 0 differ from rank 0's"):
        check_steps(single, ranks)


# -- the command line's records ----------------------------------------------
class _NoDataParallel:
    """A backend whose folder has no data_parallel module."""

    name = "nodp"


def test_a_backend_without_data_parallel_is_its_declared_gap_or_an_error() -> None:
    gap = Gap("nodp", OP, "*", "no collectives", "https://example.org/1", "known_gaps.toml, gap 1")
    declared = measure(_NoDataParallel(), "chapter", 2, None, gap, timeout=10)
    assert (declared.status, declared.gap, declared.upstream, declared.steps) == (
        Status.GAP, "no collectives", "https://example.org/1", 0
    )  # fmt: skip
    undeclared = measure(_NoDataParallel(), "relu-max", 4, None, None, timeout=10)
    assert undeclared.status == Status.ERROR
    assert undeclared.message.startswith("UnsupportedError: nodp has no data-parallel LeNet")
    assert (undeclared.lr, undeclared.global_batch, undeclared.processes) == (0.1, 128, 4)
