"""The main job's LeNet training plan (training/plan.py): which runs nox -s report makes, with
which options, for each combination of its flags; and that the options are ones python -m
training accepts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reference.lenet import VARIANTS
from training import plan
from training.__main__ import parse_args
from training.plan import TrainingJob, report_training

RESULTS = Path("out")
FULL = ("--epochs", "10", "--out", str(RESULTS / "train"))
QUICK = ("--epochs", "1", "--max-steps", "300", "--no-progress", "--out", str(RESULTS / "train-quick"))


def _jobs(runners: list[str], options: tuple[str, ...]) -> list[TrainingJob]:
    return [TrainingJob(r, v, options) for r in runners for v in ("chapter", "relu-max")]


def test_the_full_form_trains_each_backend_for_the_chapters_ten_epochs_and_keeps_finished_runs() -> None:
    jobs = report_training(["torch", "onnxruntime"], ["--backends", "torch,onnxruntime"], RESULTS)
    assert jobs == _jobs(["torch", "onnxruntime"], (*FULL, "--reuse"))  # the reference is not in it


def test_the_quick_form_trains_every_runner_for_300_steps_the_reference_last() -> None:
    jobs = report_training(["jax"], ["--quick", "--gpu"], RESULTS)
    assert jobs == _jobs(["jax", "reference"], (*QUICK, "--reuse"))


@pytest.mark.parametrize(
    "args", [["--no-train"], ["--quick", "--no-train"], ["--rebuild"], ["--rebuild", "--quick"]]
)
def test_no_train_and_rebuild_train_nothing(args: list[str]) -> None:
    assert report_training(["torch", "jax"], args, RESULTS) == []


@pytest.mark.parametrize(("args", "runners", "options"), [
    (["--retrain"], ["torch"], FULL),
    (["--quick", "--retrain"], ["torch", "reference"], QUICK),
])  # fmt: skip
def test_retrain_trains_again_even_where_a_finished_run_exists(
    args: list[str], runners: list[str], options: tuple[str, ...]
) -> None:
    assert report_training(["torch"], args, RESULTS) == _jobs(runners, options)  # no --reuse


def test_a_job_is_one_python_m_training_command() -> None:
    job = TrainingJob("mxnet", "relu-max", ("--epochs", "10"))
    assert job.arguments == (
        "-m",
        "training",
        "--backend",
        "mxnet",
        "--variant",
        "relu-max",
        "--epochs",
        "10",
    )


@pytest.mark.parametrize("args", [[], ["--quick"]])
def test_every_planned_command_parses_as_python_m_training_options(args: list[str]) -> None:
    for job in report_training(["torch"], args, RESULTS):
        parsed = parse_args(list(job.arguments[2:]))
        assert (parsed.backend, parsed.variant, parsed.reuse) == (job.runner, job.variant, True)
        assert (parsed.epochs, parsed.max_steps) == ((1, 300) if args else (10, None))
        assert parsed.out == RESULTS / ("train-quick" if args else "train")


def test_the_plan_trains_every_variant_of_the_reference_network() -> None:
    assert sorted(plan.VARIANTS) == sorted(VARIANTS)


def test_the_plan_loads_by_path_without_third_party_packages() -> None:
    """The noxfile loads the file by path in nox's Python: here one without site-packages (-S),
    so an import of NumPy or of the project would fail."""
    code = (
        "import importlib.util, sys; "
        f"spec = importlib.util.spec_from_file_location('plan', {plan.__file__!r}); "
        "module = importlib.util.module_from_spec(spec); sys.modules['plan'] = module; "
        "spec.loader.exec_module(module); print(module.report_training(['torch'], ['--quick'], "
        "__import__('pathlib').Path('r'))[-1].runner)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "reference"), done.stderr
