"""Every reference op and VJP on the chosen backend: golden, grid, ties, specials, hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference
from backends import UnsupportedError
from conformance.cases import DTYPES, ArraySpec, Case, all_cases
from conformance.runner import run_case

CASES = all_cases()
HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _run(backend, case, results) -> None:
    try:
        run_case(backend, case, results)
    except UnsupportedError as error:
        pytest.skip(f"unsupported by {backend.name}: {error}")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case(backend, results, case: Case) -> None:
    _run(backend, case, results)


def _pair(draw, values):
    return (draw(values), draw(values))


@st.composite
def conv_cases(draw) -> Case:
    """Random conv2d and conv2d_vjp calls: kernels 1-7, strides and dilations 1-3, groups, all paddings."""
    groups = draw(st.integers(1, 3))
    kernel = _pair(draw, st.integers(1, 7))
    stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    dilation = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    dil = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dil, strict=True)]
    padding = draw(
        st.one_of(
            st.sampled_from(["valid", "same"]),
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
        source="hypothesis",
    )


@st.composite
def pool_cases(draw) -> Case:
    """Random max/avg pooling calls and VJPs: windows 1-4, strides, padding, dilation, ceil_mode."""
    op = draw(st.sampled_from(["max_pool2d", "max_pool2d_vjp", "avg_pool2d", "avg_pool2d_vjp"]))
    kernel = _pair(draw, st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": draw(st.booleans())}
    dilation = (1, 1)
    if op.startswith("max"):
        dilation = _pair(draw, st.integers(1, 2))
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
        source="hypothesis",
    )


@HYPOTHESIS
@given(case=conv_cases())
def test_conv2d_hypothesis(backend, results, case: Case) -> None:
    _run(backend, case, results)


@HYPOTHESIS
@given(case=pool_cases())
def test_pool2d_hypothesis(backend, results, case: Case) -> None:
    _run(backend, case, results)
