"""``nox -s gpu-check`` on a machine without a GPU, and the parts of it that need none: how it
finds GPUs (``nvidia-smi -L``, faked here), the TF32 run's arguments and the cases they select."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from backends.devices import TF32_VARIABLE

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "tests.fake_backend_plugin"  # --backend fake: the NumPy reference
H100 = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0a1b2c3d-0000-1111-2222-333344445555)"


@pytest.fixture(scope="module")
def noxfile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_nvidia_smi(folder: Path, output: str, status: int = 0) -> Path:
    """A folder holding an ``nvidia-smi`` that prints ``output`` and exits with ``status``."""
    folder.mkdir(exist_ok=True)
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\necho '{output}'\nexit {status}\n")  # echo: a builtin, PATH holds no cat
    script.chmod(0o755)
    return folder


def test_without_a_gpu_the_session_stops_at_once_and_says_why(tmp_path: Path) -> None:
    # PATH without any nvidia-smi (the python running nox is called by its full path)
    path = [folder for folder in os.environ["PATH"].split(os.pathsep)
            if not (Path(folder) / "nvidia-smi").exists()]  # fmt: skip
    env = {**os.environ, "PATH": os.pathsep.join(path)}
    began = time.monotonic()
    command = [sys.executable, "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), "-s", "gpu-check"]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False
    )
    seconds = time.monotonic() - began
    assert done.returncode == 1
    assert "Session gpu-check aborted: no GPU found: nvidia-smi is not on PATH or lists no GPU" in done.stderr
    assert "TF32 on into results/tf32/" in done.stderr  # how it would run
    assert seconds < 30
    assert not (tmp_path / ".nox").exists()  # no environment made


def test_gpus_are_the_lines_nvidia_smi_lists(noxfile: ModuleType, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(fake_nvidia_smi(tmp_path / "one", H100)))
    assert noxfile.visible_gpus() == [H100]
    monkeypatch.setenv("PATH", str(fake_nvidia_smi(tmp_path / "failing", "NVIDIA-SMI has failed", 9)))
    assert noxfile.visible_gpus() == []
    monkeypatch.setenv("PATH", str(fake_nvidia_smi(tmp_path / "none", "No devices found.")))
    assert noxfile.visible_gpus() == []
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert noxfile.visible_gpus() == []


def test_the_tf32_run_goes_to_its_own_folder_on_the_gpu(noxfile: ModuleType) -> None:
    args = noxfile.tf32_conformance_args("jax")
    assert args[:6] == ["-m", "pytest", "conformance", "--backend", "jax", "--device"]
    assert args[args.index("--device") + 1] == "gpu"
    assert Path(args[args.index("--results-dir") + 1]) == noxfile.RESULTS / "tf32"
    assert noxfile.TF32_VARIABLE == TF32_VARIABLE  # the variable the adapters read


def test_the_tf32_selection_is_the_convolution_cases(noxfile: ModuleType) -> None:
    selection = noxfile.tf32_conformance_args("fake")
    selection = selection[selection.index("-k") + 1]
    command = [sys.executable, "-m", "pytest", "conformance", "--backend", "fake", "-p", PLUGIN,
               "-p", "no:cacheprovider", "--collect-only", "-q", "-k", selection]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert done.returncode == 0 and ids, done.stdout[-2000:]
    tests = {test_id.split("[")[0].rsplit("::")[-1] for test_id in ids}
    assert tests == {"test_case", "test_generated", "test_adversarial"}  # the numeric cases only
    assert all("conv2d" in test_id.lower() or "corr2d" in test_id for test_id in ids)
    # the chapter's own convolution examples and the drawn conv2d cases are in it
    assert any("test_case[chapter" in test_id and "conv2d" in test_id for test_id in ids)
    assert any("test_adversarial" in test_id and "conv2d" in test_id for test_id in ids)
