"""The reference's floating dtypes and its one rounding to them.

float64, float32, float16 and bfloat16 (``ml_dtypes.bfloat16``, the NumPy dtype
TensorFlow and JAX use). NumPy gives bfloat16 the kind ``"V"`` and, with
ml_dtypes before 0.6, no promotion with float16 or integers: :func:`is_floating`
and :func:`promote` say what the reference means. ml_dtypes before 0.7 casts
float64 to bfloat16 through float32 (two roundings), so :func:`round_to`
rounds once itself.
"""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
HALF_DTYPES = (np.dtype(np.float16), BFLOAT16)  # the 16-bit floating dtypes


def is_floating(dtype: Any) -> bool:
    """Whether ``dtype`` is one of NumPy's floating dtypes or bfloat16."""
    dtype = np.dtype(dtype)
    return dtype.kind == "f" or dtype == BFLOAT16


def promote(*dtypes: Any) -> np.dtype:
    """NumPy's result type, with bfloat16 promoting as float32 (which holds it exactly) with any other.

    ``promote(bfloat16, bfloat16)`` is bfloat16; ``promote(bfloat16, float16)`` is float32,
    as in JAX; ``promote(bfloat16, int64)`` is float64, as for float32.
    """
    dtypes = [np.dtype(d) for d in dtypes]
    if dtypes and all(d == BFLOAT16 for d in dtypes):
        return BFLOAT16
    return np.result_type(*(np.dtype(np.float32) if d == BFLOAT16 else d for d in dtypes))


def finfo(dtype: Any) -> Any:
    """``numpy.finfo`` for every floating dtype, bfloat16 included (ml_dtypes' finfo)."""
    return ml_dtypes.finfo(np.dtype(dtype))


def round_to(values: Any, dtype: Any) -> np.ndarray:
    """``values`` (float64) rounded once, to nearest with ties to even, to ``dtype``, C-contiguous.

    bfloat16: float64 to float32 rounded to odd (truncated, the last bit set where
    inexact), then to bfloat16 to nearest; with float32's 16 bits more than
    bfloat16's this is one correct rounding (Boldo & Melquiond, IEEE TC 57(4),
    2008). Other dtypes: NumPy's cast, which rounds once.
    """
    dtype = np.dtype(dtype)
    values = np.asarray(values)
    if dtype != BFLOAT16 or values.dtype != np.float64:
        return values.astype(dtype, order="C", copy=False)
    single = values.astype(np.float32)
    inexact = np.isfinite(values) & (single.astype(np.float64) != values)
    overshoot = inexact & (np.abs(single.astype(np.float64)) > np.abs(values))
    single = np.where(overshoot, np.nextafter(single, np.float32(0)), single)
    bits = single.view(np.uint32) | inexact.astype(np.uint32)
    return bits.view(np.float32).astype(BFLOAT16, order="C")
