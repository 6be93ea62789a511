"""The launcher of data-parallel runs, with fake ranks that need no framework: a run that finishes,
a rank that dies, a rank that hangs (the others waiting in a "collective"), a rank that never starts,
and ranks that a torchrun-like parent puts in sessions of their own. Every failure names the rank,
comes within the timeout, and leaves no process of the run behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.data_parallel.launcher import RankError, launch, read_statuses

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

# argv: FOLDER RANK MODE, MODE one of ok, exit (dies before step 1), hang (sleeps before step 1),
# wait (blocks inside step 1, as a rank waits in an all-reduce for a missing peer), never (exits first).
FAKE_RANK = """
import os, sys, time
from pathlib import Path
from conformance.data_parallel.worker import Status

folder, rank, mode = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if mode == "never":
    sys.exit(2)
status = Status(folder, rank)
status.report("started")
for step in range(3):
    if step == 1 and mode == "exit":
        os._exit(3)
    if step == 1 and mode == "hang":
        time.sleep(1000)
    status.report(f"in step {step}")
    if step == 1 and mode == "wait":
        time.sleep(1000)
    time.sleep(0.05)
    status.report(f"after step {step}")
status.report("finished", done=True)
"""

# argv: FOLDER RANK_SCRIPT MODE...: starts one fake rank per mode, each in a session of its own, and
# waits for them all (it stops none of them when one fails).
FAKE_TORCHRUN = """
import subprocess, sys
folder, script, modes = sys.argv[1], sys.argv[2], sys.argv[3:]
ranks = [subprocess.Popen([sys.executable, script, folder, str(r), mode], start_new_session=True)
         for r, mode in enumerate(modes)]
sys.exit(max(rank.wait() for rank in ranks))
"""


@pytest.fixture
def fakes(tmp_path: Path) -> tuple[Path, Path]:
    rank, torchrun = tmp_path / "fake_rank.py", tmp_path / "fake_torchrun.py"
    rank.write_text(FAKE_RANK)
    torchrun.write_text(FAKE_TORCHRUN)
    folder = tmp_path / "job"
    folder.mkdir()
    return rank, folder


def _per_rank(rank_script: Path, folder: Path, modes: list[str]) -> list[list[str]]:
    return [[sys.executable, str(rank_script), str(folder), str(r), mode] for r, mode in enumerate(modes)]


def _torchrun(rank_script: Path, folder: Path, modes: list[str]) -> list[list[str]]:
    torchrun = rank_script.with_name("fake_torchrun.py")
    return [[sys.executable, str(torchrun), str(folder), str(rank_script), *modes]]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def _names_folder(pid: int, folder: Path) -> bool:
    try:
        return str(folder).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False


def _no_process_left(folder: Path, processes: int) -> None:
    """Neither a rank that reported its pid nor any process whose command line names the job folder
    (a rank stopped before it reported) still runs."""
    reported = {status["pid"] for status in read_statuses(folder, processes).values()}
    named = {int(entry.name) for entry in Path("/proc").iterdir()
             if entry.name.isdigit() and _names_folder(int(entry.name), folder)}  # fmt: skip
    assert not [pid for pid in reported | named if _running(pid)]


@pytest.mark.parametrize("commands", [_per_rank, _torchrun])
def test_a_run_that_finishes_returns(fakes, commands) -> None:
    rank_script, folder = fakes
    launch(commands(rank_script, folder, ["ok"] * 3), folder, 3, ENV, timeout=30)
    assert all(status["done"] for status in read_statuses(folder, 3).values())


@pytest.mark.parametrize("commands", [_per_rank, _torchrun])
def test_a_rank_that_dies_is_named_and_the_others_are_stopped(fakes, commands) -> None:
    rank_script, folder = fakes
    start = time.monotonic()
    with pytest.raises(RankError, match=r"rank 1 of 3 died \(pid \d+.*\) at 'after step 0'"):
        launch(commands(rank_script, folder, ["wait", "exit", "wait"]), folder, 3, ENV, timeout=60)
    assert time.monotonic() - start < 30  # found when it died, not at the timeout
    _no_process_left(folder, 3)


@pytest.mark.parametrize("commands", [_per_rank, _torchrun])
def test_a_rank_that_hangs_is_named_within_the_timeout(fakes, commands) -> None:
    rank_script, folder = fakes
    start = time.monotonic()
    # 10 s: the ranks must start within it too (three Python processes took over 3 s on 2 busy cores).
    with pytest.raises(
        RankError, match=r"^rank 2 of 3 hung: no rank made progress for 10 s \(.*rank 2 at 'after step 0'"
    ):
        launch(commands(rank_script, folder, ["wait", "wait", "hang"]), folder, 3, ENV, timeout=10)
    assert time.monotonic() - start < 10 + 15  # the timeout, the start-up and the grace period
    _no_process_left(folder, 3)


def test_a_rank_that_never_starts_is_named(fakes) -> None:
    rank_script, folder = fakes
    with pytest.raises(RankError, match=r"rank 1 of 2 failed .*not finished: .*rank 1 never started"):
        launch(_per_rank(rank_script, folder, ["wait", "never"]), folder, 2, ENV, timeout=60)
    _no_process_left(folder, 1)


LAUNCHER = """
import sys
from pathlib import Path
from conformance.data_parallel.launcher import launch
folder, script = Path(sys.argv[1]), sys.argv[2]
launch([[sys.executable, script, str(folder), str(r), "wait"] for r in range(2)], folder, 2, timeout=600)
"""


def test_a_launcher_stopped_by_sigterm_stops_its_ranks(fakes, tmp_path: Path) -> None:
    rank_script, folder = fakes
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(folder), str(rank_script)], env=ENV)
    try:
        deadline = time.monotonic() + 60
        while len(read_statuses(folder, 2)) < 2 or any(
            s["progress"] < 4 for s in read_statuses(folder, 2).values()
        ):
            assert time.monotonic() < deadline, "the fake ranks did not reach their collective"
            time.sleep(0.1)
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        launcher.kill()
    _no_process_left(folder, 2)
