"""The LeNet HVP check (conformance/lenet_hvp.py) measured: an HVP from an independent route
(central differences of the float64 reference gradient at a tenth of the check's step, the
gradient rounded to float32 first) passes, and faulty ones fail: 0.1% too large, the opposite
sign, the gradient itself, and a float32 finite difference of float32 gradients."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from backends.lenet import ReferenceLeNet
from conformance import lenet_hvp
from conformance.compare import ConformanceError
from reference import lenet

Arrays = dict[str, np.ndarray]


class _Model(ReferenceLeNet):
    """The reference network whose ``hvp`` is ``route(params64, X64, y, variant, v64)``."""

    def __init__(self, variant: str, dtype: str, route: Callable[..., Arrays]) -> None:
        super().__init__(variant, dtype)
        self._route = route

    def _native_hvp(self, X: np.ndarray, y: np.ndarray, direction: Arrays) -> Arrays:
        as64 = {name: np.asarray(value, np.float64) for name, value in self._params.items()}
        v64 = {name: np.asarray(value, np.float64) for name, value in direction.items()}
        return {
            k: v.astype(self.dtype)
            for k, v in self._route(as64, X.astype(np.float64), y, self.variant, v64).items()
        }


class _Backend:
    name = "fake"

    def __init__(self, route: Callable[..., Arrays]) -> None:
        self._route = route

    def lenet(self, variant: str, dtype: str) -> _Model:
        return _Model(variant, dtype, self._route)


def _difference(params, X, y, variant, v, step=lenet_hvp.STEP / 10):
    return lenet_hvp.central_difference(params, X, y, variant, v, step)


def _float32_difference(params, X, y, variant, v):
    """(g32(p + h v) - g32(p - h v)) / 2h in float32 at h = 1e-3: the naive alternative."""
    h = np.float32(1e-3)
    p32 = {n: value.astype(np.float32) for n, value in params.items()}
    X32 = X.astype(np.float32)
    plus = lenet.loss_and_grads({n: p32[n] + h * v[n].astype(np.float32) for n in p32}, X32, y, variant)[1]
    minus = lenet.loss_and_grads({n: p32[n] - h * v[n].astype(np.float32) for n in p32}, X32, y, variant)[1]
    return {n: (plus[n] - minus[n]) / (2 * h) for n in p32}


FAULTS = {
    "0.1% too large": lambda *a: {n: 1.001 * d for n, d in _difference(*a).items()},
    "opposite sign": lambda *a: {n: -d for n, d in _difference(*a).items()},
    "the gradient": lambda params, X, y, variant, v: lenet.loss_and_grads(params, X, y, variant)[1],
    "float32 finite difference": _float32_difference,
}


def test_an_independent_hvp_passes() -> None:
    assert lenet_hvp.check_hvp(_Backend(_difference), "chapter", "float32") < 1.0


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_a_faulty_hvp_fails(fault: str) -> None:
    with pytest.raises(ConformanceError, match="HVP of"):
        lenet_hvp.check_hvp(_Backend(FAULTS[fault]), "chapter", "float32")
