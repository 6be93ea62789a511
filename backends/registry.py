"""The backends, found through the entry-point group ``cnn_chapter_reference.backends``.

Each entry point names a :class:`~backends.base.Backend` subclass as ``module:Class``;
in-tree ones are declared in this project's ``pyproject.toml``, a plugin declares its
own the same way. What a backend's environment installs is the ``environment.toml``
beside that module (:mod:`backends.plugin_paths`), read without importing the
framework. Nothing here imports a framework until :func:`backend_class` or
:func:`get_backend` loads an adapter.
"""

from __future__ import annotations

import importlib
import importlib.util
from importlib import metadata
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

from backends.base import Backend
from backends.plugin_paths import ENTRY_POINT_GROUP, BackendEnvironment, environment_file, read_environment


def _entry_points() -> dict[str, metadata.EntryPoint]:
    """Registered name -> entry point; one name declared with two values is a ValueError naming both."""
    found: dict[str, metadata.EntryPoint] = {}
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        seen = found.setdefault(entry_point.name, entry_point)
        if seen.value != entry_point.value:
            raise ValueError(
                f"backend {entry_point.name!r} is registered twice: {seen.value!r} and {entry_point.value!r}"
            )
    return found


def _entry_point(name: str) -> metadata.EntryPoint:
    """The entry point of ``name``; a ValueError naming the known backends if there is none."""
    entry_points = _entry_points()
    if name not in entry_points:
        raise ValueError(f"unknown backend {name!r}; known backends: {', '.join(sorted(entry_points))}")
    return entry_points[name]


def _module_spec(name: str) -> ModuleSpec:
    """The import spec of the module ``name``'s entry point names (found, not imported)."""
    module = _entry_point(name).module
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"backend {name!r}: its module {module!r} is not importable here")
    return spec


def known() -> tuple[str, ...]:
    """Every registered backend name, sorted, installed or not."""
    return tuple(sorted(_entry_points()))


def backend_folder(name: str) -> Path:
    """The folder of the module ``name``'s entry point names (``backends/torch`` for ``torch``)."""
    return Path(_module_spec(name).origin).parent


def environment(name: str) -> BackendEnvironment:
    """What ``name``'s environment installs: the ``environment.toml`` beside its module."""
    entry_point, spec = _entry_point(name), _module_spec(name)
    # The project folder holding the module's top-level package: a package's origin is
    # its __init__.py, one level deeper than a module's file.
    depth = len(entry_point.module.split(".")) - (spec.submodule_search_locations is None)
    project = Path(spec.origin).parents[depth]
    return read_environment(environment_file(project, entry_point.value))


def _load(entry_point: metadata.EntryPoint) -> type[Backend]:
    """The class an entry point names; a TypeError if it is not a :class:`Backend` subclass."""
    cls = entry_point.load()
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise TypeError(f"{entry_point.value!r} (backend {entry_point.name!r}) is not a Backend subclass")
    return cls


def _installed(name: str) -> bool:
    return importlib.util.find_spec(environment(name).framework) is not None


def available() -> tuple[str, ...]:
    """The registered backends whose framework is importable here (checked without importing it)."""
    return tuple(name for name in known() if _installed(name))


def backend_class(name: str) -> type[Backend]:
    """The adapter class of ``name`` (imports the adapter, and so its framework); ``name`` as
    :func:`get_backend` takes it (registered, or ``module:Class``).

    ``ValueError`` for an unknown name; ``ModuleNotFoundError`` naming the framework and
    the nox session that installs it when the framework is missing.
    """
    if ":" in name:
        return _load(metadata.EntryPoint(name=name, value=name, group=ENTRY_POINT_GROUP))
    entry_point = _entry_point(name)
    if not _installed(name):
        framework = environment(name).framework
        raise ModuleNotFoundError(
            f"backend {name!r} needs the framework {framework!r}, which is not installed here"
            f" (nox -s conformance-{name} makes an environment with it)"
        )
    return _load(entry_point)


def get_backend(name: str, device: str = "auto") -> Backend:
    """An adapter instance. ``name``: a registered backend, or ``module:Class`` naming a
    :class:`Backend` subclass that is not registered (e.g. a faulty adapter of
    ``conformance.meta_tests.faulty_backends``). ``device``: ``"auto"`` (the GPU when
    the framework sees one, else the CPU), ``"cpu"``, ``"gpu"`` or a framework device
    string such as ``"cuda:1"``."""
    return backend_class(name)(device=device)


def folder_module(backend: Backend | type[Backend], name: str) -> ModuleType:
    """The module ``name`` (``plain_loop``, ``probes``, ...) of a backend's folder, imported.

    The folder is the package of the backend's class; a subclass whose package has no
    such module (a plugin that extends :class:`backends.torch.adapter.TorchBackend`)
    gets the first one along its method resolution order.
    """
    cls = backend if isinstance(backend, type) else type(backend)
    for ancestor in cls.__mro__:
        package = ancestor.__module__.rpartition(".")[0]
        if not (issubclass(ancestor, Backend) and ancestor is not Backend and package):
            continue
        if importlib.util.find_spec(f"{package}.{name}") is not None:
            return importlib.import_module(f"{package}.{name}")
    raise ModuleNotFoundError(f"no module {name!r} in the folder of {cls.__name__} or of its base classes")
