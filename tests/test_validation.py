"""Invalid arguments raise the documented error, and non-finite values propagate.

Error cases are data: a record holds the call, the exception type and what
the message must mention (the argument's name and its bad value, DESIGN.md:
"a message that names the argument, its value and the rule"). One generic
test runs them all.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings

import reference
from conformance.error_cases import W3, X4, Y2
from conformance.lenet_errors import LENET_ERRORS
from conformance.specs import error_cases
from tests import naive
from tests.test_against_naive import conv_cases

ERROR_CASES = [*error_cases(), *LENET_ERRORS]  # the LeNet models' run on ReferenceLeNet


@pytest.mark.parametrize("case", ERROR_CASES, ids=repr)
def test_invalid_argument_raises(case):
    with pytest.raises(case.error) as info:
        case.call(reference)
    assert type(info.value) is case.error, f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    for text in case.mentions:
        assert text in message, f"{text!r} not in message {message!r}"


def test_error_case_ids_are_unique():
    ids = [case.id for case in ERROR_CASES]
    assert len(ids) == len(set(ids))


def test_the_boundary_values_are_accepted():
    # padding exactly half the window, stride/dilation/groups 1, output size exactly 1
    assert reference.max_pool2d(X4, 3, padding=1).shape == (1, 1, 2, 2)
    assert reference.avg_pool2d(X4, (2, 3), padding=(1, 1)).shape == (1, 1, 3, 2)
    assert reference.conv2d(X4, np.ones((1, 1, 4, 4))).shape == (1, 1, 1, 1)
    assert reference.conv2d(X4, W3, padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1).shape == Y2.shape
    assert reference.softmax_cross_entropy_vjp(np.zeros((2, 3)), np.array([0, 2])).shape == (2, 3)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint8, np.int64])
def test_integer_inputs_are_accepted_and_give_float64(dtype):
    X = np.arange(16).reshape(1, 1, 4, 4).astype(dtype)
    assert reference.conv2d(X, W3.astype(dtype)).dtype == np.float64
    assert reference.max_pool2d(X, 2).dtype == np.float64
    assert reference.avg_pool2d(X, 2).dtype == np.float64
    np.testing.assert_array_equal(reference.max_pool2d(X, 2), [[[[5, 7], [13, 15]]]])


# --------------------------------------------------------------------------
# NaN and infinity propagate
# --------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(case=conv_cases(dtypes=("float64", "float32")))
def test_conv2d_nan_reaches_exactly_the_outputs_whose_window_holds_it(case):
    X, W, b = case.arrays()
    rng = np.random.default_rng(case.seed + 3)
    where = tuple(int(rng.integers(n)) for n in X.shape)
    X = X.copy()
    X[where] = np.nan
    Y = reference.conv2d(X, W, b, **case.kwargs)
    indicator = np.zeros(X.shape)
    indicator[where] = 1.0
    touched = naive.conv2d(indicator, np.ones(W.shape), **case.kwargs) > 0
    np.testing.assert_array_equal(np.isnan(Y), touched, err_msg=repr(case))


def test_conv2d_nan_in_the_kernel_spoils_its_output_channel_only():
    X = np.ones((1, 2, 4, 4))
    W = np.ones((3, 2, 2, 2))
    W[1, 0, 1, 1] = np.nan
    isnan = np.isnan(reference.conv2d(X, W))
    assert isnan[:, 1].all() and not isnan[:, [0, 2]].any()


def _row(*values):
    return np.array(values, dtype=np.float64).reshape(1, 1, 1, -1)


INF, NAN = math.inf, math.nan


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize(
    ("op", "X", "kwargs", "expected"),
    [
        ("max_pool2d", _row(1, INF, 2, 3), {"kernel_size": (1, 2)}, _row(INF, 3)),
        ("max_pool2d", _row(-INF, -INF, -INF, 3), {"kernel_size": (1, 2)}, _row(-INF, 3)),
        (
            "max_pool2d",
            _row(-INF, 0, 1, 2),
            {"kernel_size": (1, 3), "padding": (0, 1), "stride": (1, 3)},
            _row(0, 2),
        ),
        ("max_pool2d", _row(1, NAN, 2, 3), {"kernel_size": (1, 2)}, _row(NAN, 3)),
        ("max_pool2d", _row(NAN, INF, -INF, 3), {"kernel_size": (1, 2)}, _row(NAN, 3)),
        ("max_pool2d", _row(INF, NAN, 0, 0), {"kernel_size": (1, 2)}, _row(NAN, 0)),
        ("avg_pool2d", _row(1, INF, 2, 3), {"kernel_size": (1, 2)}, _row(INF, 2.5)),
        ("avg_pool2d", _row(-INF, INF, 2, 3), {"kernel_size": (1, 2)}, _row(NAN, 2.5)),
        ("avg_pool2d", _row(NAN, 1, 2, 3), {"kernel_size": (1, 2)}, _row(NAN, 2.5)),
    ],
    ids=[
        "max-inf",
        "max-all-minus-inf",
        "max-minus-inf-beside-padding",
        "max-nan",
        "max-nan-beats-inf",
        "max-nan-after-inf",
        "avg-inf",
        "avg-inf-minus-inf",
        "avg-nan",
    ],
)
def test_pooling_non_finite_values(op, X, kwargs, expected):
    np.testing.assert_array_equal(getattr(reference, op)(X, **kwargs), expected)


def test_max_pool2d_window_over_padding_only_gives_minus_inf():
    # k 2, dilation 5, padding 1 on 4 rows: the taps sit on rows -1 and 4, both padding
    X = np.arange(16.0).reshape(1, 1, 4, 4)
    kwargs = {"kernel_size": 2, "padding": 1, "dilation": 5}
    np.testing.assert_array_equal(reference.max_pool2d(X, **kwargs), [[[[-INF]]]])
    dX = reference.max_pool2d_vjp(X, np.ones((1, 1, 1, 1)), **kwargs)
    np.testing.assert_array_equal(dX, np.zeros_like(X))


def test_max_pool2d_vjp_nan_window_sends_gradient_to_first_nan():
    X = _row(1, NAN, NAN, 5)
    dX = reference.max_pool2d_vjp(X, _row(2.0), (1, 4))
    np.testing.assert_array_equal(dX, _row(0, 2, 0, 0))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_non_finite_values_in_sigmoid_relu_and_loss():
    np.testing.assert_array_equal(reference.sigmoid(np.array([-INF, INF])), [0.0, 1.0])
    assert np.isnan(reference.sigmoid(np.array([NAN]))).all()
    assert np.isnan(reference.relu(np.array([NAN]))).all()
    assert np.isnan(reference.softmax_cross_entropy(np.array([[NAN, 0.0]]), np.array([1])))


def test_message_states_the_rule():
    with pytest.raises(ValueError, match=re.compile(r"stride.*>=\s*1|stride.*at least 1|positive")):
        reference.conv2d(X4, W3, stride=0)
