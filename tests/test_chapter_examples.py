"""Every value and shape the chapter prints, as golden cases.

Source: d2l-ai/d2l-en, chapter_convolutional-neural-networks (conv-layer.md,
padding-and-strides.md, channels.md, pooling.md). Each expected array is the
one the chapter prints or derives in its text and figures; the few extra cases
(the padding figure's full output) are worked out by hand in the comment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import reference
from tests import naive

# --- the chapter's arrays ---------------------------------------------------

X_3x3 = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])  # conv-layer.md, pooling.md
K_2x2 = np.array([[0.0, 1.0], [2.0, 3.0]])

EDGE_IMAGE = np.ones((6, 8))  # conv-layer.md: white (1) with black (0) columns 2..5
EDGE_IMAGE[:, 2:6] = 0
EDGE_KERNEL = np.array([[1.0, -1.0]])
EDGE_RESPONSE = np.zeros((6, 7))  # 1 at the white-to-black edge, -1 at black-to-white
EDGE_RESPONSE[:, 1] = 1
EDGE_RESPONSE[:, 5] = -1

X_TWO_CHANNELS = np.array(  # channels.md
    [[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]
)
K_TWO_CHANNELS = np.array([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
K_THREE_OUTPUTS = np.stack([K_TWO_CHANNELS, K_TWO_CHANNELS + 1, K_TWO_CHANNELS + 2])

X_4x4 = np.arange(16.0).reshape(1, 1, 4, 4)  # pooling.md
X_4x4_TWO_CHANNELS = np.concatenate([X_4x4, X_4x4 + 1], axis=1)


@dataclass(frozen=True)
class GoldenCase:
    """One printed example: ``reference.<op>(*args, **kwargs) == expected``."""

    id: str
    op: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    expected: Any = None
    source: str = ""

    def __repr__(self):
        return f"GoldenCase({self.id}: {self.op}(**{self.kwargs}), {self.source})"


GOLDEN_CASES = [
    GoldenCase(
        "corr2d-figure",
        "corr2d",
        (X_3x3, K_2x2),
        expected=[[19, 25], [37, 43]],
        source="conv-layer.md: 0*0+1*1+3*2+4*3=19",
    ),
    GoldenCase(
        "corr2d-edge-image",
        "corr2d",
        (EDGE_IMAGE, EDGE_KERNEL),
        expected=EDGE_RESPONSE,
        source="conv-layer.md: edge detection, 1 and -1 columns",
    ),
    GoldenCase(
        "corr2d-edge-image-transposed",
        "corr2d",
        (EDGE_IMAGE.T, EDGE_KERNEL),
        expected=np.zeros((8, 5)),
        source="conv-layer.md: K detects vertical edges only",
    ),
    GoldenCase(
        "conv2d-padding-figure",
        "conv2d",
        (X_3x3[None, None], K_2x2[None, None]),
        {"padding": 1},
        # y[i, j] = 1*x[i-1, j] + 2*x[i, j-1] + 3*x[i, j], zero outside; first 0*0+0*1+0*2+0*3=0
        expected=[[[[0, 3, 8, 4], [9, 19, 25, 10], [21, 37, 43, 16], [6, 7, 8, 0]]]],
        source="padding-and-strides.md figure (by hand)",
    ),
    GoldenCase(
        "conv2d-stride-figure",
        "conv2d",
        (X_3x3[None, None], K_2x2[None, None]),
        {"padding": 1, "stride": (3, 2)},
        expected=[[[[0, 8], [6, 8]]]],
        source="padding-and-strides.md: 0*0+0*1+1*2+2*3=8, 0*0+6*1+0*2+0*3=6",
    ),
    GoldenCase(
        "corr2d-multi-in",
        "corr2d_multi_in",
        (X_TWO_CHANNELS, K_TWO_CHANNELS),
        expected=[[56, 72], [104, 120]],
        source="channels.md: (1*1+2*2+4*3+5*4)+(0*0+1*1+3*2+4*3)=56",
    ),
    GoldenCase(
        "corr2d-multi-in-out",
        "corr2d_multi_in_out",
        (X_TWO_CHANNELS, K_THREE_OUTPUTS),
        expected=[[[56, 72], [104, 120]], [[76, 100], [148, 172]], [[96, 128], [192, 224]]],
        source="channels.md: K stacked with K+1 and K+2",
    ),
    GoldenCase(
        "pool2d-max",
        "pool2d",
        (X_3x3, (2, 2)),
        expected=[[4, 5], [7, 8]],
        source="pooling.md: max(0,1,3,4)=4",
    ),
    GoldenCase(
        "pool2d-avg",
        "pool2d",
        (X_3x3, (2, 2), "avg"),
        expected=[[2, 3], [5, 6]],
        source="pooling.md",
    ),
    GoldenCase(
        "pool2d-max-int-size",
        "pool2d",
        (X_3x3, 2),
        expected=[[4, 5], [7, 8]],
        source="pooling.md, pool_size as an int",
    ),
    GoldenCase(
        "max-pool-3-default-stride",
        "max_pool2d",
        (X_4x4, 3),
        expected=[[[[10]]]],
        source="pooling.md: stride defaults to the window",
    ),
    GoldenCase(
        "max-pool-3-pad1-stride2",
        "max_pool2d",
        (X_4x4, 3),
        {"padding": 1, "stride": 2},
        expected=[[[[5, 7], [13, 15]]]],
        source="pooling.md",
    ),
    GoldenCase(
        "max-pool-2x3-pad-0x1-stride-2x3",
        "max_pool2d",
        (X_4x4, (2, 3)),
        {"padding": (0, 1), "stride": (2, 3)},
        expected=[[[[5, 7], [13, 15]]]],
        source="pooling.md",
    ),
    GoldenCase(
        "max-pool-two-channels",
        "max_pool2d",
        (X_4x4_TWO_CHANNELS, 3),
        {"padding": 1, "stride": 2},
        expected=[[[[5, 7], [13, 15]], [[6, 8], [14, 16]]]],
        source="pooling.md: X and X+1",
    ),
]


@pytest.mark.parametrize("case", GOLDEN_CASES, ids=lambda case: case.id)
def test_golden_case(case):
    actual = getattr(reference, case.op)(*case.args, **case.kwargs)
    expected = np.asarray(case.expected, dtype=np.float64)
    assert np.shape(actual) == expected.shape, case
    np.testing.assert_array_equal(actual, expected, err_msg=repr(case))


def test_three_output_channels_shape():
    assert K_THREE_OUTPUTS.shape == (3, 2, 2, 2)  # channels.md prints K.shape
    assert reference.corr2d_multi_in_out(X_TWO_CHANNELS, K_THREE_OUTPUTS).shape == (3, 2, 2)


def test_output_channels_of_k_k_plus_1_k_plus_2():
    # channels.md: "The result of the first channel is consistent with the result of
    # the previous input array X and the multi-input channel, single-output channel kernel",
    # i.e. the printed [[56, 72], [104, 120]]. Kernel K + o adds o to every tap, so output
    # channel o adds o times the sum of X over each 2x2 window of both channels: channel 0
    # [[0+1+3+4, 1+2+4+5], [3+4+6+7, 4+5+7+8]] = [[8, 12], [20, 24]], channel 1 (each
    # element one more) [[12, 16], [24, 28]]; together [[20, 28], [44, 52]].
    Y = reference.corr2d_multi_in_out(X_TWO_CHANNELS, K_THREE_OUTPUTS)
    first = np.array([[56.0, 72.0], [104.0, 120.0]])
    window_sums = np.array([[20.0, 28.0], [44.0, 52.0]])
    for o in range(3):
        np.testing.assert_array_equal(Y[o], first + o * window_sums)
    np.testing.assert_array_equal(Y, naive.conv2d(X_TWO_CHANNELS[None], K_THREE_OUTPUTS)[0])


def test_pooling_keeps_the_channel_count():
    Y = reference.max_pool2d(X_4x4_TWO_CHANNELS, 3, padding=1, stride=2)
    assert Y.shape == (1, 2, 2, 2)


def test_1x1_convolution_is_a_fully_connected_layer_per_pixel():
    # channels.md: corr2d_multi_in_out_1x1 equals corr2d_multi_in_out, "< 1e-6".
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(3, 3, 3))
    K = rng.uniform(size=(2, 3, 1, 1))
    Y1 = reference.corr2d_multi_in_out_1x1(X, K)
    Y2 = reference.corr2d_multi_in_out(X, K)
    assert Y1.shape == Y2.shape == (2, 3, 3)
    assert float(np.linalg.norm(Y1 - Y2)) < 1e-6
    np.testing.assert_allclose(Y1, np.einsum("oc,chw->ohw", K[:, :, 0, 0], X), rtol=1e-12)


# --- Conv2D layer (conv-layer.md) --------------------------------------------


def test_conv2d_layer_is_corr2d_plus_scalar_bias():
    layer = reference.Conv2D((1, 2), rng=np.random.default_rng(0))
    assert np.shape(layer.weight) == (1, 2)
    assert np.shape(layer.bias) == (1,)
    np.testing.assert_array_equal(layer.bias, [0.0])  # the chapter starts the bias at zero
    layer.weight = EDGE_KERNEL.copy()
    layer.bias = np.array([0.5])
    expected = EDGE_RESPONSE + 0.5
    np.testing.assert_array_equal(layer(EDGE_IMAGE), expected)
    np.testing.assert_array_equal(layer.forward(EDGE_IMAGE), expected)


def test_conv2d_layer_initialisation_is_seeded():
    first = reference.Conv2D((3, 2), rng=np.random.default_rng(7))
    second = reference.Conv2D((3, 2), rng=np.random.default_rng(7))
    assert np.shape(first.weight) == (3, 2)
    np.testing.assert_array_equal(first.weight, second.weight)


# --- learning the edge kernel (conv-layer.md) --------------------------------


def squared_loss_gradient(a, b):
    """d/d(a, b) of sum (corr2d(EDGE_IMAGE, [[a, b]]) - EDGE_RESPONSE)^2, by hand.

    Each of the 6 rows sees the column pairs (1,1), (1,0), (0,0) x3, (0,1), (1,1)
    with targets 0, 1, 0 x3, -1, 0, so the loss is 6 * (2(a+b)^2 + (a-1)^2 + (b+1)^2).
    """
    return np.array([6 * (4 * (a + b) + 2 * (a - 1)), 6 * (4 * (a + b) + 2 * (b + 1))])


@pytest.mark.parametrize("seed", range(5))
def test_learning_the_edge_kernel(seed):
    # The chapter: Conv2d(1, 1, kernel_size=(1, 2), bias=False), 10 steps of plain
    # gradient descent with lr 3e-2 on l = (Y_hat - Y)^2 summed; weights start uniform.
    X = EDGE_IMAGE.reshape(1, 1, 6, 8)
    Y = EDGE_RESPONSE.reshape(1, 1, 6, 7)
    W = np.random.default_rng(seed).random((1, 1, 1, 2))
    losses = []
    for _ in range(10):
        Y_hat = reference.conv2d(X, W)
        losses.append(float(((Y_hat - Y) ** 2).sum()))
        _, dW, db = reference.conv2d_vjp(X, W, 2 * (Y_hat - Y))
        assert dW.shape == W.shape and db.shape == (1,)
        np.testing.assert_allclose(dW.ravel(), squared_loss_gradient(*W.ravel()), rtol=1e-12)
        W = W - 3e-2 * dW
    assert losses[-1] < losses[0]
    np.testing.assert_allclose(W.reshape(1, 2), EDGE_KERNEL, atol=0.1)


# --- shapes (padding-and-strides.md) -----------------------------------------

X_8x8 = np.random.default_rng(0).uniform(size=(1, 1, 8, 8))


@pytest.mark.parametrize(
    ("kernel_hw", "kwargs", "expected_hw"),
    [
        ((3, 3), {"padding": 1}, (8, 8)),
        ((5, 3), {"padding": (2, 1)}, (8, 8)),
        ((3, 3), {"padding": 1, "stride": 2}, (4, 4)),
        ((3, 5), {"padding": (0, 1), "stride": (3, 4)}, (2, 2)),
    ],
    ids=["k3-p1", "k5x3-p2x1", "k3-p1-s2", "k3x5-p0x1-s3x4"],
)
def test_padding_and_stride_shapes(kernel_hw, kwargs, expected_hw):
    W = np.ones((1, 1, *kernel_hw))
    assert reference.conv2d(X_8x8, W, **kwargs).shape == (1, 1, *expected_hw)
    assert reference.conv2d_output_shape(X_8x8.shape, W.shape, **kwargs) == (1, 1, *expected_hw)


def test_conv_output_size_is_the_chapter_formula():
    # floor((n_h - k_h + p_h + s_h) / s_h), p_h the total padding.
    for n in range(1, 10):
        for k in range(1, n + 1):
            for pad_total in range(5):
                for s in range(1, 5):
                    expected = (n - k + pad_total + s) // s
                    assert reference.conv_output_size(n, k, s, pad_total) == expected, (
                        n,
                        k,
                        s,
                        pad_total,
                    )


def test_conv_output_size_keyword_names_and_dilation():
    # dilation d makes a k-tap kernel span d*(k-1)+1 cells
    assert reference.conv_output_size(7, kernel_size=3, stride=1, pad_total=0, dilation=3) == 1
    assert reference.conv_output_size(size=8, kernel_size=3, stride=2, pad_total=2) == 4


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((224, 7, 2), (2, 3)),  # TensorFlow 'SAME' (DESIGN.md)
        ((8, 3, 1), (1, 1)),
        ((8, 4, 1), (1, 2)),  # the odd extra goes after
        ((8, 3, 2), (0, 1)),  # out 4: (4-1)*2 + 3 - 8 = 1
        ((7, 3, 2), (1, 1)),
        ((5, 3, 1, 2), (2, 2)),  # dilation 2: span 5
        ((6, 1, 3), (0, 0)),
    ],
)
def test_same_padding(args, expected):
    assert tuple(reference.same_padding(*args)) == expected


@pytest.mark.parametrize(
    ("x_shape", "kwargs", "expected"),
    [
        ((1, 1, 4, 4), {"kernel_size": 3}, (1, 1, 1, 1)),
        ((1, 2, 4, 4), {"kernel_size": 3, "stride": 2, "padding": 1}, (1, 2, 2, 2)),
        ((1, 1, 4, 4), {"kernel_size": (2, 3), "stride": (2, 3), "padding": (0, 1)}, (1, 1, 2, 2)),
        ((2, 3, 5, 5), {"kernel_size": 2, "ceil_mode": True}, (2, 3, 3, 3)),
        ((1, 1, 5, 5), {"kernel_size": 3, "stride": 3, "padding": 1, "ceil_mode": True}, (1, 1, 2, 2)),
    ],
    ids=["k3", "k3-s2-p1", "k2x3-s2x3-p0x1", "k2-ceil", "k3-s3-p1-ceil-drops-last"],
)
def test_pool2d_output_shape(x_shape, kwargs, expected):
    assert tuple(reference.pool2d_output_shape(x_shape, **kwargs)) == expected
    assert reference.max_pool2d(np.zeros(x_shape), **kwargs).shape == expected


def test_channel_sums_over_no_channels_are_zero() -> None:
    """The empty sum: zero input channels give a zero map, as conv2d gives zeros, not an error."""
    X, K = np.ones((0, 3, 4)), np.ones((2, 0, 2, 2))
    for Y, shape in (
        (reference.corr2d_multi_in(X, K[0]), (2, 3)),
        (reference.corr2d_multi_in_out(X, K), (2, 2, 3)),
        (reference.conv2d(X[None], K), (1, 2, 2, 3)),
    ):
        assert Y.dtype == np.float64 and Y.shape == shape and not Y.any()
