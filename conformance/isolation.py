"""State isolation: what a backend returns is the caller's own NumPy data, and it keeps none of the caller's.

For an op, every output is of the reference's kind (an ``np.ndarray`` where the
reference returns one, a NumPy scalar where it returns a scalar), dtype and shape;
an array is C-contiguous, writeable and shares no memory with any input, and
overwriting the inputs after the call leaves it as it was. For a LeNet model,
``load_params`` copies (overwriting the caller's arrays afterwards changes no
logits), and ``params()``, ``logits`` and ``loss_and_grads`` return fresh,
writeable, C-contiguous arrays that the model does not alias (overwriting them
changes nothing the model computes next). A violation raises
:class:`~conformance.compare.ConformanceError` naming the function, the output and the rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance.cases import Case
from conformance.compare import ConformanceError
from conformance.specs import SPECS, function
from reference import lenet

__all__ = [
    "LENET_CHECKS",
    "IsolationCheck",
    "check_array",
    "check_lenet",
    "check_op",
    "lenet_checks",
    "op_checks",
]

LENET_CHECKS = ("load-params", "params", "logits", "grads", "train-step")


@dataclass(frozen=True)
class IsolationCheck:
    """One isolation check: its result id, op (a function or ``lenet_isolation``), case or LeNet check."""

    id: str
    op: str
    case: Case | None = None
    check: str = ""
    dtype: str = "-"

    def __repr__(self) -> str:
        return self.id

    @property
    def gap_id(self) -> str:
        """The id a known gap is matched against: the op case's own (a gap in computing it covers this)."""
        return self.case.id if self.case else self.id


def op_checks() -> list[IsolationCheck]:
    """The first named case of each function of every op spec, in registry order."""
    checks = []
    for spec in SPECS.values():
        cases = list(spec.cases())
        for spec_function in spec.functions:
            case = next(case for case in cases if case.op == spec_function.name)
            checks.append(IsolationCheck(f"isolation-{case.id}", case.op, case, dtype=case.dtype))
    return checks


def _outputs(value: Any) -> list[Any]:
    return list(value) if isinstance(value, tuple) else [value]


def check_array(where: str, actual: Any, expected: Any, inputs: Sequence[np.ndarray] = ()) -> None:
    """``actual`` is of ``expected``'s kind, dtype and shape; an array is fresh, writeable, C-contiguous."""
    __tracebackhide__ = True
    if isinstance(expected, np.ndarray):
        if type(actual) is not np.ndarray:
            raise ConformanceError(f"{where}: expected an np.ndarray, got {type(actual).__module__}."
                                   f"{type(actual).__qualname__}")  # fmt: skip
        if not actual.flags.c_contiguous:
            raise ConformanceError(f"{where}: not C-contiguous (strides {actual.strides})")
        if not actual.flags.writeable:
            raise ConformanceError(f"{where}: read-only")
        for i, array in enumerate(inputs):
            if np.shares_memory(actual, array):
                raise ConformanceError(f"{where}: shares memory with input {i}")
    elif isinstance(expected, np.generic) and not isinstance(actual, np.generic):
        raise ConformanceError(f"{where}: expected a NumPy scalar, got {type(actual).__qualname__}")
    if np.dtype(actual.dtype) != np.dtype(expected.dtype) or np.shape(actual) != np.shape(expected):
        raise ConformanceError(
            f"{where}: expected {expected.dtype} {np.shape(expected)}, got {actual.dtype} {np.shape(actual)}"
        )


def _same(where: str, before: np.ndarray, after: Any, what: str) -> None:
    __tracebackhide__ = True
    if np.asarray(after).tobytes() != before.tobytes():
        raise ConformanceError(f"{where}: changed after {what}")


def _overwrite(arrays: Sequence[np.ndarray]) -> None:
    for array in arrays:
        array[...] = 7


def check_op(backend: Any, check: IsolationCheck) -> None:
    """The outputs of ``check.case`` on ``backend`` are the caller's own arrays (see the module)."""
    __tracebackhide__ = True
    case = check.case
    assert case is not None
    _, spec_function = function(case.op)
    with np.errstate(all="ignore"):
        expected = _outputs(spec_function.reference(*case.arrays(), **case.kw))
    inputs = case.arrays()
    actual = _outputs(getattr(backend, case.op)(*inputs, **case.kw))
    if len(actual) != len(expected):
        raise ConformanceError(f"{case.op} returned {len(actual)} outputs, the reference {len(expected)}")
    names = spec_function.outputs
    for name, a, e in zip(names, actual, expected, strict=True):
        check_array(f"{case.op} output {name}", a, e, inputs)
    kept = [np.array(a, copy=True) for a in actual]
    _overwrite(inputs)
    for name, before, a in zip(names, kept, actual, strict=True):
        _same(f"{case.op} output {name}", before, a, "the inputs were overwritten")


def _images(n: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (n, *lenet.IMAGE_SHAPE)).astype(dtype), rng.integers(0, lenet.CLASSES, n)


def _check_params(where: str, got: Mapping[str, Any], dtype: str, others: Sequence[np.ndarray]) -> None:
    __tracebackhide__ = True
    if sorted(got) != sorted(lenet.PARAM_SHAPES):
        raise ConformanceError(f"{where}: names {sorted(got)}")
    for name, shape in lenet.PARAM_SHAPES.items():
        check_array(f"{where} {name}", got[name], np.empty(shape, dtype), others)


def check_lenet(backend: Any, check: IsolationCheck) -> None:
    """One of :data:`LENET_CHECKS` on ``backend.lenet("chapter", check.dtype)`` (see the module)."""
    __tracebackhide__ = True
    dtype, where = check.dtype, f"LeNet {check.check}"
    model = backend.lenet("chapter", dtype)
    mine = lenet.init_params(1, dtype)
    model.load_params(mine)
    X, y = _images(4, dtype)
    logits = model.logits(X)
    loaded = {name: value.copy() for name, value in mine.items()}
    if check.check == "load-params":
        _overwrite(mine.values())
        _same(where, logits, model.logits(X), "the loaded arrays were overwritten")
        for name, value in model.params().items():
            _same(f"{where} {name}", loaded[name], value, "the loaded arrays were overwritten")
    elif check.check == "params":
        first, second = model.params(), model.params()
        _check_params(where, first, dtype, [*mine.values(), *second.values()])
        _overwrite(first.values())
        _same(where, logits, model.logits(X), "params() was overwritten")
        for name, value in model.params().items():
            _same(f"{where} {name}", loaded[name], value, "params() was overwritten")
    elif check.check == "logits":
        check_array(f"{where} output", logits, np.empty((4, lenet.CLASSES), dtype), [X])
        kept = logits.copy()
        _overwrite([X, logits])
        _same(where, kept, model.logits(_images(4, dtype)[0]), "the output and the images were overwritten")
    elif check.check == "grads":
        loss, grads = model.loss_and_grads(X, y)
        if type(loss) is not float:
            raise ConformanceError(f"{where}: the loss is a {type(loss).__qualname__}, not a float")
        _check_params(where, grads, dtype, [X, y, *model.params().values()])
        kept = {name: value.copy() for name, value in grads.items()}
        _overwrite([*grads.values(), X, y])
        X, y = _images(4, dtype)
        _same(where, logits, model.logits(X), "the gradients were overwritten")
        for name, value in model.loss_and_grads(X, y)[1].items():
            _same(f"{where} {name}", kept[name], value, "the gradients and the batch were overwritten")
    elif check.check == "train-step":
        loss, correct = model.train_step(X, y, 0.1)
        if type(loss) is not float or type(correct) is not int:
            kinds = f"{type(loss).__qualname__}, {type(correct).__qualname__}"
            raise ConformanceError(f"{where}: returned ({kinds}), not (float, int)")
        after = model.params()
        _overwrite([X, y])
        for name, value in model.params().items():
            _same(f"{where} {name}", after[name], value, "the batch was overwritten")
    else:
        raise ValueError(f"check must be one of {LENET_CHECKS}, got check={check.check!r}")


def lenet_checks() -> list[IsolationCheck]:
    """Each of :data:`LENET_CHECKS` in float32 and float64."""
    return [
        IsolationCheck(f"lenet-isolation-{name}-{dtype}", "lenet_isolation", check=name, dtype=dtype)
        for name in LENET_CHECKS
        for dtype in ("float32", "float64")
    ]
