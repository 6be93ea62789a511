"""Divergence probes: what a framework's native call with the obvious arguments returns,
measured against the reference on a small fixed input.

Each backend's folder has a module ``probes`` (found with
:func:`backends.folder_module`) whose ``probes()`` returns :class:`Probe` records.
``python -m backends.divergences --backend NAME --out DIR`` runs them (in that
backend's environment, see ``__main__.py``) and writes ``DIR/divergences-<backend>.json``:
``{"backend": NAME, "probes": [...]}``, one entry per probe with the family, the
native call, whether it matches the reference, what differs, and how the
adapter matches the reference instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# A probe asks which semantics a native call has, not how it rounds: a float32 result within
# about 170 float32 unit roundoffs (u = 2**-24, about 6e-8) of the reference is "the same".
# The absolute part is that fraction of the reference's largest finite magnitude, because
# float32 rounding of a sum scales with its largest terms, not with each value.
SAME_RTOL = 1e-5


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
    scale = float(np.nanmax(np.abs(np.where(np.isfinite(expected), expected, 0)), initial=1.0))
    close = np.isclose(actual, expected, rtol=SAME_RTOL, atol=SAME_RTOL * scale, equal_nan=True)
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
        lines = [line for line in str(error).splitlines() if line.strip()]
        # MXNet's messages open with a C++ traceback; their last line says what is wrong.
        line = (lines[-1] if lines[0].startswith("Traceback") else lines[0]).strip()[:160] if lines else ""
        return {**entry, "matches": "refuses", "detail": f"raises {type(error).__name__}: {line}"}
    matches, detail = describe(actual, probe.reference())
    return {**entry, "matches": matches, "detail": detail}
