"""Start the ranks of a job, end the run with an error naming a rank that died or hung, leave nothing behind.

Every command starts in a session of its own (``start_new_session``). The launcher watches each rank's
``rank-<r>.status`` (:mod:`~conformance.data_parallel.worker`): a rank whose process is gone (or a
zombie) before it reported ``done`` died; a run in which no rank's progress moved for ``timeout``
seconds hung, and the ranks furthest behind are named. On every way out (success, failure,
``KeyboardInterrupt``, ``SIGTERM``) it sends ``SIGTERM`` to each command's process group and to
every process of the job (found again at every poll, by the job folder in its command line: a
rank that a launcher such as torchrun put in a session of its own, perhaps before it reported its
pid), waits :data:`GRACE` seconds, then sends ``SIGKILL`` to what is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path

DEFAULT_TIMEOUT = 180.0  # seconds without progress on any rank
GRACE = 3.0  # seconds between SIGTERM and SIGKILL
POLL = 0.05
LOG_TAIL = 2000  # characters of the ranks' output quoted in an error


class RankError(RuntimeError):
    """A rank died, hung or raised; the message names the rank and what it was doing."""


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return fields[0] not in ("Z", "X")


def _ours(pid: int, folder: Path) -> bool:
    """Whether ``pid`` is a rank of this job (its command line names the job folder)."""
    try:
        return str(folder).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False


def read_statuses(folder: Path, processes: int) -> dict[int, dict]:
    """Each rank's last status (pid, progress, label, done); ranks that reported nothing are absent."""
    statuses = {}
    for rank in range(processes):
        path = folder / f"rank-{rank}.status"
        with suppress(FileNotFoundError, json.JSONDecodeError):
            statuses[rank] = json.loads(path.read_text())
    return statuses


def _tail(logs: Sequence[Path]) -> str:
    text = "".join(path.read_text(errors="replace") for path in logs if path.exists())
    return text[-LOG_TAIL:]


def _job_processes(folder: Path, processes: int) -> set[int]:
    """The live processes of this job: the ranks that reported a pid, and every process whose command
    line names the job folder (a rank that started but has not reported yet), this one excluded."""
    found = {s["pid"] for s in read_statuses(folder, processes).values() if _ours(s["pid"], folder)}
    with suppress(FileNotFoundError):
        found |= {int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
                  and _ours(int(entry.name), folder)}  # fmt: skip
    return {pid for pid in found - {os.getpid()} if _alive(pid)}


def _stop(children: Sequence[subprocess.Popen], folder: Path, processes: int) -> None:
    """SIGTERM every command's process group and every process of this job, then SIGKILL what is left.

    The job's processes are looked up again at every poll: a rank that a launcher such as torchrun
    starts in a session of its own may appear (or report its pid) only after the first signal."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + (GRACE if sig == signal.SIGTERM else 10.0)
        while True:
            running = [child for child in children if child.poll() is None]
            ranks = _job_processes(folder, processes)
            if not running and not ranks:
                return
            if time.monotonic() >= deadline:
                break
            for child in running:
                with suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, sig)
            for pid in ranks:
                with suppress(ProcessLookupError):
                    os.kill(pid, sig)
            time.sleep(POLL)


def _raise_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def launch(
    commands: Sequence[Sequence[str]],
    folder: Path,
    processes: int,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Run ``commands`` (together they start ``processes`` ranks on the job of ``folder``) to the end.

    With one command per rank, command ``r`` is rank ``r``. Returns when every rank reported
    ``done`` and every command exited with status 0. Raises :class:`RankError` naming the rank
    when one dies, when a command fails, or when no rank makes progress for ``timeout`` seconds;
    no process of the run remains afterwards (in every case).
    """
    logs = [folder / f"launch-{index}.log" for index in range(len(commands))]
    children: list[subprocess.Popen] = []
    try:
        previous = signal.signal(signal.SIGTERM, _raise_sigterm)  # so that the finally block runs
    except ValueError:  # not the main thread: the caller handles SIGTERM
        previous = None
    try:
        for command, log in zip(commands, logs, strict=True):
            with log.open("w") as output:
                options = {"stdout": output, "stderr": subprocess.STDOUT, "start_new_session": True}
                children.append(
                    subprocess.Popen(list(command), env=None if env is None else dict(env), **options)
                )
        _watch(children, folder, processes, timeout, logs)
    finally:
        _stop(children, folder, processes)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _watch(
    children: Sequence[subprocess.Popen], folder: Path, processes: int, timeout: float, logs: Sequence[Path]
) -> None:
    per_rank = len(children) == processes
    last_change, seen = time.monotonic(), {}
    while True:
        statuses = read_statuses(folder, processes)
        progress = {rank: status["progress"] for rank, status in statuses.items()}
        if progress != seen:
            last_change, seen = time.monotonic(), progress
        done = [rank for rank, status in statuses.items() if status["done"]]
        codes = [child.poll() for child in children]
        if len(done) == processes and all(code == 0 for code in codes):
            return
        for rank, status in sorted(statuses.items()):
            if not status["done"] and not _alive(status["pid"]):
                code = f", exit status {codes[rank]}" if per_rank and codes[rank] is not None else ""
                raise RankError(
                    f"rank {rank} of {processes} died (pid {status['pid']}{code}) at {status['label']!r}\n"
                    + _tail(logs)
                )
        failed = [index for index, code in enumerate(codes) if code not in (None, 0)]
        exited = all(code is not None for code in codes)
        if failed or (exited and len(done) < processes):
            time.sleep(0.5)  # a rank that just died has reported what it was doing
            statuses = read_statuses(folder, processes)
            missing = [rank for rank in range(processes) if not statuses.get(rank, {}).get("done")]
            who = [f"rank {index}" for index in failed] if per_rank else [f"rank {rank}" for rank in missing]
            what = ", ".join(
                f"rank {rank} at {statuses[rank]['label']!r}"
                if rank in statuses
                else f"rank {rank} never started"
                for rank in missing
            )
            raise RankError(
                f"{' and '.join(who) or 'a rank'} of {processes} failed (exit statuses {codes}); "
                f"not finished: {what}\n" + _tail(logs)
            )
        if time.monotonic() - last_change > timeout:
            behind = min((progress.get(rank, 0) for rank in range(processes)), default=0)
            stuck = [rank for rank in range(processes) if progress.get(rank, 0) == behind]
            where = "; ".join(
                f"rank {rank} at {statuses[rank]['label']!r}"
                if rank in statuses
                else f"rank {rank} never started"
                for rank in range(processes)
            )
            names = " and ".join(f"rank {rank}" for rank in stuck)
            raise RankError(
                f"{names} of {processes} hung: no rank made progress for {timeout:g} s ({where})\n"
                + _tail(logs)
            )
        time.sleep(POLL)
