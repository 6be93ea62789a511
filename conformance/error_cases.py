"""Invalid calls as data: each record is a call, the exception and what its message names.

The same records run against the reference (``tests/test_validation.py``) and
against every backend (``conformance/test_errors.py``): ``case.call(ops)``
calls the op on ``ops``, the ``reference`` module or a backend, so errors are
checked to be identical everywhere. Each message must contain every string
of ``mentions`` (the argument's name and its bad value).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

X4 = np.ones((1, 1, 4, 4))  # a valid image batch
W3 = np.ones((1, 1, 3, 3))  # a valid conv weight for it
Y2 = np.ones((1, 1, 2, 2))  # conv2d(X4, W3) has this shape


@dataclass(frozen=True)
class ErrorCase:
    id: str
    call: Callable[[Any], object]
    error: type[Exception]
    mentions: tuple[str, ...]  # each must occur in the message (plain text, not regex)

    def __repr__(self):
        return self.id


def E(case_id, call, error, *mentions):  # noqa: N802 - a short name keeps the table readable
    return ErrorCase(case_id, call, error, mentions)


VE, TE = ValueError, TypeError

ERROR_CASES = [
    # --- ranks -----------------------------------------------------------------
    E("conv2d-X-3d", lambda ops: ops.conv2d(np.ones((1, 4, 4)), W3), VE, "X", "(1, 4, 4)"),
    E("conv2d-W-3d", lambda ops: ops.conv2d(X4, np.ones((1, 3, 3))), VE, "W", "(1, 3, 3)"),
    E("conv2d-W-5d", lambda ops: ops.conv2d(X4, np.ones((1, 1, 1, 3, 3))), VE, "W", "(1, 1, 1, 3, 3)"),
    E("max_pool2d-X-3d", lambda ops: ops.max_pool2d(np.ones((1, 4, 4)), 2), VE, "X", "(1, 4, 4)"),
    E("avg_pool2d-X-2d", lambda ops: ops.avg_pool2d(np.ones((4, 4)), 2), VE, "X", "(4, 4)"),
    E("corr2d-X-3d", lambda ops: ops.corr2d(np.ones((2, 3, 3)), np.ones((2, 2))), VE, "X", "(2, 3, 3)"),
    E("corr2d-K-3d", lambda ops: ops.corr2d(np.ones((3, 3)), np.ones((1, 2, 2))), VE, "K", "(1, 2, 2)"),
    E("pool2d-X-3d", lambda ops: ops.pool2d(np.ones((1, 3, 3)), 2), VE, "X", "(1, 3, 3)"),
    E("linear-X-1d", lambda ops: ops.linear(np.ones(3), np.ones((2, 3))), VE, "X", "(3,)"),
    E(
        "softmax_cross_entropy-logits-1d",
        lambda ops: ops.softmax_cross_entropy(np.ones(3), np.array([0])),
        VE,
        "logits",
        "(3,)",
    ),
    # --- channels and groups --------------------------------------------------------
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
    E(
        "corr2d_multi_in-channel-mismatch",
        lambda ops: ops.corr2d_multi_in(np.ones((2, 3, 3)), np.ones((3, 2, 2))),
        VE,
        "2",
        "3",
    ),
    E(
        "corr2d_multi_in_out-K-3d",
        lambda ops: ops.corr2d_multi_in_out(np.ones((2, 3, 3)), np.ones((2, 2, 2))),
        VE,
        "K",
        "(2, 2, 2)",
    ),
    E(
        "corr2d_multi_in_out_1x1-K-not-1x1",
        lambda ops: ops.corr2d_multi_in_out_1x1(np.ones((2, 3, 3)), np.ones((1, 2, 2, 2))),
        VE,
        "K",
        "(1, 2, 2, 2)",
    ),
    E(
        "linear-in-features-mismatch",
        lambda ops: ops.linear(np.ones((2, 3)), np.ones((4, 2))),
        VE,
        "3",
        "(4, 2)",
    ),
    # --- stride, dilation, kernel size -------------------------------------------------
    E("conv2d-stride-0", lambda ops: ops.conv2d(X4, W3, stride=0), VE, "stride", "0"),
    E("conv2d-stride-negative", lambda ops: ops.conv2d(X4, W3, stride=-2), VE, "stride", "-2"),
    E("conv2d-stride-pair-0", lambda ops: ops.conv2d(X4, W3, stride=(1, 0)), VE, "stride", "0"),
    E("conv2d-dilation-0", lambda ops: ops.conv2d(X4, W3, dilation=0), VE, "dilation", "0"),
    E("conv2d-dilation-negative", lambda ops: ops.conv2d(X4, W3, dilation=(-1, 1)), VE, "dilation", "-1"),
    E("max_pool2d-stride-0", lambda ops: ops.max_pool2d(X4, 2, stride=0), VE, "stride", "0"),
    E("avg_pool2d-stride-negative", lambda ops: ops.avg_pool2d(X4, 2, stride=(2, -1)), VE, "stride", "-1"),
    E("max_pool2d-dilation-0", lambda ops: ops.max_pool2d(X4, 2, dilation=0), VE, "dilation", "0"),
    E("max_pool2d-kernel-0", lambda ops: ops.max_pool2d(X4, 0), VE, "kernel_size", "0"),
    E("avg_pool2d-kernel-negative", lambda ops: ops.avg_pool2d(X4, (2, -1)), VE, "kernel_size", "-1"),
    # --- padding -------------------------------------------------------------------------
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
    E("max_pool2d-padding-negative", lambda ops: ops.max_pool2d(X4, 3, padding=-1), VE, "padding", "-1"),
    E("max_pool2d-padding-over-half", lambda ops: ops.max_pool2d(X4, 3, padding=2), VE, "padding", "2"),
    E(
        "avg_pool2d-padding-over-half",
        lambda ops: ops.avg_pool2d(X4, (2, 3), padding=(2, 1)),
        VE,
        "padding",
        "2",
    ),
    E("avg_pool2d-padding-over-half-k1", lambda ops: ops.avg_pool2d(X4, 1, padding=1), VE, "padding", "1"),
    E(
        "max_pool2d-padding-same",
        lambda ops: ops.max_pool2d(X4, 3, padding="same"),
        VE,
        "padding",
        "'same'",
    ),
    E(
        "avg_pool2d-padding-nested",
        lambda ops: ops.avg_pool2d(X4, 3, padding=((1, 1), (1, 1))),
        VE,
        "padding",
        "((1, 1), (1, 1))",
    ),
    # --- output size below 1 -------------------------------------------------------------
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
    E(
        "max_pool2d-window-larger-than-input",
        lambda ops: ops.max_pool2d(np.ones((1, 1, 2, 2)), 3),
        VE,
        "output",
        "3",
    ),
    E(
        "avg_pool2d-window-larger-than-input",
        lambda ops: ops.avg_pool2d(np.ones((1, 1, 4, 2)), 3),
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
    E("corr2d-kernel-larger-than-input", lambda ops: ops.corr2d(np.ones((2, 2)), np.ones((3, 1))), VE, "3"),
    E("pool2d-window-larger-than-input", lambda ops: ops.pool2d(np.ones((2, 2)), 3), VE, "3"),
    # --- modes ---------------------------------------------------------------------------------
    E("pool2d-mode-min", lambda ops: ops.pool2d(np.ones((3, 3)), 2, mode="min"), VE, "mode", "'min'"),
    # --- dtypes --------------------------------------------------------------------------------
    E("conv2d-X-complex", lambda ops: ops.conv2d(X4.astype(complex), W3), TE, "X", "complex"),
    E("conv2d-W-complex", lambda ops: ops.conv2d(X4, W3.astype(np.complex64)), TE, "W", "complex"),
    E("conv2d-W-bool", lambda ops: ops.conv2d(X4, W3.astype(bool)), TE, "W", "bool"),
    E("conv2d-X-object", lambda ops: ops.conv2d(X4.astype(object), W3), TE, "X", "object"),
    E("conv2d-X-str", lambda ops: ops.conv2d(np.full((1, 1, 4, 4), "a"), W3), TE, "X", "<U1"),
    E("conv2d-b-complex", lambda ops: ops.conv2d(X4, W3, b=np.ones(1, complex)), TE, "b", "complex"),
    E("conv2d_vjp-dY-complex", lambda ops: ops.conv2d_vjp(X4, W3, Y2.astype(complex)), TE, "dY", "complex"),
    E("max_pool2d-X-bool", lambda ops: ops.max_pool2d(X4.astype(bool), 2), TE, "X", "bool"),
    E("avg_pool2d-X-complex", lambda ops: ops.avg_pool2d(X4.astype(complex), 2), TE, "X", "complex"),
    E(
        "corr2d-X-complex",
        lambda ops: ops.corr2d(np.ones((3, 3), complex), np.ones((2, 2))),
        TE,
        "X",
        "complex",
    ),
    E("pool2d-X-bool", lambda ops: ops.pool2d(np.ones((3, 3), bool), 2), TE, "X", "bool"),
    E(
        "linear-W-complex",
        lambda ops: ops.linear(np.ones((2, 3)), np.ones((4, 3), complex)),
        TE,
        "W",
        "complex",
    ),
    E("sigmoid-X-complex", lambda ops: ops.sigmoid(np.ones(3, complex)), TE, "X", "complex"),
    E("relu-X-bool", lambda ops: ops.relu(np.ones(3, bool)), TE, "X", "bool"),
    E("flatten-X-object", lambda ops: ops.flatten(np.ones((2, 3), object)), TE, "X", "object"),
    E(
        "softmax_cross_entropy-logits-complex",
        lambda ops: ops.softmax_cross_entropy(np.ones((2, 3), complex), np.array([0, 1])),
        TE,
        "logits",
        "complex",
    ),
    # --- bias and labels -----------------------------------------------------------------------
    E("conv2d-bias-wrong-length", lambda ops: ops.conv2d(X4, W3, b=np.ones(3)), VE, "b", "(3,)"),
    E("conv2d-bias-2d", lambda ops: ops.conv2d(X4, W3, b=np.ones((1, 1))), VE, "b", "(1, 1)"),
    E(
        "linear-bias-wrong-length",
        lambda ops: ops.linear(np.ones((2, 3)), np.ones((4, 3)), np.ones(3)),
        VE,
        "b",
        "(3,)",
    ),
    E(
        "softmax_cross_entropy-label-too-large",
        lambda ops: ops.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
        VE,
        "labels",
        "3",
    ),
    E(
        "softmax_cross_entropy-label-negative",
        lambda ops: ops.softmax_cross_entropy(np.zeros((2, 3)), np.array([-1, 0])),
        VE,
        "labels",
        "-1",
    ),
    E(
        "softmax_cross_entropy-labels-wrong-length",
        lambda ops: ops.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])),
        VE,
        "labels",
        "(3,)",
    ),
    E(
        "softmax_cross_entropy-vjp-label-too-large",
        lambda ops: ops.softmax_cross_entropy_vjp(np.zeros((2, 3)), np.array([5, 0])),
        VE,
        "labels",
        "5",
    ),
    # --- dY of the wrong shape, for every VJP ---------------------------------------------------
    E(
        "conv2d_vjp-dY-shape",
        lambda ops: ops.conv2d_vjp(X4, W3, np.ones((1, 1, 3, 3))),
        VE,
        "dY",
        "(1, 1, 3, 3)",
    ),
    E("conv2d_vjp-dY-3d", lambda ops: ops.conv2d_vjp(X4, W3, np.ones((1, 2, 2))), VE, "dY", "(1, 2, 2)"),
    E(
        "max_pool2d_vjp-dY-shape",
        lambda ops: ops.max_pool2d_vjp(X4, np.ones((1, 1, 1, 1)), 2),
        VE,
        "dY",
        "(1, 1, 1, 1)",
    ),
    E(
        "avg_pool2d_vjp-dY-shape",
        lambda ops: ops.avg_pool2d_vjp(X4, np.ones((1, 2, 2, 2)), 2),
        VE,
        "dY",
        "(1, 2, 2, 2)",
    ),
    E(
        "linear_vjp-dY-shape",
        lambda ops: ops.linear_vjp(np.ones((2, 3)), np.ones((4, 3)), np.ones((2, 3))),
        VE,
        "dY",
        "(2, 3)",
    ),
    E(
        "sigmoid_vjp-dY-shape",
        lambda ops: ops.sigmoid_vjp(np.ones((2, 3)), np.ones((3, 2))),
        VE,
        "dY",
        "(3, 2)",
    ),
    E("relu_vjp-dY-shape", lambda ops: ops.relu_vjp(np.ones((2, 3)), np.ones(6)), VE, "dY", "(6,)"),
    E(
        "flatten_vjp-dY-shape",
        lambda ops: ops.flatten_vjp(np.ones((2, 3, 2, 2)), np.ones((2, 11))),
        VE,
        "dY",
        "(2, 11)",
    ),
]
