"""The pack's files: paths, ``.npy`` reading and writing, checksums, and the manifest with its schema.

Layout of a pack ``DIR`` (every path in the manifest is relative to ``DIR``, ``/``-separated)::

    manifest.json            the cases (schema: manifest.schema.json)
    manifest.schema.json     a copy of conformance/pack/manifest.schema.json
    cases/<id>/inputs/<name>.npy       the case's input arrays, C order
    cases/<id>/expected/<name>.npy     the reference's outputs
    cases/<id>/bounds/<name>.npy       an output's elementwise bound (float64)
    cases/<id>/bounds/<name>.magnitude.npy   the magnitude the bound was built from
    cases/<id>/bounds/<name>.signed.npy      an exact output's signed-zero mask (bool)
    SHA256SUMS               ``<sha256>  <path>`` for every other file, sorted by path

An implementation's outputs go to ``OUTPUTS/cases/<id>/<output>.npy``, and
optionally ``OUTPUTS/index.json`` declares the cases it did not compute
(:mod:`conformance.pack.verify`). Every problem with a file is a
:class:`PackError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np

FORMAT = "cnn-chapter-reference-pack"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SCHEMA = "manifest.schema.json"
CHECKSUMS = "SHA256SUMS"
INDEX = "index.json"  # an implementation's outputs: the cases it did not compute, and why
SCHEMA_SOURCE = Path(__file__).with_name(SCHEMA)


class PackError(Exception):
    """A pack or an outputs folder that cannot be used: the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)


def case_dir(case_id: str) -> str:
    """The folder of a case, relative to a pack or an outputs folder."""
    return f"cases/{case_id}"


def output_path(outputs: Path, case_id: str, name: str) -> Path:
    """Where an implementation writes output ``name`` of case ``case_id``."""
    return outputs / case_dir(case_id) / f"{name}.npy"


def clear(root: Path, marker: str) -> None:
    """Make ``root`` an empty folder; refuse to empty one that lacks ``marker`` (not ours to delete)."""
    if root.exists() and any(root.iterdir()):
        if not (root / marker).is_file():
            raise PackError(root, f"not empty and has no {marker}: refusing to overwrite it")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)


def write_npy(path: Path, array: np.ndarray) -> None:
    """``array`` as a version 1.0 ``.npy`` file in C order: the same array gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        np.lib.format.write_array(file, np.array(array, order="C"), version=(1, 0), allow_pickle=False)


def read_npy(path: Path) -> np.ndarray:
    """A ``.npy`` file's array (no pickles); :class:`PackError` on a missing, foreign or truncated one."""
    try:
        with path.open("rb") as file:
            version = np.lib.format.read_magic(file)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0}.get(
                version, np.lib.format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(file)
            data = file.read()
    except FileNotFoundError:
        raise PackError(path, "missing") from None
    except (ValueError, OSError, EOFError) as error:
        raise PackError(path, f"not a .npy file ({error})") from None
    if dtype.hasobject:
        raise PackError(path, f"holds Python objects (dtype {dtype}), not numbers")
    size = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if len(data) != size:
        problem = "truncated" if len(data) < size else "has trailing bytes"
        raise PackError(path, f"{problem}: {len(data)} data bytes, shape {shape} {dtype} needs {size}")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran_order else "C").copy()


def read_checked_npy(root: Path, entry: dict[str, Any]) -> np.ndarray:
    """The array of a manifest entry (``file``, ``shape``, ``dtype``), which must match them."""
    path = root / entry["file"]
    array = read_npy(path)
    if list(array.shape) != entry["shape"] or array.dtype != np.dtype(entry["dtype"]):
        raise PackError(
            path,
            f"holds {array.dtype}{list(array.shape)}, the manifest says {entry['dtype']}{entry['shape']}",
        )
    return array


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(root: Path) -> list[str]:
    """Every file under ``root``, as sorted ``/``-separated relative paths."""
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def write_checksums(root: Path) -> str:
    """Write ``root/SHA256SUMS`` over every other file; return its own sha256 (the pack's digest)."""
    lines = [f"{sha256(root / name)}  {name}\n" for name in files(root) if name != CHECKSUMS]
    (root / CHECKSUMS).write_text("".join(lines), encoding="ascii", newline="\n")
    return sha256(root / CHECKSUMS)


def check_checksums(root: Path) -> str:
    """Check every file of the pack against ``SHA256SUMS`` and return the pack's digest.

    :class:`PackError` on a malformed line, a listed file that is missing or
    whose checksum differs (truncated, where a ``.npy`` file is; else corrupted),
    or a file that is not listed (foreign).
    """
    listing = root / CHECKSUMS
    if not listing.is_file():
        raise PackError(listing, "missing: not a conformance pack")
    listed: dict[str, str] = {}
    for number, line in enumerate(listing.read_text(encoding="ascii", errors="replace").splitlines(), 1):
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise PackError(listing, f"line {number} is not '<sha256>  <path>': {line[:80]!r}")
        listed[name] = digest
    for name in files(root):
        if name != CHECKSUMS and name not in listed:
            raise PackError(root / name, f"foreign file: not listed in {CHECKSUMS}")
    for name, digest in listed.items():
        path = root / name
        if not path.is_file():
            raise PackError(path, f"missing: listed in {CHECKSUMS}")
        if sha256(path) != digest:
            if name.endswith(".npy"):
                read_npy(path)  # a truncated or unreadable array says so
            raise PackError(path, f"corrupted: its sha256 differs from the one in {CHECKSUMS}")
    return sha256(listing)


def schema() -> dict[str, Any]:
    """The manifest's JSON Schema (draft 2020-12) of this version."""
    return json.loads(SCHEMA_SOURCE.read_text(encoding="utf-8"))


def validate_manifest(manifest: Any, path: Path) -> None:
    """:class:`PackError` naming ``path`` and the first violation unless ``manifest`` fits the schema."""
    validator = jsonschema.Draft202012Validator(schema())
    error = next(iter(sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise PackError(path, f"does not fit {SCHEMA} at {where}: {error.message[:300]}")


def dump_json(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, no NaN, one trailing newline."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"


def load_json(path: Path) -> Any:
    """A JSON file's value; :class:`PackError` on a missing or unparsable one."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackError(path, "missing") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise PackError(path, f"not JSON ({error})") from None


def load_manifest(root: Path) -> dict[str, Any]:
    """The pack's checked manifest: checksums, schema copy, format version and schema all verified."""
    check_checksums(root)
    if (root / SCHEMA).read_bytes() != SCHEMA_SOURCE.read_bytes():
        raise PackError(root / SCHEMA, "differs from this version's schema (a pack of another version?)")
    manifest = load_json(root / MANIFEST)
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version != FORMAT_VERSION:
        raise PackError(root / MANIFEST, f"format_version {version!r}; this version reads {FORMAT_VERSION}")
    validate_manifest(manifest, root / MANIFEST)
    return manifest
