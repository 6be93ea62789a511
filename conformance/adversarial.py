"""Adversarial input arrays: special values and memory layouts.

Fills (:func:`fill_values`): ``special`` puts the dtype's special values among
normal ones (NaN, +-inf, +-0.0, the smallest subnormals, the largest finite
values, sigmoid's saturating tails); ``special-sum`` is the same for the inputs of a
sum of products (convolution, dense layer, average pooling), where the large
values are the square root of the largest finite one times 2**-8, so that no
product of two and no partial sum can overflow the dtype (the reference
computes in float64; a float32 product or accumulator that overflows where the
exact result does not is outside the error bound's assumptions); ``kinks`` holds values at ReLU's kink
(+-0.0, +-subnormals); ``tails`` saturating sigmoid inputs (+-20 to +-1e4 and
the largest finite); ``nans`` NaN in about half the entries (several per
pooling window); ``neginf`` -inf everywhere; ``lowest`` the lowest finite value
everywhere (a framework that pads max pooling with it ties the input); ``infs`` +-inf among normal values.

Layouts (:func:`lay_out`) give the same values in another memory layout:
``C``, ``F`` (Fortran order), ``strided`` (every other element of a larger
buffer), ``negative`` (negative strides on every axis), ``transposed`` (a view
with the last two axes swapped back) and ``readonly``.
"""

from __future__ import annotations

import numpy as np

from reference.dtypes import finfo, round_to

LAYOUTS = ("C", "F", "strided", "negative", "transposed", "readonly")
SUM_SCALE = 2.0**-8  # times the square root of the largest finite value: "large" in a sum of products
TAILS = (20.0, 40.0, 90.0, 1e4)  # sigmoid saturates in float32 from about 17, in float64 from about 37
ADVERSARIAL_FILLS = ("special", "special-sum", "kinks", "tails", "nans", "neginf", "lowest", "infs")


def _palette(dtype: np.dtype, fill: str) -> np.ndarray:
    """The values a fill scatters among normal ones (``nans``/``neginf`` have their own rule)."""
    info = finfo(dtype)
    subnormal = float(info.smallest_subnormal)
    largest = float(info.max)
    kinks = [0.0, -0.0, subnormal, -subnormal, 2 * subnormal, -2 * subnormal]
    if fill == "kinks":
        return np.array(kinks, dtype=dtype)
    tails = [sign * t for t in (*TAILS, largest) for sign in (1.0, -1.0)]
    if fill == "tails":
        return np.array(tails, dtype=dtype)
    if fill == "infs":
        return np.array([np.inf, -np.inf], dtype=dtype)
    large = np.sqrt(largest) * SUM_SCALE if fill == "special-sum" else largest
    specials = [np.nan, np.inf, -np.inf, *kinks, large, -large, float(info.tiny), -float(info.tiny)]
    if fill == "special":
        specials += tails
    return np.array(specials, dtype=dtype)


def fill_values(fill: str, shape: tuple[int, ...], dtype: str, rng: np.random.Generator) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` filled as :data:`ADVERSARIAL_FILLS` name (module docstring)."""
    if fill == "neginf":
        return np.full(shape, -np.inf, dtype=dtype)
    if fill == "lowest":
        return np.full(shape, finfo(dtype).min, dtype=dtype)
    array = round_to(rng.standard_normal(shape), dtype)
    flat = array.reshape(-1)
    if fill == "nans":
        flat[rng.random(flat.size) < 0.5] = np.nan
        return array
    palette = _palette(np.dtype(dtype), fill)
    picks = rng.random(flat.size) < (0.35 if fill in ("special", "special-sum") else 0.6)
    flat[picks] = rng.choice(palette, size=int(picks.sum()))
    return array


def lay_out(array: np.ndarray, layout: str) -> np.ndarray:
    """``array``'s values (shape and dtype too) in the memory layout ``layout`` (:data:`LAYOUTS`)."""
    if layout == "C":
        return np.ascontiguousarray(array)
    if layout == "F":
        return np.asfortranarray(array)
    if layout == "strided":
        buffer = np.zeros((*array.shape[:-1], 2 * array.shape[-1]), dtype=array.dtype)
        buffer[..., ::2] = array
        return buffer[..., ::2]
    if layout == "negative":
        backwards = (slice(None, None, -1),) * array.ndim
        return np.ascontiguousarray(array[backwards])[backwards]
    if layout == "transposed":
        if array.ndim < 2:
            return np.ascontiguousarray(array)
        return np.ascontiguousarray(np.swapaxes(array, -1, -2)).swapaxes(-1, -2)
    if layout == "readonly":
        copy = np.array(array)
        copy.flags.writeable = False
        return copy
    raise ValueError(f"layout must be one of {LAYOUTS}, got layout={layout!r}")
