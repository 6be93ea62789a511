"""Argument validation: one validator per op family, shared by every backend.

Each ``check_*`` function takes the op's arguments as the user passed them,
raises ``TypeError`` (non-real dtype, non-integer size argument) or
``ValueError`` (rank, shape, size, padding, stride) with a message that names
the argument, its value and the rule, and returns the normalised geometry the
op needs. Adapters call the same functions first, so errors are identical
across backends.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference.dtypes import is_floating, promote
from reference.shapes import ConvGeometry, PoolGeometry, conv2d_geometry, pool2d_geometry

_INTEGER_KINDS = "iu"


def result_dtype(*arrays: Any) -> np.dtype:
    """The floating result type of the inputs (float64, float32, float16 or bfloat16).

    Integer inputs promote to float64; bfloat16 beside any other dtype promotes
    as float32 (:func:`reference.dtypes.promote`).
    """
    dtype = promote(*(np.asarray(a).dtype for a in arrays))
    return dtype if is_floating(dtype) else np.dtype(np.float64)


def check_real_array(name: str, value: Any, ndim: int | None = None) -> np.ndarray:
    """``np.asarray(value)`` after checking it holds real numbers (and has ``ndim`` axes)."""
    array = np.asarray(value)
    if array.dtype.kind not in _INTEGER_KINDS and not is_floating(array.dtype):
        raise TypeError(f"{name} must hold real numbers (integer or floating dtype), got dtype {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {name}.shape={array.shape}")
    return array


def _check_dy(dY: Any, expected: tuple[int, ...]) -> None:
    dY = check_real_array("dY", dY)
    if dY.shape != tuple(expected):
        raise ValueError(f"dY must have the output's shape {tuple(expected)}, got dY.shape={dY.shape}")


def check_tangent(name: str, tangent: Any, primal: Any) -> None:
    """Validate a JVP's tangent ``name``: real numbers of its primal's shape."""
    shape = np.shape(primal)
    if check_real_array(name, tangent).shape != shape:
        raise ValueError(
            f"{name} must have the shape of its primal {shape}, got {name}.shape={np.shape(tangent)}"
        )


def check_conv2d(
    X: Any,
    W: Any,
    b: Any = None,
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: Any = 1,
    dY: Any = None,
) -> ConvGeometry:
    """Validate conv2d arguments: X (N, C, H, W), W (O, C/groups, kh, kw), b (O,), dY."""
    X = check_real_array("X", X, 4)
    W = check_real_array("W", W, 4)
    geometry = conv2d_geometry(X.shape, W.shape, stride, padding, dilation, groups)
    o = W.shape[0]
    if b is not None:
        b = check_real_array("b", b)
        if b.shape != (o,):
            raise ValueError(f"b must have shape ({o},) (one bias per output channel), got b.shape={b.shape}")
    if dY is not None:
        _check_dy(dY, geometry.output_shape(X.shape[0], o))
    return geometry


def check_pool2d(
    X: Any,
    kernel_size: Any,
    *,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    dY: Any = None,
) -> PoolGeometry:
    """Validate max/avg pooling arguments: X (N, C, H, W); explicit pads at most kernel_size - 1 a side."""
    X = check_real_array("X", X, 4)
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"count_include_pad must be a bool, got count_include_pad={count_include_pad!r}")
    geometry = pool2d_geometry(X.shape, kernel_size, stride, padding, dilation, ceil_mode)
    if dY is not None:
        _check_dy(dY, (*X.shape[:2], *geometry.output_size))
    return geometry


def check_corr2d(X: Any, K: Any, *, channels: int = 0) -> None:
    """Validate the chapter's corr2d family: X (C, H, W) and K (..., C, kh, kw) or 2-D without C.

    ``channels`` is 0 for plain ``corr2d``, 1 for multi-input (K is 3-D), 2 for
    multi-input-multi-output (K is 4-D).
    """
    X = check_real_array("X", X, 2 if channels == 0 else 3)
    K = check_real_array("K", K, 2 + channels)
    if channels and K.shape[-3] != X.shape[0]:
        raise ValueError(
            f"K has {K.shape[-3]} input channels but X has {X.shape[0]}: X.shape={X.shape}, K.shape={K.shape}"
        )
    if K.shape[-2] > X.shape[-2] or K.shape[-1] > X.shape[-1] or min(K.shape[-2:]) < 1:
        raise ValueError(f"kernel K.shape={K.shape} must be non-empty and fit in X.shape={X.shape}")


def check_dense(X: Any, W: Any, b: Any = None, dY: Any = None) -> None:
    """Validate a dense layer: X (N, in), W (out, in), b (out,), dY (N, out)."""
    X = check_real_array("X", X, 2)
    W = check_real_array("W", W, 2)
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but W.shape={W.shape} expects W.shape[1]={X.shape[1]}")
    if b is not None and check_real_array("b", b).shape != (W.shape[0],):
        raise ValueError(f"b must have shape ({W.shape[0]},), got b.shape={np.shape(b)}")
    if dY is not None:
        _check_dy(dY, (X.shape[0], W.shape[0]))


def check_elementwise(X: Any, dY: Any = None) -> None:
    """Validate an elementwise op: X real, dY (if given) of X's shape."""
    X = check_real_array("X", X)
    if dY is not None:
        _check_dy(dY, X.shape)


def check_flatten(X: Any, dY: Any = None) -> None:
    """Validate flatten: X at least 1-D (batch first); dY (N, prod(rest))."""
    X = check_real_array("X", X)
    if X.ndim < 1:
        raise ValueError(f"X must have a batch axis, got X.shape={X.shape}")
    if dY is not None:
        _check_dy(dY, (X.shape[0], int(np.prod(X.shape[1:], dtype=np.int64))))


def check_cross_entropy(logits: Any, labels: Any) -> None:
    """Validate softmax cross-entropy: logits (N, K) real, labels integer (N,) in [0, K)."""
    logits = check_real_array("logits", logits, 2)
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.shape != (logits.shape[0],):
        raise ValueError(f"labels must have shape ({logits.shape[0]},), got labels.shape={labels.shape}")
    if logits.shape[0] < 1 or logits.shape[1] < 1:
        raise ValueError(f"logits must be non-empty, got logits.shape={logits.shape}")
    bad = (labels < 0) | (labels >= logits.shape[1])
    if bad.any():
        raise ValueError(
            f"labels must lie in [0, {logits.shape[1]}),"
            f" got label {labels[bad][0]} at index {int(np.argmax(bad))}"
        )
