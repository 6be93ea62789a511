"""conv2d paths the other tests do not reach: many channels per group, several batch blocks.

conv2d switches to one matrix product per tap at 16 input channels per group
and splits the batch into blocks of about 4 MiB of working set. The oracle here
is an einsum over NumPy's sliding windows (independent of the reference's flat
layout); the VJPs are checked by the adjoint identities
``<dY, conv(V, W)> = <dX, V>`` and ``<dY, conv(X, U)> = <dW, U>`` for random
directions V and U, and ``db = sum of dY over N, Ho, Wo``. Everything is
float64, so the only differences are roundings of sums (relative 1e-12).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import reference
from reference import shapes
from reference.conv import conv2d_weight_vjp

RTOL = 1e-12


def window_conv(X, W, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    """Cross-correlation by einsum over sliding windows: X (N, C, H, W), W (O, C/groups, kh, kw)."""
    n = X.shape[0]
    o, c_g, kh, kw = W.shape
    padded = np.pad(np.asarray(X, dtype=np.float64), ((0, 0), (0, 0), *pads))
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    windows = sliding_window_view(padded, span, axis=(2, 3))[:, :, :: stride[0], :: stride[1]]
    windows = windows[..., :: dilation[0], :: dilation[1]]  # (N, C, Ho, Wo, kh, kw)
    ho, wo = windows.shape[2:4]
    grouped = windows.reshape(n, groups, c_g, ho, wo, kh, kw)
    weights = np.asarray(W, dtype=np.float64).reshape(groups, o // groups, c_g, kh, kw)
    return np.einsum("ngchwij,gocij->ngohw", grouped, weights).reshape(n, o, ho, wo)


def inner(a, b) -> float:
    return float(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)))


CASES = [
    # id, X shape, W shape, stride, explicit pads, dilation, groups
    pytest.param((2, 16, 6, 7), (3, 16, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, id="c16"),
    pytest.param((2, 32, 7, 6), (4, 16, 3, 2), (2, 1), ((1, 2), (0, 1)), (1, 2), 2, id="c32-g2-s2-d2-pad"),
    pytest.param((1, 18, 5, 5), (2, 18, 2, 2), (1, 3), ((1, 1), (1, 1)), (2, 1), 1, id="c18-s13-d21"),
    # Large images: more than one batch block (each image's working set exceeds 4 MiB).
    pytest.param((3, 16, 64, 64), (2, 16, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, id="blocks-taps"),
    pytest.param((3, 1, 150, 150), (2, 1, 5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1), 1, id="blocks-columns"),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "pads", "dilation", "groups"), CASES)
def test_conv2d_and_vjps_match_the_window_einsum(x_shape, w_shape, stride, pads, dilation, groups):
    rng = np.random.default_rng(sum(x_shape))
    X, W = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    kwargs = dict(stride=stride, padding=pads, dilation=dilation, groups=groups)
    expected = window_conv(X, W, stride, pads, dilation, groups)
    np.testing.assert_allclose(reference.conv2d(X, W, **kwargs), expected, rtol=RTOL, atol=RTOL)
    np.testing.assert_allclose(
        reference.conv2d(X, W, b, **kwargs), expected + b[:, None, None], rtol=RTOL, atol=RTOL
    )
    dY = rng.standard_normal(expected.shape)
    V, U = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    dX, dW, db = reference.conv2d_vjp(X, W, dY, **kwargs)
    assert dX.shape == x_shape and dW.shape == w_shape and db.shape == (w_shape[0],)
    scale = float(np.abs(dY).sum() * max(np.abs(X).max(), np.abs(W).max()) * np.prod(w_shape[1:]))
    assert inner(dX, V) == pytest.approx(inner(dY, window_conv(V, W, stride, pads, dilation, groups)),
                                         abs=1e-13 * scale)  # fmt: skip
    assert inner(dW, U) == pytest.approx(inner(dY, window_conv(X, U, stride, pads, dilation, groups)),
                                         abs=1e-13 * scale)  # fmt: skip
    np.testing.assert_allclose(db, dY.sum(axis=(0, 2, 3)), rtol=RTOL)
    dW_only, db_only = conv2d_weight_vjp(X, W, dY, **kwargs)
    np.testing.assert_allclose(dW_only, dW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db_only, db, rtol=RTOL)


def test_conv2d_vjps_check_the_output_gradient_shape():
    X, W = np.zeros((1, 16, 5, 5)), np.zeros((1, 16, 3, 3))
    with pytest.raises(ValueError, match=r"dY must have the output's shape \(1, 1, 3, 3\)"):
        reference.conv2d_vjp(X, W, np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"dY must have the output's shape \(1, 1, 1, 1\)"):
        conv2d_weight_vjp(X, W, np.zeros((1, 1, 3, 3)), dilation=2)
    with pytest.raises(ValueError, match=r"groups=2 must divide"):
        conv2d_weight_vjp(np.zeros((1, 2, 5, 5)), np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 3, 3)), groups=2)


def test_weight_vjp_defaults_are_stride_1_no_padding():
    # 4x4 input, 3x3 kernel, defaults: a 2x2 output, so a (1, 1, 2, 2) dY is the right shape.
    rng = np.random.default_rng(3)
    X, W, dY = (
        rng.standard_normal((1, 1, 4, 4)),
        rng.standard_normal((1, 1, 3, 3)),
        rng.standard_normal((1, 1, 2, 2)),
    )
    dW, db = conv2d_weight_vjp(X, W, dY)
    expected = np.array(
        [[[[np.sum(X[0, 0, i : i + 2, j : j + 2] * dY[0, 0]) for j in range(3)] for i in range(3)]]]
    )
    np.testing.assert_allclose(dW, expected, rtol=RTOL)
    assert db[0] == pytest.approx(dY.sum(), rel=RTOL)


def test_shape_helpers_defaults():
    assert shapes.conv_output_size(8, 3) == 6  # stride 1, no padding: 8 - 3 + 1
    assert shapes.same_padding(6, 3) == (1, 1)  # stride 1: total 3 - 1 = 2
    assert shapes.pool_output_size(5, 2) == 2  # stride = window 2, floor: starts 0, 2
    assert shapes.pool_output_size(6, 3, stride=1) == 4  # no padding, dilation 1: starts 0..3


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_gradients_are_c_contiguous(stride, groups):
    """Every public result is a C-contiguous array, the weight gradients included."""
    rng = np.random.default_rng(3)
    X, W = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 4 // groups, 3, 2))
    dY = rng.standard_normal(reference.conv2d_output_shape(X.shape, W.shape, stride=stride, groups=groups))
    for grad in (*reference.conv2d_vjp(X, W, dY, stride=stride, groups=groups),
                 *conv2d_weight_vjp(X, W, dY, stride=stride, groups=groups)):  # fmt: skip
        assert grad.flags.c_contiguous
