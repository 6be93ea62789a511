"""Framework adapters behind one interface (see :mod:`backends.base`).

>>> from backends import available, get_backend
>>> backend = get_backend("torch", device="auto")   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import importlib.util

from backends.base import Backend, UnsupportedError

# name -> (module, class, the framework's import name)
_REGISTRY: dict[str, tuple[str, str, str]] = {
    "torch": ("backends.torch_backend", "TorchBackend", "torch"),
    "tensorflow": ("backends.tensorflow_backend", "TensorFlowBackend", "tensorflow"),
    "mxnet": ("backends.mxnet_backend", "MXNetBackend", "mxnet"),
    "jax": ("backends.jax_backend", "JaxBackend", "jax"),
}

__all__ = ["Backend", "UnsupportedError", "available", "get_backend", "known", "register"]


def known() -> tuple[str, ...]:
    """Every registered backend name, installed or not."""
    return tuple(_REGISTRY)


def available() -> tuple[str, ...]:
    """The registered backends whose framework is installed in this environment."""
    return tuple(
        name
        for name, (module, _, framework) in _REGISTRY.items()
        if importlib.util.find_spec(framework) is not None and importlib.util.find_spec(module) is not None
    )


def register(name: str, module: str, class_name: str, framework: str) -> None:
    """Add (or replace) a backend: ``module.class_name`` wraps the framework ``framework``."""
    _REGISTRY[name] = (module, class_name, framework)


def get_backend(name: str, device: str = "auto") -> Backend:
    """An adapter instance. ``device``: ``"auto"`` (the GPU when the framework
    sees one, else the CPU), ``"cpu"``, ``"gpu"`` or a framework device string
    such as ``"cuda:1"``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r}; known backends: {', '.join(_REGISTRY)}")
    module, class_name, framework = _REGISTRY[name]
    if importlib.util.find_spec(framework) is None:
        raise ModuleNotFoundError(
            f"backend {name!r} needs the framework {framework!r}, which is not installed here"
            f" (nox -s conformance-{name} makes an environment with it)"
        )
    return getattr(importlib.import_module(module), class_name)(device=device)
