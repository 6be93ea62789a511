"""The reference against every 2-D MaxPool and AveragePool node test vector of ONNX.

The vectors (``tests/data/onnx_pool_vectors.{json,npz}``) were recorded once from
``onnx==1.23.2``'s ``onnx/backend/test/case/node/maxpool.py`` and ``averagepool.py`` by
``tests/data/extract_onnx_pool_vectors.py``: their expected outputs are ONNX's, literal
arrays or computed by ONNX's own NumPy pooling (an implementation independent of ours) on
inputs drawn by ``np.random``, stored beside them.

ONNX attributes map onto the reference's arguments: ``kernel_shape`` -> ``kernel_size``;
``strides`` (ONNX default 1, ours the window) -> ``stride``; ``pads`` ``[top, left, bottom,
right]`` -> ``((top, bottom), (left, right))``; ``auto_pad`` SAME_UPPER / SAME_LOWER / VALID ->
``"same"`` / ``"same_lower"`` / ``"valid"``; ``ceil_mode``; ``count_include_pad`` (ONNX default
0, ours True); ``dilations`` -> ``dilation``. Two outputs need more than a call:

- MaxPool's ``Indices`` (flat positions of each window's maximum in X, row-major, or with
  ``storage_order=1`` column-major within each (n, c) plane: ``(n*C + c)*H*W + w*H + h``) are
  read from ``max_pool2d_vjp``: a one-hot dY sends its 1 to the selected element alone.
- AveragePool with ``dilations`` (the reference's average pooling has none) at stride 1 and no
  padding is undilated average pooling of each phase ``X[..., a::d, b::d]``: output ``(i, j)``
  averages ``X[i + p*d, j + q*d]``, all in the phase of ``(i mod d, j mod d)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import reference

DATA = Path(__file__).parent / "data"
SOURCE = json.loads((DATA / "onnx_pool_vectors.json").read_text())
ARRAYS = np.load(DATA / "onnx_pool_vectors.npz")
VECTORS = SOURCE["vectors"]
# Literals ONNX rounds to 4 digits, and not always to the nearest (0.2841 for 2.5564 / 9 =
# 0.284044): they hold to ONNX's own backend-test comparison, rtol 1e-3 (onnx/backend/test/runner).
ROUNDED_LITERALS = {"test_averagepool_2d_ceil_last_window_starts_on_pad"}
AUTO_PAD = {"SAME_UPPER": "same", "SAME_LOWER": "same_lower", "VALID": "valid"}


def arguments(op: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """The reference's keyword arguments for an ONNX node's attributes (dilations of an average
    pool left out: see :func:`dilated_average`)."""
    kwargs: dict[str, Any] = {
        "kernel_size": tuple(attributes["kernel_shape"]),
        "stride": tuple(attributes.get("strides", (1, 1))),
        "ceil_mode": bool(attributes.get("ceil_mode", 0)),
    }
    auto_pad = attributes.get("auto_pad", "NOTSET")
    if auto_pad != "NOTSET":
        kwargs["padding"] = AUTO_PAD[auto_pad]
    else:
        top, left, bottom, right = attributes.get("pads", (0, 0, 0, 0))
        kwargs["padding"] = ((top, bottom), (left, right))
    if op == "MaxPool":
        kwargs["dilation"] = tuple(attributes.get("dilations", (1, 1)))
    else:
        kwargs["count_include_pad"] = bool(attributes.get("count_include_pad", 0))
    return kwargs


def dilated_average(X: np.ndarray, dilation: tuple[int, int], **kwargs: Any) -> np.ndarray:
    """Average pooling with ``dilation`` at stride 1 and no padding, phase by phase."""
    assert kwargs["stride"] == (1, 1) and kwargs["padding"] == ((0, 0), (0, 0))
    (kh, kw), (dh, dw) = kwargs["kernel_size"], dilation
    out = (X.shape[2] - dh * (kh - 1), X.shape[3] - dw * (kw - 1))
    Y = np.empty((*X.shape[:2], *out))
    for a in range(min(dh, out[0])):
        for b in range(min(dw, out[1])):
            phase = reference.avg_pool2d(X[:, :, a::dh, b::dw], **kwargs)
            Y[:, :, a::dh, b::dw] = phase[:, :, : len(range(a, out[0], dh)), : len(range(b, out[1], dw))]
    return Y


def selected_indices(X: np.ndarray, storage_order: int, **kwargs: Any) -> np.ndarray:
    """ONNX's ``Indices`` of :func:`reference.max_pool2d`, one one-hot VJP per output element."""
    Y = reference.max_pool2d(X, **kwargs)
    _, c_, h_, w_ = X.shape
    indices = np.empty(Y.shape, dtype=np.int64)
    for position in np.ndindex(Y.shape):
        dY = np.zeros(Y.shape)
        dY[position] = 1.0
        n, c, h, w = (int(i[0]) for i in np.nonzero(reference.max_pool2d_vjp(X, dY, **kwargs)))
        plane = (n * c_ + c) * h_ * w_
        indices[position] = plane + (w * h_ + h if storage_order else h * w_ + w)
    return indices


def test_every_2d_vector_is_here() -> None:
    """27 vectors: 14 MaxPool (uint8, two with Indices), 13 AveragePool, from onnx 1.23.2."""
    ops = [vector["op"] for vector in VECTORS]
    assert (SOURCE["onnx"], ops.count("MaxPool"), ops.count("AveragePool")) == ("1.23.2", 14, 13)
    auto_pads = {vector["attributes"].get("auto_pad") for vector in VECTORS}
    assert auto_pads == {None, "SAME_UPPER", "SAME_LOWER"}


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["name"] for vector in VECTORS])
def test_reference_matches_onnx_vector(vector: dict[str, Any]) -> None:
    name, attributes = vector["name"], vector["attributes"]
    X, expected = ARRAYS[f"{name}/x"], ARRAYS[f"{name}/y"]
    kwargs = arguments(vector["op"], attributes)
    if vector["op"] == "MaxPool":
        Y = reference.max_pool2d(X, **kwargs)
    elif "dilations" in attributes:
        Y = dilated_average(X, tuple(attributes["dilations"]), **kwargs)
    else:
        Y = reference.avg_pool2d(X, **kwargs)
    assert Y.shape == expected.shape
    if vector["op"] == "MaxPool":  # a selection: exact (uint8 values compared as numbers)
        np.testing.assert_array_equal(Y, expected)
    else:
        # ONNX sums k float32 terms (within k*u of the window's largest |X|, u = 2**-24), ours
        # rounds once (u/2); a rounded literal holds to ONNX's rtol.
        area = int(np.prod(attributes["kernel_shape"]))
        magnitude = reference.max_pool2d(np.abs(X), **arguments("MaxPool", attributes))
        bound = (area + 1) * 2.0**-24 * magnitude + (
            1e-3 * np.abs(expected) if name in ROUNDED_LITERALS else 0
        )
        assert (np.abs(Y - expected) <= bound).all(), np.max(np.abs(Y - expected) - bound)
    if f"{name}/indices" in ARRAYS:
        indices = selected_indices(X, attributes.get("storage_order", 0), **kwargs)
        np.testing.assert_array_equal(indices, ARRAYS[f"{name}/indices"])
