"""Device selection and the backend registry, without any framework installed."""

from __future__ import annotations

import pytest

import backends
from backends.devices import resolve_device


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


def test_unknown_backend_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown backend 'caffe'.*torch"):
        backends.get_backend("caffe")


def test_backend_without_its_framework_says_how_to_get_it() -> None:
    backends.register("ghost", "backends.ghost_backend", "GhostBackend", "no_such_framework_xyz")
    try:
        assert "ghost" not in backends.available()
        with pytest.raises(ModuleNotFoundError, match=r"no_such_framework_xyz.*nox -s conformance-ghost"):
            backends.get_backend("ghost")
    finally:
        backends._REGISTRY.pop("ghost")


def test_every_framework_backend_is_known() -> None:
    assert set(backends.known()) >= {"torch", "tensorflow", "mxnet", "jax"}
