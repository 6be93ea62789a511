"""Divergence probes: what a framework's native call with the obvious arguments returns,
measured against the reference on a small fixed input.

Each framework has a module ``reporting.probes.<backend>`` with ``probes()``
returning :class:`Probe` records. ``python -m reporting.probes --backend NAME``
runs them (in that backend's environment) and writes
``<out>/divergences-<backend>.json``: one entry per probe with the family, the
native call, whether it matches the reference, what differs, and how the
adapter matches the reference instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

FAMILIES = (
    "'same' padding, odd total",
    "asymmetric padding",
    "avg-pool padding count",
    "ceil_mode",
    "max-pool ties",
    "NaN in a max window",
    "flatten order before the first dense layer",
    "MXNet pooling conventions",
    "TF32 on GPUs",
)


class NotApplicableError(Exception):
    """Raised by a probe that cannot be measured here (e.g. TF32 without a GPU)."""


@dataclass(frozen=True)
class Probe:
    """One native call and the reference value it should equal."""

    family: str
    call: str  # the native call, as a user would write it
    native: Callable[[], Any]  # runs it; returns a NumPy array, or raises
    reference: Callable[[], np.ndarray]
    adapter: str  # how the adapter gets the reference's semantics


def describe(actual: np.ndarray, expected: np.ndarray) -> tuple[bool, str]:
    """Whether the native result equals the reference (NaN equal to NaN), and what differs."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        return False, f"shape {actual.shape}, reference {expected.shape}"
    # float32 rounding of a sum scales with its largest terms, not with each value.
    scale = float(np.nanmax(np.abs(np.where(np.isfinite(expected), expected, 0)), initial=1.0))
    close = np.isclose(actual, expected, rtol=1e-5, atol=1e-5 * scale, equal_nan=True)
    if close.all():
        return True, "same values"
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    return False, (
        f"{int((~close).sum())} of {close.size} values differ, e.g. [{', '.join(map(str, index))}]"
        f" = {actual[index]:.4g}, reference {expected[index]:.4g}"
    )


def measure(probe: Probe) -> dict[str, Any]:
    """Run a probe. ``matches``: True, False, ``"refuses"`` (the native call raised) or ``"n/a"``."""
    entry = {"family": probe.family, "call": probe.call, "adapter": probe.adapter}
    try:
        actual = probe.native()
    except NotApplicableError as reason:
        return {**entry, "matches": "n/a", "detail": f"not measured: {reason}"}
    except Exception as error:  # a native call that refuses the arguments is a divergence too
        first_line = str(error).strip().splitlines()[0][:160] if str(error).strip() else ""
        return {**entry, "matches": "refuses", "detail": f"raises {type(error).__name__}: {first_line}"}
    matches, detail = describe(actual, probe.reference())
    return {**entry, "matches": matches, "detail": detail}
