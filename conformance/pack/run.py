"""Compute a pack's outputs with a registered backend of this project, in the pack's layout.

Each case is called as the suite calls it (``backend.<function>(*inputs, **kwargs)``,
JSON arrays as tuples) on the inputs read from the pack. A case the backend
raises :class:`~backends.base.UnsupportedError` for is not computed, another
exception a failed call; both are written to ``OUTPUTS/index.json``
(:mod:`conformance.pack.verify`) with the message.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import backends
from backends.base import UnsupportedError
from conformance.pack.layout import (
    INDEX,
    clear,
    dump_json,
    load_manifest,
    output_path,
    read_checked_npy,
    sha256,
    write_npy,
)


class BackendUnavailableError(Exception):
    """The backend named cannot run here: unknown, its framework not installed, or an unknown device."""


def tuples(value: Any) -> Any:
    """The manifest's JSON arrays as the tuples they stand for, recursively."""
    return tuple(map(tuples, value)) if isinstance(value, list) else value


def run(pack: Path, outputs: Path, backend_name: str, device: str = "auto") -> Counter[str]:
    """Write ``backend_name``'s outputs of every case of ``pack`` into ``outputs`` (replacing earlier ones).

    Returns the counts of ``computed``, ``not_computed`` and ``failed`` cases; a progress bar
    on stderr. :class:`BackendUnavailableError` for an unknown backend, one whose framework is
    not installed here, or an unknown device.
    """
    manifest = load_manifest(pack)
    try:
        backend = backends.get_backend(backend_name, device=device)
    except (ValueError, ModuleNotFoundError) as error:  # unknown name, framework or device
        raise BackendUnavailableError(f"backend {backend_name!r}: {error}") from None
    clear(outputs, INDEX)
    index = {"pack": sha256(pack / "SHA256SUMS"), "implementation": backend.environment(),
             "not_computed": {}, "failed": {}}  # fmt: skip
    counts: Counter[str] = Counter()
    for case in tqdm(manifest["cases"], desc=backend_name, unit="case", mininterval=1.0):
        arrays = [read_checked_npy(pack, entry) for entry in case["inputs"]]
        kwargs = {name: tuples(value) for name, value in case["kwargs"].items()}
        try:
            with np.errstate(all="ignore"):
                value = getattr(backend, case["function"])(*arrays, **kwargs)
        except UnsupportedError as error:
            index["not_computed"][case["id"]] = f"unsupported: {error}"
            counts["not_computed"] += 1
            continue
        except Exception as error:
            index["failed"][case["id"]] = f"{type(error).__name__}: {error}"
            counts["failed"] += 1
            continue
        values = value if isinstance(value, tuple) else (value,)
        if len(values) != len(case["outputs"]):
            index["failed"][case["id"]] = f"{len(values)} outputs, the pack has {len(case['outputs'])}"
            counts["failed"] += 1
            continue
        for output, array in zip(case["outputs"], values, strict=True):
            write_npy(output_path(outputs, case["id"], output["name"]), np.asarray(array))
        counts["computed"] += 1
    (outputs / INDEX).write_text(dump_json(index), encoding="utf-8")
    return counts
