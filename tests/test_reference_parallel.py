"""reference.parallel: blocks on a pool of threads, BLAS on one thread meanwhile, results as on one thread."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController, threadpool_limits

from reference import parallel
from reference.conv import conv2d, conv2d_vjp
from tests import naive

ROOT = Path(__file__).resolve().parent.parent


def blas_threads() -> list[int]:
    return [library["num_threads"] for library in ThreadpoolController().select(user_api="blas").info()]


@pytest.fixture
def two_threads(monkeypatch):
    """The pool on two threads whatever this machine has, and BLAS on two threads outside it."""
    monkeypatch.setattr(parallel, "thread_count", lambda: 2)
    with threadpool_limits(limits=2, user_api="blas"):
        yield


def test_blocks_are_shared_among_threads_with_blas_on_one_and_results_in_order(two_threads):
    seen = []

    def compute(block: int) -> int:
        seen.append((threading.current_thread().name, blas_threads()))
        threading.Event().wait(0.01)  # long enough for the second thread to take a block
        return block * block

    assert parallel.map_blocks(compute, range(8)) == [k * k for k in range(8)]
    assert {name for name, _ in seen} >= {"reference-blocks_0", "reference-blocks_1"}
    assert all(set(threads) == {1} for _, threads in seen)
    assert set(blas_threads()) == {2}  # restored


def test_fewer_blocks_than_the_pool_wants_run_here_with_blas_as_it_was(two_threads):
    seen = []
    blocks = range(parallel.BLOCKS_PER_THREAD * 2 - 1)
    parallel.map_blocks(lambda block: seen.append((threading.current_thread(), blas_threads())), blocks)
    assert seen == [(threading.main_thread(), [2] * len(blas_threads()))] * len(blocks)


def test_an_error_in_a_block_reaches_the_caller_and_blas_is_restored(two_threads):
    def compute(block: int) -> int:
        if block == 5:
            raise ValueError("block 5")
        return block

    with pytest.raises(ValueError, match="block 5"):
        parallel.map_blocks(compute, range(8))
    assert set(blas_threads()) == {2}


def test_concurrent_calls_leave_blas_as_it_was(two_threads):
    start = threading.Barrier(3)

    def call() -> None:
        start.wait()
        for _ in range(20):
            parallel.map_blocks(lambda block: blas_threads(), range(8))

    callers = [threading.Thread(target=call) for _ in range(3)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert set(blas_threads()) == {2}


@pytest.mark.parametrize(
    ("variables", "cpus", "expected"),
    [({"OPENBLAS_NUM_THREADS": "1"}, None, 1), ({"OPENBLAS_NUM_THREADS": "2"}, {0}, 1)],
    ids=["one-blas-thread", "one-cpu"],
)
def test_the_thread_count_follows_the_blas_setting_and_the_usable_cpus(variables, cpus, expected):
    pin = f"os.sched_setaffinity(0, {cpus!r}); " if cpus else ""
    code = f"import os; {pin}from reference import parallel; print(parallel.thread_count())"
    environment = {**os.environ, **variables}
    out = subprocess.run(
        [sys.executable, "-c", code], env=environment, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == expected


# 8 blocks of 2 images (1.4 MB per image against 4 MiB blocks): the pool takes it on two threads.
CONV = {"X": (16, 32, 24, 24), "W": (32, 32, 3, 3), "padding": 1}


def test_a_convolution_on_the_pool_is_bit_for_bit_the_one_thread_convolution(monkeypatch):
    rng = np.random.default_rng(7)
    X, W = rng.standard_normal(CONV["X"]), rng.standard_normal(CONV["W"])
    dY = rng.standard_normal((16, 32, 24, 24))
    results = {}
    for threads in (1, 2):
        monkeypatch.setattr(parallel, "thread_count", lambda threads=threads: threads)
        with threadpool_limits(limits=1, user_api="blas"):  # the pool's BLAS, on the one thread too
            results[threads] = (conv2d(X, W, padding=1), *conv2d_vjp(X, W, dY, padding=1))
    for serial, pooled in zip(results[1], results[2], strict=True):
        np.testing.assert_array_equal(pooled, serial)
    # and the pooled forward is the convolution (float64, against the naive loops on one image)
    expected = naive.conv2d(X[:1], W, padding=1)
    np.testing.assert_allclose(results[2][0][:1], expected, rtol=1e-12, atol=1e-12)


def test_a_forked_child_gets_its_own_pool(two_threads):
    parallel.map_blocks(lambda block: block, range(8))  # the parent's pool now exists
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: the blocks must run (the parent's workers are not here)
        signal.alarm(20)  # a child whose blocks never run is killed, not waited for
        try:
            os.write(writer, bytes(parallel.map_blocks(lambda block: block + 1, range(8))))
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        answer = pipe.read()
    _, status = os.waitpid(child, 0)
    assert status == 0 and list(answer) == list(range(1, 9))
