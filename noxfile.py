"""The front door: one session per backend and job.

- ``nox -s report``: the main job. Conformance, divergence probes, benchmarks and
  LeNet training (both variants, the chapter's 10 epochs, with a progress bar) of every
  backend, then ``report/REPORT.md`` and ``report/index.html``.
  After ``--``: ``--quick`` (CI form: 300 training steps, the NumPy reference included),
  ``--backends torch,jax``, ``--rebuild`` (only rebuild the report from existing results),
  ``--reuse-conformance``, ``--no-train``, ``--retrain`` (train again where a finished run
  of the same settings is kept), ``--gpu``. ``training/plan.py`` lists the runs, and says why
  the reference's 10 epochs are left to ``train-reference``.
- ``nox -t tests``: every test (lint, the reference's tests on the oldest and
  newest NumPy, the conformance suite of every backend with a short training run,
  and an out-of-tree plugin backend taken through nox end to end). With
  ``CNN_CHAPTER_REFERENCE_SUITE=short`` (``.ci/run``) the conformance sessions run the suite's
  short form (``--short``: a quarter of the enumerated case families, chosen by id).
- ``nox -s conformance-<backend>``, ``bench-<backend>``, ``train-<backend>``
  (``train-reference`` too), ``bench-reference``, ``setup-<backend>`` (the environment alone),
  ``ddp-<backend>`` (data-parallel LeNet with 1, 2 and 4 processes, each step checked against the
  single-process run; a backend without it records its declared gap), ``determinism-<backend>``
  (each op and a LeNet step twice in one process and on 1 vs all cores, switch off and on).
- ``nox -s gpu-check``: torch and JAX on CUDA (TF32 off), then their convolution cases with
  TF32 on into ``results/tf32/``; without a GPU it stops at once and says so.

CI (``.github/workflows/ci.yml``) runs lint, the ``tests`` tag's sessions that are not per backend,
one job per backend (``conformance-<backend>``, then ``report -- --quick --reuse-conformance
--backends <backend>``), and ``report -- --rebuild --quick`` on the merged results folders
(``python -m reporting.merge``).

The backends are not listed here: each is an entry point of the group
``cnn_chapter_reference.backends`` in this project's ``pyproject.toml``, in a
``plugins/*/pyproject.toml``, or in a project named by ``CNN_CHAPTER_REFERENCE_PLUGINS``
(``os.pathsep``-separated folders), and its environment is the ``environment.toml``
beside its module (see ``backends/plugin_paths.py``).

Each backend has one virtual environment, ``.nox/env-<backend>``, shared by its
sessions: the frameworks' pins conflict (MXNet 1.9.1 needs numpy<1.24;
TensorFlow and JAX want a new NumPy), and one install per framework is enough.
It holds the project (``-e .[test,train]``), the backend's own project when that is
another one, and the requirements of its ``environment.toml``: the ``gpu`` list with
the session argument ``--gpu`` or ``CNN_CHAPTER_REFERENCE_GPU=1``, or whatever
``<BACKEND>_PACKAGES`` says (space-separated), e.g. ``TORCH_PACKAGES="torch"``.

Outputs go to ``results/`` and ``report/``; the variables ``CNN_CHAPTER_REFERENCE_RESULTS``
and ``CNN_CHAPTER_REFERENCE_REPORT`` move them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import nox
import nox.virtualenv

ROOT = Path(__file__).resolve().parent


def _load_by_path(relative: str) -> ModuleType:
    """A standard-library-only module of the project by file path (``backends/plugin_paths.py``):
    importing it by name would run its package's ``__init__.py``, which may import NumPy, absent
    from nox's Python."""
    name = "cnn_chapter_reference_" + relative.removesuffix(".py").replace("/", "_")
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the classes are made
    spec.loader.exec_module(module)
    return module


plugin_paths = _load_by_path("backends/plugin_paths.py")
training_plan = _load_by_path("training/plan.py")  # the main job's LeNet runs

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
# uv makes every environment (nox's own sessions and each backend's); venv and pip when it is absent.
nox.options.default_venv_backend = "uv|virtualenv"
HAS_UV, UV, _ = nox.virtualenv.find_uv()  # the `uv` package beside nox (pip install "nox[uv]"), or PATH
# pip's settings that uv names otherwise: uv reads no pip.conf, and without them it would not see
# the same wheels (a local find-links folder, a mirror, constraints) as pip.
PIP_SETTINGS_FOR_UV = {
    "index-url": "UV_INDEX_URL",
    "extra-index-url": "UV_EXTRA_INDEX_URL",
    "find-links": "UV_FIND_LINKS",
    "constraint": "UV_CONSTRAINT",
}

PYTHON = "3.11"
# The reference must run on every NumPy from 1.23 (MXNet's ceiling) to 2.x.
NUMPY_VERSIONS = {"numpy1.23": "numpy==1.23.5", "numpy2": "numpy>=2"}

DECLARED = plugin_paths.discover(ROOT)
BACKENDS = list(DECLARED)
RESULTS = Path(os.environ.get("CNN_CHAPTER_REFERENCE_RESULTS", "results"))
REPORT = Path(os.environ.get("CNN_CHAPTER_REFERENCE_REPORT", "report"))
GPU_VARIABLE = "CNN_CHAPTER_REFERENCE_GPU"
# "short": the conformance sessions run the suite's short form (--short), as CI does.
SUITE_VARIABLE = "CNN_CHAPTER_REFERENCE_SUITE"
# The short training run of the test sessions and the quick report ("a few hundred steps").
QUICK_TRAIN = training_plan.quick_options(RESULTS)
# The suite's own tests: its fault catalogue subclasses one in-tree adapter, so it runs in that
# backend's environment ([tool.cnn_chapter_reference] fault_catalogue_backend in pyproject.toml).
META_TESTS = "conformance/meta_tests"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CATALOGUE_BACKEND = PYPROJECT["tool"]["cnn_chapter_reference"]["fault_catalogue_backend"]
# Builds a backend package outside the tree and takes it through nox; needs nox itself.
PLUGIN_TEST = "tests/test_plugin_backend.py"


def gpu_requested(session: nox.Session) -> tuple[bool, list[str]]:
    """Whether the GPU packages are asked for (``--gpu`` or the variable); the posargs without ``--gpu``."""
    args = [arg for arg in session.posargs if arg != "--gpu"]
    return len(args) < len(session.posargs) or os.environ.get(GPU_VARIABLE) == "1", args


def _pyproject_hash(projects: list[Path]) -> str:
    digest = hashlib.sha256()
    for project in projects:
        digest.update((project / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def pip_settings_as_uv_environment() -> dict[str, str]:
    """pip's configured indexes, find-links and constraints (``pip config list``) as uv's variables.

    uv reads ``UV_*`` variables, not pip's configuration files; a variable already set wins.
    With extra indexes, ``UV_INDEX_STRATEGY=unsafe-best-match`` picks the best version across all
    indexes, as pip does (uv's default stops at the first index that has the package).
    """
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    values: dict[str, list[str]] = {}
    for line in listing.splitlines():  # e.g. global.find-links='/opt/wheels'
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if name in PIP_SETTINGS_FOR_UV and value:
            values.setdefault(PIP_SETTINGS_FOR_UV[name], []).extend(value.strip("'\"").split())
    separators = {"UV_FIND_LINKS": ","}  # the others are space-separated
    settings = {var: separators.get(var, " ").join(dict.fromkeys(items)) for var, items in values.items()}
    if "UV_EXTRA_INDEX_URL" in settings:
        settings["UV_INDEX_STRATEGY"] = "unsafe-best-match"
    return {var: value for var, value in settings.items() if var not in os.environ}


if HAS_UV:
    os.environ.update(pip_settings_as_uv_environment())  # for nox's own sessions too


def _create_environment(session: nox.Session, env: Path) -> None:
    if HAS_UV:
        session.run(UV, "venv", "--quiet", "--python", PYTHON, str(env), external=True)
    else:
        session.run(f"python{PYTHON}", "-m", "venv", str(env), external=True)


def _install(session: nox.Session, python: str, packages: list[str]) -> None:
    if HAS_UV:
        session.run(UV, "pip", "install", "--python", python, *packages, external=True)
    else:
        session.run(python, "-m", "pip", "install", "-q", "--upgrade", "pip", external=True)
        session.run(python, "-m", "pip", "install", *packages, external=True)


def backend_python(session: nox.Session, backend: str | None, gpu: bool = False) -> str:
    """The Python of ``.nox/env-<backend>`` (``env-base``: no framework), made and updated on demand.

    uv makes the environment and installs into it when nox finds uv (``pip install "nox[uv]"``);
    otherwise ``python3.11 -m venv`` and pip, and the log says so. The install repeats when the
    packages, the installer or any of the ``pyproject.toml`` files involved change (a new entry
    point needs a new editable install); a change of installer makes the environment anew.
    """
    projects = [ROOT]
    packages = ["-e", ".[test,train]"]
    if backend and DECLARED[backend].project != ROOT:
        projects.append(DECLARED[backend].project)
        packages += ["-e", str(DECLARED[backend].project)]
    if backend:
        override = os.environ.get(f"{backend.upper()}_PACKAGES")
        packages += override.split() if override else DECLARED[backend].environment.requirements(gpu=gpu)
    env = Path(".nox") / f"env-{backend or 'base'}"
    python = str(env / "bin" / "python")
    installer = "uv" if HAS_UV else "pip"
    stamp = env / "installed.txt"
    hashed = _pyproject_hash(projects)
    wanted = f"{' '.join(packages)}\npyproject.toml sha256 {hashed}\ninstaller {installer}\n"
    installed = stamp.read_text() if stamp.exists() else ""
    if installed == wanted:
        return python
    if not installed.endswith(f"installer {installer}\n"):  # none yet, or made by the other installer
        if not HAS_UV:
            session.log("uv not found: making the environment with venv and pip ('nox[uv]' has uv)")
        shutil.rmtree(env, ignore_errors=True)
        _create_environment(session, env)
    _install(session, python, packages)
    stamp.write_text(wanted)
    return python


@nox.session(python=PYTHON, tags=["tests"])
@nox.parametrize("numpy", list(NUMPY_VERSIONS), ids=list(NUMPY_VERSIONS))
def tests(session: nox.Session, numpy: str) -> None:
    """The reference's own tests and doctests, one pytest-xdist worker per CPU (pytest arguments after --)."""
    session.install("-e", ".[test,train]", NUMPY_VERSIONS[numpy])
    session.run(
        "pytest", "tests", "--ignore", PLUGIN_TEST, "--doctest-modules", "reference", "-n", "auto",
        *session.posargs,
    )  # fmt: skip


@nox.session(python=PYTHON, tags=["tests"])
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    session.install("ruff==0.17.6")  # pinned: new ruff releases add rules and change formatting
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(name="plugin-check", python=PYTHON, tags=["tests"])
def plugin_check(session: nox.Session) -> None:
    """A backend packaged outside the tree, found by its entry point: its sessions, suite, gaps and report."""
    session.install("-e", ".[test]", "nox[uv]")
    session.run("pytest", PLUGIN_TEST, "-m", "slow", *session.posargs)


@nox.session(python=False)
def pack(session: nox.Session) -> None:
    """The conformance pack into results/pack, or the folder after -- (export options after it too)."""
    folder, *args = session.posargs or [str(RESULTS / "pack")]
    python = backend_python(session, None)
    session.run(python, "-m", "conformance.pack", "export", folder, *args, external=True)


@nox.session(name="pack-check", python=False, tags=["tests"])
def pack_check(session: nox.Session) -> None:
    """The pack read by examples/pack_runner_torch.py (python -I, outside the tree), then checked on torch."""
    python = os.path.abspath(backend_python(session, "torch"))  # absolute: the runner runs in tmp
    tmp = Path(session.create_tmp())
    shutil.rmtree(tmp / "runner", ignore_errors=True)
    pack = ["-m", "conformance.pack"]
    session.run(python, *pack, "export", str(tmp / "pack"), external=True)
    with session.chdir(tmp):
        runner = ROOT / "examples" / "pack_runner_torch.py"
        session.run(python, "-I", str(runner), "pack", "--outputs", "runner", external=True)
    session.run(python, *pack, "verify", str(tmp / "pack"), str(tmp / "runner"), external=True)
    session.run(python, *pack, "run", str(tmp / "pack"), str(tmp / "torch"), "--backend", "torch",
                external=True)  # fmt: skip
    session.run(python, *pack, "verify", str(tmp / "pack"), str(tmp / "torch"), external=True)


@nox.session(name="bench-reference", python=False)
def bench_reference(session: nox.Session) -> None:
    """Benchmarks of the reference ops, with GFLOP/s beside NumPy's matmul; each run is saved under
    results/benchmark-history/reference, which the report compares with the last earlier run."""
    python = backend_python(session, None)
    session.run(
        python, "-m", "pytest", "benchmarks/test_yardstick.py", "benchmarks/test_reference_ops.py",
        "--results-dir", str(RESULTS), *_saved_runs(_history("reference", quick=False)), *session.posargs,
        external=True,
    )  # fmt: skip


@nox.session(name="train-reference", python=False)
def train_reference(session: nox.Session) -> None:
    """Train the NumPy reference LeNet, both variants (options of python -m training after --)."""
    train(session, backend_python(session, None), "reference", *session.posargs)


@nox.session(name="mutation-reference", python=PYTHON)
def mutation_reference(session: nox.Session) -> None:
    """mutmut on reference/ under its own tests, from scratch (6 to 25 min on 2 busy cores; not in -t tests).

    Config: pyproject.toml [tool.mutmut]. The environment holds the tests' dependencies and
    mutmut, not the project: an installed reference would shadow the mutated copy in mutants/.
    After --: mutmut run options (default --max-children 2),
    or --summary-only to rebuild the summary from mutants/ without running mutmut.
    Writes results/mutmut-reference.json: killed, survived, equivalent (survivors listed in
    tests/equivalent_mutants.toml), timeout, no_tests, total, score = killed / (total - equivalent),
    and each survivor that is not listed, with its changed line.
    """
    # mutmut pinned: reporting.mutmut_summary parses its results listing and its mutants/ layout.
    project = PYPROJECT["project"]
    session.install(*project["dependencies"], *project["optional-dependencies"]["test"], "mutmut==3.8.1")
    if "--summary-only" not in session.posargs:
        shutil.rmtree("mutants", ignore_errors=True)  # cached verdicts would outlive changed tests
        session.run("mutmut", "run", *(session.posargs or ["--max-children", "2"]))
    session.run("mutmut", "export-cicd-stats")
    listing = Path("mutants/results.txt")
    listing.write_text(session.run("mutmut", "results", silent=True) or "")
    session.run("python", "-m", "reporting.mutmut_summary", "mutants", "--listing", str(listing),
                "--out", str(RESULTS / "mutmut-reference.json"))  # fmt: skip


@nox.session(name="fault-catalogue", python=False, tags=["tests"])
def fault_catalogue(session: nox.Session) -> None:
    """The suite measured: each faulty adapter of the catalogue must be caught (pytest options after --)."""
    gpu, args = gpu_requested(session)
    run_fault_catalogue(session, backend_python(session, CATALOGUE_BACKEND, gpu), *args)


def run_fault_catalogue(session: nox.Session, python: str, *args: str) -> None:
    """conformance/meta_tests, writing ``mutation-catalogue.json`` into the results folder."""
    session.run(python, "-m", "pytest", META_TESTS, "--results-dir", str(RESULTS), *args, external=True)


def conformance(session: nox.Session, python: str, backend: str, *args: str, gpu: bool | None = None) -> None:
    """The suite on one pytest-xdist worker per CPU (``-n 0`` after -- runs it in one process).

    ``--dist loadgroup``: a LeNet variant's checks on one worker (they share its cached training
    trajectory), the rest one test at a time, largest group first. One OpenMP thread per worker
    (``OMP_NUM_THREADS``, unless set): PyTorch's two-thread ops on two busy workers took the
    run from 141 s to 283 s on 2 cores, one thread each to 128 s. With --gpu in one process:
    every worker would hold GPU memory of its own (JAX takes 75% of it, TensorFlow all); ``gpu``
    (default: whether --gpu is asked for) says whether the run is a GPU one. With
    ``CNN_CHAPTER_REFERENCE_SUITE=short`` (CI), the suite's short form (``--short``).
    """
    gpu = gpu_requested(session)[0] if gpu is None else gpu
    parallel = [] if gpu else ["-n", "auto", "--dist", "loadgroup"]
    short = ["--short"] if os.environ.get(SUITE_VARIABLE) == "short" else []  # conformance/short_form.py
    threads = {} if gpu else {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    session.run(
        python, "-m", "pytest", "conformance", "--backend", backend, "--results-dir", str(RESULTS),
        *parallel, *short, *args, env=threads, external=True,
    )  # fmt: skip


def bench(session: nox.Session, python: str, backend: str, quick: bool, *args: str) -> None:
    """The backend's benchmarks; each run is also saved in pytest-benchmark's storage under
    results/benchmark-history/<backend>[-quick] (reporting.regressions.history_folder), which the
    report compares with the last earlier run."""
    quick_args = ["--lenet-steps", "20", "--benchmark-max-time", "0.05", "--benchmark-min-rounds", "1",
                  "-k", "not resnet"] if quick else []  # fmt: skip
    session.run(
        python, "-m", "pytest", "benchmarks/test_yardstick.py", "benchmarks/test_backend_ops.py",
        "benchmarks/test_lenet_epoch.py", "--backend", backend,
        "--results-dir", str(RESULTS), *_saved_runs(_history(backend, quick)), *quick_args, *args,
        external=True,
    )  # fmt: skip


def _history(name: str, quick: bool) -> Path:
    """Where the benchmark runs of ``name`` (a backend, or "reference") are saved; the twin of
    reporting.regressions.history_folder, which nox's Python cannot import."""
    return RESULTS.resolve() / "benchmark-history" / (f"{name}-quick" if quick else name)


def _saved_runs(history: Path) -> list[str]:
    """pytest-benchmark's options that save the run in ``history`` (its file storage)."""
    return ["--benchmark-autosave", f"--benchmark-storage=file://{history}"]


def train(session: nox.Session, python: str, backend: str, *args: str) -> None:
    """Both LeNet variants; outputs under results/train unless ``args`` hold another ``--out``."""
    for variant in training_plan.VARIANTS:
        job = training_plan.TrainingJob(backend, variant, ("--out", str(RESULTS / "train"), *args))
        session.run(python, *job.arguments, external=True)


def determinism(session: nox.Session, python: str, backend: str, *args: str) -> None:
    """python -m conformance.determinism: each op and a LeNet step twice, and on 1 vs all cores."""
    session.run(python, "-m", "conformance.determinism", "--backend", backend, "--results-dir", str(RESULTS),
                *args, external=True)  # fmt: skip


# The data-parallel check's short form in `nox -s report -- --quick` (the full form: 1, 2 and 4
# processes, 100 steps, both variants: python -m conformance.data_parallel's defaults).
# The main job's data-parallel check: the chapter's variant (100 steps, 1/2/4 processes; both variants
# took 27 min for PyTorch on a loaded 2-core machine, most of it the per-step bounds); the quick form
# 20 steps on 1 and 2 processes. nox -s ddp-<backend> runs both variants.
DDP_REPORT = ["--variants", "chapter"]
# The quick form's determinism check: the chapter LeNet's step alone (4 worker processes per backend,
# each starting its framework; the LeNet-size workloads as well took 2 to 3 min per backend in CI).
DETERMINISM_QUICK = ["--entries", "LeNet chapter"]
DDP_QUICK = ["--processes", "1,2", "--steps", "20", "--variants", "chapter"]


def data_parallel(session: nox.Session, python: str, backend: str, *args: str) -> None:
    """Data-parallel LeNet checked step by step against the single-process run: results/ddp-<backend>.json."""
    module = ["-m", "conformance.data_parallel"]
    session.run(python, *module, "--backend", backend, "--results-dir", str(RESULTS), *args, external=True)


def _backend_sessions(backend: str) -> None:
    def conformance_session(session: nox.Session) -> None:
        gpu, args = gpu_requested(session)
        python = backend_python(session, backend, gpu)
        conformance(session, python, backend, *args)
        train(session, python, backend, *QUICK_TRAIN)

    def bench_session(session: nox.Session) -> None:
        gpu, args = gpu_requested(session)
        bench(session, backend_python(session, backend, gpu), backend, "--quick" in args,
              *(a for a in args if a != "--quick"))  # fmt: skip

    def train_session(session: nox.Session) -> None:
        gpu, args = gpu_requested(session)
        train(session, backend_python(session, backend, gpu), backend, *args)

    def determinism_session(session: nox.Session) -> None:
        gpu, args = gpu_requested(session)
        determinism(session, backend_python(session, backend, gpu), backend, *args)

    def ddp_session(session: nox.Session) -> None:
        gpu, args = gpu_requested(session)
        data_parallel(session, backend_python(session, backend, gpu), backend, *args)

    def setup_session(session: nox.Session) -> None:
        gpu, _ = gpu_requested(session)
        session.log(f"environment ready: {backend_python(session, backend, gpu)}")

    conformance_session.__doc__ = (
        f"Conformance of {backend} and a short LeNet run (--gpu, pytest options after --)."
    )
    bench_session.__doc__ = (
        f"Benchmarks of {backend}: ops and a LeNet epoch (--quick, --gpu, pytest options after --)."
    )
    train_session.__doc__ = (
        f"Train LeNet on {backend}, both variants (--gpu, python -m training options after --)."
    )
    nox.session(name=f"conformance-{backend}", python=False, tags=["tests"])(conformance_session)
    nox.session(name=f"bench-{backend}", python=False)(bench_session)
    nox.session(name=f"train-{backend}", python=False)(train_session)
    determinism_session.__doc__ = (
        f"Determinism of {backend}: twice in one process, 1 vs all cores, switch off and on "
        "(--gpu; python -m conformance.determinism options after --)."
    )
    nox.session(name=f"determinism-{backend}", python=False)(determinism_session)
    ddp_session.__doc__ = (
        f"Data-parallel LeNet on {backend} against its single-process run, 1/2/4 processes, 100 steps "
        "(--gpu, python -m conformance.data_parallel options after --)."
    )
    nox.session(name=f"ddp-{backend}", python=False)(ddp_session)
    setup_session.__doc__ = f"Make or update the environment of {backend}, .nox/env-{backend} (--gpu)."
    nox.session(name=f"setup-{backend}", python=False)(setup_session)


for _backend in BACKENDS:
    _backend_sessions(_backend)


# nox -s gpu-check: the backends checked on CUDA, the device they are given, the cases run again with
# TF32 on (those TF32 changes: it rounds convolution and matmul inputs to 10 mantissa bits), where
# those results go (a subfolder: the report reads it apart, as the TF32 table), and the time budget.
GPU_CHECK_BACKENDS = ("torch", "jax")
GPU_DEVICE = ("--device", "gpu")  # the first GPU, in both frameworks' names (backends.devices)
TF32_CASES = "(test_case or test_generated or test_adversarial) and (conv2d or corr2d)"  # numeric cases
TF32_RESULTS = RESULTS / "tf32"
TF32_VARIABLE = "CNN_CHAPTER_REFERENCE_TF32"  # backends.devices.TF32_VARIABLE (NumPy-free here)
GPU_CHECK_BUDGET_S = 600
NO_GPU = (
    "no GPU found: nvidia-smi is not on PATH or lists no GPU (nvidia-smi -L). gpu-check needs an "
    "NVIDIA GPU: there it makes the CUDA environments of {backends} (--gpu), runs their conformance "
    "suites on the GPU with TF32 off, the divergence probes and the quick op benchmarks, then the "
    "cases '{cases}' with TF32 on into {tf32}/ (failures there are the measured TF32 divergence)"
)


def visible_gpus() -> list[str]:
    """The GPUs ``nvidia-smi -L`` lists, one line each (``GPU 0: NVIDIA H100 ...``); none when
    nvidia-smi is not on PATH, fails or takes over 30 s."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    lines = listing.stdout.splitlines() if listing.returncode == 0 else []
    return [line for line in lines if line.startswith("GPU ")]


def tf32_conformance_args(backend: str) -> list[str]:
    """pytest's arguments for the TF32 run of ``backend``: the convolution cases on the GPU,
    results in ``<results>/tf32/conformance-<backend>.json``."""
    return ["-m", "pytest", "conformance", "--backend", backend, *GPU_DEVICE,
            "--results-dir", str(TF32_RESULTS), "-k", TF32_CASES, "-q"]  # fmt: skip


@contextmanager
def _timed(session: nox.Session, step: str) -> Iterator[None]:
    began = time.monotonic()
    yield
    session.log(f"{step} took {time.monotonic() - began:.0f} s")


@nox.session(name="gpu-check", python=False)
def gpu_check(session: nox.Session) -> None:
    """GPU readiness: torch and JAX on CUDA (TF32 off), their probes and quick op benchmarks, then the
    conv cases with TF32 on (a measured divergence, not a failure). Stops at once without a GPU.

    Writes conformance-, divergences- and bench-<backend>.json into results/ (the report's main
    tables; rebuild it with nox -s report -- --rebuild) and results/tf32/conformance-<backend>.json
    (its TF32 table). Budget: 10 minutes on one GPU; each step's time is logged.
    """
    gpus = visible_gpus()
    if not gpus:
        backends = ", ".join(GPU_CHECK_BACKENDS)
        session.error(NO_GPU.format(backends=backends, cases=TF32_CASES, tf32=TF32_RESULTS))
    session.log(f"GPUs: {'; '.join(gpus)}")
    began = time.monotonic()
    for backend in GPU_CHECK_BACKENDS:
        python = backend_python(session, backend, gpu=True)
        with _timed(session, f"{backend}: conformance, TF32 off"):
            conformance(session, python, backend, *GPU_DEVICE, "-q", gpu=True)
        with _timed(session, f"{backend}: divergence probes"):
            session.run(python, "-m", "backends.divergences", "--backend", backend, "--out", str(RESULTS),
                        external=True)  # fmt: skip
        with _timed(session, f"{backend}: quick op benchmarks"):
            bench(session, python, backend, True, *GPU_DEVICE, "-q")
        with _timed(session, f"{backend}: conv cases, TF32 on"):
            # pytest's status 1 (cases failed) is the divergence measured; any other stops the session.
            session.run(python, *tf32_conformance_args(backend), env={TF32_VARIABLE: "1"},
                        success_codes=[0, 1], external=True)  # fmt: skip
    elapsed = time.monotonic() - began
    verdict = "within" if elapsed <= GPU_CHECK_BUDGET_S else "OVER"
    session.log(f"gpu-check took {elapsed:.0f} s, {verdict} its budget of {GPU_CHECK_BUDGET_S} s")


@nox.session(python=False)
def report(session: nox.Session) -> None:
    """The main job: every backend's conformance, divergences, benchmarks and LeNet, merged into report/.

    After --: --quick (the CI form: the "ci" adversarial profile, short benchmarks, 300 training
    steps of every runner, the reference included; without it the conformance runs the "deep"
    adversarial search and LeNet trains for the chapter's 10 epochs on every backend, about 17 min
    on a quiet 2-core machine; the reference's 10 epochs, about 8 min more, are nox -s train-reference),
    --backends a,b (a subset), --rebuild (no runs: rebuild from results/),
    --reuse-conformance (keep existing results/conformance-*.json), --no-train (no LeNet training),
    --retrain (train again even where a finished run.json of the same settings exists; without it
    those runs are kept), --gpu (the GPU packages). training/plan.py says which runs train.
    The report compares each backend's benchmark ratios with its last earlier saved run of the same
    form (quick or not) and machine, and flags those worse by more than 10%.
    """
    gpu, args = gpu_requested(session)
    quick, rebuild, reuse = "--quick" in args, "--rebuild" in args, "--reuse-conformance" in args
    selected = BACKENDS
    if "--backends" in args:
        selected = args[args.index("--backends") + 1].split(",")
        unknown = sorted(set(selected) - set(BACKENDS))
        if unknown:
            session.error(f"unknown backends {unknown}; known: {BACKENDS}")
    if not rebuild:
        for step, backend in enumerate(selected, start=1):
            session.log(f"[{step}/{len(selected)}] {backend}: environment")
            python = backend_python(session, backend, gpu)
            if not (reuse and (RESULTS / f"conformance-{backend}.json").exists()):
                session.log(f"[{step}/{len(selected)}] {backend}: conformance")
                # The deep adversarial search (200 combinations per op and dtype) in the full report.
                profile = [] if quick else ["--hypothesis-profile=deep"]
                conformance(session, python, backend, "-q", *profile)
                if backend == CATALOGUE_BACKEND:
                    session.log(f"[{step}/{len(selected)}] {backend}: the suite's fault catalogue")
                    run_fault_catalogue(session, python, "-q")
            session.log(f"[{step}/{len(selected)}] {backend}: divergence probes")
            session.run(python, "-m", "backends.divergences", "--backend", backend, "--out", str(RESULTS),
                        external=True)  # fmt: skip
            session.log(f"[{step}/{len(selected)}] {backend}: determinism{' (quick)' if quick else ''}")
            determinism(session, python, backend, *(DETERMINISM_QUICK if quick else []))
            session.log(f"[{step}/{len(selected)}] {backend}: benchmarks{' (quick)' if quick else ''}")
            bench(session, python, backend, quick, "-q")
            session.log(f"[{step}/{len(selected)}] {backend}: data-parallel LeNet{' (quick)' * quick}")
            data_parallel(session, python, backend, *(DDP_QUICK if quick else DDP_REPORT))
    jobs = training_plan.report_training(selected, args, RESULTS)
    for step, job in enumerate(jobs, start=1):
        session.log(f"[LeNet {step}/{len(jobs)}] {job.runner} {job.variant}")
        runner = None if job.runner == training_plan.REFERENCE else job.runner
        session.run(backend_python(session, runner, gpu), *job.arguments, external=True)
    session.log(f"building {REPORT}/REPORT.md and {REPORT}/index.html")
    python = backend_python(session, None)
    session.run(python, "-m", "reporting", "--results", str(RESULTS), "--out", str(REPORT),
                "--backends", ",".join(selected), *(["--quick"] if quick else []), external=True)  # fmt: skip
