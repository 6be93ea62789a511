"""The adversarial inputs themselves: layouts keep values, fills hold what they claim, the
pairwise rows cover every pair, every combination of a space is a valid call, and the
reference meets the naive loops of tests/naive.py on the pools' pairwise cases."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

import reference
from conformance.adversarial import LAYOUTS, SUM_SCALE, fill_values, lay_out
from conformance.cases import ADVERSARIAL, Case
from conformance.space import pair_coverage
from conformance.specs import SPECS, all_cases, function
from tests import naive

SHAPES = ((5,), (3, 4), (2, 3, 4, 5), (1, 1, 1, 1), (0, 3, 2), (4, 0))
SPACES = {name: spec.space for name, spec in SPECS.items() if spec.space is not None}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_a_layout_keeps_shape_dtype_and_values(layout, shape):
    array = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    array.reshape(-1)[:2] = np.nan
    laid = lay_out(array, layout)
    assert laid.shape == array.shape and laid.dtype == array.dtype
    np.testing.assert_array_equal(laid, array)  # NaN equal to NaN


def test_each_layout_is_what_it_says():
    array = np.arange(24.0).reshape(2, 3, 4)
    assert lay_out(array, "C").flags.c_contiguous
    fortran = lay_out(array, "F")
    assert fortran.flags.f_contiguous and not fortran.flags.c_contiguous
    strided = lay_out(array, "strided")
    assert not strided.flags.c_contiguous and strided.strides[-1] == 2 * array.itemsize
    assert all(stride < 0 for stride in lay_out(array, "negative").strides)
    transposed = lay_out(array, "transposed")
    assert not transposed.flags.c_contiguous and transposed.strides[-2] == array.itemsize
    assert not lay_out(array, "readonly").flags.writeable
    with pytest.raises(ValueError, match="layout"):
        lay_out(array, "diagonal")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fills_hold_their_special_values(dtype):
    rng = np.random.default_rng(1)
    info = np.finfo(dtype)
    special = fill_values("special", (4000,), dtype, rng)
    assert np.isnan(special).any() and (special == np.inf).any() and (special == -np.inf).any()
    assert (special == info.max).any() and (special == -info.max).any()
    assert (special == info.smallest_subnormal).any()
    assert (np.signbit(special) & (special == 0)).any()  # -0.0
    summed = fill_values("special-sum", (4000,), dtype, rng)
    finite = summed[np.isfinite(summed)]
    assert np.abs(finite).max() == np.float64(np.sqrt(info.max) * SUM_SCALE).astype(dtype)
    assert np.isnan(fill_values("nans", (4000,), dtype, rng)).mean() == pytest.approx(0.5, abs=0.05)
    assert (fill_values("neginf", (3, 2), dtype, rng) == -np.inf).all()
    kinks = fill_values("kinks", (4000,), dtype, rng)
    assert (kinks == 0).any() and (np.abs(kinks[kinks != 0]) < 1e-30).any()
    tails = fill_values("tails", (4000,), dtype, rng)
    assert (np.abs(tails) >= 1e4).any() and (tails == -info.max).any()


def test_fills_are_seeded():
    for fill in ("special", "special-sum", "kinks", "tails", "nans", "infs"):
        a = fill_values(fill, (7, 5), "float32", np.random.default_rng(3))
        b = fill_values(fill, (7, 5), "float32", np.random.default_rng(3))
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", SPACES)
def test_the_pairwise_rows_hold_every_pair_of_levels(name):
    """Counted here pair by pair, independently of Space.coverage."""
    space = SPACES[name]
    rows = space.rows()
    for (a, levels_a), (b, levels_b) in itertools.combinations(space.factors, 2):
        for x, y in itertools.product(levels_a, levels_b):
            assert any(row[a] == x and row[b] == y for row in rows), f"{name}: {a}={x!r} with {b}={y!r}"
    covered, possible = space.coverage()
    assert (
        covered
        == possible
        == sum(len(x) * len(y) for (_, x), (_, y) in itertools.combinations(space.factors, 2))
    )


def test_pair_coverage_counts_missing_pairs():
    factors = (("a", (1, 2)), ("b", ("x", "y")), ("c", (True, False)))
    rows = [{"a": 1, "b": "x", "c": True}, {"a": 2, "b": "y", "c": True}]
    # a-b: 2 of 4, a-c: 2 of 4, b-c: 2 of 4
    assert pair_coverage(factors, rows) == (6, 12)


@pytest.mark.parametrize("name", SPACES)
def test_every_combination_is_a_valid_call(name):
    """Random combinations of the whole space (not only the pairwise rows) build cases that the
    reference accepts, with finite bounds wherever its result is finite."""
    space = SPACES[name]
    rng = random.Random(name)
    for seed in range(60):
        levels = {factor: rng.choice(values) for factor, values in space.factors}
        for case in space.build(levels, seed, ADVERSARIAL):
            assert case.id.startswith(f"hyp-{case.op}-") and case.source == ADVERSARIAL
            _, spec_function = function(case.op)
            arrays = case.arrays()
            with np.errstate(all="ignore"):
                outputs = spec_function.reference(*arrays, **case.kw)
                bounds = spec_function.bound(arrays, case.kw, np.dtype(case.dtype))
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            for output, bound in zip(outputs, bounds, strict=True):
                if isinstance(bound, np.ndarray):
                    assert not np.isnan(bound[np.isfinite(output)]).any(), case.id


def test_pairwise_cases_are_named_cases_that_replay():
    pairwise = [case for case in all_cases() if case.source == "pairwise"]
    assert len(pairwise) == sum(len(list(space.cases())) for space in SPACES.values())
    layouts = {spec.layout for case in pairwise for spec in case.inputs}
    assert layouts == set(LAYOUTS)
    for case in pairwise[::50]:
        again = Case.from_json(case.to_json())
        assert again == case
        for a, b in zip(again.arrays(), case.arrays(), strict=True):
            np.testing.assert_array_equal(a, b)
            assert a.strides == b.strides and a.flags.writeable == b.flags.writeable


NAIVE = {
    "max_pool2d": naive.max_pool2d,
    "max_pool2d_vjp": naive.max_pool2d_grad,
    "avg_pool2d": naive.avg_pool2d,
    "avg_pool2d_vjp": naive.avg_pool2d_grad,
}
POOL_CASES = [case for case in all_cases() if case.source == "pairwise" and case.op in NAIVE]


@pytest.mark.parametrize("case", POOL_CASES, ids=[case.id for case in POOL_CASES])
def test_reference_pools_meet_the_naive_loops_on_adversarial_inputs(case):
    """Special values, windows in padding and ceil_mode overhang: the naive loops of tests/naive.py
    (padding never selected, the first NaN wins, IEEE sums) give the same values."""
    arrays = case.arrays()
    kw = case.kw
    with np.errstate(all="ignore"):
        ours = getattr(reference, case.op)(*arrays, **kw)
        expected = NAIVE[case.op](*arrays, **kw).astype(ours.dtype)
    if case.op == "max_pool2d":  # a selection; the VJP sums overlapping windows in another order
        np.testing.assert_array_equal(ours, expected, err_msg=case.id)
    else:
        scale = np.nanmax(np.abs(np.where(np.isfinite(expected), expected, 0)), initial=1.0)
        np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-6 * scale, err_msg=case.id)
