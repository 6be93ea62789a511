"""flatten and flatten_vjp: named cases, invalid calls and bounds (a reshape: exact)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from conformance.adversarial import LAYOUTS
from conformance.cases import DTYPES, ArraySpec, Case, given, suffix, with_jvp_twins
from conformance.error_cases import TE, VE, E
from conformance.space import Call, Space
from conformance.spec import Function, OpSpec
from conformance.specs.activations import FIRST_SEED, SHAPES
from conformance.specs.pool import NEGATIVE_ZEROS, SIGNED_ZEROS
from conformance.tolerance import EXACT, Bounds
from reference.validation import check_flatten


def named_cases() -> Iterator[Case]:
    """Flatten at the activations' sizes (same inputs), and of signed zeros."""
    for seed, (shape, dtype) in enumerate(itertools.product(SHAPES, DTYPES), start=FIRST_SEED):
        if len(shape) == 1:  # flatten keeps the batch axis: it needs two
            continue
        tag = f"{'x'.join(map(str, shape))}-{suffix(dtype)}"
        flat = (shape[0], int(np.prod(shape[1:])))
        x = ArraySpec("X", shape)
        yield Case(f"flatten-{tag}", "flatten", (x,), (), dtype, seed)
        yield Case(f"flatten_vjp-{tag}", "flatten_vjp", (x, ArraySpec("dY", flat)), (), dtype, seed)
    zeros = [[SIGNED_ZEROS, NEGATIVE_ZEROS]]  # (1, 2, 4, 4)
    x_zeros, dy_zeros = given("X", zeros), given("dY", np.reshape(zeros, (1, 32)))
    for dtype in DTYPES:
        yield Case(
            f"flatten-signed-zeros-{suffix(dtype)}", "flatten", (x_zeros,), (), dtype, source="special"
        )
        yield Case(
            f"flatten_vjp-signed-zeros-{suffix(dtype)}",
            "flatten_vjp",
            (x_zeros, dy_zeros),
            (),
            dtype,
            source="special",
        )


def flatten_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """A reshape: every value moves unchanged, the sign of a zero included."""
    return [EXACT]


def flatten_calls(levels: Mapping[str, Any]) -> tuple[Call, ...]:
    """flatten and flatten_vjp of one combination of :data:`FLATTEN_SPACE`."""
    shape = levels["shape"]
    flat = (shape[0], int(np.prod(shape[1:], dtype=np.int64)))
    x = ArraySpec("X", shape, levels["fill"], layout=levels["layout"])
    dy = ArraySpec("dY", flat, levels["dY"], layout=levels["layout"])
    return ("flatten", (x,), {}), ("flatten_vjp", (x, dy), {})


# 1-D (N,) flattens to (N, 1); zero-size inputs keep their product.
FLATTEN_SPACE = Space(
    (
        ("shape", ((5,), (3, 4), (2, 3, 4, 5), (1, 1, 1, 1), (0, 3, 2), (4, 0))),
        ("fill", ("normal", "special", "nans")),
        ("dY", ("normal", "special")),
        ("layout", LAYOUTS),
        ("dtype", DTYPES),
    ),
    flatten_calls,
)


FLATTEN = OpSpec(
    name="flatten",
    section="lenet",
    validate=check_flatten,
    forward=Function("flatten", ("Y",), flatten_bound),
    vjp=Function("flatten_vjp", ("dX",), flatten_bound),
    jvp=Function("flatten_jvp", ("tY",), flatten_bound),
    cases=with_jvp_twins(named_cases, "flatten_vjp", "flatten_jvp", ("X",)),
    space=FLATTEN_SPACE,
    errors=(
        E("flatten-X-object", lambda ops: ops.flatten(np.ones((2, 3), object)), TE, "X", "object"),
        E(
            "flatten_vjp-dY-shape",
            lambda ops: ops.flatten_vjp(np.ones((2, 3, 2, 2)), np.ones((2, 11))),
            VE,
            "dY",
            "(2, 11)",
        ),
    ),
)

SPECS = (FLATTEN,)
