"""The project's modules import each other without cycles, and none imports another's private name.

The graph is read from the source with :mod:`ast`, not by importing, so it needs no
framework: every ``import x`` and ``from x import y`` counts, relative ones and those
inside functions included (a lazy import still closes a cycle when it runs). An edge
goes to the module named (``from p import m`` to the submodule ``p.m`` when there is
one), never implicitly to the packages above it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("reference", "backends", "conformance", "benchmarks", "training", "reporting")


def project_modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Module name -> file, for every ``.py`` file under the given top-level packages."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imported_names(module: str, path: Path) -> Iterator[tuple[str, str | None]]:
    """``(module imported, name taken from it or None)`` for every import statement of a file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                yield source, alias.name


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for module, path in modules.items():
        for source, name in imported_names(module, path):
            target = f"{source}.{name}" if name and f"{source}.{name}" in modules else source
            if target in modules and target != module:
                graph[module].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (depth-first search, three colours)."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for target in sorted(graph[module]):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def private_imports(modules: dict[str, Path]) -> list[str]:
    """``importer: from source import _name`` for each private name taken from another project module."""
    found = []
    for module, path in modules.items():
        for source, name in imported_names(module, path):
            private = name is not None and name.startswith("_") and not name.startswith("__")
            if private and source in modules and source != module:
                found.append(f"{module}: from {source} import {name}")
    return found


def test_project_has_no_import_cycle() -> None:
    modules = project_modules(ROOT, PACKAGES)
    assert "backends.torch.adapter" in modules and "reference" in modules  # the walk sees the tree
    cycle = find_cycle(import_graph(modules))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_module_imports_a_private_name_of_another() -> None:
    assert private_imports(project_modules(ROOT, PACKAGES)) == []


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_cycle_through_a_lazy_relative_import_is_found(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "def f():\n    from . import b\n    return b\n",
            "pkg/b.py": "import pkg.a\n",
            "pkg/c.py": "from pkg.a import f\n",
        },
    )
    graph = import_graph(project_modules(tmp_path, ("pkg",)))
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}, "pkg.c": {"pkg.a"}}
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.a"]


def test_an_acyclic_fake_tree_has_no_cycle(tmp_path: Path) -> None:
    _write(tmp_path, {"pkg/__init__.py": "from pkg import a\n", "pkg/a.py": "from ..pkg import b\n"})
    _write(tmp_path, {"pkg/b.py": "import os\n"})
    graph = import_graph(project_modules(tmp_path, ("pkg",)))
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": set()}
    assert find_cycle(graph) is None


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("from pkg.a import _hidden", ["pkg.b: from pkg.a import _hidden"]),
        ("from .a import public, _hidden", ["pkg.b: from pkg.a import _hidden"]),
        ("from pkg.a import public, __version__", []),
    ],
)
def test_private_imports_are_found(tmp_path: Path, statement: str, expected: list[str]) -> None:
    _write(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "public = _hidden = 1\n", "pkg/b.py": statement})
    assert private_imports(project_modules(tmp_path, ("pkg",))) == expected
