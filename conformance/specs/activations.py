"""sigmoid and relu with their VJPs: named cases, invalid calls and bounds.

Elementwise functions are bounded relative to their true value (see
:mod:`conformance.tolerance`); ReLU is a selection, compared exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

import reference
from conformance.adversarial import LAYOUTS
from conformance.cases import DTYPES, ArraySpec, Case, given, suffix, with_jvp_twins
from conformance.error_cases import TE, VE, E
from conformance.space import Call, Space
from conformance.spec import Function, OpSpec
from conformance.tolerance import (
    EXACT,
    UNSIGNED_ZEROS,
    Bounds,
    elementary_error,
    relative_bound,
    tiny,
    unit_roundoff,
)
from reference.validation import check_elementwise

SHAPES = ((5,), (2, 3, 4, 4), (128, 16, 5, 5))
FIRST_SEED = 106  # the seeds these cases were drawn with beside the dense layer's and the loss's (100-105)
SPECIAL_SHAPE = (2, 3, 6, 6)  # X of the NaN and Inf cases
# Sigmoid in both tails and at 0: a VJP computed as dY * y * (1 - y) from a rounded y
# flushes to 0 from x = 17 in float32.
TAILS = (0.0, -0.0, 0.5, -0.5, 5.0, -5.0, 13.0, -13.0, 13.5, -13.5, 17.0, -17.0, 20.0, -20.0,
         30.0, -30.0, 40.0, -40.0, 50.0, -50.0, 87.0, -87.0, 100.0, -100.0)  # fmt: skip
INF_DY_X = (20.0, -20.0, 40.0, -40.0, 90.0, -90.0, 120.0, 1e4, np.inf, 0.0)  # sigmoid_vjp with dY = +-inf
RELU_ZEROS = ((-0.0, 0.0, -1.0, 1.0), (0.0, -0.0, 2.0, -2.0))  # relu(-0.0) = +0.0
RELU_DY = ((-1.5, -0.0, 2.0, 0.0), (-0.0, 0.0, -2.5, 1.0))


def size_cases(op: str) -> Iterator[Case]:
    """``op`` and its VJP at a few sizes."""
    for seed, (shape, dtype) in enumerate(itertools.product(SHAPES, DTYPES), start=FIRST_SEED):
        tag = "x".join(map(str, shape))
        x, dy = ArraySpec("X", shape), ArraySpec("dY", shape)
        yield Case(f"{op}-{tag}-{suffix(dtype)}", op, (x,), (), dtype, seed)
        yield Case(f"{op}_vjp-{tag}-{suffix(dtype)}", f"{op}_vjp", (x, dy), (), dtype, seed)


def special_value_cases(op: str) -> Iterator[Case]:
    """NaN and +-Inf inputs: ReLU's and sigmoid's gradients at NaN are 0 and NaN."""
    for fill, dtype in itertools.product(("nan", "inf"), DTYPES):
        x = ArraySpec("X", SPECIAL_SHAPE, fill)
        yield Case(f"{op}-{fill}-{suffix(dtype)}", op, (x,), (), dtype, source="special")
        dy = ArraySpec("dY", SPECIAL_SHAPE)
        yield Case(f"{op}_vjp-{fill}-{suffix(dtype)}", f"{op}_vjp", (x, dy), (), dtype, source="special")


def sigmoid_cases() -> Iterator[Case]:
    yield from special_value_cases("sigmoid")
    x_tails = given("X", [TAILS, TAILS[::-1]])
    for dtype in DTYPES:
        yield Case(f"sigmoid-tails-{suffix(dtype)}", "sigmoid", (x_tails,), (), dtype, source="special")
        dy = ArraySpec("dY", x_tails.shape)
        yield Case(
            f"sigmoid_vjp-tails-{suffix(dtype)}",
            "sigmoid_vjp",
            (x_tails, dy),
            (),
            dtype,
            seed=11,
            source="special",
        )
    # An infinite dY where the derivative underflows the dtype (float32 from about 88) stays infinite.
    x_far, dy_inf = (
        given("X", [INF_DY_X]),
        given("dY", [[(-1.0) ** i * np.inf for i in range(len(INF_DY_X))]]),
    )
    for dtype in DTYPES:
        yield Case(f"sigmoid_vjp-infinite-dY-{suffix(dtype)}", "sigmoid_vjp", (x_far, dy_inf), (), dtype,
                   source="special")  # fmt: skip
    yield from size_cases("sigmoid")


def relu_cases() -> Iterator[Case]:
    yield from special_value_cases("relu")
    relu_x, dy = given("X", RELU_ZEROS), given("dY", RELU_DY)
    for dtype in DTYPES:
        yield Case(f"relu-signed-zeros-{suffix(dtype)}", "relu", (relu_x,), (), dtype, source="special")
        yield Case(
            f"relu_vjp-signed-zeros-{suffix(dtype)}", "relu_vjp", (relu_x, dy), (), dtype, source="special"
        )
    yield from size_cases("relu")


def sigmoid_error(dtype: Any) -> float:
    """Relative error of a float ``sigmoid``: ``e_exp + 2u`` (the exp, the add, the divide)."""
    return elementary_error(dtype) + 2 * unit_roundoff(dtype)


def sigmoid_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """Within :func:`sigmoid_error` of the true value, in both tails."""
    return [relative_bound(dtype, sigmoid_error(dtype), reference.sigmoid(np.asarray(arrays[0], np.float64)))]


def sigmoid_vjp_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """``dY * s(x) * s(-x)``: two sigmoids and two products, relative to the true value in both tails.

    Below the smallest normal number a flushed ``s(-x)`` still meets ``|dY|``: ``tiny * |dY|`` more.
    """
    X, dY = (np.asarray(a, dtype=np.float64) for a in arrays)
    relative = 2 * sigmoid_error(dtype) + 2 * unit_roundoff(dtype)
    flushed = tiny(dtype) * np.abs(dY)
    return [relative_bound(dtype, relative, reference.sigmoid_vjp(X, dY)) + flushed]


def relu_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """``max(x, +0.0)``: exact, the result's sign defined everywhere (relu(-0.0) = +0.0)."""
    return [EXACT]


def relu_vjp_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """dY (or the JVP's tX) where x > 0, else a zero whose sign is open (natives multiply by 0)."""
    return [UNSIGNED_ZEROS]


# Shapes from zero-size and 1-D to a batch of images; fills at the kinks and far into the tails.
ELEMENTWISE_SHAPES = ((0,), (7,), (3, 5), (2, 3, 4, 4), (1, 1, 1, 1))
ELEMENTWISE_FACTORS = (
    ("shape", ELEMENTWISE_SHAPES),
    ("fill", ("normal", "special", "kinks", "tails", "nans")),
    ("dY", ("normal", "special")),
    ("layout", LAYOUTS),
    ("dtype", DTYPES),
)


def elementwise_calls(op: str) -> Callable[[Mapping[str, Any]], tuple[Call, ...]]:
    """``op`` and its VJP on one combination of :data:`ELEMENTWISE_FACTORS`."""

    def calls(levels: Mapping[str, Any]) -> tuple[Call, ...]:
        x = ArraySpec("X", levels["shape"], levels["fill"], layout=levels["layout"])
        dy = ArraySpec("dY", levels["shape"], levels["dY"], layout=levels["layout"])
        return (op, (x,), {}), (f"{op}_vjp", (x, dy), {})

    return calls


SIGMOID_SPACE = Space(ELEMENTWISE_FACTORS, elementwise_calls("sigmoid"))
RELU_SPACE = Space(ELEMENTWISE_FACTORS, elementwise_calls("relu"))


SIGMOID = OpSpec(
    name="sigmoid",
    section="lenet",
    validate=check_elementwise,
    forward=Function("sigmoid", ("Y",), sigmoid_bound),
    vjp=Function("sigmoid_vjp", ("dX",), sigmoid_vjp_bound),
    # The Jacobian is diagonal: tX * s(x) * s(-x) is the VJP's arithmetic with tX for dY.
    jvp=Function("sigmoid_jvp", ("tY",), sigmoid_vjp_bound),
    cases=with_jvp_twins(sigmoid_cases, "sigmoid_vjp", "sigmoid_jvp", ("X",)),
    space=SIGMOID_SPACE,
    errors=(
        E("sigmoid-X-complex", lambda ops: ops.sigmoid(np.ones(3, complex)), TE, "X", "complex"),
        E(
            "sigmoid_vjp-dY-shape",
            lambda ops: ops.sigmoid_vjp(np.ones((2, 3)), np.ones((3, 2))),
            VE,
            "dY",
            "(3, 2)",
        ),
    ),
)
RELU = OpSpec(
    name="relu",
    section="lenet",
    validate=check_elementwise,
    forward=Function("relu", ("Y",), relu_bound),
    vjp=Function("relu_vjp", ("dX",), relu_vjp_bound),
    jvp=Function("relu_jvp", ("tY",), relu_vjp_bound),
    cases=with_jvp_twins(relu_cases, "relu_vjp", "relu_jvp", ("X",)),
    space=RELU_SPACE,
    errors=(
        E("relu-X-bool", lambda ops: ops.relu(np.ones(3, bool)), TE, "X", "bool"),
        E("relu_jvp-tX-shape", lambda ops: ops.relu_jvp(np.ones((2, 3)), np.ones(6)), VE, "tX", "(6,)"),
        E("relu_vjp-dY-shape", lambda ops: ops.relu_vjp(np.ones((2, 3)), np.ones(6)), VE, "dY", "(6,)"),
    ),
)

SPECS = (
    SIGMOID,
    RELU,
)
