"""max_pool2d, avg_pool2d and their VJPs: named and generated cases, invalid calls, bounds, workloads."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from hypothesis import strategies as st

import reference
from conformance.adversarial import LAYOUTS
from conformance.cases import (
    DTYPES,
    GENERATED,
    ArraySpec,
    Case,
    Shapes,
    case_id,
    given,
    suffix,
    with_jvp_twins,
)
from conformance.error_cases import TE, VE, X4, E
from conformance.space import Call, Space
from conformance.spec import Function, OpSpec
from conformance.tolerance import UNSIGNED_ZEROS, Bounds, Exact, absolute, reduction_bound
from conformance.workloads import PoolWorkload
from reference.shapes import pool2d_geometry
from reference.validation import check_pool2d

X16 = np.arange(16.0).reshape(1, 1, 4, 4)  # the chapter's pooling input
# The chapter's max-pooling examples: id, input, keyword arguments.
CHAPTER_EXAMPLES: tuple[tuple[str, np.ndarray, dict[str, Any]], ...] = (
    ("max-pool-3x3", X16, {"kernel_size": 3}),
    ("max-pool-pad1-s2", X16, {"kernel_size": 3, "padding": 1, "stride": 2}),
    ("max-pool-2x3-pad01-s23", X16, {"kernel_size": (2, 3), "stride": (2, 3), "padding": (0, 1)}),
    (
        "max-pool-two-channels",
        np.concatenate([X16, X16 + 1], axis=1),
        {"kernel_size": 3, "padding": 1, "stride": 2},
    ),
)
SPECIAL_SHAPE = (2, 3, 6, 6)  # X of the NaN and Inf cases
SPECIAL_POOLS = (
    ("max_pool2d", {"kernel_size": 2}),
    ("avg_pool2d", {"kernel_size": 3, "stride": 1}),
    ("max_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1}),
)
# 2x2 windows: all -0.0; -0.0 with negatives; +0.0 with negatives; both zeros (sign unspecified).
SIGNED_ZEROS = (
    (-0.0, -0.0, -0.0, -1.0),
    (-0.0, -0.0, -2.0, -0.0),
    (0.0, -3.0, -0.0, 0.0),
    (-1.0, 0.0, -4.0, -0.0),
)
NEGATIVE_ZEROS = (
    (-1.0, -0.0, -2.0, -3.0),
    (-4.0, -5.0, -0.0, -6.0),
    (-0.0, -7.0, -8.0, -9.0),
    (-1.0, -2.0, -3.0, -0.0),
)
SIGNED_ZERO_POOLS = ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1})


def _with_vjp(case: Case, y_shape: tuple[int, ...]) -> Iterator[Case]:
    """``case`` and the same call of the op's VJP (id and op ``<op>_vjp``) with a dY of ``y_shape``."""
    yield case
    yield Case(
        case.id.replace(case.op, f"{case.op}_vjp", 1),
        f"{case.op}_vjp",
        (*case.inputs, ArraySpec("dY", y_shape)),
        case.kwargs,
        case.dtype,
        case.seed,
        case.source,
    )


def chapter_cases() -> Iterator[Case]:
    """The max pooling the chapter prints (pooling.md)."""
    for name, X, kwargs in CHAPTER_EXAMPLES:
        for dtype in DTYPES:
            inputs = (given("X", X),)
            yield Case(
                f"chapter-{name}-{suffix(dtype)}",
                "max_pool2d",
                inputs,
                tuple(kwargs.items()),
                dtype,
                source="chapter",
            )


def _grid_kwargs(
    op: str, kernel: Any, stride: Any, padding: Any, ceil_mode: bool, variant: int
) -> dict[str, Any]:
    """A grid point's keyword arguments; ``variant`` is the dilation (max) or, as 1 or 2,
    count_include_pad True or False (average)."""
    kwargs: dict[str, Any] = {"kernel_size": kernel, "stride": stride, "padding": padding}
    if op == "max_pool2d":
        return kwargs | {"dilation": variant, "ceil_mode": ceil_mode}
    return kwargs | {"ceil_mode": ceil_mode, "count_include_pad": variant == 1}


def grid_cases(op: str) -> Iterator[Case]:
    """Either pooling and its VJP over kernel x stride x padding x ceil_mode x the mode's own flag.

    Both poolings draw their shapes from one generator in step, so each grid point
    has the same input shape and seed for both.
    """
    shapes = Shapes(np.random.default_rng(30))
    grid = itertools.product((2, 3, (3, 2)), (None, 1, 2), (0, 1), (False, True), (1, 2), DTYPES)
    for kernel, stride, padding, ceil_mode, variant, dtype in grid:
        x_shape = (shapes.size(1, 2), shapes.size(1, 3), shapes.size(5, 11), shapes.size(5, 11))
        seed = next(shapes.seeds)
        kwargs = _grid_kwargs(op, kernel, stride, padding, ceil_mode, variant)
        y_shape = reference.pool2d_output_shape(
            x_shape, kernel, stride, padding, kwargs.get("dilation", 1), ceil_mode
        )
        case = Case(
            case_id(op, kwargs, dtype), op, (ArraySpec("X", x_shape),), tuple(kwargs.items()), dtype, seed
        )
        yield from _with_vjp(case, y_shape)


# Every padding form pooling takes: explicit pads up to kernel_size - 1 a side (over PyTorch's
# half-window limit), asymmetric, "valid", TensorFlow's "same" (odd extra bottom/right) and ONNX's
# "same_lower" (odd extra top/left); each with the windows below (a form a window cannot take,
# pads >= kernel_size, is left out).
PADDING_FORMS: tuple[Any, ...] = (
    2,
    (1, 2),
    ((0, 2), (1, 0)),
    ((2, 1), (0, 2)),
    "valid",
    "same",
    "same_lower",
)
PADDING_FORM_WINDOWS = ((3, 1), (3, 2), ((2, 4), (2, 3)))  # (kernel_size, stride)


def padding_form_cases(op: str) -> Iterator[Case]:
    """Either pooling and its VJP over padding forms x windows x ceil_mode x the mode's own flag
    (dilation 1 or 2 for max, count_include_pad for average: the divisor with asymmetric and
    "same" padding), on inputs of odd and even sizes so "same" pads an odd total."""
    shapes = Shapes(np.random.default_rng(31))
    grid = itertools.product(PADDING_FORMS, PADDING_FORM_WINDOWS, (False, True), (1, 2), DTYPES)
    for padding, (kernel, stride), ceil_mode, variant, dtype in grid:
        x_shape = (shapes.size(1, 2), shapes.size(1, 2), shapes.size(5, 10), shapes.size(5, 10))
        seed = next(shapes.seeds)
        kwargs = _grid_kwargs(op, kernel, stride, padding, ceil_mode, variant)
        try:
            geometry = pool2d_geometry(x_shape, kernel, stride, padding, kwargs.get("dilation", 1), ceil_mode)
        except ValueError:  # pads of this form reach the window
            continue
        case = Case(
            case_id(op, kwargs, dtype, "forms"),
            op,
            (ArraySpec("X", x_shape),),
            tuple(kwargs.items()),
            dtype,
            seed,
            source="padding-forms",
        )
        yield from _with_vjp(case, (*x_shape[:2], *geometry.output_size))


def tie_cases() -> Iterator[Case]:
    """Max pooling of inputs with many equal values: the gradient goes to the first maximum."""
    for (kernel, stride, padding), dtype in itertools.product(
        ((2, None, 0), (3, 1, 1), (3, 2, 1), ((2, 3), (1, 2), (1, 0))), DTYPES
    ):
        x_shape = (2, 2, 7, 8)
        kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding}
        x = ArraySpec("X", x_shape, "ties")
        case = Case(
            case_id("max_pool2d", kwargs, dtype, "ties"),
            "max_pool2d",
            (x,),
            tuple(kwargs.items()),
            dtype,
            source="ties",
        )
        yield from _with_vjp(case, reference.pool2d_output_shape(x_shape, kernel, stride, padding))


def special_value_cases(op: str) -> Iterator[Case]:
    """NaN and +-Inf inputs: a NaN wins a max window and takes its gradient (the window's first NaN).

    The average pooling's VJP does not read X, so it has no such case.
    """
    for fill, dtype in itertools.product(("nan", "inf"), DTYPES):
        x = ArraySpec("X", SPECIAL_SHAPE, fill)
        for pool, kwargs in SPECIAL_POOLS:
            if pool != op:
                continue
            case = Case(
                case_id(op, kwargs, dtype, fill), op, (x,), tuple(kwargs.items()), dtype, source="special"
            )
            if op == "avg_pool2d":
                yield case
            else:
                yield from _with_vjp(case, reference.pool2d_output_shape(SPECIAL_SHAPE, **kwargs))


def signed_zero_cases() -> Iterator[Case]:
    """A max window of -0.0 (alone or with negatives) gives -0.0, of +0.0 gives +0.0; mixed windows
    (sign unspecified) still give a zero, with the first zero's gradient."""
    x_zeros = given("X", [[SIGNED_ZEROS, NEGATIVE_ZEROS]])  # (1, 2, 4, 4)
    for dtype in DTYPES:
        for kwargs in SIGNED_ZERO_POOLS:
            y_shape = reference.pool2d_output_shape(x_zeros.shape, **kwargs)
            case = Case(
                case_id("max_pool2d", kwargs, dtype, "signed-zeros"),
                "max_pool2d",
                (x_zeros,),
                tuple(kwargs.items()),
                dtype,
                seed=12,
                source="special",
            )
            yield from _with_vjp(case, y_shape)


# ceil_mode windows larger than the padded input (which starts them): (kernel, stride, padding).
OVERSIZED_WINDOWS = ((2, 2, 0), ((3, 2), 3, (1, 0)))


def oversized_window_cases(op: str) -> Iterator[Case]:
    """ceil_mode windows that start in an input smaller than the window and reach past it."""
    for (kernel, stride, padding), x_shape, dtype in itertools.product(
        OVERSIZED_WINDOWS, ((2, 2, 1, 1), (1, 2, 2, 3)), DTYPES
    ):
        kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": True}
        y_shape = reference.pool2d_output_shape(x_shape, kernel, stride, padding, ceil_mode=True)
        tag = "oversized-" + "x".join(map(str, x_shape[2:]))
        x = ArraySpec("X", x_shape)
        case = Case(case_id(op, kwargs, dtype, tag), op, (x,), tuple(kwargs.items()), dtype, source="special")
        yield from _with_vjp(case, y_shape)


def rule_cases() -> Iterator[Case]:
    """Each special-value rule of the poolings on inputs that show it in every window: -inf
    everywhere beside padding (padding never takes the gradient), half the entries NaN (several
    NaNs per window: the first takes it), and for average pooling one +-inf per plane (only the
    windows holding it are infinite)."""
    for dtype in DTYPES:
        kwargs = {"kernel_size": 3, "stride": 2, "padding": 1}
        x_shape = (2, 2, 6, 7)
        y_shape = reference.pool2d_output_shape(x_shape, 3, 2, 1)
        for fill in ("neginf", "nans"):
            x = ArraySpec("X", x_shape, fill)
            name = case_id("max_pool2d", kwargs, dtype, fill)
            case = Case(name, "max_pool2d", (x,), tuple(kwargs.items()), dtype, seed=21, source="special")
            yield from _with_vjp(case, y_shape)
        windows = {"kernel_size": 2, "stride": 1}
        name = case_id("avg_pool2d", windows, dtype, "one-inf")
        x = given("X", _one_infinity_per_plane())
        yield Case(name, "avg_pool2d", (x,), tuple(windows.items()), dtype, source="special")


def _one_infinity_per_plane() -> np.ndarray:
    """(2, 2, 5, 5) ramps with one +inf or -inf per plane, away from the first rows."""
    X = np.arange(100.0).reshape(2, 2, 5, 5) / 10
    X[0, 0, 2, 3], X[0, 1, 3, 1], X[1, 0, 4, 4], X[1, 1, 2, 2] = np.inf, -np.inf, np.inf, -np.inf
    return X


def lowest_value_cases() -> Iterator[Case]:
    """Windows of the dtype's lowest finite value beside padding: padding (-inf) never wins, and a
    framework that pads with the lowest finite value ties it (the gradient must go to the input)."""
    for dtype in DTYPES:
        kwargs = {"kernel_size": 2, "stride": 1, "padding": 1}
        x = ArraySpec("X", (2, 2, 5, 5), "lowest")
        case = Case(case_id("max_pool2d", kwargs, dtype, "lowest"), "max_pool2d", (x,), tuple(kwargs.items()),
                    dtype, source="special")  # fmt: skip
        yield from _with_vjp(case, reference.pool2d_output_shape((2, 2, 5, 5), 2, 1, 1))


def max_pool2d_cases() -> Iterator[Case]:
    yield from chapter_cases()
    yield from grid_cases("max_pool2d")
    yield from padding_form_cases("max_pool2d")
    yield from tie_cases()
    yield from special_value_cases("max_pool2d")
    yield from signed_zero_cases()
    yield from oversized_window_cases("max_pool2d")
    yield from lowest_value_cases()
    yield from (case for case in rule_cases() if case.op.startswith("max_pool2d"))


def avg_pool2d_cases() -> Iterator[Case]:
    yield from grid_cases("avg_pool2d")
    yield from padding_form_cases("avg_pool2d")
    yield from special_value_cases("avg_pool2d")
    yield from oversized_window_cases("avg_pool2d")
    yield from (case for case in rule_cases() if case.op.startswith("avg_pool2d"))


@st.composite
def generated_cases(draw: st.DrawFn, pooling: str) -> Case:
    """Random calls of ``pooling`` (``"max_pool2d"`` or ``"avg_pool2d"``) and its VJP: windows 1-4,
    strides, every padding form (explicit pads up to kernel_size - 1 a side), ceil_mode, and
    dilation (max) or count_include_pad (avg)."""
    op = draw(st.sampled_from([pooling, f"{pooling}_vjp"]))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = draw(
        st.one_of(
            st.sampled_from(["valid", "same", "same_lower"]),
            st.tuples(st.integers(0, kernel[0] - 1), st.integers(0, kernel[1] - 1)),
            st.tuples(
                st.tuples(st.integers(0, kernel[0] - 1), st.integers(0, kernel[0] - 1)),
                st.tuples(st.integers(0, kernel[1] - 1), st.integers(0, kernel[1] - 1)),
            ),
        )
    )
    kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": draw(st.booleans())}
    dilation = (1, 1)
    if op.startswith("max"):
        dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        kwargs["dilation"] = dilation
    else:
        kwargs["count_include_pad"] = draw(st.booleans())
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    x_shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(1, 3)),
        draw(st.integers(span[0], span[0] + 8)),
        draw(st.integers(span[1], span[1] + 8)),
    )
    dtype = draw(st.sampled_from(DTYPES))
    fill = draw(st.sampled_from(["normal", "ties"]))
    inputs = [ArraySpec("X", x_shape, fill)]
    if op.endswith("_vjp"):
        y_shape = reference.pool2d_output_shape(
            x_shape, kernel, stride, padding, dilation, kwargs["ceil_mode"]
        )
        inputs.append(ArraySpec("dY", y_shape))
    seed = draw(st.integers(0, 2**30))
    shapes = "x".join(map(str, x_shape))
    return Case(
        f"hyp-{op}-{shapes}-{kwargs}-{fill}-{dtype}-{seed}",
        op,
        tuple(inputs),
        tuple(kwargs.items()),
        dtype,
        seed,
        source=GENERATED,
    )


def windows_per_element(
    kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int] = (1, 1)
) -> int:
    """The most pooling windows that can cover one input element."""
    return int(
        np.prod([-(-(d * (k - 1) + 1) // s) for k, s, d in zip(kernel, stride, dilation, strict=True)])
    )


def sign_unspecified(zeros: Callable[[np.ndarray], np.ndarray], X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Max-pool outputs whose window maximum is 0 with both +0.0 and -0.0 among the real elements."""
    X = np.asarray(X, dtype=np.float64)
    positive = zeros(((X == 0) & ~np.signbit(X)).astype(np.float64))
    negative = zeros(((X == 0) & np.signbit(X)).astype(np.float64))
    return (np.asarray(Y) == 0) & (positive == 1) & (negative == 1)


def max_pool2d_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """A selection: exact, the sign of a zero compared where the reference defines it."""
    (X,) = arrays

    def pool(A: np.ndarray) -> np.ndarray:
        return reference.max_pool2d(A, **kw)

    return [Exact(signed=~sign_unspecified(pool, X, pool(X)))]


def max_pool2d_vjp_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """dX: a sum over the overlapping windows that selected the element."""
    X, dY = arrays
    geometry = pool2d_geometry(np.shape(X), **kw)
    overlap = windows_per_element(geometry.kernel_size, geometry.stride, geometry.dilation)
    magnitude = reference.max_pool2d_vjp(X, np.abs(dY), **kw)
    return [reduction_bound(dtype, overlap, magnitude)]


def avg_pool2d_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """Y: a window sum and the division, of magnitude the average of ``|X|``."""
    (X,) = absolute(arrays)
    geometry = pool2d_geometry(X.shape, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0),
                               ceil_mode=kw.get("ceil_mode", False))  # fmt: skip
    return [reduction_bound(dtype, int(np.prod(geometry.kernel_size)) + 1, reference.avg_pool2d(X, **kw))]


def avg_pool2d_vjp_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """dX: a sum over the overlapping windows, each term divided once."""
    X, dY = absolute(arrays)
    geometry = pool2d_geometry(X.shape, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0),
                               ceil_mode=kw.get("ceil_mode", False))  # fmt: skip
    overlap = windows_per_element(geometry.kernel_size, geometry.stride)
    return [reduction_bound(dtype, overlap + 1, reference.avg_pool2d_vjp(X, dY, **kw))]


def max_pool2d_jvp_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """A selection of tX (the element the VJP sends the gradient to): exact, a zero's sign open
    (a window with no real element has tangent 0, of either sign)."""
    return [UNSIGNED_ZEROS]


def avg_pool2d_jvp_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """``avg_pool2d(tX)``: the forward's bound on the tangent."""
    return avg_pool2d_bound(arrays[1:], kw, dtype)


MAX_POOL2D_ERRORS = (
    E("max_pool2d-X-3d", lambda ops: ops.max_pool2d(np.ones((1, 4, 4)), 2), VE, "X", "(1, 4, 4)"),
    E("max_pool2d-stride-0", lambda ops: ops.max_pool2d(X4, 2, stride=0), VE, "stride", "0"),
    E("max_pool2d-dilation-0", lambda ops: ops.max_pool2d(X4, 2, dilation=0), VE, "dilation", "0"),
    E("max_pool2d-kernel-0", lambda ops: ops.max_pool2d(X4, 0), VE, "kernel_size", "0"),
    E("max_pool2d-padding-negative", lambda ops: ops.max_pool2d(X4, 3, padding=-1), VE, "padding", "-1"),
    E("max_pool2d-padding-kernel", lambda ops: ops.max_pool2d(X4, 3, padding=3), VE, "padding", "3"),
    E(
        "max_pool2d-padding-nested-kernel",
        lambda ops: ops.max_pool2d(X4, (3, 2), padding=((0, 1), (2, 0))),
        VE,
        "padding",
        "((0, 1), (2, 0))",
    ),
    E(
        "max_pool2d-padding-nested-negative",
        lambda ops: ops.max_pool2d(X4, 3, padding=((0, -1), (0, 0))),
        VE,
        "padding",
        "-1",
    ),
    E("max_pool2d-padding-full", lambda ops: ops.max_pool2d(X4, 3, padding="full"), VE, "padding", "'full'"),
    E(
        "max_pool2d-padding-upper-case",
        lambda ops: ops.max_pool2d(X4, 3, padding="SAME_LOWER"),
        VE,
        "padding",
        "'SAME_LOWER'",
    ),
    E(
        "max_pool2d-window-larger-than-input",
        lambda ops: ops.max_pool2d(np.ones((1, 1, 2, 2)), 3),
        VE,
        "output",
        "3",
    ),
    E(
        "pool2d_output_shape-window-larger-than-input",
        lambda ops: ops.pool2d_output_shape((1, 1, 2, 2), 3),
        VE,
        "output",
    ),
    E("max_pool2d-X-bool", lambda ops: ops.max_pool2d(X4.astype(bool), 2), TE, "X", "bool"),
    E(
        "max_pool2d_vjp-dY-shape",
        lambda ops: ops.max_pool2d_vjp(X4, np.ones((1, 1, 1, 1)), 2),
        VE,
        "dY",
        "(1, 1, 1, 1)",
    ),
)
AVG_POOL2D_ERRORS = (
    E("avg_pool2d-X-2d", lambda ops: ops.avg_pool2d(np.ones((4, 4)), 2), VE, "X", "(4, 4)"),
    E("avg_pool2d-stride-negative", lambda ops: ops.avg_pool2d(X4, 2, stride=(2, -1)), VE, "stride", "-1"),
    E("avg_pool2d-kernel-negative", lambda ops: ops.avg_pool2d(X4, (2, -1)), VE, "kernel_size", "-1"),
    E(
        "avg_pool2d-padding-kernel",
        lambda ops: ops.avg_pool2d(X4, (2, 3), padding=(2, 1)),
        VE,
        "padding",
        "2",
    ),
    E("avg_pool2d-padding-kernel-k1", lambda ops: ops.avg_pool2d(X4, 1, padding=1), VE, "padding", "1"),
    E(
        "avg_pool2d-padding-nested-kernel",
        lambda ops: ops.avg_pool2d(X4, 3, padding=((1, 1), (0, 3))),
        VE,
        "padding",
        "((1, 1), (0, 3))",
    ),
    E(
        "avg_pool2d-padding-same-upper",
        lambda ops: ops.avg_pool2d(X4, 3, padding="SAME"),
        VE,
        "padding",
        "'SAME'",
    ),
    E(
        "avg_pool2d-window-larger-than-input",
        lambda ops: ops.avg_pool2d(np.ones((1, 1, 4, 2)), 3),
        VE,
        "output",
        "3",
    ),
    E("avg_pool2d-X-complex", lambda ops: ops.avg_pool2d(X4.astype(complex), 2), TE, "X", "complex"),
    E(
        "avg_pool2d_vjp-dY-shape",
        lambda ops: ops.avg_pool2d_vjp(X4, np.ones((1, 2, 2, 2)), 2),
        VE,
        "dY",
        "(1, 2, 2, 2)",
    ),
)


def _window_levels(levels: Mapping[str, Any], dilation: int) -> tuple[Any, ...]:
    """(kernel, stride, padding, input size) of a pooling space's relative levels: per axis for
    kernel, stride and size; padding as the op takes it (an int pair, nested pairs or a string)."""
    kernel = levels["kernel"] if isinstance(levels["kernel"], tuple) else (levels["kernel"],) * 2
    axes = []
    for k in kernel:
        stride = {"window": k, "over": k + 1}.get(levels["stride"], levels["stride"])
        span = dilation * (k - 1) + 1
        pads = {"half": (k // 2, k // 2), "full": (k - 1, k - 1), "asym": (0, k - 1)}.get(
            levels["padding"], (0, 0)
        )
        # "same": one output whatever the window; else one window, the padded input no larger.
        minimal = 1 if levels["padding"] in ("same", "same_lower") else max(1, span - sum(pads))
        size = minimal if levels["size"] == "minimal" else minimal + 2 * stride + 1
        axes.append((k, stride, pads, size))
    kernel, stride, pads, size = zip(*axes, strict=True)
    if levels["padding"] in ("same", "same_lower", "valid"):
        padding: Any = levels["padding"]
    elif levels["padding"] in ("none", "half"):
        padding = tuple(before for before, _ in pads)  # the symmetric (ph, pw) form
    else:
        padding = tuple(pads) if levels["padding"] == "full" else (pads[0], pads[1][::-1])
    return kernel, stride, padding, size


def pool_calls(op: str) -> Callable[[Mapping[str, Any]], tuple[Call, ...]]:
    """The calls of one combination of a pooling space: ``op`` and its VJP on the same X."""

    def calls(levels: Mapping[str, Any]) -> tuple[Call, ...]:
        dilation = levels.get("dilation", 1)
        kernel, stride, padding, size = _window_levels(levels, dilation)
        kwargs: dict[str, Any] = {"kernel_size": kernel, "stride": stride, "padding": padding}
        kwargs["ceil_mode"] = levels["ceil_mode"]
        if op == "max_pool2d":
            kwargs["dilation"] = dilation
        else:
            kwargs["count_include_pad"] = levels["count_include_pad"]
        x_shape = (levels["batch"], levels["channels"], *size)
        y_shape = reference.pool2d_output_shape(
            x_shape, kernel, stride, padding, dilation, levels["ceil_mode"]
        )
        x = ArraySpec("X", x_shape, levels["fill"], layout=levels["layout"])
        dy = ArraySpec("dY", y_shape, levels["dY"], layout=levels["layout"])
        return (op, (x,), kwargs), (f"{op}_vjp", (x, dy), kwargs)

    return calls


# Relative levels (every combination valid): stride "window" (the default) or "over" the window by
# one; padding none, "half" the window (symmetric), "full" (kernel_size - 1 a side, the most
# explicit padding), "asym"metric (none above, kernel_size - 1 below; kernel_size - 1 left, none
# right), "valid", "same" or "same_lower"; size "minimal" (the padded input one window, a 1x1
# image where padding allows; with dilation, windows entirely in padding) or "odd" (ceil_mode
# windows past the padded input).
POOL_FACTORS = (
    ("kernel", (1, 2, 3, (2, 3))),
    ("stride", ("window", 1, 2, "over")),
    ("padding", ("none", "half", "full", "asym", "valid", "same", "same_lower")),
    ("ceil_mode", (False, True)),
    ("size", ("minimal", "odd")),
    ("batch", (0, 1, 2)),
    ("channels", (1, 3)),
)
MAX_POOL2D_SPACE = Space(
    (
        *POOL_FACTORS,
        ("dilation", (1, 2, 3)),
        ("fill", ("normal", "ties", "special", "nans", "neginf", "lowest")),
        ("dY", ("normal", "special")),
        ("layout", LAYOUTS),
        ("dtype", DTYPES),
    ),
    pool_calls("max_pool2d"),
)
AVG_POOL2D_SPACE = Space(
    (
        *POOL_FACTORS,
        ("count_include_pad", (True, False)),
        ("fill", ("normal", "special-sum", "infs", "neginf")),
        ("dY", ("normal", "special-sum")),
        ("layout", LAYOUTS),
        ("dtype", DTYPES),
    ),
    pool_calls("avg_pool2d"),
)


# LeNet's two poolings at batch 128 (the chapter's network); a ResNet stem pooling at batch 32.
WORKLOADS = (
    PoolWorkload("lenet-pool1", (128, 6, 28, 28), 2),
    PoolWorkload("lenet-pool2", (128, 16, 10, 10), 2),
    PoolWorkload("resnet-pool-3x3-s2", (32, 64, 112, 112), 3, stride=2, padding=1),
)

MAX_POOL2D = OpSpec(
    name="max_pool2d",
    section="pooling",
    validate=check_pool2d,
    forward=Function("max_pool2d", ("Y",), max_pool2d_bound),
    vjp=Function("max_pool2d_vjp", ("dX",), max_pool2d_vjp_bound),
    jvp=Function("max_pool2d_jvp", ("tY",), max_pool2d_jvp_bound),
    cases=with_jvp_twins(max_pool2d_cases, "max_pool2d_vjp", "max_pool2d_jvp", ("X",)),
    strategy=generated_cases("max_pool2d"),
    space=MAX_POOL2D_SPACE,
    errors=MAX_POOL2D_ERRORS,
    workloads=WORKLOADS,
)
AVG_POOL2D = OpSpec(
    name="avg_pool2d",
    section="pooling",
    validate=check_pool2d,
    forward=Function("avg_pool2d", ("Y",), avg_pool2d_bound),
    vjp=Function("avg_pool2d_vjp", ("dX",), avg_pool2d_vjp_bound),
    jvp=Function("avg_pool2d_jvp", ("tY",), avg_pool2d_jvp_bound),
    cases=with_jvp_twins(avg_pool2d_cases, "avg_pool2d_vjp", "avg_pool2d_jvp", ("X",)),
    strategy=generated_cases("avg_pool2d"),
    space=AVG_POOL2D_SPACE,
    errors=AVG_POOL2D_ERRORS,
    workloads=WORKLOADS,
)

SPECS = (
    MAX_POOL2D,
    AVG_POOL2D,
)
