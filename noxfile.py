"""The front door: one session per backend and job.

- ``nox -s report``: the main job. Conformance, divergence probes and benchmarks
  of every backend, then ``report/REPORT.md`` and ``report/index.html``.
  After ``--``: ``--quick`` (CI form), ``--backends torch,jax``, ``--rebuild``
  (only rebuild the report from existing results).
- ``nox -t tests``: every test (lint, the reference's tests on the oldest and
  newest NumPy, the conformance suite of every backend with a short training run).
- ``nox -s conformance-<backend>``, ``bench-<backend>``, ``train-<backend>``
  (``train-reference`` too), ``bench-reference``.

Each backend has one virtual environment, ``.nox/env-<backend>``, shared by its
sessions: the frameworks' pins conflict (MXNet 1.9.1 needs numpy<1.24;
TensorFlow and JAX want a new NumPy), and one install per framework is enough.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
# The reference must run on every NumPy from 1.23 (MXNet's ceiling) to 2.x.
NUMPY_VERSIONS = {"numpy1.23": "numpy==1.23.5", "numpy2": "numpy>=2"}

# What each backend's environment installs besides the project. Override with
# e.g. TORCH_PACKAGES="torch" (space-separated) for a CUDA build on a GPU machine.
BACKEND_PACKAGES = {
    # The CPU build; an unpinned torch pulls a CUDA build of several GB.
    "torch": ["torch==2.13.0"],
    # The CPU build; with a GPU use "tensorflow[and-cuda]==2.21.*".
    "tensorflow": ["tensorflow-cpu==2.21.*"],
    # 1.9.1 is MXNet's last release (the project is retired); it uses np.bool,
    # which NumPy 1.24 removed.
    "mxnet": ["mxnet==1.9.1", "numpy<1.24"],
    # The CPU wheels; with a GPU use "jax[cuda12]".
    "jax": ["jax"],
}
BACKENDS = list(BACKEND_PACKAGES)
RESULTS = Path("results")
# The short training run of the test sessions ("a few hundred steps").
QUICK_TRAIN = ["--epochs", "1", "--max-steps", "300", "--no-progress", "--out", str(RESULTS / "train-quick")]


def backend_python(session: nox.Session, backend: str | None) -> str:
    """The Python of ``.nox/env-<backend>`` (``env-base``: no framework), made and updated on demand."""
    packages = ["-e", ".[test,train]"]
    if backend:
        override = os.environ.get(f"{backend.upper()}_PACKAGES")
        packages += override.split() if override else BACKEND_PACKAGES[backend]
    env = Path(".nox") / f"env-{backend or 'base'}"
    python = str(env / "bin" / "python")
    if not Path(python).exists():
        session.run(f"python{PYTHON}", "-m", "venv", str(env), external=True)
    stamp = env / "installed.txt"
    if not stamp.exists() or stamp.read_text() != " ".join(packages):
        session.run(python, "-m", "pip", "install", "-q", "--upgrade", "pip", external=True)
        session.run(python, "-m", "pip", "install", *packages, external=True)
        stamp.write_text(" ".join(packages))
    return python


@nox.session(python=PYTHON, tags=["tests"])
@nox.parametrize("numpy", list(NUMPY_VERSIONS), ids=list(NUMPY_VERSIONS))
def tests(session: nox.Session, numpy: str) -> None:
    """The reference's own tests and doctests (pass pytest arguments after --)."""
    session.install("-e", ".[test,train]", NUMPY_VERSIONS[numpy])
    session.run("pytest", "tests", "--doctest-modules", "reference", *session.posargs)


@nox.session(python=PYTHON, tags=["tests"])
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    session.install("ruff==0.17.6")  # pinned: new ruff releases add rules and change formatting
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(name="bench-reference", python=False)
def bench_reference(session: nox.Session) -> None:
    """Benchmarks of the reference ops, with GFLOP/s beside NumPy's matmul."""
    python = backend_python(session, None)
    session.run(
        python, "-m", "pytest", "benchmarks/test_yardstick.py", "benchmarks/test_reference_ops.py",
        f"--benchmark-json={RESULTS / 'bench-reference.json'}", *session.posargs, external=True,
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
    session.install("numpy", "pytest>=8", "hypothesis>=6.100", "mutmut==3.8.1")
    if "--summary-only" not in session.posargs:
        shutil.rmtree("mutants", ignore_errors=True)  # cached verdicts would outlive changed tests
        session.run("mutmut", "run", *(session.posargs or ["--max-children", "2"]))
    session.run("mutmut", "export-cicd-stats")
    listing = Path("mutants/results.txt")
    listing.write_text(session.run("mutmut", "results", silent=True) or "")
    session.run("python", "-m", "reporting.mutmut_summary", "mutants", "--listing", str(listing),
                "--out", str(RESULTS / "mutmut-reference.json"))  # fmt: skip


def conformance(session: nox.Session, python: str, backend: str, *args: str) -> None:
    session.run(python, "-m", "pytest", "conformance", "--backend", backend, *args, external=True)


def bench(session: nox.Session, python: str, backend: str, quick: bool, *args: str) -> None:
    quick_args = ["--lenet-steps", "20", "--benchmark-max-time", "0.05", "--benchmark-min-rounds", "1",
                  "-k", "not resnet"] if quick else []  # fmt: skip
    session.run(
        python, "-m", "pytest", "benchmarks/test_yardstick.py", "benchmarks/test_backend_ops.py",
        "benchmarks/test_lenet_epoch.py", "--backend", backend,
        f"--benchmark-json={RESULTS / f'bench-{backend}.json'}", *quick_args, *args, external=True,
    )  # fmt: skip


def train(session: nox.Session, python: str, backend: str, *args: str) -> None:
    for variant in ("chapter", "relu-max"):
        session.run(
            python, "-m", "training", "--backend", backend, "--variant", variant, *args, external=True
        )


def _backend_sessions(backend: str) -> None:
    def conformance_session(session: nox.Session) -> None:
        python = backend_python(session, backend)
        conformance(session, python, backend, *session.posargs)
        train(session, python, backend, *QUICK_TRAIN)
        if backend == "torch":  # the suite's own tests wrap the PyTorch adapter
            session.run(python, "-m", "pytest", "conformance/meta_tests", external=True)

    def bench_session(session: nox.Session) -> None:
        bench(session, backend_python(session, backend), backend, "--quick" in session.posargs,
              *(a for a in session.posargs if a != "--quick"))  # fmt: skip

    def train_session(session: nox.Session) -> None:
        train(session, backend_python(session, backend), backend, *session.posargs)

    conformance_session.__doc__ = f"Conformance of {backend} and a short LeNet run (pytest options after --)."
    bench_session.__doc__ = (
        f"Benchmarks of {backend}: ops and a LeNet epoch (--quick, pytest options after --)."
    )
    train_session.__doc__ = f"Train LeNet on {backend}, both variants (python -m training options after --)."
    nox.session(name=f"conformance-{backend}", python=False, tags=["tests"])(conformance_session)
    nox.session(name=f"bench-{backend}", python=False)(bench_session)
    nox.session(name=f"train-{backend}", python=False)(train_session)


for _backend in BACKENDS:
    _backend_sessions(_backend)


@nox.session(python=False)
def report(session: nox.Session) -> None:
    """The main job: every backend's conformance, divergences and benchmarks, merged into report/.

    After --: --quick (short benchmarks, a short training run, the CI form),
    --backends a,b (a subset), --rebuild (no runs: rebuild from results/),
    --reuse-conformance (keep existing results/conformance-*.json).
    """
    args = list(session.posargs)
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
            python = backend_python(session, backend)
            if not (reuse and (RESULTS / f"conformance-{backend}.json").exists()):
                session.log(f"[{step}/{len(selected)}] {backend}: conformance")
                conformance(session, python, backend, "-q")
            session.log(f"[{step}/{len(selected)}] {backend}: divergence probes")
            session.run(python, "-m", "reporting.probes", "--backend", backend, "--out", str(RESULTS),
                        external=True)  # fmt: skip
            session.log(f"[{step}/{len(selected)}] {backend}: benchmarks{' (quick)' if quick else ''}")
            bench(session, python, backend, quick, "-q")
            if quick and not (RESULTS / "train-quick" / f"{backend}-chapter" / "metrics.json").exists():
                train(session, python, backend, *QUICK_TRAIN)
    session.log("building report/REPORT.md and report/index.html")
    python = backend_python(session, None)
    session.run(python, "-m", "reporting", "--results", str(RESULTS), "--out", "report",
                "--backends", ",".join(selected), *(["--quick"] if quick else []), external=True)  # fmt: skip
