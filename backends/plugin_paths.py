"""Where backends are declared and what their environments install, read from files alone.

A backend is an entry point in the group ``cnn_chapter_reference.backends`` of some project's
``pyproject.toml`` (value ``module:Class``), and its environment is the ``environment.toml``
beside that module::

    framework = "tensorflow"                    # the framework's import name
    gpu = "tensorflow[and-cuda]==2.21.*"        # optional: the package list on a GPU machine

    [[packages]]
    requirement = "tensorflow-cpu==2.21.*"
    reason = "the CPU build; the GPU build pulls CUDA libraries of several GB"

The projects searched are this one, every ``plugins/*/`` folder holding a ``pyproject.toml``,
and each folder listed in the environment variable ``CNN_CHAPTER_REFERENCE_PLUGINS``
(``os.pathsep``-separated). This module imports the standard library only: ``noxfile.py``
loads it by file path in nox's own Python, where neither the project nor NumPy is installed.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

ENTRY_POINT_GROUP = "cnn_chapter_reference.backends"
PLUGINS_VARIABLE = "CNN_CHAPTER_REFERENCE_PLUGINS"
ENVIRONMENT_FILE = "environment.toml"

_ENVIRONMENT_KEYS = frozenset({"framework", "packages", "gpu"})
_PACKAGE_KEYS = frozenset({"requirement", "reason"})


@dataclass(frozen=True)
class Requirement:
    """One install string (a pip requirement) and why it is pinned so."""

    requirement: str
    reason: str


@dataclass(frozen=True)
class BackendEnvironment:
    """What a backend's virtual environment installs besides the project.

    ``framework`` is the framework's import name; ``gpu``, when set, is the space-separated
    package list that replaces ``packages`` on a GPU machine.
    """

    framework: str
    packages: tuple[Requirement, ...]
    gpu: str | None = None

    def requirements(self, gpu: bool = False) -> tuple[str, ...]:
        """The install strings: the GPU list when ``gpu`` is true and one is declared, else the packages."""
        if gpu and self.gpu is not None:
            return tuple(self.gpu.split())
        return tuple(package.requirement for package in self.packages)


@dataclass(frozen=True)
class DeclaredBackend:
    """A backend as its project declares it: where, which ``module:Class``, and its environment."""

    name: str
    project: Path
    entry_point: str
    environment: BackendEnvironment


def _string(value: object, what: str, path: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{path}: {what} must be a non-empty string, got {value!r}")
    return value


def read_environment(path: Path) -> BackendEnvironment:
    """Parse an ``environment.toml``; a ValueError names the file and the rule it breaks."""
    with path.open("rb") as file:
        data = tomllib.load(file)
    unknown = sorted(set(data) - _ENVIRONMENT_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}; allowed: {sorted(_ENVIRONMENT_KEYS)}")
    if "framework" not in data:
        raise ValueError(f"{path}: missing 'framework' (the framework's import name)")
    framework = _string(data["framework"], "'framework'", path)
    tables = data.get("packages", [])
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise ValueError(f"{path}: 'packages' must be [[packages]] tables")
    packages = []
    for index, table in enumerate(tables):
        where = f"packages[{index}]"
        extra = sorted(set(table) - _PACKAGE_KEYS)
        if extra:
            raise ValueError(f"{path}: {where} has unknown keys {extra}; allowed: {sorted(_PACKAGE_KEYS)}")
        for key in sorted(_PACKAGE_KEYS):
            if key not in table:
                raise ValueError(f"{path}: {where} has no {key!r}")
        packages.append(
            Requirement(
                requirement=_string(table["requirement"], f"{where}.requirement", path),
                reason=_string(table["reason"], f"{where}.reason", path),
            )
        )
    gpu = _string(data["gpu"], "'gpu'", path) if "gpu" in data else None
    return BackendEnvironment(framework=framework, packages=tuple(packages), gpu=gpu)


def environment_file(project_dir: Path, entry_point_value: str) -> Path:
    """The ``environment.toml`` beside the module an entry point names.

    ``"backends.torch.adapter:TorchBackend"`` in project ``P`` gives
    ``P/backends/torch/environment.toml``; a module that is a package (``P/pkg/__init__.py``
    for ``"pkg:Class"``) gives ``P/pkg/environment.toml``.
    """
    module = entry_point_value.partition(":")[0].strip()
    if not module:
        raise ValueError(f"entry point {entry_point_value!r} names no module")
    folder = project_dir.joinpath(*module.split("."))
    if (folder / "__init__.py").exists():
        return folder / ENVIRONMENT_FILE
    return folder.parent / ENVIRONMENT_FILE


def entry_points(project_dir: Path) -> dict[str, str]:
    """The ``cnn_chapter_reference.backends`` entry points (name -> ``module:Class``) of a project."""
    with (project_dir / "pyproject.toml").open("rb") as file:
        data = tomllib.load(file)
    group = data.get("project", {}).get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    return dict(group)


def plugin_projects(root: Path) -> list[Path]:
    """The projects that may declare backends: ``root``, ``root/plugins/*/``, then the variable's folders.

    A folder named in ``CNN_CHAPTER_REFERENCE_PLUGINS`` without a ``pyproject.toml`` is an error;
    a folder reached twice is listed once, at its first place.
    """
    projects = [root]
    plugins = root / "plugins"
    if plugins.is_dir():
        projects += sorted(folder for folder in plugins.iterdir() if (folder / "pyproject.toml").is_file())
    for entry in os.environ.get(PLUGINS_VARIABLE, "").split(os.pathsep):
        if not entry:
            continue
        folder = Path(entry)
        if not (folder / "pyproject.toml").is_file():
            raise ValueError(f"{PLUGINS_VARIABLE} names {folder}, which has no pyproject.toml")
        projects.append(folder)
    unique: dict[Path, Path] = {}
    for project in projects:
        unique.setdefault(project.resolve(), project)
    return list(unique.values())


def discover(root: Path) -> dict[str, DeclaredBackend]:
    """Every declared backend (name -> declaration), in the order of :func:`plugin_projects`.

    A name declared by two projects is a ValueError naming both.
    """
    found: dict[str, DeclaredBackend] = {}
    for project in plugin_projects(root):
        for name, value in entry_points(project).items():
            if name in found:
                raise ValueError(
                    f"backend {name!r} is declared twice: in {found[name].project / 'pyproject.toml'}"
                    f" and in {project / 'pyproject.toml'}"
                )
            environment = read_environment(environment_file(project, value))
            found[name] = DeclaredBackend(name, project, value, environment)
    return found
