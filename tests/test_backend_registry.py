"""Device selection and the backend registry (entry points), without any framework installed."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import backends
from backends.devices import resolve_device
from backends.plugin_paths import ENTRY_POINT_GROUP

ROOT = Path(__file__).resolve().parent.parent
IN_TREE = {
    "torch": "backends.torch.adapter:TorchBackend",
    "tensorflow": "backends.tensorflow.adapter:TensorFlowBackend",
    "mxnet": "backends.mxnet.adapter:MXNetBackend",
    "jax": "backends.jax.adapter:JaxBackend",
}
# Every backend folder holds these; ``ops.py`` is the one optional module, the same name wherever
# a folder's adapter and LeNet share framework code (jax, mxnet).
FOLDER_FILES = {"__init__.py", "adapter.py", "lenet.py", "plain_loop.py", "probes.py", "export.py",
                "environment.toml"}  # fmt: skip
# ops.py: a framework's own op helpers; data_parallel.py: where the framework has data-parallel LeNet
# (the others declare the gap, conformance/known_gaps.toml); known_gaps.toml: a backend's own
# declared gaps (conformance/known_gaps.py), where it has any.
OPTIONAL_FILES = {"ops.py", "data_parallel.py", "known_gaps.toml"}
# A pip requirement that pins: a project name, optional extras, then a version specifier.
PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[a-z0-9,-]+\])?\s*(==|~=|<=|>=|<|!=)\s*\d")


@pytest.mark.parametrize(
    ("requested", "gpus", "expected"),
    [
        ("auto", 0, "cpu"),
        ("auto", 1, "cuda:0"),
        ("cpu", 2, "cpu"),
        ("gpu", 1, "cuda:0"),
        ("cuda", 2, "cuda:0"),
        ("cuda:1", 2, "cuda:1"),
    ],
)
def test_resolve_device(requested: str, gpus: int, expected: str) -> None:
    assert resolve_device(requested, gpus, "cuda") == expected


@pytest.mark.parametrize(
    ("requested", "gpus", "message"),
    [
        ("gpu", 0, "0 GPU"),
        ("cuda:2", 2, "0 GPU|2 GPU"),
        ("tpu", 1, "device must be"),
        ("cuda:x", 1, "device must be"),
    ],
)
def test_resolve_device_rejects(requested: str, gpus: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_device(requested, gpus, "cuda")


# -- the in-tree backends --------------------------------------------------------------------
def test_pyproject_declares_exactly_the_four_in_tree_backends() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["entry-points"][ENTRY_POINT_GROUP] == IN_TREE


def test_registered_backends_are_the_in_tree_ones() -> None:
    assert backends.known() == ("jax", "mxnet", "tensorflow", "torch")


def _class_attributes(entry_point_value: str) -> dict[str, str]:
    """The string class attributes of the class an entry point names, read from its source."""
    module, _, class_name = entry_point_value.partition(":")
    source = Path(importlib.util.find_spec(module).origin).read_text()
    (cls,) = (
        node for node in ast.parse(source).body if isinstance(node, ast.ClassDef) and node.name == class_name
    )
    return {
        target.id: node.value.value
        for node in cls.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


@pytest.mark.parametrize(("name", "value"), IN_TREE.items())
def test_entry_point_names_a_class_with_that_name(name: str, value: str) -> None:
    attributes = _class_attributes(value)
    assert attributes["name"] == name
    assert attributes["framework"] == backends.environment(name).framework


@pytest.mark.parametrize("name", IN_TREE)
def test_environment_pins_each_package_with_a_reason(name: str) -> None:
    environment = backends.environment(name)
    assert environment.framework == name  # in-tree backends are named after the framework they import
    assert environment.packages
    for package in environment.packages:
        assert PINNED.match(package.requirement), package.requirement
        assert package.reason.strip(), package.requirement


def test_mxnet_environment_keeps_numpy_below_1_24() -> None:
    # DESIGN: MXNet 1.9.1 fails to import with NumPy >= 1.24 (np.bool).
    assert "numpy<1.24" in backends.environment("mxnet").requirements()


@pytest.mark.parametrize("name", IN_TREE)
def test_backend_folder_holds_the_common_file_names(name: str) -> None:
    folder = backends.backend_folder(name)
    assert folder == ROOT / "backends" / name
    files = {path.name for path in folder.iterdir() if path.is_file()}
    assert files >= FOLDER_FILES, f"{folder} lacks {sorted(FOLDER_FILES - files)}"
    assert files - FOLDER_FILES <= OPTIONAL_FILES, f"{folder} has {sorted(files - FOLDER_FILES)}"


def test_registry_and_folders_import_no_framework() -> None:
    script = (
        "import sys, backends, backends.torch, backends.tensorflow, backends.mxnet, backends.jax\n"
        "for name in backends.known():\n"
        "    backends.environment(name), backends.backend_folder(name)\n"
        "backends.available()\n"
        "print(sorted({'torch', 'tensorflow', 'mxnet', 'jax'} & set(sys.modules)))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_unknown_backend_is_named_with_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=r"unknown backend 'caffe'; known backends: jax, mxnet, tensorflow, torch"
    ):
        backends.get_backend("caffe")
    with pytest.raises(ValueError, match=r"unknown backend 'caffe'"):
        backends.environment("caffe")


# -- a plugin outside the tree, registered by a fake entry point -------------------------------
GHOST_ADAPTER = """
from backends.base import Backend


class GhostBackend(Backend):
    name = "ghost"
    framework = "no_such_framework_xyz"

    def __init__(self, device="auto"):
        super().__init__()
        self.device = device

    def lenet(self, variant="chapter", dtype="float32"):
        raise NotImplementedError

    def prepare(self, op, *arrays, backward=False, dY=None, **kwargs):
        raise NotImplementedError
"""
GHOST_ENVIRONMENT = """
framework = "no_such_framework_xyz"

[[packages]]
requirement = "no-such-framework-xyz==1.0"
reason = "a test's plugin"
"""


@pytest.fixture
def ghost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A plugin package ``ghost_plugin`` (adapter, plain_loop, environment.toml) registered as ``ghost``."""
    folder = tmp_path / "ghost_plugin"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "adapter.py").write_text(GHOST_ADAPTER)
    (folder / "plain_loop.py").write_text("EPOCH = 'ghost'\n")
    (folder / "environment.toml").write_text(GHOST_ENVIRONMENT)
    monkeypatch.syspath_prepend(str(tmp_path))
    _register(monkeypatch, ghost="ghost_plugin.adapter:GhostBackend")
    yield folder
    for module in ("ghost_plugin", "ghost_plugin.adapter", "ghost_plugin.plain_loop"):
        sys.modules.pop(module, None)


def _register(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    """Make ``importlib.metadata.entry_points`` report ``extra`` (name=value) beside the installed ones."""
    installed = importlib.metadata.entry_points

    def entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
        added = [importlib.metadata.EntryPoint(name, value, group) for name, value in extra.items()]
        return [*installed(group=group), *added]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


def test_plugin_without_its_framework_is_known_not_available(ghost: Path) -> None:
    assert backends.known() == ("ghost", "jax", "mxnet", "tensorflow", "torch")
    assert "ghost" not in backends.available()
    assert backends.backend_folder("ghost") == ghost
    assert backends.environment("ghost").framework == "no_such_framework_xyz"
    with pytest.raises(ModuleNotFoundError, match=r"'no_such_framework_xyz'.*nox -s conformance-ghost"):
        backends.get_backend("ghost")
    assert "ghost_plugin.adapter" not in sys.modules  # refused before its adapter was imported


def test_a_name_registered_twice_with_two_classes_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _register(monkeypatch, torch="elsewhere.adapter:TorchBackend")
    with pytest.raises(ValueError, match=r"'torch' is registered twice"):
        backends.known()


def test_get_backend_takes_a_class_path(ghost: Path) -> None:
    backend = backends.get_backend("ghost_plugin.adapter:GhostBackend", device="cpu")
    assert type(backend).__name__ == "GhostBackend" and backend.device == "cpu"
    with pytest.raises(TypeError, match="not a Backend subclass"):
        backends.get_backend("ghost_plugin.plain_loop:EPOCH")


def test_folder_module_walks_the_method_resolution_order(ghost: Path) -> None:
    from ghost_plugin.adapter import GhostBackend

    class DerivedGhost(GhostBackend):
        """A plugin's subclass defined here: the tests package has no plain_loop of its own."""

    loop = backends.folder_module(DerivedGhost, "plain_loop")
    assert loop.EPOCH == "ghost" and loop.__file__ == str(ghost / "plain_loop.py")
    assert backends.folder_module(DerivedGhost(device="cpu"), "plain_loop") is loop
    with pytest.raises(ModuleNotFoundError, match=r"no module 'probes' in the folder of DerivedGhost"):
        backends.folder_module(DerivedGhost, "probes")
