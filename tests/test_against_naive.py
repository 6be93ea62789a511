"""The vectorised reference against the naive loops of tests/naive.py.

Cases are small frozen records drawn by hypothesis; each prints as a readable
id (``conv2d-x(1,2,5,4)-w(2,1,3,2)-s(2,1)-p'same'-d1-g2-f32``) so a failure
says what was run. Accuracy claims checked here (DESIGN.md):

- float64 results: the reference and the naive loop both accumulate in
  float64, in different orders, so they agree to within a few units of
  roundoff of the sum of absolute terms: `FLOAT64_BOUND` times that sum.
- float32 results: the reference rounds its float64 sum once, so it lies
  within one float32 ulp of the naive float64 result (plus the float64 bound).
- max pooling selects an element: exactly equal.
- dtype: the floating result type of the inputs; integers give float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference
from tests import naive

FAST = settings(max_examples=100, deadline=None)

U64 = 2.0**-53
"""float64 unit roundoff."""
LONGEST_REDUCTION = 27
"""The most terms any result below sums: corr2d_multi_in_out's c_in * kh * kw <= 3 * 3 * 3
(conv2d: (c_in / groups) * kh * kw <= 2 * 3 * 3; avg pooling: 3 * 3 cells; linear: 6 inputs)."""
EXTRA_ROUNDINGS = 4
"""Roundings after the sum: a bias, the average's division, or sigmoid's exp, add and divide."""
_STEPS = LONGEST_REDUCTION + EXTRA_ROUNDINGS
FLOAT64_BOUND = 2 * _STEPS * U64 / (1 - _STEPS * U64)
"""Any evaluation order of k float64 roundings lies within gamma_k = k u / (1 - k u) times
the sum of |terms| of the exact value (Higham, Accuracy and Stability of Numerical
Algorithms, eq. 3.5); the reference and the naive loop are two such orders, so they
differ by at most 2 gamma_k times that sum (about 6.9e-15)."""

DTYPES = ("float64", "float32", "int64")
SHORT = {"float64": "f64", "float32": "f32", "int64": "i64", "int32": "i32"}


def expected_dtype(*dtypes):
    """The floating result type of the inputs; integers promote to float64."""
    result = np.result_type(*dtypes)
    return result if np.issubdtype(result, np.floating) else np.dtype(np.float64)


def random_array(rng, shape, dtype, values="normal"):
    """Normal floats, or small integers (which make ties) in the given dtype."""
    if values == "small-int" or np.issubdtype(np.dtype(dtype), np.integer):
        return rng.integers(-3, 4, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def fmt(value):
    """A compact spelling for ids: (2, 2) -> 2, (2, 1) -> (2,1), 'same' -> 'same'."""
    if isinstance(value, tuple):
        if len(set(value)) == 1 and not isinstance(value[0], tuple):
            return str(value[0])
        return "(" + ",".join(fmt(v) for v in value) + ")"
    return repr(value) if isinstance(value, str) else str(value)


def assert_within_roundoff(actual, expected, abs_terms, *, what):
    """|actual - expected| <= 1 ulp of actual's dtype (float32 only) + FLOAT64_BOUND * abs_terms.

    ``expected`` is the naive float64 result, ``abs_terms`` the naive result on
    absolute values (the sum of |terms|, which bounds the roundoff of any order).
    On failure, names the first bad element, the values, the bound and the case.
    """
    __tracebackhide__ = True
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    bound = FLOAT64_BOUND * abs_terms
    if actual.dtype == np.float32:
        bound = bound + np.spacing(np.abs(expected).astype(np.float32)).astype(np.float64)
    error = np.abs(actual.astype(np.float64) - expected)
    bad = ~(error <= bound)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"out{list(index)} = {actual[index]!r}, naive {expected[index]!r}, "
            f"bound {bound[index]:.3g}, {int(bad.sum())} bad of {bad.size} [{what}]"
        )


# --------------------------------------------------------------------------
# conv2d
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvCase:
    x_shape: tuple
    w_shape: tuple
    stride: object
    padding: object
    dilation: object
    groups: int
    bias: bool
    x_dtype: str
    w_dtype: str
    values: str
    seed: int

    def __repr__(self):
        dtypes = SHORT[self.x_dtype] + ("" if self.w_dtype == self.x_dtype else SHORT[self.w_dtype])
        return (
            f"conv2d-x{fmt(self.x_shape)}-w{fmt(self.w_shape)}-s{fmt(self.stride)}"
            f"-p{fmt(self.padding)}-d{fmt(self.dilation)}-g{self.groups}"
            f"{'-bias' if self.bias else ''}-{dtypes}-{self.values}-seed{self.seed}"
        )

    @property
    def kwargs(self):
        return {
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "groups": self.groups,
        }

    def arrays(self):
        rng = np.random.default_rng(self.seed)
        X = random_array(rng, self.x_shape, self.x_dtype, self.values)
        W = random_array(rng, self.w_shape, self.w_dtype, self.values)
        b = random_array(rng, (self.w_shape[0],), self.w_dtype, self.values) if self.bias else None
        return X, W, b


def int_or_pair(low, high):
    value = st.integers(low, high)
    return st.one_of(value, st.tuples(value, value))


def conv_paddings():
    """Every accepted form: int, (ph, pw), ((top, bottom), (left, right)), 'valid', 'same'."""
    side = st.integers(0, 2)
    return st.one_of(
        side,
        st.tuples(side, side),
        st.tuples(st.tuples(side, side), st.tuples(side, side)),
        st.just("valid"),
        st.just("same"),
    )


def pad_totals(padding):
    """Total padding per axis for the explicit forms (0 for the strings, which
    need no minimum size: 'same' always gives ceil(H/s) >= 1)."""
    if isinstance(padding, str):
        return (0, 0)
    if isinstance(padding, int):
        return (2 * padding, 2 * padding)
    first, second = padding
    if isinstance(first, int):
        return (2 * first, 2 * second)
    return (sum(first), sum(second))


def smallest_input(kernel, dilation, pad_total):
    return max(1, dilation * (kernel - 1) + 1 - pad_total)


@st.composite
def conv_cases(draw, dtypes=DTYPES):
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(int_or_pair(1, 3))
    dilation = draw(int_or_pair(1, 3))
    padding = draw(conv_paddings())
    dh, dw = naive.pair(dilation)
    pad_h, pad_w = pad_totals(padding)
    h_min, w_min = smallest_input(kh, dh, pad_h), smallest_input(kw, dw, pad_w)
    H = draw(st.integers(h_min, h_min + 4))
    W = draw(st.integers(w_min, w_min + 4))
    return ConvCase(
        x_shape=(draw(st.integers(1, 2)), c_in, H, W),
        w_shape=(c_out, c_in // groups, kh, kw),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=draw(st.booleans()),
        x_dtype=draw(st.sampled_from(dtypes)),
        w_dtype=draw(st.sampled_from(dtypes)),
        values=draw(st.sampled_from(["normal", "small-int"])),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@FAST
@given(case=conv_cases())
def test_conv2d_matches_naive(case):
    X, W, b = case.arrays()
    Y = reference.conv2d(X, W, b, **case.kwargs)
    expected = naive.conv2d(X, W, b, **case.kwargs)
    abs_b = None if b is None else np.abs(b.astype(np.float64))
    abs_terms = naive.conv2d(np.abs(X.astype(np.float64)), np.abs(W.astype(np.float64)), abs_b, **case.kwargs)
    dtypes = [X.dtype, W.dtype] + ([] if b is None else [b.dtype])
    assert Y.dtype == expected_dtype(*dtypes), f"dtype {Y.dtype} [{case!r}]"
    assert_within_roundoff(Y, expected, abs_terms, what=repr(case))
    assert reference.conv2d_output_shape(case.x_shape, case.w_shape, **case.kwargs) == Y.shape


@FAST
@given(case=conv_cases(dtypes=("float64",)))
def test_same_padding_keeps_ceil_size(case):
    """'same' gives ceil(H/s) x ceil(W/s) for every stride and dilation."""
    X, W, _ = case.arrays()
    kwargs = {**case.kwargs, "padding": "same"}
    Y = reference.conv2d(X, W, **kwargs)
    sh, sw = naive.pair(case.stride)
    H, Wd = case.x_shape[2:]
    assert Y.shape[2:] == (-(-H // sh), -(-Wd // sw))
    explicit = tuple(
        naive.same_padding(n, k, s, d)
        for n, k, s, d in zip((H, Wd), case.w_shape[2:], (sh, sw), naive.pair(case.dilation), strict=True)
    )
    np.testing.assert_array_equal(Y, reference.conv2d(X, W, **{**kwargs, "padding": explicit}))
    expected = naive.conv2d(X, W, **kwargs)
    abs_terms = naive.conv2d(np.abs(X), np.abs(W), **kwargs)
    assert_within_roundoff(Y, expected, abs_terms, what=f"{case!r} with padding='same'")


# --------------------------------------------------------------------------
# The chapter's channel functions and corr2d: special cases of conv2d
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelCase:
    """Inputs for the chapter's (C, H, W) functions: X (c_in, H, W), K (c_out, c_in, kh, kw)."""

    x_shape: tuple
    k_shape: tuple
    dtype: str
    seed: int

    def __repr__(self):
        return f"corr2d-x{fmt(self.x_shape)}-k{fmt(self.k_shape)}-{SHORT[self.dtype]}-seed{self.seed}"

    def arrays(self):
        rng = np.random.default_rng(self.seed)
        return random_array(rng, self.x_shape, self.dtype), random_array(rng, self.k_shape, self.dtype)


@st.composite
def channel_cases(draw):
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    H, W = draw(st.integers(kh, kh + 4)), draw(st.integers(kw, kw + 4))
    return ChannelCase(
        x_shape=(c_in, H, W),
        k_shape=(c_out, c_in, kh, kw),
        dtype=draw(st.sampled_from(DTYPES)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def naive_corr(X, K):
    """naive conv2d on a (C, H, W) input, with its sum of |terms|."""
    X64, K64 = X.astype(np.float64)[None], K.astype(np.float64)
    return naive.conv2d(X64, K64)[0], naive.conv2d(np.abs(X64), np.abs(K64))[0]


@FAST
@given(case=channel_cases())
def test_chapter_channel_functions_match_naive(case):
    X, K = case.arrays()
    out_dtype = expected_dtype(case.dtype)
    checks = [
        ("corr2d_multi_in_out", reference.corr2d_multi_in_out(X, K), naive_corr(X, K)),
        ("corr2d_multi_in", reference.corr2d_multi_in(X, K[0]), naive_corr(X, K[:1])),
        ("corr2d", reference.corr2d(X[0], K[0, 0]), naive_corr(X[:1], K[:1, :1])),
        (
            "corr2d_multi_in_out_1x1",
            reference.corr2d_multi_in_out_1x1(X, K[:, :, :1, :1]),
            naive_corr(X, K[:, :, :1, :1]),
        ),
    ]
    for name, actual, (expected, abs_terms) in checks:
        assert actual.dtype == out_dtype, f"{name} dtype {actual.dtype} [{case!r}]"
        if name in ("corr2d_multi_in", "corr2d"):  # one output channel, no channel axis
            expected, abs_terms = expected[0], abs_terms[0]
        assert_within_roundoff(actual, expected, abs_terms, what=f"{name} {case!r}")


# --------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolCase:
    mode: str  # "max" or "avg"
    x_shape: tuple
    kernel_size: object
    stride: object
    padding: object
    dilation: object
    ceil_mode: bool
    count_include_pad: bool
    dtype: str
    values: str
    seed: int

    def __repr__(self):
        extra = (
            f"-d{fmt(self.dilation)}"
            if self.mode == "max"
            else ("-incl-pad" if self.count_include_pad else "-excl-pad")
        )
        return (
            f"{self.mode}_pool2d-x{fmt(self.x_shape)}-k{fmt(self.kernel_size)}"
            f"-s{fmt(self.stride)}-p{fmt(self.padding)}{extra}"
            f"{'-ceil' if self.ceil_mode else ''}-{SHORT[self.dtype]}-{self.values}-seed{self.seed}"
        )

    @property
    def kwargs(self):
        kwargs = {
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "ceil_mode": self.ceil_mode,
        }
        if self.mode == "max":
            kwargs["dilation"] = self.dilation
        else:
            kwargs["count_include_pad"] = self.count_include_pad
        return kwargs

    def array(self):
        return random_array(np.random.default_rng(self.seed), self.x_shape, self.dtype, self.values)

    @property
    def has_output(self):
        """False when no window fits (naive output size < 1): a ValueError."""
        stride = naive.pair(self.kernel_size if self.stride is None else self.stride)
        kernel, dilation = naive.pair(self.kernel_size), naive.pair(self.dilation)
        pads = naive.conv2d_padding(self.padding, self.x_shape[2:], kernel, stride, dilation)
        return all(
            naive.pool_output_size(n, k, s, p, d, self.ceil_mode) >= 1
            for n, k, s, p, d in zip(self.x_shape[2:], kernel, stride, pads, dilation, strict=True)
        )


@st.composite
def pool_cases(draw, mode, dtypes=DTYPES):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel_size = kh if kh == kw and draw(st.booleans()) else (kh, kw)
    stride = draw(st.one_of(st.none(), int_or_pair(1, 3)))
    # Every padding form: explicit pads up to kernel_size - 1 a side (symmetric or not), "valid",
    # "same" and "same_lower".
    form = draw(st.sampled_from(["int", "pair", "nested", "valid", "same", "same_lower"]))
    pt, pb = draw(st.integers(0, kh - 1)), draw(st.integers(0, kh - 1))
    pl, pr = draw(st.integers(0, kw - 1)), draw(st.integers(0, kw - 1))
    if form == "int":
        pt = pb = pl = pr = min(pt, kw - 1)
    elif form == "pair":
        pb, pr = pt, pl
    padding = {"int": pt, "pair": (pt, pl), "nested": ((pt, pb), (pl, pr))}.get(form, form)
    pad_h, pad_w = (0, 0) if isinstance(padding, str) else (pt + pb, pl + pr)
    dilation = draw(int_or_pair(1, 3)) if mode == "max" else 1
    dh, dw = naive.pair(dilation)
    ceil_mode = draw(st.booleans())
    # In floor mode the window must fit in the padded input. In ceil mode it may
    # hang past it by up to 2 cells: one window (ceil(span/s) = 0) or, for
    # stride 1, no window at all (a ValueError, checked by the tests).
    overhang = 2 if ceil_mode else 0
    h_min = max(1, smallest_input(kh, dh, pad_h) - overhang)
    w_min = max(1, smallest_input(kw, dw, pad_w) - overhang)
    return PoolCase(
        mode=mode,
        x_shape=(
            draw(st.integers(1, 2)),
            draw(st.integers(1, 2)),
            draw(st.integers(h_min, h_min + 5)),
            draw(st.integers(w_min, w_min + 5)),
        ),
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        count_include_pad=draw(st.booleans()),
        dtype=draw(st.sampled_from(dtypes)),
        values=draw(st.sampled_from(["normal", "small-int"])),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@FAST
@given(case=pool_cases("max"))
def test_max_pool2d_matches_naive_exactly(case):
    X = case.array()
    if not case.has_output:
        with pytest.raises(ValueError, match="output"):
            reference.max_pool2d(X, **case.kwargs)
        return
    Y = reference.max_pool2d(X, **case.kwargs)
    expected = naive.max_pool2d(X, **case.kwargs)
    assert Y.dtype == expected_dtype(X.dtype), f"dtype {Y.dtype} [{case!r}]"
    assert Y.shape == expected.shape, f"shape {Y.shape} != {expected.shape} [{case!r}]"
    np.testing.assert_array_equal(Y, expected.astype(Y.dtype), err_msg=repr(case))
    assert tuple(reference.pool2d_output_shape(case.x_shape, **case.kwargs)) == Y.shape


@FAST
@given(case=pool_cases("avg"))
def test_avg_pool2d_matches_naive(case):
    X = case.array()
    if not case.has_output:
        with pytest.raises(ValueError, match="output"):
            reference.avg_pool2d(X, **case.kwargs)
        return
    Y = reference.avg_pool2d(X, **case.kwargs)
    expected = naive.avg_pool2d(X, **case.kwargs)
    abs_terms = naive.avg_pool2d(np.abs(X.astype(np.float64)), **case.kwargs)
    assert Y.dtype == expected_dtype(X.dtype), f"dtype {Y.dtype} [{case!r}]"
    assert_within_roundoff(Y, expected, abs_terms, what=repr(case))
    shape_kwargs = {k: v for k, v in case.kwargs.items() if k != "count_include_pad"}
    assert tuple(reference.pool2d_output_shape(case.x_shape, **shape_kwargs)) == Y.shape


@FAST
@given(
    size=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    pool=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    mode=st.sampled_from(["max", "avg"]),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_chapter_pool2d_matches_naive(size, pool, mode, dtype, seed):
    """pool2d is the chapter's loop: stride 1, no padding, 2-D input."""
    H, W = max(size[0], pool[0]), max(size[1], pool[1])
    X = random_array(np.random.default_rng(seed), (H, W), dtype)
    Y = reference.pool2d(X, pool, mode)
    oracle = naive.max_pool2d if mode == "max" else naive.avg_pool2d
    expected = oracle(X[None, None], pool, stride=1)[0, 0]
    assert Y.dtype == expected_dtype(X.dtype)
    abs_terms = oracle(np.abs(X[None, None].astype(np.float64)), pool, stride=1)[0, 0]
    assert_within_roundoff(Y, expected, abs_terms, what=f"pool2d {mode} {pool} {dtype}")


# --------------------------------------------------------------------------
# Shape helpers against the naive counting
# --------------------------------------------------------------------------


@FAST
@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    pad_total=st.integers(0, 6),
    dilation=st.integers(1, 3),
)
def test_conv_output_size_counts_window_positions(size, kernel, stride, pad_total, dilation):
    expected = naive.conv_output_size(size, kernel, stride, pad_total, dilation)
    actual = reference.conv_output_size(size, kernel, stride, pad_total, dilation)
    if expected >= 1:
        assert actual == expected
    else:  # no window fits: the formula counts none (the validator raises, test_validation.py)
        assert actual <= 0


@FAST
@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
)
def test_same_padding_matches_tensorflow_rule(size, kernel, stride, dilation):
    before, after = reference.same_padding(size, kernel, stride, dilation)
    assert (before, after) == naive.same_padding(size, kernel, stride, dilation)
    assert after - before in (0, 1)
    assert naive.conv_output_size(size, kernel, stride, before + after, dilation) == -(-size // stride)


@FAST
@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 7),
    stride=st.one_of(st.none(), st.integers(1, 4)),
    data=st.data(),
    dilation=st.integers(1, 3),
    ceil_mode=st.booleans(),
)
def test_pool_output_size_matches_naive(size, kernel, stride, data, dilation, ceil_mode):
    padding = data.draw(
        st.one_of(
            st.integers(0, kernel - 1), st.tuples(st.integers(0, kernel - 1), st.integers(0, kernel - 1))
        ),
        label="padding (each side, or before and after)",
    )
    expected = naive.pool_output_size(
        size, kernel, kernel if stride is None else stride, padding, dilation, ceil_mode
    )
    actual = reference.pool_output_size(
        size, kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )
    if expected >= 1:
        assert actual == expected
        return
    # No window (larger than the padded input by a stride or more): the formula counts
    # none and the validator refuses the shape.
    assert actual <= 0
    with pytest.raises(ValueError, match="output"):
        reference.pool2d_output_shape(
            (1, 1, size, 1), (kernel, 1), stride=stride and (stride, 1),
            padding=(naive.pair(padding), (0, 0)), dilation=(dilation, 1), ceil_mode=ceil_mode,
        )  # fmt: skip


# --------------------------------------------------------------------------
# Dense layer, activations, flatten, loss
# --------------------------------------------------------------------------


@FAST
@given(
    n=st.integers(1, 4),
    n_in=st.integers(1, 6),
    n_out=st.integers(1, 5),
    bias=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_linear_matches_naive(n, n_in, n_out, bias, dtype, seed):
    rng = np.random.default_rng(seed)
    X = random_array(rng, (n, n_in), dtype)
    W = random_array(rng, (n_out, n_in), dtype)
    b = random_array(rng, (n_out,), dtype) if bias else None
    Y = reference.linear(X, W, b)
    assert Y.dtype == expected_dtype(dtype)
    abs_b = None if b is None else np.abs(b.astype(np.float64))
    abs_terms = naive.linear(np.abs(X.astype(np.float64)), np.abs(W.astype(np.float64)), abs_b)
    assert_within_roundoff(Y, naive.linear(X, W, b), abs_terms, what=f"linear {dtype}")


@FAST
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_activations_and_flatten(shape, dtype, seed):
    X = random_array(np.random.default_rng(seed), shape, dtype) * 3
    S = reference.sigmoid(X)
    assert S.dtype == expected_dtype(X.dtype)
    expected = naive.sigmoid(X)
    assert_within_roundoff(S, expected, np.abs(expected), what=f"sigmoid {dtype}")
    R = reference.relu(X)
    assert R.dtype == expected_dtype(X.dtype)
    np.testing.assert_array_equal(R, np.where(X > 0, X, 0).astype(R.dtype))
    F = reference.flatten(X)
    assert F.shape == (shape[0], int(np.prod(shape[1:])))
    np.testing.assert_array_equal(F, X.reshape(shape[0], -1))


def test_flatten_is_c_order_channel_height_width():
    X = np.arange(2 * 3 * 2 * 2.0).reshape(2, 3, 2, 2)
    np.testing.assert_array_equal(reference.flatten(X)[1], np.arange(12.0, 24.0))


SOFTMAX_ROWS, SOFTMAX_CLASSES = 4, 6
"""The most rows N and classes K the softmax cases draw."""
SOFTMAX_FLOAT64_BOUND = 2 * (SOFTMAX_CLASSES + SOFTMAX_ROWS + 4) * U64
"""Per row, max subtraction, K exps, a sum and a log, then a mean over N rows: each of
the reference and the naive loss is within about (K + N + 4) u64 (|loss| + max|z|) of
the exact loss, so they differ by at most twice that (the worst difference in 20,000
random cases was 2.2 u64 (|loss| + max|z|))."""


@FAST
@given(
    n=st.integers(1, SOFTMAX_ROWS),
    k=st.integers(2, SOFTMAX_CLASSES),
    scale=st.sampled_from([1.0, 30.0, 1000.0]),
    dtype=st.sampled_from(("float64", "float32")),
    seed=st.integers(0, 2**32 - 1),
)
def test_softmax_cross_entropy_matches_naive(n, k, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    logits = (scale * rng.standard_normal((n, k))).astype(dtype)
    labels = rng.integers(0, k, size=n)
    loss = reference.softmax_cross_entropy(logits, labels)
    expected = naive.softmax_cross_entropy(logits, labels)
    assert np.isfinite(loss)
    assert np.ndim(loss) == 0
    # Both compute in float64 from the same (exactly converted) logits: they differ by at
    # most SOFTMAX_FLOAT64_BOUND (|loss| + max|z|). The reference then rounds once to the logits'
    # dtype: at most u |loss| (u = 2**-24 for float32, 2**-53 for float64) plus half the
    # smallest float32 subnormal for a loss in the subnormal range.
    float64_error = SOFTMAX_FLOAT64_BOUND * (abs(expected) + np.abs(logits).max())
    rounding = float(np.finfo(dtype).eps) / 2 * abs(expected) + float(np.finfo(dtype).smallest_subnormal) / 2
    assert abs(float(loss) - expected) <= float64_error + rounding


@pytest.mark.parametrize(
    ("logits", "labels", "expected"),
    [
        ([[1000.0, -1000.0]], [0], 0.0),
        ([[1000.0, -1000.0]], [1], 2000.0),
        ([[0.0, 0.0, 0.0, 0.0]], [2], float(np.log(4.0))),
        ([[-1000.0, -1000.0], [1000.0, 1000.0]], [0, 1], float(np.log(2.0))),
    ],
    ids=["confident-right", "confident-wrong", "uniform-4", "large-equal-logits"],
)
def test_softmax_cross_entropy_is_stable(logits, labels, expected):
    loss = reference.softmax_cross_entropy(np.array(logits), np.array(labels))
    assert float(loss) == pytest.approx(expected, rel=1e-12, abs=1e-12)
