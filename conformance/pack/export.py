"""Write the pack: every named case of every op spec and a seeded sample of generated ones.

Cases are those of the conformance suite (:func:`conformance.specs.all_cases`:
each spec's named cases and their half-precision mirrors, bfloat16 excepted, then
the pairwise-covering cases of its adversarial space), forward and VJP functions
alike, followed by the generated sample:
for each op, ``per_op`` rows of its adversarial :class:`~conformance.space.Space`,
each factor's level and the case's seed drawn by
``numpy.random.default_rng([seed, crc32(op)])`` (not by Hypothesis, whose draws
depend on its version), built as the suite builds them (ids ``hyp-<function>-<levels>-<seed>``).
An op's sample does not depend on which other ops are exported.

Each case's inputs are written as the suite makes them, in C order (its memory
layout is recorded, not reproduced); the reference's outputs and each output's bound as
:mod:`conformance.runner` computes them. A reduction or relative bound also
records its terms (:class:`conformance.tolerance.BoundTerms`) when they
reproduce the bound array exactly; otherwise (``sigmoid_vjp`` adds a flushed
term) only the array is the bound, with a note. A case whose keyword
arguments JSON cannot hold is listed under ``skipped`` with the reason.
The same code gives the same bytes: sorted keys, no timestamps, version 1.0
``.npy`` headers, and every NaN of an output, bound or magnitude the positive quiet NaN.
"""

from __future__ import annotations

import json
import shutil
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from conformance.cases import ADVERSARIAL, Case
from conformance.pack.layout import (
    CHECKSUMS,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    SCHEMA,
    SCHEMA_SOURCE,
    case_dir,
    clear,
    dump_json,
    files,
    validate_manifest,
    write_checksums,
    write_npy,
)
from conformance.spec import OpSpec
from conformance.specs import SPECS, all_cases, function, unique
from conformance.tolerance import ELEMENTARY_ULPS, LAMBDA, Bound, BoundTerms, Exact, recording_terms

PER_OP = 4  # generated rows per op (each gives the forward and the VJP case)
SEED = 0
COMPARISON = {
    "shape_dtype": "the output's shape and dtype equal the expected array's",
    "non_finite": "NaN where the expected value is NaN (any NaN); the same infinity, sign included,"
    " where it is infinite; a finite value where it is finite",
    "exact": "finite values bit for bit; -0.0 differs from +0.0 where 'signed' is true (or true in its mask)",
    "elementwise": "|output - expected| <= bound in float64 where the expected value is finite;"
    " a NaN bound accepts no error",
    "ratio": "the worst |output - expected| / bound over an output (0 for exact outputs)",
}
TOLERANCE = {
    "lambda": LAMBDA,
    "elementary_ulps": ELEMENTARY_ULPS,
    "reduction": "(gamma_d(n) + gamma_64(n) + u) * |magnitude| + n * tiny",
    "relative": "(relative + u) * |magnitude| + tiny",
    "gamma": "min(n u / (1 - n u), expm1(lambda sqrt(n) u + n u^2 / (1 - u)))",
    "source": "conformance/tolerance.py and each op's bound in conformance/specs",
}


@dataclass(frozen=True)
class Exported:
    """What :func:`export` wrote: the pack's digest (sha256 of SHA256SUMS), cases, files, bytes, seconds."""

    digest: str
    cases: int
    skipped: int
    files: int
    bytes: int
    seconds: float


def generated_sample(spec: OpSpec, per_op: int, seed: int) -> list[Case]:
    """``per_op`` rows of ``spec``'s adversarial space, drawn by a NumPy generator (module docstring)."""
    if spec.space is None:
        return []
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode())])
    cases: list[Case] = []
    for _ in range(per_op):
        levels = {name: values[int(rng.integers(len(values)))] for name, values in spec.space.factors}
        cases += spec.space.build(levels, int(rng.integers(2**31)), ADVERSARIAL)
    return cases


def pack_cases(ops: Sequence[str] | None = None, per_op: int = PER_OP, seed: int = SEED) -> list[Case]:
    """The named cases of the ops ``ops`` (None: every op spec), then their generated sample."""
    unknown = sorted(set(ops or ()) - set(SPECS))
    if unknown:
        raise ValueError(f"ops must be op specs ({', '.join(SPECS)}), got {unknown}")
    chosen = [spec for name, spec in SPECS.items() if ops is None or name in ops]
    names = {spec.name for spec in chosen}
    # bfloat16 stays out: .npy has no bfloat16 type (NumPy writes ml_dtypes' as raw 2-byte records).
    cases = [case for case in all_cases() if function(case.op)[0].name in names and case.dtype != "bfloat16"]
    cases += [case for spec in chosen for case in generated_sample(spec, per_op, seed)]
    unique([case.id for case in cases], "pack case")
    return cases


def canonical_nans(array: np.ndarray) -> np.ndarray:
    """``array`` with every NaN the positive quiet NaN: its sign and payload, which the comparison
    ignores, differ between NumPy versions (NumPy 1.23 and 2.x wrote 5 of 9771 files differently)."""
    if array.dtype.kind != "f" or not np.isnan(array).any():
        return array
    return np.where(np.isnan(array), np.array(np.nan, dtype=array.dtype), array)


def _terms(bound: np.ndarray, recorded: list[BoundTerms], folder: Path, name: str) -> dict[str, Any] | None:
    """The recorded terms that reproduce ``bound`` exactly (magnitude written beside it), or None."""
    for terms in recorded:
        if terms.bound.size != bound.size:
            continue
        magnitude = terms.magnitude.reshape(bound.shape)
        rebuilt = terms.coefficient * np.abs(magnitude) + terms.addend
        if np.array_equal(rebuilt, bound, equal_nan=True):
            write_npy(folder / f"{name}.magnitude.npy", canonical_nans(magnitude))
            return {"formula": terms.formula, "coefficient": terms.coefficient, "addend": terms.addend,
                    "parts": dict(terms.parts)}  # fmt: skip
    return None


def _bound_entry(
    bound: Bound, expected: np.ndarray, recorded: list[BoundTerms], root: Path, case_id: str, name: str
) -> dict[str, Any]:
    folder = root / case_dir(case_id) / "bounds"
    relative = f"{case_dir(case_id)}/bounds/{name}"
    if isinstance(bound, Exact):
        signed = np.broadcast_to(np.asarray(bound.signed, dtype=bool), expected.shape)
        if signed.all() or not signed.any():
            return {"kind": "exact", "signed": bool(signed.all())}
        write_npy(folder / f"{name}.signed.npy", signed)
        return {"kind": "exact", "signed": f"{relative}.signed.npy"}
    array = np.broadcast_to(np.asarray(bound, dtype=np.float64), expected.shape)
    write_npy(folder / f"{name}.npy", canonical_nans(array))
    terms = _terms(array, recorded, folder, name)
    entry: dict[str, Any] = {"kind": "elementwise", "file": f"{relative}.npy", "terms": terms}
    if terms is None:
        entry["note"] = "the bound array only: its formula is the op's bound in conformance/specs"
    else:
        terms["magnitude"] = f"{relative}.magnitude.npy"
    return entry


def _array_entry(root: Path, relative: str, name: str, array: np.ndarray) -> dict[str, Any]:
    write_npy(root / relative, array)
    return {"name": name, "file": relative, "shape": list(array.shape), "dtype": str(array.dtype)}


def case_entry(case: Case, root: Path) -> dict[str, Any]:
    """Write ``case``'s arrays under ``root`` and return its manifest entry."""
    kwargs = json.loads(json.dumps(case.kw, allow_nan=False))
    spec, spec_function = function(case.op)
    arrays = case.arrays()
    with np.errstate(all="ignore"), recording_terms() as recorded:  # as conformance.runner computes them
        value = spec_function.reference(*arrays, **case.kw)
        bounds = spec_function.bound(arrays, case.kw, np.dtype(case.dtype))
    expected = value if isinstance(value, tuple) else (value,)
    folder = case_dir(case.id)
    inputs = [
        _array_entry(root, f"{folder}/inputs/{array_spec.name}.npy", array_spec.name, array)
        | {"fill": array_spec.fill, "layout": array_spec.layout}
        for array_spec, array in zip(case.inputs, arrays, strict=True)
    ]
    outputs = [
        _array_entry(root, f"{folder}/expected/{name}.npy", name, canonical_nans(np.asarray(value)))
        | {"bound": _bound_entry(bound, np.asarray(value), recorded, root, case.id, name)}
        for name, value, bound in zip(spec_function.outputs, expected, bounds, strict=True)
    ]
    return {"id": case.id, "op": spec.name, "function": case.op, "source": case.source, "dtype": case.dtype,
            "seed": case.seed, "call": case.call(), "inputs": inputs, "kwargs": kwargs,
            "outputs": outputs}  # fmt: skip


def export(root: Path, ops: Sequence[str] | None = None, per_op: int = PER_OP, seed: int = SEED) -> Exported:
    """Write the pack of ``ops`` (None: every op spec) into ``root``, replacing a pack already there.

    The manifest is validated against its schema before the checksums are written.
    """
    start = time.perf_counter()
    clear(root, CHECKSUMS)
    entries, skipped = [], []
    for case in pack_cases(ops, per_op, seed):
        try:
            json.dumps(case.kw, allow_nan=False)
        except (TypeError, ValueError) as error:
            skipped.append({"id": case.id, "reason": f"keyword arguments not JSON: {error}"})
            continue
        entries.append(case_entry(case, root))
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "project_version": metadata.version("cnn-chapter-reference"),
        "generated": {"per_op": per_op, "seed": seed, "method": "adversarial space rows, numpy default_rng"},
        "comparison": COMPARISON,
        "tolerance": TOLERANCE,
        "cases": entries,
        "skipped": skipped,
    }
    validate_manifest(manifest, root / MANIFEST)
    (root / MANIFEST).write_text(dump_json(manifest), encoding="utf-8", newline="\n")
    shutil.copyfile(SCHEMA_SOURCE, root / SCHEMA)
    digest = write_checksums(root)
    names = files(root)
    size = sum((root / name).stat().st_size for name in names)
    return Exported(digest, len(entries), len(skipped), len(names), size, time.perf_counter() - start)
