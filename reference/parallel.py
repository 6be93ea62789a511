"""Blocks of a batch on a pool of threads, each with a one-thread BLAS.

The reference's convolutions cut a batch into cache-sized blocks of images. Their
matrix products are thin (tens of channels), too small for a multithreaded BLAS to
share well, and their column copies and additions run on one core; so the blocks
themselves are shared out instead: NumPy releases the GIL in its products, copies
and ufuncs. Every block is computed as it would be alone, and the caller combines
the results in block order, as one thread would: the pool rounds nothing of its own.
(A BLAS library may itself round differently on one thread than on several.)

Threads: the CPUs this process may run on, at most the threads NumPy's BLAS library
had when this module was imported (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``).
The pool takes only calls of at least :data:`BLOCKS_PER_THREAD` blocks per thread;
smaller ones (a LeNet batch of 128: 6 blocks) run in order on the calling thread,
with BLAS's own threads: BLAS threads spin for a while after each multithreaded
product, and on a small call that spin, competing with the pool, cost more than the
pool gave (measured: LeNet's training step 0.78x of the serial one with the pool).
While the pool works, every BLAS library of the process is on one thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from threadpoolctl import ThreadpoolController

BLOCKS_PER_THREAD = 4
Block = TypeVar("Block")
Result = TypeVar("Result")


@cache
def _blas() -> ThreadpoolController:
    """The BLAS libraries loaded with NumPy (found once: a search of the loaded libraries)."""
    return ThreadpoolController().select(user_api="blas")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@cache
def thread_count() -> int:
    """Threads :func:`map_blocks` uses: the usable CPUs, at most BLAS's threads at import."""
    allowed = [library["num_threads"] for library in _blas().info()]
    return max(1, min([_cpus(), *allowed]))


thread_count()  # asked at import, before any call of map_blocks can have limited BLAS


_limit_lock = threading.Lock()
_limit_users: list[Any] = []  # the threadpoolctl limiter, once per call inside _one_blas_thread


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Every BLAS library of the process on one thread inside, restored when the last user leaves.

    Process-wide, so other threads' products run on one thread meanwhile; concurrent calls of
    :func:`map_blocks` are counted, so the last one out restores the caller's setting.
    """
    with _limit_lock:
        _limit_users.append(_blas().limit(limits=1) if not _limit_users else _limit_users[0])
    try:
        yield
    finally:
        with _limit_lock:
            limiter = _limit_users.pop()
            if not _limit_users:
                limiter.restore_original_limits()


@cache
def _executor(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="reference-blocks")


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's threads: a new pool and lock on first use (the
    parent's executor would count its dead workers and never run a block)."""
    global _limit_lock
    _executor.cache_clear()
    _limit_lock = threading.Lock()
    _limit_users.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def map_blocks(compute: Callable[[Block], Result], blocks: Sequence[Block]) -> list[Result]:
    """``[compute(block) for block in blocks]``, the blocks shared among :func:`thread_count` threads.

    In order on the calling thread with fewer than :data:`BLOCKS_PER_THREAD` blocks per thread.
    ``compute`` must not call :func:`map_blocks` itself, and blocks that write into a shared
    array must write disjoint parts of it.
    """
    threads = thread_count()
    if threads < 2 or len(blocks) < BLOCKS_PER_THREAD * threads:
        return [compute(block) for block in blocks]
    with _one_blas_thread():
        return list(_executor(threads).map(compute, blocks))
