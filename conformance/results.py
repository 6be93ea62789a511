"""Typed result records of every job, and the one versioned JSON envelope they travel in.

Each results file is ``{"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "kind": ...,
"environment": {...}, "records": [...]}`` (described by ``results.schema.json`` beside this
module), written by :func:`write_results` and read back by :func:`read_results`:

- ``conformance-<backend>.json`` (kind ``conformance``): one :class:`CaseResult` per case;
- ``bench-<backend>.json`` (kind ``benchmarks``): one :class:`BenchmarkResult` per benchmark;
- ``train/<runner>-<variant>/run.json`` (kind ``training``): one :class:`TrainingRun`;
- ``ddp-<backend>.json`` (kind ``data_parallel``): one :class:`DataParallelRun` per variant and
  process count;
- ``determinism-<backend>.json`` (kind ``determinism``): one :class:`DeterminismResult` per
  entry and switch setting.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

SCHEMA = "cnn-chapter-reference/results"
# 3: one "records" key for every kind (conformance files had "cases"), benchmark and training records.
SCHEMA_VERSION = 3
TRAINING_FILE = "run.json"  # in <out>/<runner>-<variant>/, beside curves.png and params.npz


class Status(StrEnum):
    """The outcome of one case.

    ``pass``: within its bound (or raising as the reference does). ``fail``: a
    wrong value, shape, exception or message. ``error``: the call raised where
    the reference returns. ``gap``: a declared known gap (``known_gaps.toml``)
    that failed as declared. ``fixed``: a declared gap that passed, which fails
    the run until its entry is removed.
    """

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    GAP = "gap"
    FIXED = "fixed"


@dataclass(frozen=True)
class CaseResult:
    """One case of one backend.

    ``id``: the case id (``-k`` selects it); ``op``: the public function (or LeNet
    check) it calls; ``params``: JSON-friendly arguments; ``worst_ratio``: the
    largest error-to-bound ratio over the outputs (0 for exact comparisons, None
    when nothing was compared); ``notes``: the emulations the adapter used;
    ``source``: where the case comes from (``chapter``, ``grid``, ``ties``,
    ``special``, ``pairwise``, ``hypothesis``, ``adversarial``, ``error``, ``lenet``,
    ``isolation``); ``gap`` and ``upstream``: the declared reason, and where it is
    tracked, when the case is a known gap;
    ``rerun``: a command that reruns exactly this case.
    """

    id: str
    op: str
    status: Status
    dtype: str = "-"
    source: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    device: str | None = None
    worst_ratio: float | None = None
    notes: tuple[str, ...] = ()
    message: str = ""
    gap: str = ""
    upstream: str = ""
    rerun: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (the status as its string)."""
        return _status_record_to_json(self, ("notes",))

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> CaseResult:
        """The inverse of :meth:`to_json`; a missing or unknown field raises ``ValueError``."""
        return _status_record_from_json(cls, record, ("notes",))


@dataclass(frozen=True)
class BenchmarkInfo:
    """What a benchmark measured, attached to pytest-benchmark's ``extra_info`` in one call:
    ``benchmark.extra_info.update(BenchmarkInfo(...).to_extra_info())``.

    Op benchmarks set ``backend``, ``op`` (the public function), ``workload`` (its
    size's name), ``pass_`` (``forward`` or ``forward+backward``), ``flops`` (per
    call) and ``check_ratio`` (the worst error-to-bound ratio of the checked call).
    LeNet epoch benchmarks set ``backend``, ``runner`` (``adapter`` or
    ``reference``), ``variant``, ``examples`` (per round), ``yardstick`` (the runner
    timed in turns with it), ``yardstick_seconds`` (its round times) and ``flops`` (per round).
    The matmul yardsticks set ``flops`` alone. ``gap``: why the pass was not timed, when the backend
    raised :class:`backends.UnsupportedError` for it (a declared gap; its ``median_s`` is then NaN).
    ``peak_bytes``: the peak memory of one untimed call, measured by ``memory_probe``
    (:mod:`benchmarks.memory`: ``tracemalloc``, ``rss-hwm`` or ``device-allocator``, not comparable
    with each other); None and ``""`` when not measured (records written before these fields too).
    """

    backend: str = ""
    op: str = ""
    workload: str = ""
    pass_: str = ""
    flops: int | None = None
    check_ratio: float | None = None
    examples: int | None = None
    runner: str = ""
    variant: str = ""
    yardstick: str = ""
    yardstick_seconds: tuple[float, ...] = ()
    gap: str = ""
    peak_bytes: int | None = None
    memory_probe: str = ""

    def to_extra_info(self) -> dict[str, Any]:
        """The keys and JSON-friendly values for ``benchmark.extra_info``."""
        return {**asdict(self), "yardstick_seconds": list(self.yardstick_seconds)}

    @classmethod
    def from_extra_info(cls, extra_info: Mapping[str, Any]) -> BenchmarkInfo:
        """The inverse of :meth:`to_extra_info`; an unknown key raises ``ValueError``."""
        _check_fields(extra_info, cls, fields(cls))
        return cls(**{**extra_info, "yardstick_seconds": tuple(extra_info.get("yardstick_seconds", ()))})


@dataclass(frozen=True)
class BenchmarkResult:
    """One benchmark: its name, its median time in seconds over the timed rounds, and its info.

    The JSON record is flat: ``name``, ``median_s`` and the keys of :class:`BenchmarkInfo`.
    """

    name: str
    median_s: float
    info: BenchmarkInfo = BenchmarkInfo()

    def to_json(self) -> dict[str, Any]:
        """A flat JSON-friendly dict."""
        return {"name": self.name, "median_s": self.median_s, **self.info.to_extra_info()}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> BenchmarkResult:
        """The inverse of :meth:`to_json`; a missing or unknown field raises ``ValueError``."""
        _check_fields(record, cls, [*(f for f in fields(cls) if f.name != "info"), *fields(BenchmarkInfo)])
        info = {key: value for key, value in record.items() if key not in ("name", "median_s")}
        return cls(record["name"], record["median_s"], BenchmarkInfo.from_extra_info(info))


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch of a training run (the entries of :func:`training.loop.train`).

    ``train_loss``: mean batch loss; ``train_acc`` and ``test_acc``: accuracies in
    [0, 1]; ``examples_per_s``: training steps only; ``steps``: SGD steps this epoch;
    ``step_losses``: each step's batch mean loss before its update, in order (``steps`` of them;
    empty in files written before it was recorded).
    """

    epoch: int
    train_loss: float
    train_acc: float
    test_acc: float
    examples_per_s: float
    steps: int
    step_losses: tuple[float, ...] = ()


@dataclass(frozen=True)
class TrainingRun:
    """One LeNet training run: who trained (``runner``: ``reference`` or a backend), the
    hyperparameters, and the metrics of each epoch; ``max_steps`` is None for whole epochs.
    ``gap``: why the backend could not train (its :class:`backends.UnsupportedError`; no metrics)."""

    runner: str
    variant: str
    lr: float
    batch_size: int
    epochs: int
    seed: int
    max_steps: int | None
    metrics: tuple[EpochMetrics, ...]
    gap: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (the metrics as a list of dicts)."""
        return {**asdict(self), "metrics": [asdict(entry) for entry in self.metrics]}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> TrainingRun:
        """The inverse of :meth:`to_json`; a missing or unknown field raises ``ValueError``."""
        _check_fields(record, cls, fields(cls))
        for entry in record["metrics"]:
            _check_fields(entry, EpochMetrics, fields(EpochMetrics))
        metrics = tuple(
            EpochMetrics(**{**entry, "step_losses": tuple(entry.get("step_losses", ()))})
            for entry in record["metrics"]
        )
        return cls(**{**record, "metrics": metrics})


@dataclass(frozen=True)
class DeterminismResult:
    """One entry of the determinism check (:mod:`conformance.determinism`) under one switch setting.

    ``switch``: ``"off"`` or ``"on"`` (the framework's determinism switch, named by
    ``switch_name``); ``threads``: the two thread counts compared. ``twice_*``: the two runs in
    one process (the worse of the two workers); ``threads_*``: the first runs of the two
    workers. ``*_bitwise`` True for identical bits, else ``*_max_abs`` is the largest absolute
    difference (inf when NaN or infinity positions differ). All None with ``gap`` (the reason
    the entry or switch cannot run on this backend) or ``error`` (the exception the entry
    raised, e.g. an op that has no deterministic kernel once the switch is on).
    """

    entry: str
    switch: str
    switch_name: str
    threads: tuple[int, int]
    twice_bitwise: bool | None = None
    twice_max_abs: float | None = None
    threads_bitwise: bool | None = None
    threads_max_abs: float | None = None
    gap: str = ""
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (an infinite difference as the string ``"inf"``)."""
        record = asdict(self)
        for key in ("twice_max_abs", "threads_max_abs"):
            if record[key] is not None and math.isinf(record[key]):
                record[key] = "inf"
        return {**record, "threads": list(self.threads)}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> DeterminismResult:
        """The inverse of :meth:`to_json`; a missing or unknown field raises ``ValueError``."""
        _check_fields(record, cls, fields(cls))
        values = {**record, "threads": tuple(record["threads"])}
        for key in ("twice_max_abs", "threads_max_abs"):
            if values[key] == "inf":
                values[key] = math.inf
        return cls(**values)


_SERIES = ("losses", "single_losses", "deviations")  # DataParallelRun's per-step tuples


@dataclass(frozen=True)
class DataParallelRun:
    """One data-parallel LeNet run of one backend (``python -m conformance.data_parallel``).

    ``processes`` ranks, each with ``threads`` threads, ``global_batch`` images per step split
    equally; ``steps``: the consecutive SGD steps checked one by one against the backend's own
    single-process step from the same state, ``worst_ratio`` the largest error/bound ratio over them
    (None when nothing was compared); ``status``: pass, fail (a step out of bounds), error (a rank
    died, hung or raised: ``message`` names it), gap (declared: ``gap``, ``upstream``).
    The free-running runs from the same start: ``losses`` (data-parallel) and ``single_losses``
    per step, ``deviations`` (max over tensors of max |p_dp - p_single| / (1 + max |p_single|)
    after each step); ``examples_per_s`` of the data-parallel run after a warm-up step;
    ``seconds``: the wall time of the launch, start-up included.
    """

    backend: str
    variant: str
    processes: int
    status: Status
    steps: int = 0
    worst_ratio: float | None = None
    examples_per_s: float | None = None
    threads: int = 1
    lr: float = 0.0
    global_batch: int = 0
    seconds: float = 0.0
    losses: tuple[float, ...] = ()
    single_losses: tuple[float, ...] = ()
    deviations: tuple[float, ...] = ()
    message: str = ""
    gap: str = ""
    upstream: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (the status as its string, tuples as lists)."""
        return _status_record_to_json(self, _SERIES)

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> DataParallelRun:
        """The inverse of :meth:`to_json`; a missing or unknown field raises ``ValueError``."""
        return _status_record_from_json(cls, record, _SERIES)


Record = CaseResult | BenchmarkResult | TrainingRun | DeterminismResult | DataParallelRun


class Kind(StrEnum):
    """Which job wrote a results file, hence the type of its records."""

    CONFORMANCE = "conformance"
    BENCHMARKS = "benchmarks"
    TRAINING = "training"
    DETERMINISM = "determinism"
    DATA_PARALLEL = "data_parallel"


RECORD_TYPES: dict[Kind, type[Record]] = {
    Kind.CONFORMANCE: CaseResult,
    Kind.BENCHMARKS: BenchmarkResult,
    Kind.TRAINING: TrainingRun,
    Kind.DETERMINISM: DeterminismResult,
    Kind.DATA_PARALLEL: DataParallelRun,
}


def _status_record_to_json(record: Any, sequences: Sequence[str]) -> dict[str, Any]:
    """A record with a ``status`` as JSON: its status as the string, the tuples ``sequences`` as lists."""
    values = asdict(record)
    values["status"] = str(record.status)
    for name in sequences:
        values[name] = list(values[name])
    return values


def _status_record_from_json(cls: type, record: Mapping[str, Any], sequences: Sequence[str]) -> Any:
    """The inverse of :func:`_status_record_to_json` for a record of ``cls``; a missing or unknown
    field raises ``ValueError``."""
    _check_fields(record, cls, fields(cls))
    values = {**record, "status": Status(record["status"])}
    for name in sequences:
        values[name] = tuple(record.get(name) or ())
    return cls(**values)


def _check_fields(record: Mapping[str, Any], owner: type, known: Sequence[Field]) -> None:
    """Raise ``ValueError`` naming the ``known`` fields that ``record`` lacks (those without a
    default) and the keys of ``record`` that are not ``known`` fields of ``owner``."""
    required = {f.name for f in known if f.default is MISSING and f.default_factory is MISSING}
    missing = sorted(required - set(record))
    unknown = sorted(set(record) - {f.name for f in known})
    if missing or unknown:
        problems = [f"missing field(s) {missing}"] if missing else []
        problems += [f"unknown field(s) {unknown}"] if unknown else []
        raise ValueError(f"{owner.__name__} record: {', '.join(problems)}")


class ResultsFileError(ValueError):
    """A results file that this code cannot read: foreign, of another schema version, or malformed."""


@dataclass(frozen=True)
class ResultsFile:
    """A results file read back: its ``kind``, the ``environment`` it was measured in, its records."""

    path: Path
    kind: Kind
    environment: Mapping[str, Any]
    records: tuple[Record, ...]


def write_results(path: Path, kind: Kind, environment: Mapping[str, Any], records: Sequence[Record]) -> None:
    """Write ``records`` in the envelope, atomically (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "kind": str(kind),
        "environment": dict(environment),
        "records": [record.to_json() for record in records],
    }
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        json.dump(payload, handle, indent=1, default=str)
    os.replace(handle.name, path)


def read_results(path: Path, kind: Kind | None = None) -> ResultsFile:
    """Read a file written by :func:`write_results` (of ``kind``, when given).

    Raises :class:`ResultsFileError`, naming the file, for a file that is not JSON or
    not of this schema, of a newer or older ``schema_version``, of another kind, or
    with a record that lacks a field.
    """
    try:
        payload = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ResultsFileError(f"{path}: not JSON ({error})") from error
    if not isinstance(payload, dict) or payload.get("schema") != SCHEMA:
        found = payload.get("schema") if isinstance(payload, dict) else type(payload).__name__
        raise ResultsFileError(f"{path}: not a results file of schema {SCHEMA!r} (found {found!r})")
    version = payload.get("schema_version")
    if version != SCHEMA_VERSION:
        action = (
            "update this project to read it"
            if isinstance(version, int) and version > SCHEMA_VERSION
            else "rerun the job that wrote it"
        )
        raise ResultsFileError(
            f"{path}: schema_version {version!r}, this code reads {SCHEMA_VERSION}; {action}"
        )
    if payload.get("kind") not in set(Kind) or (kind is not None and payload["kind"] != kind):
        expected = kind or " or ".join(Kind)
        raise ResultsFileError(f"{path}: kind {payload.get('kind')!r}, expected {expected}")
    record_type = RECORD_TYPES[Kind(payload["kind"])]
    records = []
    for index, record in enumerate(payload.get("records", ())):
        try:
            records.append(record_type.from_json(record))
        except (KeyError, TypeError, ValueError) as error:
            raise ResultsFileError(f"{path}: record {index}: {error}") from error
    return ResultsFile(path, Kind(payload["kind"]), payload.get("environment", {}), tuple(records))


class Results:
    """Collects case records during a run and writes them at the end."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment
        self._cases: dict[str, CaseResult] = {}

    def add(self, result: CaseResult) -> None:
        """Record one case (a later record with the same id replaces the earlier); fills ``device``."""
        if result.device is None:
            result = replace(result, device=self.environment.get("device"))
        self._cases[result.id] = result

    @property
    def cases(self) -> list[CaseResult]:
        return list(self._cases.values())

    def write(self, path: Path) -> None:
        """Write ``conformance`` results (:func:`write_results`)."""
        write_results(path, Kind.CONFORMANCE, self.environment, self.cases)

    def summary(self) -> list[str]:
        """A one-screen table: per op, the count of each status and the worst ratio."""
        return summary_lines(self.cases)


def summary_lines(cases: list[CaseResult]) -> list[str]:
    by_op: dict[str, list[CaseResult]] = defaultdict(list)
    for case in cases:
        by_op[case.op].append(case)
    statuses = list(Status)
    header = f"{'op':<27}{'cases':>6}" + "".join(f"{s:>8}" for s in statuses) + f"{'worst ratio':>13}"
    lines = [header, "-" * len(header)]
    totals = dict.fromkeys(statuses, 0)
    for op in sorted(by_op):
        counts = {s: sum(c.status == s for c in by_op[op]) for s in statuses}
        ratios = [c.worst_ratio for c in by_op[op] if c.worst_ratio is not None]
        worst = f"{max(ratios):13.3g}" if ratios else f"{'-':>13}"
        lines.append(f"{op:<27}{len(by_op[op]):>6}" + "".join(f"{counts[s]:>8}" for s in statuses) + worst)
        for status in statuses:
            totals[status] += counts[status]
    lines.append("-" * len(header))
    lines.append(f"{'total':<27}{len(cases):>6}" + "".join(f"{totals[s]:>8}" for s in statuses))
    return lines
