"""The job the ranks share, and what each rank gives back, as files of one job folder.

``job.json`` (:class:`Job`), ``states.npz`` (the parameters before each checked step, keys
``<step>/<name>``), ``batches.npz`` (``X`` (steps, B, 1, 28, 28) float32, ``y`` (steps, B) int64: the
global batches), and from each rank ``rank-<r>.npz`` (:func:`write_rank_result`) and
``rank-<r>.status`` (its progress, :mod:`~conformance.data_parallel.worker`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from reference.lenet import PARAM_SHAPES

Arrays = dict[str, np.ndarray]
# Set in a rank's environment to inject a fault (tests of the launcher): "<rank>:<exit|hang|sum>:<step>".
FAULT_VARIABLE = "CNN_CHAPTER_REFERENCE_DDP_FAULT"


@dataclass(frozen=True)
class Job:
    """What every rank runs: ``steps`` SGD steps of LeNet ``variant`` at ``lr`` on global batches of
    ``global_batch`` images split over ``processes`` ranks, with ``threads`` threads each.

    First the check (each step from the single-process state before it), then the free run (from the
    first state, ``steps`` steps in a row, timed after the first).
    """

    variant: str
    lr: float
    processes: int
    steps: int
    global_batch: int
    threads: int


def shard(batch: int, rank: int, processes: int) -> slice:
    """The rows of a global batch of ``batch`` that ``rank`` of ``processes`` takes: equal, in order.

    >>> shard(128, 1, 4)
    slice(32, 64, None)

    Raises ``ValueError`` when ``batch`` is not a multiple of ``processes`` (unequal shards would make
    the mean of the ranks' mean gradients differ from the global batch's mean) or ``rank`` is out of range.
    """
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    if batch % processes:
        raise ValueError(
            f"the global batch of {batch} does not split equally over {processes} processes; "
            f"use a batch that is a multiple of {processes}"
        )
    if not 0 <= rank < processes:
        raise ValueError(f"rank must be in [0, {processes}), got {rank}")
    size = batch // processes
    return slice(rank * size, (rank + 1) * size)


def write_job(
    folder: Path, job: Job, states: list[Arrays], batches: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    """Write the job into ``folder``: ``states[k]`` is the state before step ``k`` (``job.steps`` of them)."""
    shard(
        job.global_batch, 0, job.processes
    )  # a batch that does not split is an error before anything starts
    if len(states) != job.steps or len(batches) != job.steps:
        raise ValueError(
            f"{job.steps} steps need as many states and batches, got {len(states)} and {len(batches)}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "job.json").write_text(json.dumps(asdict(job)))
    np.savez(
        folder / "states.npz",
        **{f"{k}/{name}": state[name] for k, state in enumerate(states) for name in PARAM_SHAPES},
    )
    np.savez(
        folder / "batches.npz",
        X=np.stack([X for X, _ in batches]).astype(np.float32),
        y=np.stack([y for _, y in batches]).astype(np.int64),
    )


def read_spec(folder: Path) -> Job:
    """The :class:`Job` of ``folder`` alone."""
    return Job(**json.loads((folder / "job.json").read_text()))


def read_job(folder: Path) -> tuple[Job, list[Arrays], np.ndarray, np.ndarray]:
    """The job, the states, the images and the labels written by :func:`write_job`."""
    job = read_spec(folder)
    with np.load(folder / "states.npz") as stored:
        states = [{name: stored[f"{k}/{name}"] for name in PARAM_SHAPES} for k in range(job.steps)]
    with np.load(folder / "batches.npz") as stored:
        return job, states, stored["X"], stored["y"]


def flat(params: Arrays) -> np.ndarray:
    """Every parameter, in PARAM_SHAPES order, as one float vector."""
    return np.concatenate([np.ravel(params[name]) for name in PARAM_SHAPES])


def unflat(vector: np.ndarray) -> Arrays:
    """The inverse of :func:`flat`."""
    params, start = {}, 0
    for name, shape in PARAM_SHAPES.items():
        size = int(np.prod(shape))
        params[name] = vector[start : start + size].reshape(shape)
        start += size
    return params


@dataclass(frozen=True)
class RankResult:
    """What one rank gives back.

    ``checked`` (steps, P): the parameters after each checked step, flattened (:func:`flat`; rank 0
    only, (0, P) elsewhere); ``checked_losses`` (steps,): the global batch's loss of each checked step,
    averaged over ranks; ``free`` (steps, P) and ``free_losses`` (steps,): the same for the free run;
    ``digests`` (2 steps, 20) uint8: the SHA-1 of the parameters' bytes after every step, checked
    then free (every rank: the replicas must agree bit for bit); ``seconds``: the free run's wall
    time after its first step.
    """

    checked: np.ndarray
    checked_losses: np.ndarray
    free: np.ndarray
    free_losses: np.ndarray
    digests: np.ndarray
    seconds: float


def rank_file(folder: Path, rank: int) -> Path:
    """Where ``rank`` writes its result."""
    return folder / f"rank-{rank}.npz"


def write_rank_result(folder: Path, rank: int, result: RankResult) -> None:
    """Write one rank's result (renamed into place when complete)."""
    partial = folder / f"rank-{rank}.partial.npz"
    np.savez(partial, **asdict(result))
    partial.replace(rank_file(folder, rank))


def read_rank_result(folder: Path, rank: int) -> RankResult:
    """One rank's result; ``FileNotFoundError`` naming the rank when it wrote none."""
    path = rank_file(folder, rank)
    if not path.exists():
        raise FileNotFoundError(f"rank {rank} wrote no result ({path})")
    with np.load(path) as stored:
        return RankResult(
            **{key: stored[key] for key in stored.files} | {"seconds": float(stored["seconds"])}
        )
