"""The front door: one session per backend and job.

``nox -s tests`` runs the reference's own tests (on the oldest and newest NumPy
the reference supports), ``nox -s lint`` runs ruff, ``nox -s bench-reference``
times the reference. Each backend gets its own virtual environment, because
their pins conflict (MXNet 1.9.1 needs numpy<1.24; TensorFlow and JAX want a
new NumPy).
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "tests"]
# `nox -t tests` (the README's test command, run by CI) runs every session tagged "tests".
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


def install_backend(session: nox.Session, backend: str, extras: str = "test") -> None:
    """The project (with ``extras``) plus one framework, in this session's environment."""
    override = os.environ.get(f"{backend.upper()}_PACKAGES")
    packages = override.split() if override else BACKEND_PACKAGES[backend]
    session.install("-e", f".[{extras}]", *packages)


@nox.session(python=PYTHON, tags=["tests"])
@nox.parametrize("numpy", list(NUMPY_VERSIONS), ids=list(NUMPY_VERSIONS))
def tests(session: nox.Session, numpy: str) -> None:
    """The reference's own tests and doctests (pass pytest arguments after --)."""
    session.install("-e", ".[test]", NUMPY_VERSIONS[numpy])
    session.run("pytest", "tests", "--doctest-modules", "reference", *session.posargs)


@nox.session(python=PYTHON, tags=["tests"])
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(name="bench-reference", python=PYTHON)
def bench_reference(session: nox.Session) -> None:
    """Benchmarks of the reference ops, with GFLOP/s beside NumPy's matmul."""
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "benchmarks/test_reference_ops.py",
        "--benchmark-json=results/bench-reference.json",
        *session.posargs,
    )


def _conformance_session(backend: str) -> None:
    def conformance(session: nox.Session) -> None:
        install_backend(session, backend)
        session.run("pytest", "conformance", "--backend", backend, *session.posargs)
        if backend == "torch":  # the suite's own tests wrap the PyTorch adapter
            session.run("pytest", "conformance/meta_tests")

    conformance.__doc__ = f"The conformance suite against {backend} (pass --device cuda etc. after --)."
    nox.session(name=f"conformance-{backend}", python=PYTHON, tags=["tests"])(conformance)


for _backend in BACKEND_PACKAGES:
    _conformance_session(_backend)
