"""Conformance cases as data: small frozen records with readable ids.

A :class:`Case` names a reference function, the specification of its input
arrays (shape, dtype and how to fill them, so the record prints a summary, not
data) and its keyword arguments. It round-trips through JSON
(:meth:`Case.to_json`, :meth:`Case.from_json`), so a generated case can be
replayed exactly, and says which command reruns it (:meth:`Case.rerun`). The
cases themselves live with their op's spec (:mod:`conformance.specs`).
"""

from __future__ import annotations

import itertools
import json
import shlex
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from hypothesis.strategies import SearchStrategy

from conformance.adversarial import ADVERSARIAL_FILLS, fill_values, lay_out
from reference.dtypes import HALF_DTYPES, round_to

DTYPES = ("float32", "float64")
HALF = ("float16", "bfloat16")  # mirrored from float32 cases (conformance/half.py)
SUFFIXES = {"float64": "f64", "float32": "f32", "float16": "f16", "bfloat16": "bf16"}
GENERATED = "hypothesis"  # the source of generated cases: not test items of their own
ADVERSARIAL = "adversarial"  # the source of cases drawn from an op's adversarial space
DRAWN = (GENERATED, ADVERSARIAL)  # cases Hypothesis draws: replayed from their JSON


@dataclass(frozen=True)
class ArraySpec:
    """How to make one input array.

    ``fill``: ``"normal"`` (standard normal), ``"ties"`` (integers 0..2, so
    windows hold repeated maxima), ``"nan"`` / ``"inf"`` (normal with a few NaN or
    +-Inf entries), ``"labels:K"`` (int64 in [0, K)), ``"given"`` (``values``), or
    one of :data:`conformance.adversarial.ADVERSARIAL_FILLS`. ``layout``: the
    memory layout of the array (:data:`conformance.adversarial.LAYOUTS`); the
    values do not depend on it.
    """

    name: str
    shape: tuple[int, ...]
    fill: str = "normal"
    values: tuple | None = None
    dtype: str | None = None  # overrides the case's dtype (integer labels)
    layout: str = "C"

    def make(self, dtype: str, rng: np.random.Generator) -> np.ndarray:
        """The array in ``dtype``; a half dtype draws float64 values and rounds them once,
        so every ml_dtypes version gives the same bfloat16 inputs."""
        drawn_in_float64 = self.fill not in ADVERSARIAL_FILLS and not self.fill.startswith("labels:")
        if np.dtype(dtype) in HALF_DTYPES and self.dtype is None and drawn_in_float64:
            return lay_out(round_to(self._values("float64", rng), dtype), self.layout)
        return lay_out(self._values(dtype, rng), self.layout)

    def _values(self, dtype: str, rng: np.random.Generator) -> np.ndarray:
        if self.fill in ADVERSARIAL_FILLS:
            return fill_values(self.fill, self.shape, dtype, rng)
        if self.fill == "given":
            return np.asarray(self.values, dtype=self.dtype or dtype)
        if self.fill.startswith("labels:"):
            return rng.integers(0, int(self.fill.split(":")[1]), size=self.shape).astype(np.int64)
        if self.fill == "ties":
            return rng.integers(0, 3, size=self.shape).astype(dtype)
        array = rng.standard_normal(self.shape).astype(dtype)
        if self.fill in ("nan", "inf"):
            flat = array.reshape(-1)
            picks = rng.choice(flat.size, size=max(1, flat.size // 10), replace=False)
            specials = (np.nan,) if self.fill == "nan" else (np.inf, -np.inf)
            flat[picks] = rng.choice(specials, size=picks.size)
        return array

    def summary(self) -> str:
        shape = "x".join(map(str, self.shape))
        fill = "" if self.fill == "normal" else " " + self.fill
        layout = "" if self.layout == "C" else f" {self.layout}"
        return f"{self.name}[{shape}{fill}{layout}]"


@dataclass(frozen=True)
class Case:
    """One call of a reference op: ``op(*inputs, **kwargs)`` in ``dtype``."""

    id: str
    op: str
    inputs: tuple[ArraySpec, ...]
    kwargs: tuple[tuple[str, Any], ...] = ()
    dtype: str = "float64"
    seed: int = 0
    source: str = "grid"  # "chapter", "grid", "ties", "special", "pairwise" or one of DRAWN

    @property
    def kw(self) -> dict[str, Any]:
        return dict(self.kwargs)

    def arrays(self) -> list[np.ndarray]:
        """The input arrays, the same on every call (seeded)."""
        rng = np.random.default_rng(self.seed)
        return [spec.make(self.dtype, rng) for spec in self.inputs]

    def call(self) -> str:
        """A readable one-line call, e.g. ``conv2d(X[2x3x7x7], W[4x3x3x3], stride=2)``."""
        args = [spec.summary() for spec in self.inputs]
        args += [f"{k}={v!r}" for k, v in self.kwargs]
        return f"{self.op}({', '.join(args)}) {self.dtype}"

    def params(self) -> dict[str, Any]:
        """JSON-friendly parameters for the results file."""
        params: dict[str, Any] = {
            "inputs": {spec.name: list(spec.shape) for spec in self.inputs},
            "fills": {spec.name: spec.fill for spec in self.inputs if spec.fill != "normal"},
        }
        layouts = {spec.name: spec.layout for spec in self.inputs if spec.layout != "C"}
        if layouts:
            params["layouts"] = layouts
        return params | {k: _jsonable(v) for k, v in self.kwargs}

    def to_json(self) -> str:
        """The whole record as one line of JSON; :meth:`from_json` gives back an equal case."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Case:
        """The case :meth:`to_json` wrote (JSON lists become the record's tuples again)."""
        fields = json.loads(text)
        inputs = tuple(ArraySpec(**_tuples(spec)) for spec in fields.pop("inputs"))
        kwargs = tuple((name, _tuples(value)) for name, value in fields.pop("kwargs"))
        return cls(**fields, inputs=inputs, kwargs=kwargs)

    def rerun(self, backend: str) -> str:
        """The command that reruns exactly this case on ``backend``.

        A named case is a test item, selected by its name; a generated case is
        replayed from its JSON by ``conformance/test_replay.py``.
        """
        if self.source in DRAWN:
            replay = shlex.quote(self.to_json())
            return f"pytest conformance/test_replay.py --backend {backend} --replay {replay}"
        return rerun_item(backend, f"test_case[{self.id}]")


@dataclass(frozen=True)
class Generated:
    """An op spec's strategy of generated cases, named after the op, and the functions it draws."""

    name: str
    strategy: SearchStrategy[Case] | SearchStrategy[tuple[Case, ...]]
    functions: tuple[str, ...]


def jvp_twin(case: Case, jvp: str, tangents: tuple[str, ...]) -> Case:
    """The JVP call of a VJP case: its primal inputs (all but ``dY``; ``dloss`` dropped), then a
    standard normal tangent ``t<name>`` of each input named in ``tangents``, drawn after them
    (the primals keep their values). Id: the VJP's name replaced by ``jvp`` in the case's id."""
    primals = tuple(spec for spec in case.inputs if spec.name != "dY")
    tangent_specs = tuple(ArraySpec(f"t{spec.name}", spec.shape) for spec in primals if spec.name in tangents)
    name = case.id.replace(case.op, jvp, 1) if case.op in case.id else f"{jvp}-{case.id}"
    kwargs = tuple((key, value) for key, value in case.kwargs if key != "dloss")
    return Case(name, jvp, primals + tangent_specs, kwargs, case.dtype, case.seed, case.source)


def with_jvp_twins(
    cases: Callable[[], Iterable[Case]], vjp: str, jvp: str, tangents: tuple[str, ...]
) -> Callable[[], Iterator[Case]]:
    """``cases``, each case of ``vjp`` followed by its :func:`jvp_twin`."""

    def named() -> Iterator[Case]:
        for case in cases():
            yield case
            if case.op == vjp:
                yield jvp_twin(case, jvp, tangents)

    return named


def rerun_item(backend: str, item: str) -> str:
    """The command that runs the one conformance test item named ``item`` (its name, not node id)."""
    return f"pytest conformance --backend {backend} -k {shlex.quote(item)}"


def _tuples(value: Any) -> Any:
    """JSON's lists as tuples, recursively (dict values included)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return "x".join(_short(v) for v in value)
    return str(value)


def case_id(op: str, kwargs: dict[str, Any], dtype: str, tag: str = "") -> str:
    """A readable id: ``op``, each argument's first four letters and value, ``tag``, the dtype."""
    parts = [op, *(f"{k[:4]}{_short(v)}" for k, v in kwargs.items())]
    if tag:
        parts.append(tag)
    parts.append(suffix(dtype))
    return "-".join(parts)


def suffix(dtype: str) -> str:
    """The dtype's short name in case ids: ``f64``, ``f32``, ``f16`` or ``bf16``."""
    return SUFFIXES[dtype]


def given(name: str, values: Any) -> ArraySpec:
    """An input written out (float64 values; the case's dtype casts them)."""
    array = np.asarray(values, dtype=np.float64)
    return ArraySpec(name, array.shape, "given", _tuples(array.tolist()))


@dataclass
class Shapes:
    """Random sizes from one generator, and the seeds of the cases drawn with them."""

    rng: np.random.Generator
    seeds: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def size(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))
