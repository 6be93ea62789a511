"""conv2d and conv2d_vjp: named cases, generated cases, invalid calls, bounds and workloads."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from hypothesis import strategies as st

import reference
from conformance.adversarial import LAYOUTS
from conformance.cases import DTYPES, GENERATED, ArraySpec, Case, Shapes, case_id, suffix, with_jvp_twins
from conformance.error_cases import TE, VE, W3, X4, Y2, E
from conformance.space import Call, Space
from conformance.spec import Function, OpSpec
from conformance.tolerance import Bounds, absolute, reduction_bound
from conformance.workloads import ConvWorkload
from reference.shapes import conv2d_geometry
from reference.validation import check_conv2d

# The chapter's padding-and-strides examples (8x8 inputs) and the seeds they were drawn with.
CHAPTER_EXAMPLES: tuple[tuple[dict[str, Any], tuple[int, ...]], ...] = (
    ({"padding": 1}, (1, 1, 3, 3)),
    ({"padding": (2, 1)}, (1, 1, 5, 3)),
    ({"padding": 1, "stride": 2}, (1, 1, 3, 3)),
    ({"padding": (0, 1), "stride": (3, 4)}, (1, 1, 3, 5)),
)
CHAPTER_SEEDS = {  # from numpy.random.default_rng(7), so each example keeps its data
    "float32": (671191146, 734632613, 963375983, 620936792),
    "float64": (895125968, 241814378, 59626577, 322301094),
}
PADDINGS: tuple[Any, ...] = (0, 1, (1, 2), ((0, 1), (2, 1)), ((2, 0), (0, 1)), "valid", "same", "same_lower")
SPECIAL_SHAPES = ((2, 3, 6, 6), (2, 3, 3, 3))  # X and W of the NaN and Inf cases


def chapter_cases() -> Iterator[Case]:
    """conv2d of an 8x8 input as the chapter pads and strides it."""
    for dtype in DTYPES:
        for (kwargs, w_shape), seed in zip(CHAPTER_EXAMPLES, CHAPTER_SEEDS[dtype], strict=True):
            yield Case(
                case_id("chapter-conv2d", kwargs, dtype, f"k{w_shape[2]}x{w_shape[3]}"),
                "conv2d",
                (ArraySpec("X", (1, 1, 8, 8)), ArraySpec("W", w_shape)),
                tuple(kwargs.items()),
                dtype,
                seed=seed,
                source="chapter",
            )


def grid_cases() -> Iterator[Case]:
    """conv2d and conv2d_vjp over padding forms x strides x dilations x groups x dtypes."""
    shapes = Shapes(np.random.default_rng(20))
    for padding, stride, dilation, groups, dtype in itertools.product(
        PADDINGS, (1, 2, 3), (1, 2), (1, 2), DTYPES
    ):
        kh, kw = shapes.size(1, 4), shapes.size(1, 4)
        span_h, span_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1
        x_shape = (
            shapes.size(1, 3),
            groups * shapes.size(1, 3),
            shapes.size(span_h, span_h + 7),
            shapes.size(span_w, span_w + 7),
        )
        w_shape = (groups * shapes.size(1, 3), x_shape[1] // groups, kh, kw)
        kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        y_shape = reference.conv2d_output_shape(x_shape, w_shape, **kwargs)
        seed = next(shapes.seeds)
        x, w = ArraySpec("X", x_shape), ArraySpec("W", w_shape)
        for op, third in (
            ("conv2d", ArraySpec("b", (w_shape[0],))),
            ("conv2d_vjp", ArraySpec("dY", y_shape)),
        ):
            yield Case(case_id(op, kwargs, dtype), op, (x, w, third), tuple(kwargs.items()), dtype, seed)


def special_value_cases() -> Iterator[Case]:
    """NaN and +-Inf inputs propagate as IEEE arithmetic does."""
    x_shape, w_shape = SPECIAL_SHAPES
    for fill, dtype in itertools.product(("nan", "inf"), DTYPES):
        yield Case(
            f"conv2d-{fill}-{suffix(dtype)}",
            "conv2d",
            (ArraySpec("X", x_shape, fill), ArraySpec("W", w_shape)),
            (("padding", 1),),
            dtype,
            source="special",
        )


def named_cases() -> Iterator[Case]:
    yield from chapter_cases()
    yield from grid_cases()
    yield from special_value_cases()


def _pair(draw: st.DrawFn, values: st.SearchStrategy[int]) -> tuple[int, int]:
    return (draw(values), draw(values))


def _int_or_pair(low: int, high: int) -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(low, high), st.tuples(st.integers(low, high), st.integers(low, high)))


@st.composite
def generated_cases(draw: st.DrawFn) -> Case:
    """Random conv2d and conv2d_vjp calls: kernels 1-7, strides and dilations 1-3, groups, all paddings."""
    groups = draw(st.integers(1, 3))
    kernel = _pair(draw, st.integers(1, 7))
    stride = draw(_int_or_pair(1, 3))
    dilation = draw(_int_or_pair(1, 3))
    dil = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dil, strict=True)]
    padding = draw(
        st.one_of(
            st.sampled_from(["valid", "same", "same_lower"]),
            st.integers(0, 3),
            st.tuples(st.integers(0, 3), st.integers(0, 3)),
            st.tuples(
                st.tuples(st.integers(0, 3), st.integers(0, 3)),
                st.tuples(st.integers(0, 3), st.integers(0, 3)),
            ),
        )
    )
    x_shape = (
        draw(st.integers(1, 3)),
        groups * draw(st.integers(1, 3)),
        draw(st.integers(span[0], span[0] + 8)),
        draw(st.integers(span[1], span[1] + 8)),
    )
    w_shape = (groups * draw(st.integers(1, 3)), x_shape[1] // groups, *kernel)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    op = draw(st.sampled_from(["conv2d", "conv2d_vjp"]))
    dtype = draw(st.sampled_from(DTYPES))
    third = (
        ArraySpec("b", (w_shape[0],))
        if op == "conv2d"
        else ArraySpec("dY", reference.conv2d_output_shape(x_shape, w_shape, **kwargs))
    )
    seed = draw(st.integers(0, 2**30))
    shapes = "x".join(map(str, x_shape)) + "-" + "x".join(map(str, w_shape))
    return Case(
        f"hyp-{op}-{shapes}-{kwargs}-{dtype}-{seed}",
        op,
        (ArraySpec("X", x_shape), ArraySpec("W", w_shape), third),
        tuple(kwargs.items()),
        dtype,
        seed,
        source=GENERATED,
    )


def conv2d_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """Y: a sum of ``C/groups * kh * kw`` products and the bias, of magnitude ``|X| * |W| + |b|``."""
    X, W, *b = absolute(arrays)
    _, c_per_group, kh, kwid = W.shape
    magnitude = reference.conv2d(X, W, b[0] if b else None, **kw)
    return [reduction_bound(dtype, c_per_group * kh * kwid + 1, magnitude)]


def conv2d_vjp_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """dX: ``O/groups * kh * kw`` terms; dW and db: one term per output position of the batch."""
    X, W, dY = absolute(arrays)
    o, _, kh, kwid = W.shape
    geometry = conv2d_geometry(X.shape, W.shape, **kw)
    dX, dW, db = reference.conv2d_vjp(X, W, dY, **kw)
    positions = X.shape[0] * int(np.prod(geometry.output_size))
    return [
        reduction_bound(dtype, o // geometry.groups * kh * kwid, dX),
        reduction_bound(dtype, positions, dW),
        reduction_bound(dtype, positions, db),
    ]


def conv2d_jvp_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """``conv2d(tX, W) + conv2d(X, tW)``: one sum of ``2 C/groups kh kw`` products, of magnitude
    ``|tX| * |W| + |X| * |tW|`` (two sums of ``n`` and their addition meet at most ``n + 1 <= 2n``
    roundings per term)."""
    X, W, tX, tW = absolute(arrays)
    _, c_per_group, kh, kwid = W.shape
    magnitude = reference.conv2d(tX, W, **kw) + reference.conv2d(X, tW, **kw)
    return [reduction_bound(dtype, 2 * c_per_group * kh * kwid, magnitude)]


ERRORS = (
    E("conv2d-X-3d", lambda ops: ops.conv2d(np.ones((1, 4, 4)), W3), VE, "X", "(1, 4, 4)"),
    E("conv2d-W-3d", lambda ops: ops.conv2d(X4, np.ones((1, 3, 3))), VE, "W", "(1, 3, 3)"),
    E("conv2d-W-5d", lambda ops: ops.conv2d(X4, np.ones((1, 1, 1, 3, 3))), VE, "W", "(1, 1, 1, 3, 3)"),
    E(
        "conv2d-channel-mismatch",
        lambda ops: ops.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 2, 3, 3))),
        VE,
        "3",
        "(2, 2, 3, 3)",
    ),
    E(
        "conv2d-groups-times-in-channels-mismatch",
        lambda ops: ops.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 1, 3, 3)), groups=2),
        VE,
        "3",
        "groups=2",
    ),
    E(
        "conv2d-groups-not-dividing-out-channels",
        lambda ops: ops.conv2d(np.ones((1, 4, 5, 5)), np.ones((3, 2, 3, 3)), groups=2),
        VE,
        "groups=2",
        "3",
    ),
    E("conv2d-groups-0", lambda ops: ops.conv2d(X4, W3, groups=0), VE, "groups", "0"),
    E("conv2d-groups-negative", lambda ops: ops.conv2d(X4, W3, groups=-1), VE, "groups", "-1"),
    E("conv2d-stride-0", lambda ops: ops.conv2d(X4, W3, stride=0), VE, "stride", "0"),
    E("conv2d-stride-negative", lambda ops: ops.conv2d(X4, W3, stride=-2), VE, "stride", "-2"),
    E("conv2d-stride-pair-0", lambda ops: ops.conv2d(X4, W3, stride=(1, 0)), VE, "stride", "0"),
    E("conv2d-dilation-0", lambda ops: ops.conv2d(X4, W3, dilation=0), VE, "dilation", "0"),
    E("conv2d-dilation-negative", lambda ops: ops.conv2d(X4, W3, dilation=(-1, 1)), VE, "dilation", "-1"),
    E("conv2d-padding-negative", lambda ops: ops.conv2d(X4, W3, padding=-1), VE, "padding", "-1"),
    E("conv2d-padding-pair-negative", lambda ops: ops.conv2d(X4, W3, padding=(0, -1)), VE, "padding", "-1"),
    E(
        "conv2d-padding-nested-negative",
        lambda ops: ops.conv2d(X4, W3, padding=((0, 0), (-1, 0))),
        VE,
        "padding",
        "-1",
    ),
    E("conv2d-padding-full", lambda ops: ops.conv2d(X4, W3, padding="full"), VE, "padding", "'full'"),
    E(
        "conv2d-kernel-larger-than-input",
        lambda ops: ops.conv2d(np.ones((1, 1, 2, 2)), W3),
        VE,
        "output",
        "3",
    ),
    E(
        "conv2d-dilated-kernel-larger-than-padded-input",
        lambda ops: ops.conv2d(X4, W3, dilation=2, padding=((0, 0), (0, 0))),
        VE,
        "output",
        "5",
    ),
    E(
        "conv2d_output_shape-kernel-larger-than-input",
        lambda ops: ops.conv2d_output_shape((1, 1, 2, 2), (1, 1, 3, 3)),
        VE,
        "output",
    ),
    E("conv2d-X-complex", lambda ops: ops.conv2d(X4.astype(complex), W3), TE, "X", "complex"),
    E("conv2d-W-complex", lambda ops: ops.conv2d(X4, W3.astype(np.complex64)), TE, "W", "complex"),
    E("conv2d-W-bool", lambda ops: ops.conv2d(X4, W3.astype(bool)), TE, "W", "bool"),
    E("conv2d-X-object", lambda ops: ops.conv2d(X4.astype(object), W3), TE, "X", "object"),
    E("conv2d-X-str", lambda ops: ops.conv2d(np.full((1, 1, 4, 4), "a"), W3), TE, "X", "<U1"),
    E("conv2d-b-complex", lambda ops: ops.conv2d(X4, W3, b=np.ones(1, complex)), TE, "b", "complex"),
    E("conv2d_vjp-dY-complex", lambda ops: ops.conv2d_vjp(X4, W3, Y2.astype(complex)), TE, "dY", "complex"),
    E("conv2d-bias-wrong-length", lambda ops: ops.conv2d(X4, W3, b=np.ones(3)), VE, "b", "(3,)"),
    E("conv2d-bias-2d", lambda ops: ops.conv2d(X4, W3, b=np.ones((1, 1))), VE, "b", "(1, 1)"),
    E(
        "conv2d_vjp-dY-shape",
        lambda ops: ops.conv2d_vjp(X4, W3, np.ones((1, 1, 3, 3))),
        VE,
        "dY",
        "(1, 1, 3, 3)",
    ),
    E(
        "conv2d_jvp-tW-shape",
        lambda ops: ops.conv2d_jvp(X4, W3, X4, np.ones((1, 1, 3, 2))),
        VE,
        "tW",
        "(1, 1, 3, 2)",
    ),
    E("conv2d_vjp-dY-3d", lambda ops: ops.conv2d_vjp(X4, W3, np.ones((1, 2, 2))), VE, "dY", "(1, 2, 2)"),
)

# LeNet's two convolutions at batch 128 (the chapter's network); ResNet-like layers at batch 32.
WORKLOADS = (
    ConvWorkload("lenet-conv1", (128, 1, 28, 28), (6, 1, 5, 5), padding=2),
    ConvWorkload("lenet-conv2", (128, 6, 14, 14), (16, 6, 5, 5)),
    ConvWorkload("resnet-64x56x56-3x3", (32, 64, 56, 56), (64, 64, 3, 3), padding=1),
    ConvWorkload("resnet-128x28x28-3x3", (32, 128, 28, 28), (128, 128, 3, 3), padding=1, on_reference=False),
    ConvWorkload("resnet-64x56x56-1x1", (32, 64, 56, 56), (256, 64, 1, 1), on_reference=False),
    ConvWorkload(
        "resnet-256x56x56-1x1-s2", (32, 256, 56, 56), (128, 256, 1, 1), stride=2, on_reference=False
    ),
)


def _conv_axes(levels: Mapping[str, Any]) -> tuple[tuple[int, int], tuple[int, int], Any, tuple[int, int]]:
    """(kernel, stride, padding, input size) of a conv space's relative levels."""
    kernel = levels["kernel"] if isinstance(levels["kernel"], tuple) else (levels["kernel"],) * 2
    dilation = levels["dilation"]
    spans = [dilation * (k - 1) + 1 for k in kernel]
    stride = tuple(k + 1 for k in kernel) if levels["stride"] == "over" else (levels["stride"],) * 2
    named = {
        "half": tuple((k // 2, k // 2) for k in kernel),
        "full": tuple((s - 1, s - 1) for s in spans),  # windows that hold one real element
        "asym": ((0, 1), (1, 0)),
    }
    padding = named.get(levels["padding"], levels["padding"])
    if isinstance(padding, str):  # "same(_lower)" fits any input, "valid" none smaller than the window
        minimal = [1 if padding.startswith("same") else span for span in spans]
    else:
        pads = ((padding, padding),) * 2 if isinstance(padding, int) else padding
        minimal = [max(1, span - sum(pair)) for span, pair in zip(spans, pads, strict=True)]
    size = tuple(
        m if levels["size"] == "minimal" else m + 2 * s + 1 for m, s in zip(minimal, stride, strict=True)
    )
    return kernel, stride, padding, size  # type: ignore[return-value]


def conv_calls(levels: Mapping[str, Any]) -> tuple[Call, ...]:
    """conv2d (with or without bias) and conv2d_vjp of one combination of :data:`CONV2D_SPACE`."""
    kernel, stride, padding, size = _conv_axes(levels)
    channels = levels["channels"]
    groups = channels if levels["groups"] == "depthwise" else 1
    x_shape = (levels["batch"], channels, *size)
    w_shape = (groups * levels["out"], channels // groups, *kernel)
    kwargs = {"stride": stride, "padding": padding, "dilation": levels["dilation"], "groups": groups}
    y_shape = reference.conv2d_output_shape(x_shape, w_shape, **kwargs)
    layout = levels["layout"]
    x = ArraySpec("X", x_shape, levels["fill"], layout=layout)
    w = ArraySpec("W", w_shape, levels["W"], layout=layout)
    b = (ArraySpec("b", (w_shape[0],), levels["W"], layout=layout),) if levels["bias"] else ()
    dy = ArraySpec("dY", y_shape, levels["dY"], layout=layout)
    return ("conv2d", (x, w, *b), kwargs), ("conv2d_vjp", (x, w, dy), kwargs)


# Relative levels (every combination valid): stride "over" the window by one; padding "half"
# the window, "full" (all but one tap in padding), "asym"metric, "same", "same_lower" or "valid"; size
# "minimal" (the padded input one window) or "odd"; groups one or "depthwise" (one per channel).
CONV2D_SPACE = Space(
    (
        ("kernel", (1, 3, (2, 3))),
        ("stride", (1, 2, "over")),
        ("padding", (0, "half", "full", "asym", "same", "same_lower", "valid")),
        ("dilation", (1, 2)),
        ("groups", ("one", "depthwise")),
        ("bias", (True, False)),
        ("size", ("minimal", "odd")),
        ("batch", (0, 1, 2)),
        ("channels", (1, 2, 3)),
        ("out", (1, 2)),
        ("fill", ("normal", "special-sum")),
        ("W", ("normal", "special-sum")),
        ("dY", ("normal", "special-sum")),
        ("layout", LAYOUTS),
        ("dtype", DTYPES),
    ),
    conv_calls,
)


CONV2D = OpSpec(
    name="conv2d",
    section="padding-and-strides",
    validate=check_conv2d,
    forward=Function("conv2d", ("Y",), conv2d_bound),
    vjp=Function("conv2d_vjp", ("dX", "dW", "db"), conv2d_vjp_bound),
    jvp=Function("conv2d_jvp", ("tY",), conv2d_jvp_bound),
    cases=with_jvp_twins(named_cases, "conv2d_vjp", "conv2d_jvp", ("X", "W")),
    strategy=generated_cases(),
    space=CONV2D_SPACE,
    errors=ERRORS,
    workloads=WORKLOADS,
)

SPECS = (CONV2D,)
