"""linear and linear_vjp: named cases, invalid calls and bounds."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

import reference
from conformance.adversarial import LAYOUTS
from conformance.cases import DTYPES, ArraySpec, Case, suffix, with_jvp_twins
from conformance.error_cases import TE, VE, E
from conformance.space import Call, Space
from conformance.spec import Function, OpSpec
from conformance.tolerance import Bounds, absolute, reduction_bound
from reference.validation import check_dense

SIZES = ((1, 3, 2), (4, 16, 10), (128, 400, 120))  # batch, in features, out features (LeNet's fc1)
FIRST_SEED = 100  # shared with the loss's cases of the same sizes


def named_cases() -> Iterator[Case]:
    """The dense layer and its VJP at a few sizes."""
    for seed, ((n, features, out), dtype) in enumerate(itertools.product(SIZES, DTYPES), start=FIRST_SEED):
        x, w = ArraySpec("X", (n, features)), ArraySpec("W", (out, features))
        tag = f"{n}x{features}x{out}-{suffix(dtype)}"
        yield Case(f"linear-{tag}", "linear", (x, w, ArraySpec("b", (out,))), (), dtype, seed)
        yield Case(f"linear_vjp-{tag}", "linear_vjp", (x, w, ArraySpec("dY", (n, out))), (), dtype, seed)


def linear_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """Y: a sum of ``in`` products and the bias, of magnitude ``|X| |W|^T + |b|``."""
    X, W, *b = absolute(arrays)
    return [reduction_bound(dtype, X.shape[1] + 1, reference.linear(X, W, b[0] if b else None))]


def linear_vjp_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """dX: ``out`` terms; dW and db: ``n`` terms (the batch)."""
    X, W, dY = absolute(arrays)
    dX, dW, db = reference.linear_vjp(X, W, dY)
    n, out = dY.shape
    return [reduction_bound(dtype, out, dX), reduction_bound(dtype, n, dW), reduction_bound(dtype, n, db)]


def linear_jvp_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """``tX W^T + X tW^T``: one sum of ``2 in`` products of magnitude ``|tX| |W|^T + |X| |tW|^T``."""
    X, W, tX, tW = absolute(arrays)
    return [reduction_bound(dtype, 2 * X.shape[1], reference.linear(tX, W) + reference.linear(X, tW))]


def linear_calls(levels: Mapping[str, Any]) -> tuple[Call, ...]:
    """linear (with or without bias) and linear_vjp of one combination of :data:`LINEAR_SPACE`."""
    n, features, out, layout = levels["batch"], levels["features"], levels["out"], levels["layout"]
    x = ArraySpec("X", (n, features), levels["fill"], layout=layout)
    w = ArraySpec("W", (out, features), levels["W"], layout=layout)
    b = (ArraySpec("b", (out,), levels["W"], layout=layout),) if levels["bias"] else ()
    dy = ArraySpec("dY", (n, out), levels["dY"], layout=layout)
    return ("linear", (x, w, *b), {}), ("linear_vjp", (x, w, dy), {})


LINEAR_SPACE = Space(
    (
        ("batch", (0, 1, 3)),
        ("features", (1, 5)),
        ("out", (1, 4)),
        ("bias", (True, False)),
        ("fill", ("normal", "special-sum")),
        ("W", ("normal", "special-sum")),
        ("dY", ("normal", "special-sum")),
        ("layout", LAYOUTS),
        ("dtype", DTYPES),
    ),
    linear_calls,
)


LINEAR = OpSpec(
    name="linear",
    section="lenet",
    validate=check_dense,
    forward=Function("linear", ("Y",), linear_bound),
    vjp=Function("linear_vjp", ("dX", "dW", "db"), linear_vjp_bound),
    jvp=Function("linear_jvp", ("tY",), linear_jvp_bound),
    cases=with_jvp_twins(named_cases, "linear_vjp", "linear_jvp", ("X", "W")),
    space=LINEAR_SPACE,
    errors=(
        E("linear-X-1d", lambda ops: ops.linear(np.ones(3), np.ones((2, 3))), VE, "X", "(3,)"),
        E(
            "linear-in-features-mismatch",
            lambda ops: ops.linear(np.ones((2, 3)), np.ones((4, 2))),
            VE,
            "3",
            "(4, 2)",
        ),
        E(
            "linear-W-complex",
            lambda ops: ops.linear(np.ones((2, 3)), np.ones((4, 3), complex)),
            TE,
            "W",
            "complex",
        ),
        E(
            "linear-bias-wrong-length",
            lambda ops: ops.linear(np.ones((2, 3)), np.ones((4, 3)), np.ones(3)),
            VE,
            "b",
            "(3,)",
        ),
        E(
            "linear_jvp-tX-shape",
            lambda ops: ops.linear_jvp(np.ones((2, 3)), np.ones((4, 3)), np.ones((3, 2)), np.ones((4, 3))),
            VE,
            "tX",
            "(3, 2)",
        ),
        E(
            "linear_vjp-dY-shape",
            lambda ops: ops.linear_vjp(np.ones((2, 3)), np.ones((4, 3)), np.ones((2, 3))),
            VE,
            "dY",
            "(2, 3)",
        ),
    ),
)

SPECS = (LINEAR,)
