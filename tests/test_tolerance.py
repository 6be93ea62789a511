"""The tolerance policy's two promises, measured on the suite's own cases.

1. Every correct float32 implementation passes, whatever its summation order:
   each float32 reduction case (conv2d, conv2d_vjp, linear, linear_vjp, the
   corr2d family; average pooling on positive data, the worst case of a
   sequential sum) is recomputed in NumPy float32 as explicit sums of its terms
   (products rounded to float32, then added sequentially, pairwise, or in blocks
   of 8 and 64) and must be within its bound.
2. Lower precision fails: the same cases with X, W and dY rounded to TF32 (10
   mantissa bits, round to nearest even; the products and sums exact) fail
   exactly when TF32 cannot represent their inputs, and a float64 result with
   a relative error of 1e-6 fails.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import reference
from conformance.cases import Case
from conformance.compare import ConformanceError, check_output
from conformance.specs import all_cases, bounds
from conformance.tolerance import Exact, gamma, summing, unit_roundoff
from reference.dtypes import round_to
from reference.shapes import conv2d_geometry

CASES = [case for case in all_cases() if case.source != "pairwise"]  # finite data: the bound's terms
CONV_OPS = (
    "conv2d",
    "conv2d_vjp",
    "linear",
    "linear_vjp",
    "corr2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "corr2d_multi_in_out_1x1",
)
REDUCTIONS = [case for case in CASES if case.op in CONV_OPS]
FLOAT32 = [case for case in REDUCTIONS if case.dtype == "float32"]
FLOAT64 = [case for case in REDUCTIONS if case.dtype == "float64"]
HALF = [case for case in REDUCTIONS if case.dtype in ("float16", "bfloat16") and "-nan-" not in case.id]
HALF = [case for case in HALF if "-inf-" not in case.id]  # finite sums: the simulations below
AVG_POOLS = [
    case
    for case in CASES
    if case.op == "avg_pool2d" and case.dtype == "float32" and not case.kw.get("ceil_mode", False)
]


def _outputs(case: Case, arrays: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    with np.errstate(all="ignore"):
        value = getattr(reference, case.op)(*arrays, **case.kw)
    return value if isinstance(value, tuple) else (value,)


# -- summation orders, vectorised over rows: T (rows, k) float32 -> (rows,) float32 --
def sequential(T: np.ndarray) -> np.ndarray:
    total = T[:, 0].copy()
    for column in T.T[1:]:
        total += column
    return total


def reverse_sequential(T: np.ndarray) -> np.ndarray:
    return sequential(T[:, ::-1])


def pairwise(T: np.ndarray) -> np.ndarray:
    while T.shape[1] > 1:
        if T.shape[1] % 2:
            T = np.concatenate([T, np.zeros_like(T[:, :1])], axis=1)
        T = T[:, 0::2] + T[:, 1::2]
    return T[:, 0]


def blocked(size: int) -> Callable[[np.ndarray], np.ndarray]:
    def order(T: np.ndarray) -> np.ndarray:
        blocks = [sequential(T[:, start : start + size]) for start in range(0, T.shape[1], size)]
        return sequential(np.stack(blocks, axis=1))

    order.__name__ = f"blocked_{size}"
    return order


ORDERS = [sequential, reverse_sequential, pairwise, blocked(8), blocked(64)]


# -- every reduction case as sums of explicit terms --------------------------
@dataclass
class Terms:
    """Output ``name`` as ``left[rows, k] * right[rows, k]`` summed over k (zeros pad short rows)."""

    name: str
    shape: tuple[int, ...]
    left: np.ndarray
    right: np.ndarray

    def exact(self) -> np.ndarray:
        """The float64 sum (float32 products are exact in float64)."""
        return (self.left.astype(np.float64) * self.right).sum(axis=1).reshape(self.shape)

    def in_float32(self, order: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        products = self.left.astype(np.float32) * self.right.astype(np.float32)
        return order(products).reshape(self.shape)


def _gather(targets: np.ndarray, size: int, left: np.ndarray, right: np.ndarray):
    """Group term pairs by target element: (size, most terms of any target) matrices, zero-padded."""
    order = np.argsort(targets, kind="stable")
    targets, left, right = targets[order], left[order], right[order]
    counts = np.bincount(targets, minlength=size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(targets.size) - starts[targets]
    width = max(int(counts.max(initial=0)), 1)
    L, R = np.zeros((size, width), left.dtype), np.zeros((size, width), right.dtype)
    L[targets, slot], R[targets, slot] = left, right
    return L, R


def conv_terms(X: np.ndarray, W: np.ndarray, third: np.ndarray | None, vjp: bool, **kw) -> list[Terms]:
    """conv2d (third = bias or None) or conv2d_vjp (third = dY) as terms, from an explicit im2col."""
    n, c, h, w = X.shape
    o, cg, kh, kwid = W.shape
    geometry = conv2d_geometry(X.shape, W.shape, **kw)
    (top, _), (left, _) = geometry.padding
    (sh, sw), (dh, dw), groups = geometry.stride, geometry.dilation, geometry.groups
    ho, wo = geometry.output_size
    # One row per (output element, tap): the flat indices of the X and W elements it multiplies.
    batch, out, row, col, cin, tap_h, tap_w = np.meshgrid(
        *(np.arange(s) for s in (n, o, ho, wo, cg, kh, kwid)), indexing="ij", sparse=False
    )
    rows, cols = row * sh + tap_h * dh - top, col * sw + tap_w * dw - left
    channel = (out // (o // groups)) * cg + cin
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    x_index = np.where(inside, ((batch * c + channel) * h + rows) * w + cols, -1)
    w_index = ((out * cg + cin) * kh + tap_h) * kwid + tap_w
    y_index = ((batch * o + out) * ho + row) * wo + col
    y_index, x_index, w_index = (a.reshape(-1) for a in (y_index, x_index, w_index))
    x_flat, w_flat = X.reshape(-1), W.reshape(-1)
    real = x_index >= 0
    if not vjp:
        L, R = _gather(y_index[real], n * o * ho * wo, x_flat[x_index[real]], w_flat[w_index[real]])
        if third is not None:  # the bias, added last
            bias = np.broadcast_to(third[None, :, None, None], (n, o, ho, wo)).reshape(-1, 1)
            L, R = np.concatenate([L, bias], axis=1), np.concatenate([R, np.ones_like(bias)], axis=1)
        return [Terms("Y", (n, o, ho, wo), L, R)]
    dy_flat = third.reshape(-1)
    y_real, x_real, w_real = y_index[real], x_index[real], w_index[real]
    dX = Terms("dX", X.shape, *_gather(x_real, X.size, dy_flat[y_real], w_flat[w_real]))
    dW = Terms("dW", W.shape, *_gather(w_real, W.size, dy_flat[y_real], x_flat[x_real]))
    channels = np.broadcast_to(np.arange(o)[None, :, None, None], third.shape).reshape(-1)
    db = Terms("db", (o,), *_gather(channels, o, dy_flat, np.ones_like(dy_flat)))
    return [dX, dW, db]


def case_terms(case: Case) -> list[Terms]:
    """The case's outputs as terms, in the order its op returns them (each reshaped to the output's shape)."""
    arrays = case.arrays()
    if case.op in ("conv2d", "conv2d_vjp"):
        X, W, *third = arrays
        return conv_terms(X, W, third[0] if third else None, case.op == "conv2d_vjp", **case.kw)
    if case.op in ("linear", "linear_vjp"):  # a 1x1 convolution of (N, in, 1, 1)
        X, W, third = arrays
        if case.op == "linear":
            (Y,) = conv_terms(X[:, :, None, None], W[:, :, None, None], third, False)
            return [Terms("Y", Y.shape[:2], Y.left, Y.right)]
        dX, dW, db = conv_terms(X[:, :, None, None], W[:, :, None, None], third[:, :, None, None], True)
        return [Terms("dX", X.shape, dX.left, dX.right), Terms("dW", W.shape, dW.left, dW.right), db]
    X, K = arrays
    if case.op == "corr2d":
        X, K = X[None, None], K[None, None]
    elif case.op == "corr2d_multi_in":
        X, K = X[None], K[None]
    else:
        X = X[None]
    (Y,) = conv_terms(X, K, None, False)
    shape = getattr(reference, case.op)(*arrays).shape
    return [Terms("Y", shape, Y.left, Y.right)]


def test_terms_sum_to_the_reference():
    """The im2col behind the simulations is right: its float64 sums are the reference's values."""
    for case in FLOAT32 + FLOAT64:
        expected = _outputs(case, [a.astype(np.float64) for a in case.arrays()])
        for terms, value in zip(case_terms(case), expected, strict=True):
            with np.errstate(invalid="ignore"):
                np.testing.assert_allclose(terms.exact(), value, rtol=1e-12, atol=1e-12, err_msg=case.id)


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: order.__name__)
def test_every_float32_summation_order_passes(order):
    """Each output within its bound; long sums (the probabilistic term, > 36 terms) well within."""
    worst = {"short": 0.0, "long": 0.0}
    for case in FLOAT32:
        arrays = case.arrays()
        expected = _outputs(case, arrays)
        with np.errstate(all="ignore"):
            case_bounds = bounds(case.op, arrays, case.kw, case.dtype)
            all_terms = case_terms(case)
            outputs = [terms.in_float32(order) for terms in all_terms]
        for terms, actual, value, bound in zip(all_terms, outputs, expected, case_bounds, strict=True):
            ratio = check_output(f"{case.id} {terms.name} {order.__name__}", actual, value, bound)
            length = "long" if terms.left.shape[1] > 36 else "short"
            worst[length] = max(worst[length], ratio)
    print(f"{order.__name__}: worst ratio {worst} over {len(FLOAT32)} float32 cases")
    assert 0.0 < worst["short"] <= 1.0  # the sums do round, within the worst case n u
    assert 0.0 < worst["long"] <= 0.25  # LAMBDA = 6 leaves a margin of four and more


def _avg_pool_terms(X: np.ndarray, kw: dict) -> tuple[Terms, np.ndarray]:
    """Window sums of an avg_pool2d (no ceil_mode) as terms, and the divisors."""
    c = X.shape[1]
    kh, kwid = (kw["kernel_size"],) * 2 if isinstance(kw["kernel_size"], int) else kw["kernel_size"]
    stride = kw.get("stride") or (kh, kwid)
    ones = np.ones((c, 1, kh, kwid), X.dtype)
    conv = {"stride": stride, "padding": kw.get("padding", 0), "groups": c}
    (window,) = conv_terms(X, ones, None, False, **conv)
    if kw.get("count_include_pad", True):
        divisor = np.full(window.shape, float(kh * kwid))
    else:
        divisor = conv_terms(np.ones_like(X), ones, None, False, **conv)[0].exact()
    return window, divisor


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: order.__name__)
def test_float32_average_pooling_of_positive_data_passes(order):
    worst = 0.0
    for case in AVG_POOLS:
        X = np.abs(case.arrays()[0])
        window, divisor = _avg_pool_terms(X, case.kw)
        actual = window.in_float32(order) / divisor.astype(np.float32)
        expected = reference.avg_pool2d(X, **case.kw)
        (bound,) = bounds("avg_pool2d", [X], case.kw, "float32")
        worst = max(worst, check_output(f"{case.id} {order.__name__}", actual, expected, bound))
    print(f"{order.__name__}: worst ratio {worst:.3f} over {len(AVG_POOLS)} average poolings")
    assert 0.0 < worst <= 0.5


# -- lower precision fails -----------------------------------------------------
def to_tf32(array: np.ndarray) -> np.ndarray:
    """float32 -> the nearest TF32 value (10 mantissa bits, ties to even), kept as float32."""
    bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
    rounded = (bits + np.uint32(0xFFF) + ((bits >> np.uint32(13)) & np.uint32(1))) & np.uint32(0xFFFFE000)
    return np.where(np.isfinite(array), rounded.view(np.float32), array)


def test_to_tf32():
    x = np.array([1.0, 1 + 2.0**-10, 1 + 2.0**-11, 1 + 3 * 2.0**-11, 1 + 2.0**-12, -3.0, np.inf], np.float32)
    expected = [1.0, 1 + 2.0**-10, 1.0, 1 + 2 * 2.0**-10, 1.0, -3.0, np.inf]  # ties to even
    np.testing.assert_array_equal(to_tf32(x), np.array(expected, np.float32))


def _tf32_inputs(case: Case) -> list[np.ndarray]:
    """The case's arrays as a TF32 matmul unit reads them: X, W and dY rounded, a bias kept."""
    arrays = case.arrays()
    rounded = [to_tf32(a) for a in arrays]
    if case.op in ("conv2d", "linear") and len(arrays) == 3:
        rounded[2] = arrays[2]
    return rounded


def tf32_changes(case: Case) -> bool:
    """Whether TF32 rounding of the inputs changes the exact result (some grid cases read only padding)."""
    exact = _outputs(case, [a.astype(np.float64) for a in case.arrays()])
    rounded = _outputs(case, [a.astype(np.float64) for a in _tf32_inputs(case)])
    return any(not np.array_equal(e, r, equal_nan=True) for e, r in zip(exact, rounded, strict=True))


def tf32_ratio(case: Case) -> float:
    """The worst ratio of a TF32 computation of ``case`` (exact products and sums), inf if it fails."""
    arrays = case.arrays()
    expected = _outputs(case, arrays)
    actual = _outputs(case, [a.astype(np.float64) for a in _tf32_inputs(case)])
    with np.errstate(all="ignore"):
        case_bounds = bounds(case.op, arrays, case.kw, case.dtype)
    try:
        return max(
            check_output(case.id, a.astype(np.float32), e, b)
            for a, e, b in zip(actual, expected, case_bounds, strict=True)
        )
    except ConformanceError:
        return float("inf")


def test_tf32_inputs_fail_every_case_whose_result_they_change():
    changed = [case for case in FLOAT32 if tf32_changes(case)]
    passed = [case.id for case in changed if tf32_ratio(case) <= 1.0]
    print(f"TF32 inputs: {len(changed) - len(passed)} of {len(changed)} changed float32 cases fail")
    assert len(changed) > 150
    assert passed == []


def test_tf32_inputs_pass_where_tf32_represents_them():
    unchanged = [case for case in FLOAT32 if not tf32_changes(case)]
    assert {case.op for case in unchanged} >= {"corr2d", "corr2d_multi_in", "corr2d_multi_in_out"}
    assert [case.id for case in unchanged if tf32_ratio(case) > 1.0] == []


def test_a_relative_error_of_1e_6_fails_in_float64():
    """Every float64 output with a nonzero value (some grid VJPs see only padding: all zero)."""
    checked = 0
    for case in FLOAT64:
        arrays = case.arrays()
        expected = _outputs(case, arrays)
        with np.errstate(all="ignore"):
            case_bounds = bounds(case.op, arrays, case.kw, case.dtype)
        for value, bound in zip(expected, case_bounds, strict=True):
            if np.any(value[np.isfinite(value)] != 0):
                checked += 1
                with pytest.raises(ConformanceError, match="exceeds bound"):
                    check_output(case.id, value * (1 + 1e-6), value, bound)
    assert checked > 250


# -- the bound's terms -----------------------------------------------------------
def test_gamma_is_the_worst_case_for_short_sums_and_about_6_sqrt_n_u_for_long_ones():
    u = unit_roundoff(np.float32)
    assert gamma(1, np.float32) == pytest.approx(u / (1 - u), rel=1e-12)
    assert gamma(36, np.float32) == pytest.approx(36 * u, rel=1e-5)
    assert gamma(401, np.float32) == pytest.approx(6 * np.sqrt(401) * u, rel=1e-5)
    assert gamma(401, np.float32) < 401 * u / 3


def test_the_linear_bound_is_a_small_fraction_of_the_values():
    case = next(case for case in CASES if case.id == "linear-128x400x120-f32")
    arrays = case.arrays()
    (bound,) = bounds(case.op, arrays, case.kw, case.dtype)
    Y = np.abs(reference.linear(*[a.astype(np.float64) for a in arrays]))
    assert np.median(bound / Y) < 2e-4  # the worst-case 8 n u bound was 3.6e-3


def test_exact_marks_mixed_signed_zero_windows_only():
    X = np.array([[[[-0.0, -0.0, 0.0, -0.0, -0.0, -1.0, 0.0, -2.0]]]])
    (bound,) = bounds("max_pool2d", [X], {"kernel_size": (1, 2)}, "float64")
    assert isinstance(bound, Exact)
    np.testing.assert_array_equal(bound.signed, [[[[True, False, True, True]]]])


# -- half precision: the bound follows the dtype a backend sums in ------------------------------
def _in_half(terms: Terms, dtype: str) -> np.ndarray:
    """A backend summing in the half dtype: each product rounded to it, then sequential half adds."""
    products = round_to(terms.left.astype(np.float64) * terms.right.astype(np.float64), dtype)
    return sequential(products).reshape(terms.shape)


def _float32_rounded(terms: Terms, dtype: str) -> np.ndarray:
    """A backend summing in float32 (sequentially) and rounding once to the half dtype."""
    return round_to(terms.in_float32(sequential).astype(np.float64), dtype)


@functools.cache
def _half_simulations(index: int) -> tuple[list, tuple, dict[str, list]]:
    """HALF[index]: its terms, the reference's outputs, and both simulated backends' outputs."""
    case = HALF[index]
    all_terms = case_terms(case)
    simulated = {
        f.__name__: [f(terms, case.dtype) for terms in all_terms] for f in (_in_half, _float32_rounded)
    }
    return all_terms, _outputs(case, case.arrays()), simulated


def _half_ratios(accumulation: str, simulation: str) -> list[float]:
    """Each half case's worst ratio (inf where it fails) under a backend declaring ``accumulation``."""
    ratios = []
    for index, case in enumerate(HALF):
        _, expected, simulated = _half_simulations(index)
        with summing(case.dtype if accumulation == "half" else accumulation):
            case_bounds = bounds(case.op, case.arrays(), case.kw, case.dtype)
        try:
            outputs = zip(simulated[simulation], expected, case_bounds, strict=True)
            ratios.append(max(check_output(case.id, a, e, b) for a, e, b in outputs))
        except ConformanceError:
            ratios.append(float("inf"))
    return ratios


def test_half_sums_pass_the_half_bound():
    assert len(HALF) > 30
    assert max(_half_ratios("half", "_in_half")) <= 1.0


def test_float32_sums_rounded_once_pass_the_float32_declaration():
    assert max(_half_ratios("float32", "_float32_rounded")) <= 1.0


def test_half_sums_fail_a_float32_declaration():
    """Declared float32 sums but summed in the half dtype: every case with a sum of over 100 terms
    fails (the short ones round alike either way)."""
    ratios = _half_ratios("float32", "_in_half")
    long = [i for i in range(len(HALF)) if max(t.left.shape[1] for t in _half_simulations(i)[0]) > 100]
    assert len(long) >= 4
    assert all(ratios[i] > 1.0 for i in long)
