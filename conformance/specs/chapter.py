"""The chapter's from-scratch functions: corr2d, its channel variants and pool2d.

Each is an instance of a batched op (conv2d or pooling), so its bound is that
op's bound on the input with batch and channel axes added. Their named cases
are the values the chapter prints (conv-layer.md, channels.md, pooling.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from conformance.adversarial import LAYOUTS
from conformance.cases import DTYPES, ArraySpec, Case, given, suffix
from conformance.error_cases import TE, VE, E, ErrorCase
from conformance.space import Call, Space
from conformance.spec import BoundFn, Function, OpSpec
from conformance.specs.conv import conv2d_bound
from conformance.specs.pool import SIGNED_ZEROS, avg_pool2d_bound, max_pool2d_bound
from conformance.tolerance import Bounds, Exact
from reference.validation import check_corr2d, check_real_array

X3 = np.arange(9.0).reshape(3, 3)  # conv-layer.md's input
K2 = np.arange(4.0).reshape(2, 2)  # and kernel
EDGE = np.ones((6, 8))  # conv-layer.md's edge-detection image: a black stripe in columns 2-5
EDGE[:, 2:6] = 0
X_MULTI = np.stack([X3, X3 + 1])  # channels.md's two-channel input
K_MULTI = np.stack([K2, K2 + 1])  # and kernel
ONE_BY_ONE_SEEDS = {"float32": 1014583970, "float64": 832886167}  # from numpy.random.default_rng(7)


def _chapter(
    name: str, op: str, inputs: tuple[ArraySpec, ...], kwargs: dict[str, Any] | None = None
) -> Iterator[Case]:
    """A chapter example in each dtype: id ``chapter-<name>-<f32|f64>``."""
    for dtype in DTYPES:
        yield Case(
            f"chapter-{name}-{suffix(dtype)}",
            op,
            inputs,
            tuple((kwargs or {}).items()),
            dtype,
            source="chapter",
        )


def corr2d_cases() -> Iterator[Case]:
    yield from _chapter("corr2d-3x3", "corr2d", (given("X", X3), given("K", K2)))
    yield from _chapter("corr2d-edge", "corr2d", (given("X", EDGE), given("K", [[1.0, -1.0]])))
    yield from _chapter("corr2d-edge-transposed", "corr2d", (given("X", EDGE.T), given("K", [[1.0, -1.0]])))


def corr2d_multi_in_cases() -> Iterator[Case]:
    yield from _chapter("corr2d-multi-in", "corr2d_multi_in", (given("X", X_MULTI), given("K", K_MULTI)))


def corr2d_multi_in_out_cases() -> Iterator[Case]:
    kernels = np.stack([K_MULTI, K_MULTI + 1, K_MULTI + 2])
    yield from _chapter(
        "corr2d-multi-in-out", "corr2d_multi_in_out", (given("X", X_MULTI), given("K", kernels))
    )


def corr2d_multi_in_out_1x1_cases() -> Iterator[Case]:
    for dtype in DTYPES:
        yield Case(
            f"chapter-1x1-{suffix(dtype)}",
            "corr2d_multi_in_out_1x1",
            (ArraySpec("X", (3, 3, 3)), ArraySpec("K", (2, 3, 1, 1))),
            dtype=dtype,
            seed=ONE_BY_ONE_SEEDS[dtype],
            source="chapter",
        )


def pool2d_cases() -> Iterator[Case]:
    yield from _chapter("pool2d-max", "pool2d", (given("X", X3),), {"pool_size": (2, 2), "mode": "max"})
    yield from _chapter("pool2d-avg", "pool2d", (given("X", X3),), {"pool_size": (2, 2), "mode": "avg"})
    for dtype in DTYPES:
        yield Case(
            f"pool2d-max-signed-zeros-{suffix(dtype)}",
            "pool2d",
            (given("X", SIGNED_ZEROS),),
            (("pool_size", (2, 2)), ("mode", "max")),
            dtype,
            source="special",
        )


def corr2d_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """conv2d's bound of one image and one kernel."""
    X, K = (np.asarray(a) for a in arrays)
    return [conv2d_bound([X[None, None], K[None, None]], {}, dtype)[0][0, 0]]


def corr2d_multi_in_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """conv2d's bound of one multi-channel image and one kernel."""
    X, K = (np.asarray(a) for a in arrays)
    return [conv2d_bound([X[None], K[None]], {}, dtype)[0][0, 0]]


def corr2d_multi_in_out_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """conv2d's bound of one multi-channel image and a stack of kernels (1x1 ones included)."""
    X, K = (np.asarray(a) for a in arrays)
    return [conv2d_bound([X[None], K], {}, dtype)[0][0]]


def pool2d_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """max_pool2d's or avg_pool2d's bound of one image, stride 1, no padding."""
    X = np.asarray(arrays[0])[None, None]
    batched = {"kernel_size": kw["pool_size"], "stride": 1}
    if kw.get("mode", "max") == "max":
        (exact,) = max_pool2d_bound([X], batched, dtype)
        return [Exact(signed=exact.signed[0, 0])]
    return [avg_pool2d_bound([X], batched, dtype)[0][0, 0]]


def _kernel(levels: Mapping[str, Any]) -> tuple[int, int]:
    return levels["kernel"] if isinstance(levels["kernel"], tuple) else (levels["kernel"],) * 2


def _image(levels: Mapping[str, Any]) -> tuple[int, int]:
    """An image just as large as the kernel (``"minimal"``) or larger, of odd size."""
    return tuple(k if levels["size"] == "minimal" else k + 4 for k in _kernel(levels))  # type: ignore[return-value]


def corr2d_calls(op: str) -> Callable[[Mapping[str, Any]], tuple[Call, ...]]:
    """One call of the corr2d function ``op``: X with 0, 1 (multi-in) or 1 and K with 2 channel axes."""

    def calls(levels: Mapping[str, Any]) -> tuple[Call, ...]:
        kernel, layout = _kernel(levels), levels["layout"]
        channels, out = (levels.get("channels"),), (levels.get("out"),)
        x_lead, k_lead = {
            "corr2d": ((), ()),
            "corr2d_multi_in": (channels, channels),
        }.get(op, (channels, out + channels))
        x = ArraySpec("X", (*x_lead, *_image(levels)), levels["fill"], layout=layout)
        k = ArraySpec("K", (*k_lead, *kernel), levels["K"], layout=layout)
        return ((op, (x, k), {}),)

    return calls


def corr2d_space(op: str) -> Space:
    """The space of a corr2d function: kernel (1x1 for the 1x1 one) and image sizes, its channel
    axes, special values, layouts."""
    kernels = (1,) if op == "corr2d_multi_in_out_1x1" else (1, 2, (2, 3))
    channels = () if op == "corr2d" else (("channels", (1, 3)),)
    out = (("out", (1, 2)),) if op.startswith("corr2d_multi_in_out") else ()
    return Space(
        (
            ("kernel", kernels),
            ("size", ("minimal", "odd")),
            *channels,
            *out,
            ("fill", ("normal", "special-sum")),
            ("K", ("normal", "special-sum")),
            ("layout", LAYOUTS),
            ("dtype", DTYPES),
        ),
        corr2d_calls(op),
    )


def pool2d_calls(levels: Mapping[str, Any]) -> tuple[Call, ...]:
    """The chapter's pool2d of one combination of :data:`POOL2D_SPACE`."""
    x = ArraySpec("X", _image(levels), levels["fill"], layout=levels["layout"])
    return (("pool2d", (x,), {"pool_size": _kernel(levels), "mode": levels["mode"]}),)


POOL2D_SPACE = Space(
    (
        ("kernel", (1, 2, (2, 3))),
        ("size", ("minimal", "odd")),
        ("mode", ("max", "avg")),
        ("fill", ("normal", "special-sum", "nans", "neginf")),
        ("layout", LAYOUTS),
        ("dtype", DTYPES),
    ),
    pool2d_calls,
)


def _spec(
    name: str,
    section: str,
    validate: Callable[..., Any],
    bound: BoundFn,
    cases: Callable[[], Iterator[Case]],
    errors: tuple[ErrorCase, ...],
    space: Space | None = None,
) -> OpSpec:
    """A chapter function's spec: a forward with one output ``Y``, no VJP; its space, the corr2d one."""
    return OpSpec(
        name=name,
        section=section,
        validate=validate,
        forward=Function(name, ("Y",), bound),
        cases=cases,
        space=space or corr2d_space(name),
        errors=errors,
    )


CORR2D = _spec(
    "corr2d",
    "conv-layer",
    check_corr2d,
    corr2d_bound,
    corr2d_cases,
    (
        E("corr2d-X-3d", lambda ops: ops.corr2d(np.ones((2, 3, 3)), np.ones((2, 2))), VE, "X", "(2, 3, 3)"),
        E("corr2d-K-3d", lambda ops: ops.corr2d(np.ones((3, 3)), np.ones((1, 2, 2))), VE, "K", "(1, 2, 2)"),
        E(
            "corr2d-kernel-larger-than-input",
            lambda ops: ops.corr2d(np.ones((2, 2)), np.ones((3, 1))),
            VE,
            "3",
        ),
        E(
            "corr2d-X-complex",
            lambda ops: ops.corr2d(np.ones((3, 3), complex), np.ones((2, 2))),
            TE,
            "X",
            "complex",
        ),
    ),
)
CORR2D_MULTI_IN = _spec(
    "corr2d_multi_in",
    "channels",
    check_corr2d,
    corr2d_multi_in_bound,
    corr2d_multi_in_cases,
    (
        E(
            "corr2d_multi_in-channel-mismatch",
            lambda ops: ops.corr2d_multi_in(np.ones((2, 3, 3)), np.ones((3, 2, 2))),
            VE,
            "2",
            "3",
        ),
    ),
)
CORR2D_MULTI_IN_OUT = _spec(
    "corr2d_multi_in_out",
    "channels",
    check_corr2d,
    corr2d_multi_in_out_bound,
    corr2d_multi_in_out_cases,
    (
        E(
            "corr2d_multi_in_out-K-3d",
            lambda ops: ops.corr2d_multi_in_out(np.ones((2, 3, 3)), np.ones((2, 2, 2))),
            VE,
            "K",
            "(2, 2, 2)",
        ),
    ),
)
CORR2D_MULTI_IN_OUT_1X1 = _spec(
    "corr2d_multi_in_out_1x1",
    "channels",
    check_corr2d,
    corr2d_multi_in_out_bound,
    corr2d_multi_in_out_1x1_cases,
    (
        E(
            "corr2d_multi_in_out_1x1-K-not-1x1",
            lambda ops: ops.corr2d_multi_in_out_1x1(np.ones((2, 3, 3)), np.ones((1, 2, 2, 2))),
            VE,
            "K",
            "(1, 2, 2, 2)",
        ),
    ),
)
POOL2D = _spec(
    "pool2d",
    "pooling",
    check_real_array,
    pool2d_bound,
    pool2d_cases,
    space=POOL2D_SPACE,
    errors=(
        E("pool2d-X-3d", lambda ops: ops.pool2d(np.ones((1, 3, 3)), 2), VE, "X", "(1, 3, 3)"),
        E("pool2d-window-larger-than-input", lambda ops: ops.pool2d(np.ones((2, 2)), 3), VE, "3"),
        E("pool2d-mode-min", lambda ops: ops.pool2d(np.ones((3, 3)), 2, mode="min"), VE, "mode", "'min'"),
        E("pool2d-X-bool", lambda ops: ops.pool2d(np.ones((3, 3), bool), 2), TE, "X", "bool"),
    ),
)

SPECS = (CORR2D, CORR2D_MULTI_IN, CORR2D_MULTI_IN_OUT, CORR2D_MULTI_IN_OUT_1X1, POOL2D)
