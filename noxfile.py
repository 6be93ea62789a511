"""The front door: one session per backend and job.

``nox -s tests`` runs the reference's own tests (on the oldest and newest NumPy
the reference supports), ``nox -s lint`` runs ruff, ``nox -s bench-reference``
times the reference. Each backend gets its own virtual environment, because
their pins conflict (MXNet 1.9.1 needs numpy<1.24; TensorFlow and JAX want a
new NumPy).
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
# `nox -t tests` (the README's test command, run by CI) runs every session tagged "tests".
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
# The reference must run on every NumPy from 1.23 (MXNet's ceiling) to 2.x.
NUMPY_VERSIONS = {"numpy1.23": "numpy==1.23.5", "numpy2": "numpy>=2"}


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
