"""The reference convolution works in cache-sized blocks of images and output rows; with
tiny blocks (one row, two rows with a shorter last block, two whole images with a last
single one) its forward pass and VJP still equal the naive loops of tests/naive.py.

The VJP's independent value: conv2d is linear in X and in W, so the naive convolution of
each basis array gives a column of its Jacobian, and ``Jᵀ dY`` is the gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
import reference.conv
from reference.validation import check_conv2d
from tests import naive

X_SHAPE = (3, 2, 7, 5)  # three images: blocks of two leave a last block of one
CASES = [
    pytest.param({"padding": 1}, (4, 2, 3, 2), id="s1-p1"),
    pytest.param({"stride": (2, 1), "padding": "same", "groups": 2}, (4, 1, 3, 2), id="s(2,1)-same-g2"),
    pytest.param({"padding": ((0, 2), (1, 0)), "dilation": (2, 1)}, (3, 2, 2, 3), id="pads-d(2,1)"),
]


def _block_bytes(W_shape: tuple[int, ...], out_size: tuple[int, int], rows: int, images: int) -> int:
    """The block budget for ``rows`` output rows of one image, or for ``images`` whole images if > 1."""
    kh, kw = W_shape[2:]
    columns = X_SHAPE[1] * kh * kw * out_size[1] * 8  # bytes of one output row's columns
    return columns * (out_size[0] * images if images > 1 else rows)


def _jacobian_transpose(shape: tuple[int, ...], conv, dY: np.ndarray) -> np.ndarray:
    """``Jᵀ dY`` of the linear map ``conv`` on arrays of ``shape``, one naive convolution per basis array."""
    grad = np.zeros(shape)
    for index in np.ndindex(*shape):
        basis = np.zeros(shape)
        basis[index] = 1.0
        grad[index] = np.sum(conv(basis) * dY)
    return grad


@pytest.mark.parametrize(("rows", "images"), [(1, 1), (2, 1), (0, 2)], ids=["row", "2-rows", "2-images"])
@pytest.mark.parametrize(("kwargs", "W_shape"), CASES)
def test_blocked_conv_and_vjp_equal_the_naive_loops(monkeypatch, kwargs, W_shape, rows, images) -> None:
    rng = np.random.default_rng(7)
    X, W, b = rng.standard_normal(X_SHAPE), rng.standard_normal(W_shape), rng.standard_normal(W_shape[0])
    expected = naive.conv2d(X, W, b, **kwargs)
    dY = rng.standard_normal(expected.shape)
    budget = _block_bytes(W_shape, expected.shape[2:], rows, images)
    monkeypatch.setattr(reference.conv, "_BLOCK_BYTES", budget)
    geometry = check_conv2d(X, W, **kwargs)
    blocks = list(reference.conv._blocks(X_SHAPE[0], geometry, X_SHAPE[1] * W_shape[2] * W_shape[3]))
    assert len(blocks) == (2 if images > 1 else 3) and (images > 1 or len(blocks[0][1]) > 1)

    np.testing.assert_allclose(reference.conv2d(X, W, b, **kwargs), expected, rtol=1e-13, atol=1e-13)
    dX, dW, db = reference.conv2d_vjp(X, W, dY, **kwargs)
    np.testing.assert_allclose(
        dX, _jacobian_transpose(X.shape, lambda x: naive.conv2d(x, W, **kwargs), dY), atol=1e-12
    )
    np.testing.assert_allclose(
        dW, _jacobian_transpose(W.shape, lambda w: naive.conv2d(X, w, **kwargs), dY), atol=1e-12
    )
    np.testing.assert_allclose(db, dY.sum(axis=(0, 2, 3)), atol=1e-12)
    dW_only, db_only = reference.conv.conv2d_weight_vjp(X, W, dY, **kwargs)
    np.testing.assert_array_equal(dW_only, dW)
    np.testing.assert_array_equal(db_only, db)
