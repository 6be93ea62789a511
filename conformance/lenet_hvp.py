"""The Hessian-vector product of the LeNet loss against central differences of the reference gradient.

A backend's ``model.hvp(X, y, v)`` (forward over reverse: the JVP of its own gradient along
``v``) at the reference trajectory's state before step ``STATE`` on the first training batch
of 64, along a seeded standard normal direction ``v`` (both rounded to the backend's dtype),
is compared with

    D(h) = (g(p + h v) - g(p - h v)) / (2 h),   h = STEP,

``g`` the float64 reference gradient (:func:`reference.lenet.loss_and_grads`). No reference
HVP exists; the bound, elementwise, is the sum of three parts:

- Truncation. ``D(h) = H v + c h^2 + O(h^4)`` with ``c`` the third derivative along ``v``
  over 6, so ``D(2h) - D(h) = 3 c h^2 + O(h^4)``: the truncation ``|c| h^2`` is estimated by
  Richardson as ``|D(2h) - D(h)| / 3``, and bounded by ``2 |D(2h) - D(h)|`` for the next case.
  Where ``p +- h v`` crosses a ReLU or max-pool decision (relu-max), the gradient jumps by
  ``J``: ``D(h)`` is off by ``J / (2h)``, ``D(2h)`` (which crosses it too) by ``J / (4h)``, so
  their difference is half ``D(h)``'s error; a decision only ``2h`` crosses leaves ``D(h)``
  exact; several jumps may cancel in the difference, so crossings are avoided instead: the
  step starts at ``STEP`` and is divided by 4 until the reference's decisions at ``p +- 2h v``
  (every ReLU's sign, every max-pool window's chosen element) are those at ``p``
  (:func:`step_without_flips`; the chapter's network has none). The relu-max state has
  pre-activations within 4e-7 of 0, so its step comes out near 1e-8.
- The reference's float64 rounding. Each gradient is within ``E_64(g)``, the float64 gradient
  bound (:func:`conformance.lenet_checks.gradient_bounds` for a float64 backend), so their
  difference over ``2h`` is within ``E_64(g) / h``.
- The backend's own rounding of the HVP. The tangent program has the gradient program's layers
  and reductions, each product ``a b`` becoming ``a' b + a b'``: every sum at most twice as long,
  its terms the tangents of the gradient's terms. Propagated as the gradient bound is, its
  error relative to its size is then at most about twice the gradient's: per parameter tensor,
  ``2 max E_d(g) / max |g|`` times ``max |D(h)|``, with ``E_d(g)`` the gradient bound in the
  backend's dtype (rounding and flipped decisions included). This is a model of the
  propagation (tensor-wise, in the max norm), not a proof; the faults it must catch are
  far outside it (a wrong sign or scale, the gradient itself, a float32 finite difference).

At ``h = 1e-6`` the first two parts are about ``1e-10`` of the values, at ``1e-8`` about
``1e-8``: a float32 HVP is judged by its own rounding, a float64 one by the difference's
accuracy. The comparison also allows ``u |expected| + tiny`` (the reference rounded to the
dtype, flushed results).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.compare import check_output
from conformance.lenet_checks import BATCH, first_batches, gradient_bounds, reference_trajectory
from conformance.tolerance import unit_roundoff
from reference import lenet
from reference.pool import max_pool2d, max_pool2d_vjp

Arrays = dict[str, np.ndarray]
STEP = 1e-6
# Not init_params: its biases are 0, so on blank image patches the pre-activations are exactly 0,
# a ReLU kink that any move of a bias crosses (relu-max's differences would be meaningless).
STATE = 10
DIRECTION_SEED = 5


def direction(dtype: str) -> Arrays:
    """The seeded standard normal direction, one array per parameter, rounded to ``dtype``."""
    rng = np.random.default_rng(DIRECTION_SEED)
    return {name: rng.standard_normal(shape).astype(dtype) for name, shape in lenet.PARAM_SHAPES.items()}


def central_difference(
    params: Arrays, X: np.ndarray, y: np.ndarray, variant: str, v: Arrays, h: float
) -> Arrays:
    """``(g(p + h v) - g(p - h v)) / (2h)`` of the float64 reference gradient."""
    plus = lenet.loss_and_grads({n: params[n] + h * v[n] for n in params}, X, y, variant)[1]
    minus = lenet.loss_and_grads({n: params[n] - h * v[n] for n in params}, X, y, variant)[1]
    return {name: (plus[name] - minus[name]) / (2 * h) for name in lenet.PARAM_SHAPES}


def decisions(params: Arrays, X: np.ndarray, variant: str) -> list[np.ndarray]:
    """The reference network's choices at ``params``: each ReLU's ``z > 0`` and each max-pool
    window's chosen element (where its gradient goes); none for sigmoid and average pooling."""
    spec = lenet.variant_of(variant)
    _, tape = lenet.forward(params, X, variant)
    chosen = []
    for layer in ("conv1", "conv2", "fc1", "fc2"):
        a = tape[f"{layer}.a"]
        if spec.activation == "relu":
            chosen.append(a > 0)
        if spec.pooling == "max" and layer.startswith("conv"):
            windows = max_pool2d(a, 2, stride=2)
            chosen.append(max_pool2d_vjp(a, np.ones_like(windows), 2, stride=2) != 0)
    return chosen


def step_without_flips(params: Arrays, X: np.ndarray, variant: str, v: Arrays) -> float:
    """``STEP / 4**k``, the first for which :func:`decisions` at ``p +- 2h v`` equal those at ``p``
    (``k`` at most 12; then the last is returned)."""
    here = decisions(params, X, variant)
    step = STEP
    for _ in range(12):
        moved = [decisions({n: params[n] + s * 2 * step * v[n] for n in params}, X, variant) for s in (1, -1)]
        if all(all(np.array_equal(a, b) for a, b in zip(here, m, strict=True)) for m in moved):
            break
        step /= 4
    return step


def hvp_bounds(params: Arrays, X: np.ndarray, y: np.ndarray, variant: str, dtype: str, v: Arrays
               ) -> tuple[Arrays, Arrays]:  # fmt: skip
    """The central difference ``D(h)`` (``h`` from :func:`step_without_flips`) and its bound per
    parameter (module docstring)."""
    step = step_without_flips(params, X, variant, v)
    d1 = central_difference(params, X, y, variant, v, step)
    d2 = central_difference(params, X, y, variant, v, 2 * step)
    e_64 = gradient_bounds(params, X, y, variant, "float64")[3]
    _, _, grads, e_d = gradient_bounds(params, X, y, variant, dtype)
    bounds = {}
    for name in lenet.PARAM_SHAPES:
        largest = float(np.abs(grads[name]).max())
        level = 2 * float(e_d[name].max()) / largest if largest > 0 else 2 * float(e_d[name].max())
        own = level * float(np.abs(d1[name]).max())
        bounds[name] = 2 * np.abs(d2[name] - d1[name]) + e_64[name] / step + own
    return d1, bounds


def check_hvp(backend: Any, variant: str, dtype: str) -> float:
    """The backend's HVP at the trajectory's state ``STATE`` on the first batch of 64 along :func:`direction`.

    Returns the worst ratio over the ten parameter tensors; raises
    :class:`~conformance.compare.ConformanceError` naming the first tensor that fails, or
    :class:`~backends.UnsupportedError` from a model without forward mode.
    """
    X, y = first_batches(1, BATCH)[0]
    state = reference_trajectory(variant)[1][STATE]
    params = {name: value.astype(dtype) for name, value in state.items()}
    v = direction(dtype)
    model = backend.lenet(variant, dtype)
    model.load_params(params)
    actual = model.hvp(X.astype(dtype), y, v)
    as64 = {name: value.astype(np.float64) for name, value in params.items()}
    v64 = {name: value.astype(np.float64) for name, value in v.items()}
    X64 = X.astype(dtype).astype(np.float64)
    expected, bounds = hvp_bounds(as64, X64, y, variant, dtype, v64)
    u, tiny = unit_roundoff(dtype), float(np.finfo(dtype).tiny)
    worst = 0.0
    for name in lenet.PARAM_SHAPES:
        allowed = bounds[name] + u * np.abs(expected[name]) + tiny
        ratio = check_output(
            f"HVP of {name}", np.asarray(actual[name]), expected[name].astype(dtype), allowed
        )
        worst = max(worst, ratio)
    return worst
