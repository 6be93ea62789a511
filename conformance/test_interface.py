"""The adapter exposes every public name of the reference with the same signature."""

from __future__ import annotations

import inspect

import pytest

import reference


@pytest.mark.parametrize("name", reference.__all__)
def test_adapter_has_the_reference_signature(backend, name: str) -> None:
    assert hasattr(backend, name), f"{backend.name} lacks {name}"
    expected = inspect.signature(getattr(reference, name))
    actual = inspect.signature(getattr(backend, name))
    assert list(actual.parameters) == list(expected.parameters), f"{name}{actual} != {name}{expected}"
    defaults = {k: p.default for k, p in actual.parameters.items()}
    assert defaults == {k: p.default for k, p in expected.parameters.items()}


def test_environment_is_reported(backend) -> None:
    env = backend.environment()
    assert env["backend"] == backend.name
    assert env["framework_version"] and env["device"] and env["precision"]
