"""Invalid arguments: the error type and a message naming the argument, its value and the rule.

The README promises that every invalid argument raises ValueError or TypeError
naming the argument. Each case states the substrings its message must hold,
worked out from the call (the argument's name and value, the sizes involved);
the window spans are ``dilation*(kernel_size-1)+1`` and the padded sizes
``size + padding on both sides``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import reference
from reference.activations import sigmoid_vjp_from_output
from reference.corr2d import Conv2D
from reference.shapes import conv2d_geometry, pool2d_geometry
from reference.validation import check_conv2d, check_pool2d

X1 = np.zeros((1, 1, 4, 4))
W1 = np.zeros((1, 1, 3, 3))
C = np.zeros((2, 2), dtype=np.complex128)


def _dense(**kwargs: Any) -> Callable[[], Any]:
    return lambda: reference.linear(**kwargs)


# (id, call, exception type, substrings of the message)
CASES: list[tuple[str, Callable[[], Any], type[Exception], list[str]]] = [
    # integers and pairs
    ("bool-stride", lambda: reference.conv2d(X1, W1, stride=True), TypeError, ["stride", "True"]),
    (
        "zero-stride",
        lambda: reference.conv2d(X1, W1, stride=0),
        ValueError,
        ["stride must be >= 1", "stride=0"],
    ),
    (
        "pair-first",
        lambda: reference.conv2d(X1, W1, stride=(0, 1)),
        ValueError,
        ["stride must be >= 1", "stride=(0, 1)"],
    ),
    (
        "pair-second",
        lambda: reference.conv2d(X1, W1, stride=(1, 0)),
        ValueError,
        ["stride must be >= 1", "stride=(1, 0)"],
    ),
    ("groups", lambda: reference.conv2d(X1, W1, groups=0), ValueError, ["groups must be >= 1", "groups=0"]),
    ("dilation", lambda: reference.conv2d(X1, W1, dilation=0), ValueError, ["dilation must be >= 1"]),
    (
        "pair-length",
        lambda: reference.conv2d(X1, W1, stride=(1, 2, 3)),
        ValueError,
        ["stride must be an int or a pair of ints", "stride=(1, 2, 3)"],
    ),
    # conv padding forms
    (
        "pad-top",
        lambda: reference.conv2d(X1, W1, padding=((-1, 0), (0, 0))),
        ValueError,
        ["padding must be >= 0", "padding=(-1, 0)"],
    ),
    (
        "pad-right",
        lambda: reference.conv2d(X1, W1, padding=((0, 0), (0, -1))),
        ValueError,
        ["padding must be >= 0", "padding=(0, -1)"],
    ),
    (
        "pad-int",
        lambda: reference.conv2d(X1, W1, padding=-1),
        ValueError,
        ["padding must be >= 0", "padding=-1"],
    ),
    # ranks, dtypes, shapes
    (
        "x-rank",
        lambda: reference.conv2d_output_shape((1, 1, 4), (1, 1, 3, 3)),
        ValueError,
        ["X must be 4-D", "X.shape=(1, 1, 4)"],
    ),
    (
        "w-rank",
        lambda: reference.conv2d_output_shape((1, 1, 4, 4), (1, 3, 3)),
        ValueError,
        ["W must be 4-D", "W.shape=(1, 3, 3)"],
    ),
    ("x-dtype", lambda: reference.conv2d(X1.astype(complex), W1), TypeError, ["X must hold real numbers"]),
    ("w-dtype", lambda: reference.conv2d(X1, W1.astype(complex)), TypeError, ["W must hold real numbers"]),
    ("w-ndim", lambda: reference.conv2d(X1, np.zeros((1, 3, 3))), ValueError, ["W must be 4-D"]),
    ("x-ndim", lambda: reference.conv2d(np.zeros((1, 4, 4)), W1), ValueError, ["X must be 4-D"]),
    (
        "b-dtype",
        lambda: reference.conv2d(X1, W1, np.zeros(1, complex)),
        TypeError,
        ["b must hold real numbers"],
    ),
    (
        "groups-channels",
        lambda: reference.conv2d(np.zeros((1, 4, 3, 3)), np.zeros((2, 1, 1, 1)), groups=2),
        ValueError,
        ["X has 4 channels", "groups=2", "W.shape[1]*groups = 2"],
    ),
    (
        "empty-kernel",
        lambda: reference.conv2d(X1, np.zeros((1, 1, 0, 3))),
        ValueError,
        ["kernel must be at least 1x1", "W.shape=(1, 1, 0, 3)"],
    ),
    ("dy-dtype", lambda: reference.relu_vjp(np.zeros((2, 2)), C), TypeError, ["dY must hold real numbers"]),
    (
        "dy-shape",
        lambda: reference.relu_vjp(np.zeros((2, 2)), np.zeros((2, 3))),
        ValueError,
        ["dY must have the output's shape (2, 2)", "dY.shape=(2, 3)"],
    ),
    # conv output smaller than one window (height: padding 1+1, dilation 2; width likewise)
    (
        "conv-height",
        lambda: reference.conv2d(
            np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 3, 1)), padding=((1, 1), (0, 0)), dilation=(2, 1)
        ),
        ValueError,
        ["output height must be >= 1", "padded input height 3", "kernel window span 5"],
    ),
    (
        "conv-width",
        lambda: reference.conv2d(
            np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1, 3)), padding=((0, 0), (1, 1)), dilation=(1, 2)
        ),
        ValueError,
        ["output width must be >= 1", "padded input width 3", "kernel window span 5"],
    ),
    # pooling
    (
        "pool-height",
        lambda: reference.max_pool2d(np.zeros((1, 1, 1, 5)), (3, 1), padding=(1, 0), dilation=(2, 1)),
        ValueError,
        ["output height must be >= 1", "padded input height 3", "pooling window span 5"],
    ),
    (
        "pool-width",
        lambda: reference.max_pool2d(np.zeros((1, 1, 5, 1)), (1, 3), padding=(0, 1), dilation=(1, 2)),
        ValueError,
        ["output width must be >= 1", "padded input width 3", "pooling window span 5"],
    ),
    (
        "pool-x-rank",
        lambda: reference.pool2d_output_shape((1, 4, 4), 2),
        ValueError,
        ["X must be 4-D", "X.shape=(1, 4, 4)"],
    ),
    (
        "pool-x-dtype",
        lambda: reference.max_pool2d(X1.astype(complex), 2),
        TypeError,
        ["X must hold real numbers"],
    ),
    ("pool-kernel", lambda: reference.max_pool2d(X1, 0), ValueError, ["kernel_size must be >= 1"]),
    ("pool-stride", lambda: reference.max_pool2d(X1, 2, stride=0), ValueError, ["stride must be >= 1"]),
    ("pool-padding", lambda: reference.max_pool2d(X1, 2, padding=-1), ValueError, ["padding must be >= 0"]),
    ("pool-dilation", lambda: reference.max_pool2d(X1, 2, dilation=0), ValueError, ["dilation must be >= 1"]),
    (
        "pool-ceil",
        lambda: reference.max_pool2d(X1, 2, ceil_mode=1),
        TypeError,
        ["ceil_mode must be a bool", "ceil_mode=1"],
    ),
    (
        "pool-count",
        lambda: reference.avg_pool2d(X1, 2, count_include_pad=1),
        TypeError,
        ["count_include_pad must be a bool", "count_include_pad=1"],
    ),
    (
        "pool-vjp-count",
        lambda: reference.avg_pool2d_vjp(X1, np.zeros((1, 1, 2, 2)), 2, count_include_pad=1),
        TypeError,
        ["count_include_pad must be a bool", "count_include_pad=1"],
    ),
    # the chapter's functions
    ("corr2d-x", lambda: reference.corr2d(C, np.zeros((1, 1))), TypeError, ["X must hold real numbers"]),
    ("corr2d-k", lambda: reference.corr2d(np.zeros((2, 2)), C), TypeError, ["K must hold real numbers"]),
    (
        "corr2d-channels",
        lambda: reference.corr2d_multi_in(np.zeros((2, 4, 5)), np.zeros((3, 2, 2))),
        ValueError,
        ["K has 3 input channels but X has 2"],
    ),
    (
        "corr2d-empty",
        lambda: reference.corr2d(np.zeros((4, 4)), np.zeros((0, 2))),
        ValueError,
        ["must be non-empty", "K.shape=(0, 2)"],
    ),
    ("pool2d-x", lambda: reference.pool2d(C, 1), TypeError, ["X must hold real numbers"]),
    ("pool2d-rank", lambda: reference.pool2d(np.zeros((2, 3, 3)), 2), ValueError, ["X must be 2-D"]),
    ("pool2d-size", lambda: reference.pool2d(np.zeros((3, 3)), 0), ValueError, ["pool_size must be >= 1"]),
    (
        "pool2d-fit",
        lambda: reference.pool2d(np.zeros((2, 5)), (3, 1)),
        ValueError,
        ["pool_size=(3, 1) must fit", "X.shape=(2, 5)"],
    ),
    ("conv2d-layer", lambda: Conv2D(0), ValueError, ["kernel_size must be >= 1"]),
    # dense, elementwise, flatten, loss
    (
        "dense-x",
        _dense(X=np.zeros((2, 3), complex), W=np.zeros((4, 3))),
        TypeError,
        ["X must hold real numbers"],
    ),
    ("dense-w-rank", _dense(X=np.zeros((2, 3)), W=np.zeros(3)), ValueError, ["W must be 2-D"]),
    (
        "dense-w-dtype",
        _dense(X=np.zeros((2, 3)), W=np.zeros((4, 3), complex)),
        TypeError,
        ["W must hold real numbers"],
    ),
    (
        "dense-b-dtype",
        _dense(X=np.zeros((2, 3)), W=np.zeros((4, 3)), b=np.zeros(4, complex)),
        TypeError,
        ["b must hold real numbers"],
    ),
    (
        "dense-b-shape",
        _dense(X=np.zeros((2, 3)), W=np.zeros((4, 3)), b=np.zeros(3)),
        ValueError,
        ["b must have shape (4,)", "b.shape=(3,)"],
    ),
    ("sigmoid-x", lambda: reference.sigmoid(C), TypeError, ["X must hold real numbers"]),
    ("flatten-x", lambda: reference.flatten(C), TypeError, ["X must hold real numbers"]),
    (
        "flatten-scalar",
        lambda: reference.flatten(np.float64(1.0)),
        ValueError,
        ["X must have a batch axis", "X.shape=()"],
    ),
    (
        "loss-logits",
        lambda: reference.softmax_cross_entropy(C, np.zeros(2, int)),
        TypeError,
        ["logits must hold real numbers"],
    ),
    (
        "loss-labels-dtype",
        lambda: reference.softmax_cross_entropy(np.zeros((2, 3)), np.zeros(2)),
        TypeError,
        ["labels must be integers", "float64"],
    ),
    (
        "loss-labels-shape",
        lambda: reference.softmax_cross_entropy(np.zeros((2, 3)), np.zeros(3, int)),
        ValueError,
        ["labels must have shape (2,)", "labels.shape=(3,)"],
    ),
    (
        "loss-empty",
        lambda: reference.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, int)),
        ValueError,
        ["logits must be non-empty", "logits.shape=(0, 3)"],
    ),
    (
        "loss-no-classes",
        lambda: reference.softmax_cross_entropy(np.zeros((2, 0)), np.zeros(2, int)),
        ValueError,
        ["logits must be non-empty", "logits.shape=(2, 0)"],
    ),
    (
        "loss-label-range",
        lambda: reference.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 5])),
        ValueError,
        ["labels must lie in [0, 3)", "got label 5 at index 1"],
    ),
    (
        "sig-out-dy-dtype",
        lambda: sigmoid_vjp_from_output(np.zeros((2, 2)), C),
        TypeError,
        ["dY must hold real numbers"],
    ),
    (
        "sig-out-dy-shape",
        lambda: sigmoid_vjp_from_output(np.zeros((2, 2)), np.zeros((2, 3))),
        ValueError,
        ["dY must have the output's shape (2, 2)"],
    ),
    (
        "sig-out-y-dtype",
        lambda: sigmoid_vjp_from_output(C, np.zeros((2, 2))),
        TypeError,
        ["X must hold real numbers"],
    ),
    (
        "dloss-rank",
        lambda: reference.softmax_cross_entropy_vjp(np.zeros((2, 3)), np.zeros(2, int), np.ones(2)),
        ValueError,
        ["dloss must be 0-D"],
    ),
    (
        "dloss-dtype",
        lambda: reference.softmax_cross_entropy_vjp(np.zeros((2, 3)), np.zeros(2, int), 1j),
        TypeError,
        ["dloss must hold real numbers"],
    ),
]


@pytest.mark.parametrize(("call", "error", "parts"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_names_the_argument_and_the_rule(call, error, parts):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for part in parts:  # each part starts a word: "X must" is not found in "XX must"
        assert re.search(r"(?<!\w)" + re.escape(part), message), (part, message)


def test_conv2d_shape_defaults_are_stride_1_no_padding_dilation_1_one_group():
    # 8x8 input, 3x3 kernel: 8 - 3 + 1 = 6 positions per axis.
    assert reference.conv2d_output_shape((2, 4, 8, 8), (6, 4, 3, 3)) == (2, 6, 6, 6)


def test_pool_shape_defaults_are_stride_window_no_padding_floor():
    # 5x5 input, 2x2 window, stride 2: starts 0 and 2 (a window at 4 would need row 5).
    assert reference.pool2d_output_shape((1, 3, 5, 5), 2) == (1, 3, 2, 2)
    geometry = pool2d_geometry((1, 3, 5, 5), 2)
    assert (geometry.padding, geometry.dilation, geometry.ceil_mode) == (((0, 0), (0, 0)), (1, 1), False)
    assert check_pool2d(np.zeros((1, 3, 5, 5)), 2).output_size == (2, 2)
    # ceil_mode=True adds the window at 4, which covers row 4.
    assert pool2d_geometry((1, 3, 5, 5), 2, ceil_mode=True).ceil_mode is True
    assert reference.pool2d_output_shape((1, 3, 5, 5), 2, ceil_mode=True) == (1, 3, 3, 3)


def test_conv2d_layer_default_generator_is_seeded_with_zero_and_a_given_one_is_used():
    np.testing.assert_array_equal(Conv2D((2, 3)).weight, np.random.default_rng(0).random((2, 3)))
    np.testing.assert_array_equal(
        Conv2D(2, rng=np.random.default_rng(7)).weight, np.random.default_rng(7).random((2, 2))
    )
    np.testing.assert_array_equal(Conv2D(2).bias, np.zeros(1))


def test_conv2d_geometry_defaults_are_stride_1_no_padding_dilation_1_one_group():
    for geometry in (
        conv2d_geometry((1, 2, 5, 5), (4, 2, 3, 3)),
        check_conv2d(np.zeros((1, 2, 5, 5)), np.zeros((4, 2, 3, 3))),
    ):
        assert geometry.stride == (1, 1) and geometry.dilation == (1, 1) and geometry.groups == 1
        assert geometry.padding == ((0, 0), (0, 0)) and geometry.output_size == (3, 3)


def test_one_class_loss_is_zero():
    # softmax over a single class is 1 whatever the logit: -log 1 = 0, and its gradient is 0.
    logits = np.array([[5.0], [-1.0]])
    assert reference.softmax_cross_entropy(logits, np.array([0, 0])) == 0.0
    np.testing.assert_array_equal(reference.softmax_cross_entropy_vjp(logits, np.array([0, 0])), 0.0)
