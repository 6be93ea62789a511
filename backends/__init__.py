"""Framework adapters behind one interface (see :mod:`backends.base`), found through entry points
(see :mod:`backends.registry`).

>>> from backends import available, get_backend
>>> backend = get_backend("torch", device="auto")   # doctest: +SKIP
"""

from __future__ import annotations

from backends.base import Backend, UnsupportedError
from backends.registry import (
    available,
    backend_class,
    backend_folder,
    environment,
    folder_module,
    get_backend,
    known,
)

__all__ = [
    "Backend",
    "UnsupportedError",
    "available",
    "backend_class",
    "backend_folder",
    "environment",
    "folder_module",
    "get_backend",
    "known",
]
