"""backends.plugin_paths on small projects written in a temporary folder."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest

from backends import plugin_paths
from backends.plugin_paths import (
    BackendEnvironment,
    Requirement,
    discover,
    entry_points,
    environment_file,
    plugin_projects,
    read_environment,
)

TORCH_ENVIRONMENT = """\
framework = "torch"

[[packages]]
requirement = "torch==2.13.0"
reason = "the CPU build"
"""


def write_project(folder: Path, backends: dict[str, str], environment: str = TORCH_ENVIRONMENT) -> Path:
    """A project declaring ``backends`` (name -> ``module:Class``), an environment.toml beside each module."""
    lines = [
        "[project]",
        f'name = "{folder.name}"',
        "",
        '[project.entry-points."cnn_chapter_reference.backends"]',
    ]
    lines += [f'{name} = "{value}"' for name, value in backends.items()]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("\n".join(lines) + "\n")
    for value in backends.values():
        module = value.partition(":")[0].split(".")
        package = folder.joinpath(*module[:-1])
        package.mkdir(parents=True, exist_ok=True)
        (package / f"{module[-1]}.py").write_text("")
        (package / "environment.toml").write_text(environment)
    return folder


@pytest.fixture(autouse=True)
def no_plugin_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(plugin_paths.PLUGINS_VARIABLE, raising=False)


def test_read_environment_with_gpu_alternative(tmp_path: Path) -> None:
    path = tmp_path / "environment.toml"
    path.write_text(
        'framework = "mxnet"\ngpu = "mxnet-cu112==1.9.1 numpy<1.24"\n\n'
        '[[packages]]\nrequirement = "mxnet==1.9.1"\nreason = "last release"\n\n'
        '[[packages]]\nrequirement = "numpy<1.24"\nreason = "np.bool"\n'
    )
    environment = read_environment(path)
    assert environment == BackendEnvironment(
        framework="mxnet",
        packages=(Requirement("mxnet==1.9.1", "last release"), Requirement("numpy<1.24", "np.bool")),
        gpu="mxnet-cu112==1.9.1 numpy<1.24",
    )
    assert environment.requirements() == ("mxnet==1.9.1", "numpy<1.24")
    assert environment.requirements(gpu=True) == ("mxnet-cu112==1.9.1", "numpy<1.24")


def test_gpu_request_without_gpu_list_keeps_the_packages(tmp_path: Path) -> None:
    path = tmp_path / "environment.toml"
    path.write_text(TORCH_ENVIRONMENT)
    assert read_environment(path).requirements(gpu=True) == ("torch==2.13.0",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[packages]]\nrequirement = "torch"\nreason = "r"\n', "missing 'framework'"),
        (
            'framework = "torch"\n[[packages]]\nrequirement = "torch==2.13.0"\n',
            "packages\\[0\\] has no 'reason'",
        ),
        ('framework = "torch"\n[[packages]]\nreason = "r"\n', "packages\\[0\\] has no 'requirement'"),
        ('framework = "torch"\npins = ["torch"]\n', "unknown keys \\['pins'\\]"),
        (
            'framework = "torch"\n[[packages]]\nrequirement = "torch"\nreason = "r"\nwhy = "x"\n',
            "packages\\[0\\] has unknown keys \\['why'\\]",
        ),
        ('framework = ""\n', "'framework' must be a non-empty string"),
        ('framework = "torch"\npackages = ["torch"]\n', "'packages' must be \\[\\[packages\\]\\] tables"),
    ],
    ids=[
        "no-framework",
        "no-reason",
        "no-requirement",
        "unknown-key",
        "unknown-package-key",
        "empty",
        "list",
    ],
)
def test_read_environment_errors_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "environment.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        read_environment(path)
    assert str(path) in str(error.value)


def test_environment_file_is_beside_the_module(tmp_path: Path) -> None:
    assert environment_file(tmp_path, "backends.torch.adapter:TorchBackend") == (
        tmp_path / "backends" / "torch" / "environment.toml"
    )
    (tmp_path / "onnxrt").mkdir()
    (tmp_path / "onnxrt" / "__init__.py").write_text("")
    assert environment_file(tmp_path, "onnxrt:OnnxBackend") == tmp_path / "onnxrt" / "environment.toml"


def test_entry_points_reads_only_the_backend_group(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\n\n[project.entry-points.pytest11]\nx = "x.plugin"\n\n'
        '[project.entry-points."cnn_chapter_reference.backends"]\n'
        'torch = "backends.torch.adapter:TorchBackend"\n'
    )
    assert entry_points(tmp_path) == {"torch": "backends.torch.adapter:TorchBackend"}
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n')
    assert entry_points(tmp_path) == {}


def test_plugin_projects_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_project(tmp_path / "root", {})
    beta = write_project(root / "plugins" / "beta", {})
    alpha = write_project(root / "plugins" / "alpha", {})
    (root / "plugins" / "notes").mkdir()  # no pyproject.toml: not a project
    outside_1 = write_project(tmp_path / "outside1", {})
    outside_2 = write_project(tmp_path / "outside2", {})
    monkeypatch.setenv(
        plugin_paths.PLUGINS_VARIABLE, os.pathsep.join([str(outside_2), str(outside_1), str(alpha)])
    )
    assert plugin_projects(root) == [root, alpha, beta, outside_2, outside_1]


def test_plugin_variable_folder_without_pyproject_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path / "root", {})
    monkeypatch.setenv(plugin_paths.PLUGINS_VARIABLE, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"missing, which has no pyproject\.toml"):
        plugin_projects(root)


def test_discover_finds_in_tree_and_outside_backends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_project(tmp_path / "root", {"torch": "backends.torch.adapter:TorchBackend"})
    plugin = write_project(tmp_path / "alias", {"torchalias": "torchalias.adapter:TorchAliasBackend"})
    monkeypatch.setenv(plugin_paths.PLUGINS_VARIABLE, str(plugin))
    found = discover(root)
    assert list(found) == ["torch", "torchalias"]
    assert found["torch"].project == root
    assert found["torchalias"].project == plugin
    assert found["torchalias"].entry_point == "torchalias.adapter:TorchAliasBackend"
    assert found["torchalias"].environment.requirements() == ("torch==2.13.0",)


def test_discover_rejects_a_name_declared_twice(tmp_path: Path) -> None:
    root = write_project(tmp_path / "root", {"torch": "backends.torch.adapter:TorchBackend"})
    write_project(root / "plugins" / "other", {"torch": "other.adapter:Torch"})
    with pytest.raises(ValueError, match="'torch' is declared twice") as error:
        discover(root)
    assert str(root / "pyproject.toml") in str(error.value)
    assert str(root / "plugins" / "other" / "pyproject.toml") in str(error.value)


def test_discover_needs_the_environment_file(tmp_path: Path) -> None:
    root = write_project(tmp_path / "root", {"torch": "backends.torch.adapter:TorchBackend"})
    (root / "backends" / "torch" / "environment.toml").unlink()
    with pytest.raises(FileNotFoundError, match=r"environment\.toml"):
        discover(root)


def test_imports_only_the_standard_library() -> None:
    """The noxfile loads this module in nox's Python, where neither NumPy nor the project is installed."""
    tree = ast.parse(Path(plugin_paths.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported - {"__future__"} <= sys.stdlib_module_names
