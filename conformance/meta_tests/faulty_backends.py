"""Deliberately wrong adapters: each is the PyTorch adapter with one classic mistake.

Every fault is a small subclass of :class:`backends.torch.adapter.TorchBackend`
whose docstring says what is wrong, registered with :func:`fault` under a
name, a kind (:data:`KINDS`) and the checks that must fail: case ids of
:func:`conformance.specs.all_cases` (the pairwise-covering adversarial cases
included), ``error-<id>`` for an invalid call of :func:`conformance.specs.error_cases`
or of the LeNet models (:data:`conformance.lenet_errors.LENET_ERRORS`), a LeNet
check (``lenet-logits-<variant>-<dtype>``, ``lenet-grads-<variant>-<dtype>``,
``lenet-train-step-<variant>-<dtype>``, ``lenet-npz-<dtype>``), or a state-isolation
check of :mod:`conformance.isolation` (``isolation-<case id>``,
``lenet-isolation-<check>-<dtype>``), named one by one or selected by the
property that makes the fault visible (a selection that comes out empty is a
fault no check of the suite exercises). ``must_pass`` names checks of the same
op the fault leaves correct, so a fault is shown to be a fault and not a broken
adapter. A fault whose mistake surfaces as the framework's own exception (not a
wrong result) declares it in ``raises``.

:mod:`conformance.meta_tests.test_fault_injection` runs the catalogue in one
process. Each adapter is named ``faulty-<name>`` in its results; the whole suite
runs against one fault when ``--backend`` names its class:
``pytest conformance --backend conformance.meta_tests.faulty_backends:<Class>``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
import torch

import reference
from backends.torch.adapter import TorchBackend
from backends.torch.lenet import CONV1_BACKWARDS, TorchLeNet, to_numpy, to_tensor
from conformance import isolation
from conformance.cases import ArraySpec, Case
from conformance.compare import ConformanceError, check_output
from conformance.specs import all_cases, bounds, function
from reference.shapes import PoolGeometry, conv2d_geometry, pool2d_geometry
from reference.validation import (
    check_conv2d,
    check_cross_entropy,
    check_elementwise,
    check_flatten,
    check_pool2d,
    result_dtype,
)

KINDS = (
    "forward value",
    "gradient",
    "pooling divisor",
    "activation",
    "loss",
    "dense",
    "LeNet",
    "error type",
    "geometry",
    "NaN",
    "signed zero",
    "special value",
    "memory layout",
    "aliasing",
    "LeNet arguments",
)


@dataclass(frozen=True)
class Fault:
    """One faulty adapter and the checks that must catch it."""

    name: str
    kind: str
    must_fail: tuple[str, ...]
    must_pass: tuple[str, ...]
    backend: type[TorchBackend]
    # Exceptions the fault makes the adapter raise (a framework's own, as a framework raises it): the
    # suite records such a call as an error of the backend, which is a catch; any other exception is
    # a broken fault.
    raises: tuple[type[Exception], ...] = ()

    @property
    def description(self) -> str:
        """The first line of the adapter's docstring: what is wrong."""
        return (self.backend.__doc__ or "").strip().splitlines()[0]


FAULTS: dict[str, Fault] = {}


def fault(
    name: str,
    kind: str,
    must_fail: tuple[str, ...],
    must_pass: tuple[str, ...] = (),
    raises: tuple[type[Exception], ...] = (),
) -> Callable[[type[TorchBackend]], type[TorchBackend]]:
    """Class decorator: add the adapter to :data:`FAULTS` under the backend name ``faulty-<name>``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got kind={kind!r}")

    def add(cls: type[TorchBackend]) -> type[TorchBackend]:
        if name in FAULTS:
            raise ValueError(f"fault {name!r} is defined twice")
        cls.name = f"faulty-{name}"
        FAULTS[name] = Fault(name, kind, tuple(must_fail), tuple(must_pass), cls, tuple(raises))
        return cls

    return add


# -- case selections (each stated by the property that makes the fault visible) ----------------------
_CASES = all_cases()


def _where(op: str, holds: Callable[[Case], bool]) -> tuple[str, ...]:
    """Ids of the cases of ``op`` for which ``holds(case)``, in the suite's order."""
    return tuple(case.id for case in _CASES if case.op == op and holds(case))


def _batched(op: str) -> tuple[str, ...]:
    """Grid cases of ``op`` whose first input holds more than one example."""
    return _where(op, lambda case: case.source == "grid" and case.inputs[0].shape[0] > 1)


def _batch_of_one(op: str) -> tuple[str, ...]:
    """Grid cases of ``op`` whose first input holds one example (a sum and a mean over it agree)."""
    return _where(op, lambda case: case.source == "grid" and case.inputs[0].shape[0] == 1)


def _inputs_hold(op: str, holds: Callable[..., np.ndarray]) -> tuple[str, ...]:
    """Cases of ``op`` whose input arrays make ``holds(*arrays)`` true somewhere."""
    with np.errstate(all="ignore"):
        return _where(op, lambda case: bool(np.any(holds(*case.arrays()))))


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, tuple) else (value, value)


class _Axis(NamedTuple):
    """Window counts of pooling along one axis: floor, rounded up, kept; how far the last reaches past."""

    floor: int
    up: int
    kept: int
    up_overhang: int
    kept_overhang: int


def _axes(x_shape, kernel, stride, padding, dilation) -> list[_Axis]:
    """Per spatial axis (pairs; padding a (before, after) pair per axis): rounded up,
    ceil((n + before + after - span) / s) + 1 windows, of which the last is dropped when it starts in
    the after-padding, at (count - 1) * s >= n + before (DESIGN.md's rule); an overhang is how far the
    last window reaches past the padded input."""
    axes = []
    for n, k, s, (before, after), d in zip(x_shape[2:], kernel, stride, padding, dilation, strict=True):
        span, padded = d * (k - 1) + 1, n + before + after
        up = -(-(padded - span) // s) + 1
        kept = up - ((up - 1) * s >= n + before)
        overhang = [max(0, (count - 1) * s + span - padded) for count in (up, kept)]
        axes.append(_Axis((padded - span) // s + 1, up, kept, *overhang))
    return axes


def _ceil_windows(case: Case) -> list[_Axis]:
    """:func:`_axes` of a pooling case."""
    g = _pool_geometry(case)
    return _axes(case.inputs[0].shape, g.kernel_size, g.stride, g.padding, g.dilation)


def _spec(case: Case, name: str) -> ArraySpec:
    """The input of ``case`` called ``name``."""
    return next(spec for spec in case.inputs if spec.name == name)


def _pairwise(op: str, holds: Callable[[Case], bool] = lambda case: True) -> tuple[str, ...]:
    """Pairwise-covering adversarial cases of ``op`` (conformance.space) for which ``holds(case)``."""
    return _where(op, lambda case: case.source == "pairwise" and holds(case))


def _filled(op: str, name: str, *fills: str) -> tuple[str, ...]:
    """Pairwise cases of ``op`` whose input ``name`` has one of ``fills``."""
    return _pairwise(op, lambda case: _spec(case, name).fill in fills)


def _laid_out(op: str, *layouts: str) -> tuple[str, ...]:
    """Pairwise cases of ``op`` with a non-empty input in one of ``layouts``."""
    return _pairwise(
        op, lambda case: any(spec.layout in layouts and math.prod(spec.shape) for spec in case.inputs)
    )


def _pool_geometry(case: Case) -> PoolGeometry:
    """:func:`reference.shapes.pool2d_geometry` of a pooling case."""
    kw = {k: v for k, v in case.kw.items() if k != "count_include_pad"}
    return pool2d_geometry(case.inputs[0].shape, **kw)


def _windows(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """Every pooling window's taps in row-major window order: their values (N, C, Ho, Wo, taps) and
    whether each lies in X (Ho, Wo, taps); a tap in padding or past the padded input reads X[0, 0]."""
    X = case.arrays()[0]
    g = _pool_geometry(case)
    taps = [
        np.arange(out)[:, None] * s - before + np.arange(k)[None, :] * d
        for out, k, s, (before, _), d in zip(
            g.output_size, g.kernel_size, g.stride, g.padding, g.dilation, strict=True
        )
    ]
    rows, cols = np.broadcast_arrays(taps[0][:, None, :, None], taps[1][None, :, None, :])
    rows, cols = (a.reshape(*g.output_size, -1) for a in (rows, cols))
    real = (rows >= 0) & (rows < X.shape[2]) & (cols >= 0) & (cols < X.shape[3])
    return X[:, :, np.where(real, rows, 0), np.where(real, cols, 0)], real


def _nans_per_window(case: Case) -> np.ndarray:
    """(N, C, Ho, Wo): how many NaNs each pooling window holds among its real elements."""
    values, real = _windows(case)
    return (np.isnan(values) & real).sum(axis=-1)


def _window_gradient(case: Case) -> np.ndarray:
    """(N, C, Ho, Wo): the windows whose dY is not 0 (a NaN dY included)."""
    return case.arrays()[1] != 0


def _tf32(*arrays: np.ndarray) -> list[np.ndarray]:
    """float32 arrays rounded to TF32 (10 explicit mantissa bits, to nearest even); others unchanged."""
    rounded = []
    for a in map(np.asarray, arrays):
        if a.dtype == np.float32:
            bits = np.ascontiguousarray(a).view(np.uint32)
            bits = (bits + np.uint32(0xFFF) + ((bits >> np.uint32(13)) & np.uint32(1))) & np.uint32(
                0xFFFFE000
            )
            a = bits.view(np.float32)
        rounded.append(a)
    return rounded


def _changes_in_tf32(op: Callable[..., np.ndarray], X: np.ndarray, W: np.ndarray, *rest, **kw) -> bool:
    """Whether the reference's exact (float64) ``op(X, W, ...)`` changes when X and W are rounded to TF32."""
    exact = op(X.astype(np.float64), W.astype(np.float64), *rest, **kw)
    rounded = op(*(a.astype(np.float64) for a in _tf32(X, W)), *rest, **kw)
    return bool(np.any(exact != rounded))


def _tf32_exceeds_bound(name: str, case: Case) -> bool:
    """Whether rounding X and W to TF32 moves the exact result of the function ``name`` by more than
    the suite's bound somewhere (a change within the bound, e.g. beside huge values, is accepted)."""
    X, W, *rest = case.arrays()
    op = getattr(reference, name)
    with np.errstate(all="ignore"):
        exact = op(X.astype(np.float64), W.astype(np.float64), *rest, **case.kw)
        rounded = op(*(a.astype(np.float64) for a in _tf32(X, W)), *rest, **case.kw)
        (bound,) = bounds(name, case.arrays(), case.kw, case.dtype)
        return bool(np.any(np.abs(exact - rounded) > 2 * np.asarray(bound, dtype=np.float64)))


def _float32(*arrays) -> list[np.ndarray | None]:
    """The arrays as float32 (None stays None)."""
    return [None if a is None else np.asarray(a, dtype=np.float32) for a in arrays]


def _off_by_1e_6(Y: np.ndarray) -> np.ndarray:
    """A float64 ``Y`` with a relative error of 1e-6 (about 20 correct bits of 53); float32 unchanged."""
    return Y * (1 + 1e-6) if Y.dtype == np.float64 else Y


# -- forward values ---------------------------------------------------------------------------------
@fault(
    "flipped-kernel",
    "forward value",
    (
        "chapter-corr2d-3x3-f32",
        "chapter-corr2d-3x3-f64",
        "chapter-corr2d-multi-in-out-f64",
        "chapter-conv2d-padd1-k3x3-f64",
    ),
    ("chapter-1x1-f32",),  # a 1x1 kernel is its own flip
)
class FlippedKernelBackend(TorchBackend):
    """A true convolution (kernel flipped) instead of the chapter's cross-correlation."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        return super().conv2d(X, np.asarray(W)[:, :, ::-1, ::-1], b, stride, padding, dilation, groups)


@fault(
    "conv-relative-1e-6",
    "forward value",
    (
        "chapter-conv2d-padd1-k3x3-f64",
        "conv2d-stri1-padd0-dila1-grou1-f64",
        "conv2d-stri2-padd1-dila2-grou2-f64",
        "conv2d-stri3-paddsame-dila1-grou1-f64",
    ),
    ("conv2d-stri1-padd0-dila1-grou1-f32",),
)
class ConvRelativeErrorBackend(TorchBackend):
    """float64 conv2d with a relative error of 1e-6 (about 20 correct bits of 53)."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        return _off_by_1e_6(super().conv2d(X, W, b, stride, padding, dilation, groups))


@fault(
    "conv-float32-as-float64",
    "forward value",
    (
        "chapter-conv2d-padd1-k3x3-f64",
        "conv2d-stri1-padd0-dila1-grou1-f64",
        "conv2d-stri1-padd1-dila2-grou2-f64",
    ),
    ("conv2d-stri1-padd0-dila1-grou1-f32",),
)
class ConvFloat32As64Backend(TorchBackend):
    """conv2d computed in float32 and returned as float64."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        return (
            super().conv2d(*_float32(X, W, b), stride, padding, dilation, groups).astype(np.result_type(X, W))
        )


@fault(
    "conv-tf32",
    "forward value",
    # Every float32 grid case whose exact result changes when X and W are rounded to TF32 (not those
    # whose output windows read padding only, nor inputs TF32 represents exactly).
    _where(
        "conv2d",
        lambda case: (
            case.dtype == "float32"
            and case.source == "grid"
            and _changes_in_tf32(reference.conv2d, *case.arrays(), **case.kw)
        ),
    ),
    ("conv2d-stri1-padd0-dila1-grou1-f64",),
)
class ConvTF32Backend(TorchBackend):
    """float32 conv2d on inputs rounded to TF32 (10 mantissa bits), as GPUs do with TF32 on."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        return super().conv2d(*_tf32(X, W), b, stride, padding, dilation, groups)


@fault(
    "conv-dropped-bias",
    "forward value",
    ("conv2d-stri1-padd0-dila1-grou1-f64", "conv2d-stri2-padd1-dila1-grou2-f32"),
    ("chapter-conv2d-padd1-k3x3-f32",),  # the chapter's conv2d cases have no bias
)
class DroppedBiasBackend(TorchBackend):
    """conv2d that ignores its bias."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        return super().conv2d(X, W, None, stride, padding, dilation, groups)


@fault(
    "flatten-hwc",
    "forward value",
    ("flatten-2x3x4x4-f32", "flatten-128x16x5x5-f64"),
)
class FlattenHWCBackend(TorchBackend):
    """flatten in H, W, C order (an NHWC port) instead of C, H, W."""

    def flatten(self, X):
        return super().flatten(np.moveaxis(np.asarray(X), 1, -1))


def _zero_padded_max_pool_differs(case: Case) -> bool:
    """Whether max pooling of the input padded with zeros (not -inf) differs from the reference's."""
    (X,), kw, g = case.arrays(), case.kw, _pool_geometry(case)
    if kw.get("ceil_mode") or not any(map(any, g.padding)):
        return False
    zero_padded = np.pad(X, ((0, 0), (0, 0), *g.padding))
    pooled = reference.max_pool2d(zero_padded, g.kernel_size, g.stride, 0, g.dilation)
    return not np.array_equal(pooled, reference.max_pool2d(X, **kw), equal_nan=True)


@fault(
    "max-pool-zero-padding",
    "forward value",
    _where("max_pool2d", _zero_padded_max_pool_differs),
    ("max_pool2d-kern2-striNone-padd0-dila1-ceilFalse-f32",),
)
class ZeroPaddedMaxPoolBackend(TorchBackend):
    """max_pool2d that pads with zeros instead of -inf (a negative window at the border returns 0)."""

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        if ceil_mode:
            return super().max_pool2d(X, kernel_size, stride, padding, dilation, ceil_mode)
        g = pool2d_geometry(np.shape(X), kernel_size, stride, padding, dilation)
        X = np.pad(np.asarray(X), ((0, 0), (0, 0), *g.padding))
        return super().max_pool2d(X, g.kernel_size, g.stride, 0, g.dilation)


# -- gradients (VJPs) -------------------------------------------------------------------------------
@fault(
    "conv-vjp-dX-flipped-kernel",
    "gradient",
    ("conv2d_vjp-stri1-padd0-dila1-grou1-f64", "conv2d_vjp-stri2-padd1-dila2-grou2-f32"),
    _where("conv2d_vjp", lambda case: case.inputs[1].shape[2:] == (1, 1))[:2],  # a 1x1 kernel is its own flip
)
class ConvInputGradFlippedBackend(TorchBackend):
    """conv2d_vjp whose dX uses the kernel flipped (dW and db right)."""

    def conv2d_vjp(self, X, W, dY, stride=1, padding=0, dilation=1, groups=1):
        _, dW, db = super().conv2d_vjp(X, W, dY, stride, padding, dilation, groups)
        flipped = np.asarray(W)[:, :, ::-1, ::-1]
        dX, _, _ = super().conv2d_vjp(X, flipped, dY, stride, padding, dilation, groups)
        return dX, dW, db


@fault("conv-vjp-dW-first-example", "gradient", _batched("conv2d_vjp")[:6], _batch_of_one("conv2d_vjp")[:2])
class ConvWeightGradFirstExampleBackend(TorchBackend):
    """conv2d_vjp whose dW sums over the first example of the batch only."""

    def conv2d_vjp(self, X, W, dY, stride=1, padding=0, dilation=1, groups=1):
        dX, _, db = super().conv2d_vjp(X, W, dY, stride, padding, dilation, groups)
        _, dW, _ = super().conv2d_vjp(
            np.asarray(X)[:1], W, np.asarray(dY)[:1], stride, padding, dilation, groups
        )
        return dX, dW, db


@fault("conv-vjp-db-mean", "gradient", _batched("conv2d_vjp")[:6], _batch_of_one("conv2d_vjp")[:2])
class ConvBiasGradMeanBackend(TorchBackend):
    """conv2d_vjp whose db is the mean over the batch instead of the sum."""

    def conv2d_vjp(self, X, W, dY, stride=1, padding=0, dilation=1, groups=1):
        dX, dW, db = super().conv2d_vjp(X, W, dY, stride, padding, dilation, groups)
        return dX, dW, db / np.shape(X)[0]


@fault(
    "conv-vjp-tf32",
    "gradient",
    (
        "conv2d_vjp-stri1-padd0-dila1-grou1-f32",
        "conv2d_vjp-stri2-padd1-dila1-grou1-f32",
        "conv2d_vjp-stri1-paddsame-dila2-grou2-f32",
    ),
    ("conv2d_vjp-stri1-padd0-dila1-grou1-f64",),
)
class ConvVJPTF32Backend(TorchBackend):
    """float32 conv2d_vjp on inputs rounded to TF32 (10 mantissa bits)."""

    def conv2d_vjp(self, X, W, dY, stride=1, padding=0, dilation=1, groups=1):
        return super().conv2d_vjp(*_tf32(X, W, dY), stride, padding, dilation, groups)


@fault(
    "max-pool-vjp-last-tie",
    "gradient",
    ("max_pool2d_vjp-kern2-striNone-padd0-ties-f32", "max_pool2d_vjp-kern3-stri1-padd1-ties-f64"),
    ("max_pool2d_vjp-kern2-striNone-padd0-dila1-ceilFalse-f32",),
)
class LastTieBackend(TorchBackend):
    """Max-pool gradient sent to the last maximal element of a tie, not the first."""

    def max_pool2d_vjp(self, X, dY, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        X = np.asarray(X)
        # A small ramp that grows in row-major order makes the last of equal values win.
        ramp = np.arange(X.shape[2] * X.shape[3], dtype=X.dtype).reshape(X.shape[2:]) * 1e-6
        return super().max_pool2d_vjp(X + ramp, dY, kernel_size, stride, padding, dilation, ceil_mode)


@fault(
    "avg-pool-vjp-counts-padding",
    "gradient",
    (
        "avg_pool2d_vjp-kern2-striNone-padd1-ceilFalse-counFalse-f32",
        "avg_pool2d_vjp-kern3-stri1-padd1-ceilFalse-counFalse-f64",
    ),
    ("avg_pool2d_vjp-kern2-striNone-padd1-ceilFalse-counTrue-f32",),
)
class AvgPoolGradCountsPaddingBackend(TorchBackend):
    """avg_pool2d_vjp divides by the whole window, padding included, even with count_include_pad=False."""

    def avg_pool2d_vjp(
        self, X, dY, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        return super().avg_pool2d_vjp(X, dY, kernel_size, stride, padding, ceil_mode, True)


@fault("linear-vjp-dX-drops-last-output", "gradient", ("linear_vjp-1x3x2-f64", "linear_vjp-4x16x10-f32"))
class LinearInputGradBackend(TorchBackend):
    """linear_vjp whose dX leaves out the last output feature (an off-by-one slice)."""

    def linear_vjp(self, X, W, dY):
        _, dW, db = super().linear_vjp(X, W, dY)
        dX, _, _ = super().linear_vjp(X, np.asarray(W)[:-1], np.asarray(dY)[:, :-1])
        return dX, dW, db


@fault("linear-vjp-dW-layout", "gradient", ("linear_vjp-1x3x2-f32", "linear_vjp-128x400x120-f64"))
class LinearWeightGradLayoutBackend(TorchBackend):
    """linear_vjp whose dW is computed as X^T dY, (in, out), and reshaped to (out, in)."""

    def linear_vjp(self, X, W, dY):
        dX, dW, db = super().linear_vjp(X, W, dY)
        return dX, np.ascontiguousarray(dW.T).reshape(dW.shape), db


@fault(
    "linear-vjp-db-mean",
    "gradient",
    ("linear_vjp-4x16x10-f32", "linear_vjp-128x400x120-f64"),
    ("linear_vjp-1x3x2-f32",),  # a batch of one: mean and sum agree
)
class LinearBiasGradMeanBackend(TorchBackend):
    """linear_vjp whose db is the mean over the batch instead of the sum."""

    def linear_vjp(self, X, W, dY):
        dX, dW, db = super().linear_vjp(X, W, dY)
        return dX, dW, db / np.shape(X)[0]


@fault("sigmoid-vjp-of-output", "gradient", ("sigmoid_vjp-5-f64", "sigmoid_vjp-2x3x4x4-f32"))
class SigmoidGradOfOutputBackend(TorchBackend):
    """sigmoid_vjp evaluated at sigmoid(X) instead of X (the saved output fed back as input)."""

    def sigmoid_vjp(self, X, dY):
        return super().sigmoid_vjp(super().sigmoid(X), dY)


@fault("relu-vjp-gates-on-dY", "gradient", ("relu_vjp-5-f32", "relu_vjp-128x16x5x5-f64"))
class ReluGradGatesOnOutputGradBackend(TorchBackend):
    """relu_vjp that passes dY where dY > 0 instead of where X > 0."""

    def relu_vjp(self, X, dY):
        return super().relu_vjp(dY, dY)


@fault("flatten-vjp-hwc", "gradient", ("flatten_vjp-2x3x4x4-f64", "flatten_vjp-128x16x5x5-f32"))
class FlattenGradHWCBackend(TorchBackend):
    """flatten_vjp that unflattens dY in H, W, C order instead of C, H, W."""

    def flatten_vjp(self, X, dY):
        n, c, h, w = np.shape(X)
        # dY's columns taken as (h, w, c), put in (c, h, w) order for the right unflatten.
        return super().flatten_vjp(X, np.asarray(dY).reshape(n, h, w, c).transpose(0, 3, 1, 2).reshape(n, -1))


@fault(
    "cross-entropy-vjp-not-averaged",
    "gradient",
    ("softmax_cross_entropy_vjp-4x16x10-f32", "softmax_cross_entropy_vjp-128x400x120-f64"),
    ("softmax_cross_entropy_vjp-1x3x2-f64",),  # a batch of one
)
class CrossEntropyGradSumBackend(TorchBackend):
    """softmax_cross_entropy_vjp of the summed loss, not the mean (not divided by the batch)."""

    def softmax_cross_entropy_vjp(self, logits, labels, dloss=1.0):
        return super().softmax_cross_entropy_vjp(logits, labels, dloss) * np.shape(logits)[0]


# -- average pooling's divisor ----------------------------------------------------------------------
@fault(
    "avg-pool-count-include-pad-ignored",
    "pooling divisor",
    (
        "avg_pool2d-kern2-striNone-padd1-ceilFalse-counFalse-f32",
        "avg_pool2d-kern3-stri2-padd1-ceilFalse-counFalse-f64",
    ),
    ("avg_pool2d-kern2-striNone-padd1-ceilFalse-counTrue-f32",),
)
class AvgPoolCountsPaddingBackend(TorchBackend):
    """avg_pool2d that always counts padding in the divisor (count_include_pad=False ignored)."""

    def avg_pool2d(self, X, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        return super().avg_pool2d(X, kernel_size, stride, padding, ceil_mode, True)


@fault(
    "avg-pool-ceil-overhang-counted",
    "pooling divisor",
    _where(
        "avg_pool2d",
        lambda case: (
            case.kw.get("ceil_mode")
            and math.prod(case.inputs[0].shape) > 0
            and any(axis.kept_overhang for axis in _ceil_windows(case))
            # finite X: an infinite or NaN window average is the same whatever the divisor
            and bool(np.isfinite(case.arrays()[0]).all())
        ),
    ),
    ("avg_pool2d-kern2-striNone-padd0-ceilFalse-counTrue-f32",),
)
class AvgPoolCountsOverhangBackend(TorchBackend):
    """avg_pool2d whose ceil_mode windows count the part hanging past the padded input."""

    def avg_pool2d(self, X, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        g = check_pool2d(X, kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode)
        X = np.asarray(X)
        # Zero cells appended past the input make the overhang real, so the divisor counts it.
        extra = [
            axis.kept_overhang for axis in _axes(X.shape, g.kernel_size, g.stride, g.padding, g.dilation)
        ]
        X = np.pad(X, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
        return super().avg_pool2d(X, kernel_size, stride, padding, False, count_include_pad)


# -- activations -------------------------------------------------------------------------------------
@fault("sigmoid-of-negative", "activation", ("sigmoid-5-f32", "sigmoid-128x16x5x5-f64"))
class SigmoidSignBackend(TorchBackend):
    """sigmoid computed as 1 / (1 + exp(X)): the sign of the exponent flipped."""

    def sigmoid(self, X):
        return super().sigmoid(-np.asarray(X))


@fault(
    "sigmoid-float32-as-float64", "activation", ("sigmoid-5-f64", "sigmoid-2x3x4x4-f64"), ("sigmoid-5-f32",)
)
class SigmoidFloat32As64Backend(TorchBackend):
    """sigmoid computed in float32 and returned as float64."""

    def sigmoid(self, X):
        return super().sigmoid(*_float32(X)).astype(np.asarray(X).dtype)


@fault(
    "sigmoid-negative-tail-flushed",
    "activation",
    # X in (-80, -20): sigmoid is between 1.8e-35 and 2.1e-9, a normal float32 and float64, but 0 in
    # float16 (whose smallest subnormal is 6e-8): the fault shows where the rounded sigmoid is not 0.
    _inputs_hold("sigmoid", lambda X: (X > -80) & (X < -20) & (reference.sigmoid(X) != 0)),
    ("sigmoid-5-f64",),
)
class SigmoidTailFlushBackend(TorchBackend):
    """sigmoid flushed to 0 for X < -20 (where it is below 2.1e-9 but far above the smallest normal)."""

    def sigmoid(self, X):
        Y = super().sigmoid(X)
        Y[np.asarray(X) < -20] = 0
        return Y


@fault(
    "sigmoid-vjp-positive-tail-flushed",
    "activation",
    # X > 17 with dY != 0 where the gradient, about dY * exp(-X), exceeds the bound's allowance for a
    # flushed tail (smallest normal * |dY|): X up to 87 in float32, 708 in float64 (the "tails" fills).
    _inputs_hold(
        "sigmoid_vjp", lambda X, dY: (X > 17) & (np.exp(-X) > 2 * np.finfo(X.dtype).tiny) & (dY != 0)
    ),
    ("sigmoid_vjp-5-f64",),
)
class SigmoidGradTailFlushBackend(TorchBackend):
    """sigmoid_vjp flushed to 0 for X > 17 (as dY * y * (1 - y) from a float32 y = 1.0 gives)."""

    def sigmoid_vjp(self, X, dY):
        dX = super().sigmoid_vjp(X, dY)
        dX[np.asarray(X) > 17] = 0
        return dX


@fault("relu-leaky", "activation", ("relu-5-f32", "relu-2x3x4x4-f64"))
class LeakyReluBackend(TorchBackend):
    """relu with a negative slope of 0.01 (leaky ReLU)."""

    def relu(self, X):
        X = np.asarray(X)
        return np.where(X > 0, super().relu(X), 0.01 * X).astype(X.dtype)


@fault(
    "relu-vjp-passes-at-zero",
    "activation",
    _inputs_hold("relu_vjp", lambda X, dY: (X == 0) & (dY != 0)),
    ("relu_vjp-5-f32",),
)
class ReluGradAtZeroBackend(TorchBackend):
    """relu_vjp that passes dY where X is exactly 0 (derivative 1 at the kink, the reference says 0)."""

    def relu_vjp(self, X, dY):
        dX = super().relu_vjp(X, dY)
        zero = np.asarray(X) == 0
        dX[zero] = np.asarray(dY)[zero]
        return dX


# -- the loss -----------------------------------------------------------------------------------------
@fault(
    "cross-entropy-no-max-subtraction",
    "loss",
    ("softmax_cross_entropy-large-logits-f32", "softmax_cross_entropy-large-logits-f64"),
    ("softmax_cross_entropy-4x16x10-f64",),
)
class NaiveSoftmaxBackend(TorchBackend):
    """softmax_cross_entropy as log(sum(exp(z))) - z[label]: exp overflows for large logits."""

    def softmax_cross_entropy(self, logits, labels):
        super().softmax_cross_entropy(logits, labels)  # the validation
        z = torch.as_tensor(np.asarray(logits))
        label = torch.as_tensor(np.asarray(labels, dtype=np.int64))
        loss = torch.log(torch.exp(z).sum(dim=1)) - z.gather(1, label[:, None])[:, 0]
        return np.asarray(logits).dtype.type(loss.mean().item())


@fault(
    "cross-entropy-vjp-no-max-subtraction",
    "loss",
    ("softmax_cross_entropy_vjp-large-logits-f32", "softmax_cross_entropy_vjp-large-logits-f64"),
    ("softmax_cross_entropy_vjp-4x16x10-f64",),
)
class NaiveSoftmaxGradBackend(TorchBackend):
    """softmax_cross_entropy_vjp as (exp(z) / sum(exp(z)) - onehot) / N: exp overflows for large logits."""

    def softmax_cross_entropy_vjp(self, logits, labels, dloss=1.0):
        super().softmax_cross_entropy_vjp(logits, labels, dloss)  # the validation
        z = np.asarray(logits)
        with np.errstate(over="ignore", invalid="ignore"):
            p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        p[np.arange(len(z)), np.asarray(labels)] -= 1
        return (p * (np.asarray(dloss) / len(z))).astype(z.dtype)


@fault(
    "cross-entropy-float32-as-float64",
    "loss",
    ("softmax_cross_entropy-4x16x10-f64", "softmax_cross_entropy-128x400x120-f64"),
    ("softmax_cross_entropy-4x16x10-f32",),
)
class CrossEntropyFloat32As64Backend(TorchBackend):
    """softmax_cross_entropy computed in float32 and returned as float64."""

    def softmax_cross_entropy(self, logits, labels):
        return np.asarray(logits).dtype.type(super().softmax_cross_entropy(*_float32(logits), labels))


@fault(
    "cross-entropy-sum",
    "loss",
    ("softmax_cross_entropy-4x16x10-f32", "softmax_cross_entropy-128x400x120-f64"),
    ("softmax_cross_entropy-1x3x2-f32",),  # a batch of one
)
class CrossEntropySumBackend(TorchBackend):
    """softmax_cross_entropy summed over the batch instead of averaged."""

    def softmax_cross_entropy(self, logits, labels):
        loss = super().softmax_cross_entropy(logits, labels)
        return type(loss)(loss * np.shape(logits)[0])


@fault(
    "cross-entropy-label-off-by-one",
    "loss",
    (
        "softmax_cross_entropy-1x3x2-f64",
        "softmax_cross_entropy-128x400x120-f32",
        "softmax_cross_entropy-large-logits-f64",
    ),
)
class CrossEntropyWrongLabelBackend(TorchBackend):
    """softmax_cross_entropy that scores class (label + 1) mod K, an off-by-one label."""

    def softmax_cross_entropy(self, logits, labels):
        super().softmax_cross_entropy(logits, labels)  # the validation
        return super().softmax_cross_entropy(logits, (np.asarray(labels) + 1) % np.shape(logits)[1])


# -- dense layer -------------------------------------------------------------------------------------
@fault(
    "linear-transposed-weight", "dense", ("linear-1x3x2-f64", "linear-4x16x10-f32", "linear-128x400x120-f64")
)
class LinearTransposedWeightBackend(TorchBackend):
    """linear that reads W's (out, in) buffer as (in, out), as a port from a Keras kernel might."""

    def linear(self, X, W, b=None):
        W = np.asarray(W)
        return super().linear(X, np.ascontiguousarray(W.reshape(W.shape[::-1]).T), b)


@fault("linear-dropped-bias", "dense", ("linear-1x3x2-f32", "linear-128x400x120-f64"))
class LinearDroppedBiasBackend(TorchBackend):
    """linear that ignores its bias."""

    def linear(self, X, W, b=None):
        return super().linear(X, W, None)


@fault(
    "linear-relative-1e-6",
    "dense",
    ("linear-4x16x10-f64", "linear-128x400x120-f64"),
    ("linear-4x16x10-f32",),
)
class LinearRelativeErrorBackend(TorchBackend):
    """float64 linear with a relative error of 1e-6 (about 20 correct bits of 53)."""

    def linear(self, X, W, b=None):
        return _off_by_1e_6(super().linear(X, W, b))


@fault(
    "linear-float32-as-float64",
    "dense",
    ("linear-4x16x10-f64", "linear-128x400x120-f64"),
    ("linear-4x16x10-f32",),
)
class LinearFloat32As64Backend(TorchBackend):
    """linear computed in float32 and returned as float64."""

    def linear(self, X, W, b=None):
        return super().linear(*_float32(X, W, b)).astype(np.result_type(X, W))


@fault(
    "linear-tf32",
    "dense",
    # float32 cases whose exact result moves by more than the bound (twice, for margin) when X and W
    # are rounded to TF32 (not those where huge values make the bound as coarse as TF32).
    _where("linear", lambda case: case.dtype == "float32" and _tf32_exceeds_bound("linear", case)),
    ("linear-128x400x120-f64",),
)
class LinearTF32Backend(TorchBackend):
    """float32 linear on inputs rounded to TF32 (10 mantissa bits), as GPUs do with TF32 on."""

    def linear(self, X, W, b=None):
        return super().linear(*_tf32(X, W), b)


# -- LeNet -------------------------------------------------------------------------------------------
def _lenet_ids(check: str, dtypes: tuple[str, ...] = ("float32", "float64")) -> tuple[str, ...]:
    return tuple(f"lenet-{check}-{v}-{d}" for v in sorted(reference.lenet.VARIANTS) for d in dtypes)


class _FaultyLeNetBackend(TorchBackend):
    """The PyTorch adapter whose LeNet is ``model`` (a faulty :class:`TorchLeNet`)."""

    model: type[TorchLeNet]

    def lenet(self, variant="chapter", dtype="float32"):
        return self.model(variant, dtype, self.device)


class _ScaledLogits(TorchLeNet):
    def logits(self, X: np.ndarray) -> np.ndarray:
        return super().logits(X) * (1 + 1e-3)


@fault("lenet-logits-1e-3", "LeNet", _lenet_ids("logits"), ("lenet-grads-chapter-float32",))
class LeNetLogitsBackend(_FaultyLeNetBackend):
    """LeNet logits with a relative error of 1e-3."""

    model = _ScaledLogits


class _UnpermutedFc1(TorchLeNet):
    def load_params(self, params: Mapping[str, np.ndarray]) -> None:
        fc1 = np.asarray(params["fc1.weight"]).reshape(120, 16, 5, 5)
        # Columns in H, W, C order: what an NHWC port gets without permuting fc1's rows.
        super().load_params({**params, "fc1.weight": fc1.transpose(0, 2, 3, 1).reshape(120, 400)})


@fault(
    "lenet-fc1-not-permuted",
    "LeNet",
    _lenet_ids("logits") + _lenet_ids("grads"),
)
class LeNetFc1Backend(_FaultyLeNetBackend):
    """LeNet whose fc1 weight is loaded with its inputs in H, W, C order (NHWC flatten, no permutation)."""

    model = _UnpermutedFc1


class _SummedLossGrads(TorchLeNet):
    def loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        loss, grads = super().loss_and_grads(X, y)
        return loss, {name: g * len(X) for name, g in grads.items()}


@fault("lenet-grads-of-summed-loss", "LeNet", _lenet_ids("grads"), ("lenet-logits-chapter-float32",))
class LeNetGradsBackend(_FaultyLeNetBackend):
    """LeNet gradients of the loss summed over the batch (the reported loss is the mean)."""

    model = _SummedLossGrads


class _NoUpdate(TorchLeNet):
    def train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        correct = int((self.logits(X).argmax(axis=1) == np.asarray(y)).sum())
        return self.loss_and_grads(X, y)[0], correct


@fault("lenet-step-no-update", "LeNet", _lenet_ids("train-step"), ("lenet-grads-chapter-float32",))
class LeNetNoUpdateBackend(_FaultyLeNetBackend):
    """LeNet train_step that computes the loss and gradients but never updates the parameters."""

    model = _NoUpdate


class _ScaledGradient(torch.autograd.Function):
    """The identity, whose backward makes the gradient 1% larger."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad * (1 + 1e-2)


def _scaled_batch_as_channels(X: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padding: int):
    return CONV1_BACKWARDS["batch-as-channels"](X, _ScaledGradient.apply(weight), bias, padding)


class _ScaledConv1Alternative(TorchLeNet):
    conv1_backwards: ClassVar[dict] = {**CONV1_BACKWARDS, "batch-as-channels": _scaled_batch_as_channels}
    conv1_choices: ClassVar[dict] = {}  # this class's own: the sound adapter's choices skip the timing


@fault(
    "lenet-conv1-alternative-1e-2",
    "LeNet",
    _lenet_ids("grads") + _lenet_ids("train-step", ("float32",)),
    ("lenet-logits-chapter-float32",),
    raises=(RuntimeError,),
)
class LeNetConv1AlternativeBackend(_FaultyLeNetBackend):
    """LeNet whose conv1 weight gradient as a convolution with the batch as channels is 1% too large."""

    model = _ScaledConv1Alternative


class _HalfLearningRate(TorchLeNet):
    def train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        return super().train_step(X, y, lr / 2)


@fault("lenet-step-half-lr", "LeNet", _lenet_ids("train-step"), ("lenet-grads-chapter-float32",))
class LeNetHalfLrBackend(_FaultyLeNetBackend):
    """LeNet train_step with half the learning rate."""

    model = _HalfLearningRate


class _GradientAscent(TorchLeNet):
    def train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        correct = int((self.logits(X).argmax(axis=1) == np.asarray(y)).sum())
        loss, grads = self.loss_and_grads(X, y)
        params = self.params()
        self.load_params({name: params[name] + lr * grads[name] for name in params})
        return loss, correct


@fault(
    "lenet-step-flipped-sign",
    "LeNet",
    _lenet_ids("train-step"),
    ("lenet-grads-chapter-float32",),
)
class LeNetAscentBackend(_FaultyLeNetBackend):
    """LeNet train_step that adds the gradient (flipped sign: gradient ascent)."""

    model = _GradientAscent


class _IgnoresConv1Bias(TorchLeNet):
    def load_params(self, params: Mapping[str, np.ndarray]) -> None:
        kept = self.params()["conv1.bias"]
        super().load_params({**params, "conv1.bias": kept})


@fault(
    "lenet-load-ignores-tensor",
    "LeNet",
    (
        "lenet-npz-float32",
        "lenet-npz-float64",
        "lenet-logits-chapter-float32",
        "lenet-logits-relu-max-float64",
    ),
)
class LeNetIgnoresTensorBackend(_FaultyLeNetBackend):
    """LeNet load_params that leaves conv1.bias at its initial value."""

    model = _IgnoresConv1Bias


class _AliasesFc3Weight(TorchLeNet):
    def load_params(self, params: Mapping[str, np.ndarray]) -> None:
        super().load_params(params)
        # The parameter now shares the caller's buffer (on the CPU): later writes to it show up here.
        self._tensor("fc3.weight").data = torch.as_tensor(
            np.asarray(params["fc3.weight"]), device=self.device
        )


@fault(
    "lenet-load-aliases-tensor",
    "LeNet",
    (
        "lenet-npz-float32",
        "lenet-npz-float64",
        "lenet-isolation-load-params-float32",
        "lenet-isolation-load-params-float64",
    ),
    ("lenet-logits-chapter-float32",),
)
class LeNetAliasesTensorBackend(_FaultyLeNetBackend):
    """LeNet load_params that keeps the caller's fc3.weight array instead of copying it (CPU)."""

    model = _AliasesFc3Weight


# -- error types -------------------------------------------------------------------------------------
@fault(
    "error-runtime-instead-of-value",
    "error type",
    (
        "error-conv2d-stride-0",
        "error-conv2d-X-3d",
        "error-conv2d-channel-mismatch",
        "error-conv2d-padding-full",
    ),
    ("error-conv2d-X-complex",),
)
class RuntimeErrorBackend(TorchBackend):
    """conv2d raises RuntimeError (as torch does) instead of ValueError for an invalid argument."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        try:
            return super().conv2d(X, W, b, stride, padding, dilation, groups)
        except ValueError as error:
            raise RuntimeError(str(error)) from None


@fault(
    "error-negative-padding-accepted",
    "error type",
    ("error-conv2d-padding-negative", "error-conv2d-padding-pair-negative"),
    ("error-conv2d-stride-0",),
)
class NegativePaddingBackend(TorchBackend):
    """conv2d that treats a negative int padding as 0 instead of refusing it (no error at all)."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        if isinstance(padding, int):
            padding = max(padding, 0)
        elif isinstance(padding, tuple) and all(isinstance(p, int) for p in padding):
            padding = tuple(max(p, 0) for p in padding)
        return super().conv2d(X, W, b, stride, padding, dilation, groups)


@fault(
    "error-message-without-value",
    "error type",
    ("error-max_pool2d-stride-0", "error-max_pool2d-kernel-0", "error-max_pool2d-X-3d"),
    ("error-max_pool2d-X-bool",),
)
class VagueErrorBackend(TorchBackend):
    """max_pool2d raises ValueError('invalid pooling argument'): the right type, no name or value."""

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        try:
            return super().max_pool2d(X, kernel_size, stride, padding, dilation, ceil_mode)
        except ValueError:
            raise ValueError("invalid pooling argument") from None


# -- geometry: padding, stride, dilation, ceil_mode ---------------------------------------------------
@fault(
    "conv-shifted-padding",
    "geometry",
    ("conv2d-stri1-padd1-dila1-grou1-f32", "conv2d-stri2-padd1x2-dila1-grou2-f64"),
    ("conv2d-stri1-padd0-dila1-grou1-f32",),
)
class ShiftedPaddingBackend(TorchBackend):
    """Off-by-one padding: one row moved from the top to the bottom (same output shape)."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        (top, bottom), (left, right) = check_conv2d(
            X, W, b, stride=stride, padding=padding, dilation=dilation, groups=groups
        ).padding
        if top > 0:
            top, bottom = top - 1, bottom + 1
        return super().conv2d(X, W, b, stride, ((top, bottom), (left, right)), dilation, groups)


@fault(
    "conv-same-lower",
    "geometry",
    # "same" with an odd total padding along some axis: its extra row or column goes to the bottom/right.
    _where(
        "conv2d",
        lambda case: (
            case.kw.get("padding") == "same"
            and math.prod(case.inputs[0].shape) > 0  # an empty batch has no output to differ
            and any(
                top != bottom
                for top, bottom in conv2d_geometry(*(a.shape for a in case.inputs[:2]), **case.kw).padding
            )
        ),
    ),
    ("conv2d-stri1-padd0-dila1-grou1-f32",),
)
class SameLowerBackend(TorchBackend):
    """conv2d padding="same" with the odd extra row and column at the top/left (ONNX SAME_LOWER)."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        if padding == "same":
            (top, bottom), (left, right) = check_conv2d(
                X, W, b, stride=stride, padding=padding, dilation=dilation, groups=groups
            ).padding
            padding = ((bottom, top), (right, left))
        return super().conv2d(X, W, b, stride, padding, dilation, groups)


@fault(
    "max-pool-no-ceil-drop",
    "geometry",
    _where(
        "max_pool2d",
        lambda case: case.kw.get("ceil_mode") and any(axis.up != axis.kept for axis in _ceil_windows(case)),
    ),
    ("max_pool2d-kern2-striNone-padd0-dila1-ceilTrue-f32",),
)
class NoCeilDropBackend(TorchBackend):
    """ceil_mode that keeps a last window starting in the padding (rounds up, never drops)."""

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        if not ceil_mode:
            return super().max_pool2d(X, kernel_size, stride, padding, dilation)
        g = pool2d_geometry(np.shape(X), kernel_size, stride, padding, dilation)
        extra = [
            axis.up_overhang for axis in _axes(np.shape(X), g.kernel_size, g.stride, g.padding, g.dilation)
        ]
        X = np.pad(np.asarray(X), ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), constant_values=-np.inf)
        return super().max_pool2d(X, kernel_size, stride, padding, dilation)


@fault(
    "max-pool-ceil-mode-ignored",
    "geometry",
    # ceil_mode cases with another window count when rounded down, which still leaves one (a window
    # larger than the padded input has none: rounding down is then an invalid call, not a wrong result).
    _where(
        "max_pool2d",
        lambda case: (
            case.kw.get("ceil_mode")
            and any(axis.floor != axis.kept for axis in _ceil_windows(case))
            and all(axis.floor >= 1 for axis in _ceil_windows(case))
        ),
    ),
    ("max_pool2d-kern2-striNone-padd0-dila1-ceilFalse-f32",),
)
class CeilIgnoredBackend(TorchBackend):
    """max_pool2d that always rounds the output size down (ceil_mode ignored)."""

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        return super().max_pool2d(X, kernel_size, stride, padding, dilation, False)


@fault(
    "max-pool-dilation-ignored",
    "geometry",
    (
        "max_pool2d-kern2-striNone-padd0-dila2-ceilFalse-f32",
        "max_pool2d-kern3-stri1-padd1-dila2-ceilTrue-f64",
    ),
    ("max_pool2d-kern2-striNone-padd0-dila1-ceilFalse-f32",),
)
class DilationIgnoredBackend(TorchBackend):
    """max_pool2d that ignores dilation."""

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        return super().max_pool2d(X, kernel_size, stride, padding, 1, ceil_mode)


@fault(
    "avg-pool-kernel-transposed",
    "geometry",
    _where("avg_pool2d", lambda case: case.kw["kernel_size"] == (3, 2)),
    ("avg_pool2d-kern3-stri1-padd1-ceilFalse-counTrue-f32",),
)
class AvgKernelTransposedBackend(TorchBackend):
    """avg_pool2d that reads kernel_size (kh, kw) as (kw, kh)."""

    def avg_pool2d(self, X, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        kernel = _pair(kernel_size)[::-1]
        return super().avg_pool2d(X, kernel, stride, padding, ceil_mode, count_include_pad)


@fault(
    "avg-pool-default-stride-1",
    "geometry",
    (
        "avg_pool2d-kern2-striNone-padd0-ceilFalse-counTrue-f32",
        "avg_pool2d-kern3x2-striNone-padd1-ceilTrue-counFalse-f64",
    ),
    ("avg_pool2d-kern2-stri2-padd0-ceilFalse-counTrue-f32",),
)
class AvgDefaultStrideBackend(TorchBackend):
    """avg_pool2d whose stride defaults to 1 instead of the window size."""

    def avg_pool2d(self, X, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        return super().avg_pool2d(X, kernel_size, 1 if stride is None else stride, padding, ceil_mode,
                                  count_include_pad)  # fmt: skip


# -- NaN ---------------------------------------------------------------------------------------------
@fault(
    "max-pool-nan-skipped",
    "NaN",
    ("max_pool2d-kern2-nan-f32", "max_pool2d-kern3-stri2-padd1-nan-f64"),
    ("max_pool2d-kern2-inf-f32",),
)
class NaNSkippingMaxPoolBackend(TorchBackend):
    """max_pool2d that returns the largest non-NaN value of a window holding a NaN (fmax semantics)."""

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        X = np.asarray(X)
        return super().max_pool2d(
            np.where(np.isnan(X), -np.inf, X), kernel_size, stride, padding, dilation, ceil_mode
        )


@fault(
    "max-pool-vjp-last-nan",
    "NaN",
    # Some window holds two NaNs or more, and a gradient to send (the adversarial "nans" fills too).
    _where(
        "max_pool2d_vjp", lambda case: bool(np.any((_nans_per_window(case) >= 2) & _window_gradient(case)))
    ),
    ("max_pool2d_vjp-kern2-striNone-padd0-dila1-ceilFalse-f32",),
)
class LastNaNBackend(TorchBackend):
    """Max-pool gradient of a window holding NaNs sent to its last NaN, not the first."""

    def max_pool2d_vjp(self, X, dY, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        X = np.array(X)
        nan = np.isnan(X)
        # Finite stand-ins above every finite value, growing in row-major order: the last NaN wins.
        top = np.nanmax(np.abs(np.where(np.isinf(X), 0, X)), initial=0.0) + 1
        X[nan] = top + np.arange(X[0, 0].size, dtype=X.dtype).reshape(X.shape[2:])[np.nonzero(nan)[2:]]
        return super().max_pool2d_vjp(X, dY, kernel_size, stride, padding, dilation, ceil_mode)


@fault("conv-nan-as-zero", "NaN", ("conv2d-nan-f32", "conv2d-nan-f64"), ("conv2d-inf-f32",))
class ConvNaNAsZeroBackend(TorchBackend):
    """conv2d that reads NaN inputs as 0 (nan_to_num on the way in) instead of propagating them."""

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        X = np.asarray(X)
        return super().conv2d(np.where(np.isnan(X), 0, X), W, b, stride, padding, dilation, groups)


@fault("relu-nan-to-zero", "NaN", ("relu-nan-f32", "relu-nan-f64"), ("relu-inf-f32",))
class ReluNaNBackend(TorchBackend):
    """relu(NaN) = 0 (a comparison X > 0 that is false for NaN) instead of NaN."""

    def relu(self, X):
        X = np.asarray(X)
        return np.where(X > 0, super().relu(X), 0).astype(X.dtype)


# -- signed zeros ------------------------------------------------------------------------------------
@fault(
    "relu-other-zero",
    "signed zero",
    _inputs_hold("relu", lambda X: (X == 0) & np.signbit(X)),
    ("relu-5-f32",),
)
class ReluOtherZeroBackend(TorchBackend):
    """relu(-0.0) returning the other zero than the reference (the sign of the result flipped there)."""

    def relu(self, X):
        X = np.asarray(X)
        Y = super().relu(X)
        negative_zero = (X == 0) & np.signbit(X)
        Y[negative_zero] = -Y[negative_zero]
        return Y


def _pools_to_negative_zero(case: Case) -> bool:
    """Whether the reference's max pooling of the case returns a -0.0."""
    Y = reference.max_pool2d(*case.arrays(), **case.kw)
    return bool(np.any((Y == 0) & np.signbit(Y)))


@fault(
    "max-pool-zero-sign-lost",
    "signed zero",
    _where("max_pool2d", _pools_to_negative_zero),
    ("max_pool2d-kern2-striNone-padd0-dila1-ceilFalse-f32",),
)
class MaxPoolZeroSignBackend(TorchBackend):
    """max_pool2d whose result gets + 0.0 on the way out, which turns a -0.0 maximum into +0.0."""

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        return super().max_pool2d(X, kernel_size, stride, padding, dilation, ceil_mode) + 0.0


# -- special values: NaN, infinities and the ends of the float range ---------------------------------
@fault(
    "relu-vjp-nan-passes-dY",
    "NaN",
    # X NaN where dY is not 0 (the adversarial "nans" and "special" fills, the named NaN cases).
    _inputs_hold("relu_vjp", lambda X, dY: np.isnan(X) & (dY != 0)),
    _filled("relu_vjp", "X", "kinks")[:3] + _filled("relu_vjp", "X", "tails")[:3],
)
class ReluGradNaNBackend(TorchBackend):
    """relu_vjp by autograd's threshold_backward, which passes dY where X is NaN (the reference: 0)."""

    def relu_vjp(self, X, dY):
        check_elementwise(X, dY)
        return self._grads(torch.relu, (X,), dY, result_dtype(X, dY))[0]


def _sigmoid_vjp_by_output_is_zero(X: np.ndarray) -> np.ndarray:
    """Where y * (1 - y), y = sigmoid(X) rounded to X's dtype, is 0: X finite but far in a tail."""
    y = to_numpy(torch.sigmoid(to_tensor(np.array(X, order="C"), "cpu")))
    return np.isfinite(X) & (y * (1 - y) == 0)


@fault(
    "sigmoid-vjp-inf-dY-times-zero",
    "special value",
    # dY = +-inf at a finite X where y * (1 - y) rounds to 0: inf * 0 is NaN, the reference that infinity.
    _inputs_hold("sigmoid_vjp", lambda X, dY: np.isinf(dY) & _sigmoid_vjp_by_output_is_zero(X)),
    _filled("sigmoid_vjp", "X", "kinks")[:3],
)
class SigmoidGradAutogradBackend(TorchBackend):
    """sigmoid_vjp as autograd's backward, dY * y * (1 - y) from y = sigmoid(X) in the input dtype."""

    def sigmoid_vjp(self, X, dY):
        check_elementwise(X, dY)
        dtype = result_dtype(X, dY)
        with torch.no_grad():
            y = torch.sigmoid(self._tensor(X, dtype))
            return self._numpy(self._tensor(dY, dtype) * y * (1 - y))


def _explicitly_padded(
    X, kernel_size, stride, padding, dilation, ceil_mode, value
) -> tuple[np.ndarray, PoolGeometry]:
    """X padded by hand with ``value`` (the padding, and the overhang of a kept ceil_mode window) and
    the pooling geometry; pooling the result with no padding and ceil_mode off gives the same windows."""
    g = pool2d_geometry(np.shape(X), kernel_size, stride, padding, dilation, ceil_mode)
    axes = _axes(np.shape(X), g.kernel_size, g.stride, g.padding, g.dilation)
    ends = [axis.kept_overhang if ceil_mode else 0 for axis in axes]
    (top, bottom), (left, right) = g.padding
    pads = ((0, 0), (0, 0), (top, bottom + ends[0]), (left, right + ends[1]))
    return np.pad(np.asarray(X), pads, constant_values=value), g


def _all_at_most(case: Case, lowest: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(N, C, Ho, Wo): pooling windows whose real elements are all -inf (with ``lowest``: at most the
    dtype's lowest finite value), or that have none; and the window taps (Ho, Wo, taps) in X."""
    values, real = _windows(case)
    floor = np.finfo(case.dtype).min if lowest else -np.inf
    return np.where(real, values <= floor, True).all(axis=-1), real


def _padding_leads_window(case: Case, lowest: bool = False) -> bool:
    """Some window with a gradient to send holds real elements, all -inf (or at most the lowest
    finite value), and starts in padding."""
    low, real = _all_at_most(case, lowest)
    return bool(np.any(low & real.any(axis=-1) & ~real[..., 0] & _window_gradient(case)))


def _padding_outranks_window(case: Case) -> bool:
    """Some window reaches into padding (or past it) and holds no real element above -inf."""
    neginf, real = _all_at_most(case)
    return bool(np.any(neginf & ~real.all(axis=-1)))


def _padded_normal_windows(op: str) -> tuple[str, ...]:
    """Grid and pairwise cases of ``op`` with normal values, padding and a non-empty input."""
    return _where(
        op,
        lambda case: (
            case.source in ("grid", "pairwise")
            and _spec(case, "X").fill == "normal"
            and any(map(any, _pool_geometry(case).padding))
            and math.prod(case.inputs[0].shape) > 0
        ),
    )


@fault(
    "max-pool-vjp-neginf-padding-wins",
    "special value",
    _where("max_pool2d_vjp", _padding_leads_window),
    (*_padded_normal_windows("max_pool2d_vjp")[:3], *_padded_normal_windows("max_pool2d_vjp")[-1:]),
)
class NegInfPaddedMaxPoolGradBackend(TorchBackend):
    """max_pool2d_vjp of X padded by hand with -inf: a window of -inf sends its gradient into the padding."""

    def max_pool2d_vjp(self, X, dY, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode, dY=dY
        )
        padded, g = _explicitly_padded(X, kernel_size, stride, padding, dilation, ceil_mode, -np.inf)
        dX = super().max_pool2d_vjp(padded, dY, g.kernel_size, g.stride, 0, g.dilation)
        ((top, _), (left, _)), (h, w) = g.padding, np.shape(X)[2:]
        return np.ascontiguousarray(dX[:, :, top : top + h, left : left + w])


@fault(
    "max-pool-vjp-lowest-padding",
    "special value",
    # A window of the lowest finite value (or -inf) that starts in padding: the padding ties or wins.
    _where("max_pool2d_vjp", lambda case: _padding_leads_window(case, lowest=True)),
    (*_padded_normal_windows("max_pool2d_vjp")[:3], *_padded_normal_windows("max_pool2d_vjp")[-1:]),
)
class LowestPaddedMaxPoolGradBackend(TorchBackend):
    """max_pool2d_vjp of X padded by hand with np.finfo(dtype).min: padding ties a window of that value."""

    def max_pool2d_vjp(self, X, dY, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode, dY=dY
        )
        lowest = np.finfo(result_dtype(X)).min
        padded, g = _explicitly_padded(X, kernel_size, stride, padding, dilation, ceil_mode, lowest)
        dX = super().max_pool2d_vjp(padded, dY, g.kernel_size, g.stride, 0, g.dilation)
        ((top, _), (left, _)), (h, w) = g.padding, np.shape(X)[2:]
        return np.ascontiguousarray(dX[:, :, top : top + h, left : left + w])


@fault(
    "max-pool-finfo-min-padding",
    "special value",
    # A window with no real element (dilation puts it in padding) or only -inf ones, beside padding.
    _where("max_pool2d", _padding_outranks_window),
    (*_padded_normal_windows("max_pool2d")[:3], *_padded_normal_windows("max_pool2d")[-1:]),
)
class FinfoMinPaddedMaxPoolBackend(TorchBackend):
    """max_pool2d of X padded by hand with np.finfo(dtype).min: an empty window gives -3.4e38, not -inf."""

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        check_pool2d(X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
        lowest = np.finfo(result_dtype(X)).min
        padded, g = _explicitly_padded(X, kernel_size, stride, padding, dilation, ceil_mode, lowest)
        return super().max_pool2d(padded, g.kernel_size, g.stride, 0, g.dilation)


def _summed_area_table(a: np.ndarray, g: PoolGeometry, ceil_mode: bool, pad_value: float = 0.0) -> np.ndarray:
    """(..., Hp + 1, Wp + 1) cumulative sums over both last axes of ``a`` padded with ``pad_value``
    (the padding) and 0 (the overhang of a kept ceil_mode window), a zero row and column first."""
    axes = _axes((1, 1, *a.shape[-2:]), g.kernel_size, g.stride, g.padding, g.dilation)
    ends = [axis.kept_overhang if ceil_mode else 0 for axis in axes]
    lead = [(0, 0)] * (a.ndim - 2)
    a = np.pad(a, [*lead, *g.padding], constant_values=pad_value)
    a = np.pad(a, [*lead, (0, ends[0]), (0, ends[1])])
    table = np.zeros((*a.shape[:-2], a.shape[-2] + 1, a.shape[-1] + 1), dtype=a.dtype)
    table[..., 1:, 1:] = a.cumsum(axis=-2).cumsum(axis=-1)
    return table


def _window_sums(table: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """(..., Ho, Wo) sums over every pooling window: four entries of a summed-area table each."""
    (kh, kw), (sh, sw), (oh, ow) = g.kernel_size, g.stride, g.output_size
    top, left = (np.arange(oh) * sh)[:, None], (np.arange(ow) * sw)[None, :]
    bottom, right = top + kh, left + kw
    return (
        table[..., bottom, right] - table[..., top, right] - table[..., bottom, left] + table[..., top, left]
    )


def _summed_area_contaminated(case: Case) -> bool:
    """Some window holds only finite values while a NaN or inf lies above or left of it (in the part of
    X a summed-area table adds up to its bottom-right corner)."""
    X = case.arrays()[0]
    g = _pool_geometry(case)
    table = _summed_area_table((~np.isfinite(X)).astype(np.int64), g, case.kw.get("ceil_mode", False))
    (kh, kw), (sh, sw), (oh, ow) = g.kernel_size, g.stride, g.output_size
    corner = table[..., (np.arange(oh) * sh + kh)[:, None], (np.arange(ow) * sw + kw)[None, :]]
    return bool(np.any((corner > 0) & (_window_sums(table, g) == 0)))


@fault(
    "avg-pool-summed-area-table",
    "special value",
    # The adversarial "infs" and "special-sum" fills (and the named inf cases) where it shows.
    _where("avg_pool2d", _summed_area_contaminated),
    _pairwise(
        "avg_pool2d",
        lambda case: (
            _spec(case, "X").fill == "normal" and case.dtype == "float32" and math.prod(case.inputs[0].shape)
        ),
    )[:4],
)
class SummedAreaAvgPoolBackend(TorchBackend):
    """avg_pool2d from a summed-area table (2-D cumsum): one inf or NaN turns every later window NaN."""

    def avg_pool2d(self, X, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        g = check_pool2d(
            X,
            kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )
        X = np.asarray(X)
        # The divisor: the window's cells in the padded input (padding counted or not), never the overhang.
        cells = _summed_area_table(np.ones(X.shape[2:]), g, ceil_mode, 1.0 if count_include_pad else 0.0)
        with np.errstate(invalid="ignore"):  # inf - inf
            sums = _window_sums(_summed_area_table(X.astype(np.float64), g, ceil_mode), g)
            return (sums / _window_sums(cells, g)).astype(result_dtype(X))


@fault(
    "cross-entropy-ignores-nan",
    "NaN",
    # Logits finite or NaN, some NaN, none at a label: the reference's loss is NaN, this one finite (a
    # NaN label logit, or an inf beside a NaN, would make it NaN too).
    _inputs_hold(
        "softmax_cross_entropy",
        lambda z, y: np.isnan(z).any() & ~np.isinf(z).any() & np.isfinite(z[np.arange(len(y)), y]).all(),
    ),
    (*_filled("softmax_cross_entropy", "logits", "normal")[:3], "softmax_cross_entropy-4x16x10-f32"),
)
class CrossEntropyNaNIgnoredBackend(TorchBackend):
    """softmax_cross_entropy whose log-sum-exp skips NaN logits (np.nanmax, np.nansum): no NaN loss."""

    def softmax_cross_entropy(self, logits, labels):
        check_cross_entropy(logits, labels)
        z = np.asarray(logits, dtype=np.float64)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row
            top = np.nanmax(z, axis=1)
            log_sum_exp = top + np.log(np.nansum(np.exp(z - top[:, None]), axis=1))
        picked = z[np.arange(len(z)), np.asarray(labels)]
        return result_dtype(logits).type(np.mean(log_sum_exp - picked))


# -- geometry of the flatten -------------------------------------------------------------------------
@fault(
    "flatten-1d-unchanged",
    "geometry",
    _pairwise("flatten", lambda case: len(case.inputs[0].shape) == 1),
    (*_pairwise("flatten", lambda case: len(case.inputs[0].shape) > 1)[:4], "flatten-2x3x4x4-f32"),
)
class Flatten1DBackend(TorchBackend):
    """flatten that returns a 1-D input (N,) as it is, not as (N, 1) (torch.flatten(x, 1) refuses 1-D)."""

    def flatten(self, X):
        if np.ndim(X) != 1:
            return super().flatten(X)
        check_flatten(X)
        return np.array(X, dtype=result_dtype(X))


# -- memory layout -----------------------------------------------------------------------------------
def _c_strides(array: np.ndarray) -> tuple[int, ...]:
    return tuple(math.prod(array.shape[i + 1 :]) * array.itemsize for i in range(array.ndim))


def _read_as_c_order(array: np.ndarray) -> np.ndarray:
    """``array``'s memory from its first element read with C-order strides, where that memory is its
    own (strides positive and spanning at least its size: Fortran order, transposed or strided views);
    ``array`` itself otherwise."""
    if array.size == 0 or any(s < 0 for s in array.strides):
        return array
    span = sum((n - 1) * s for n, s in zip(array.shape, array.strides, strict=True)) + array.itemsize
    if span < array.nbytes:  # a broadcast view: fewer bytes than elements
        return array
    return np.lib.stride_tricks.as_strided(array, array.shape, _c_strides(array), writeable=False)


def _float_inputs(case: Case) -> list[np.ndarray]:
    """The inputs of ``case`` that the adapter converts with ``_tensor`` (not integer labels)."""
    return [a for a in case.arrays() if a.dtype.kind == "f"]


def _adversarial(holds: Callable[[Case], bool]) -> tuple[str, ...]:
    """Pairwise cases of any op for which ``holds(case)``."""
    return tuple(case.id for case in _CASES if case.source == "pairwise" and holds(case))


def _rejected_on(case: Case, arrays: list[np.ndarray]) -> bool:
    """Whether the suite's comparison rejects the reference's outputs on ``arrays`` as outputs of ``case``."""
    _, spec_function = function(case.op)
    with np.errstate(all="ignore"):
        expected = spec_function.reference(*case.arrays(), **case.kw)
        actual = spec_function.reference(*arrays, **case.kw)
        limits = spec_function.bound(case.arrays(), case.kw, np.dtype(case.dtype))
        pairs = zip(*(v if isinstance(v, tuple) else (v,) for v in (actual, expected)), limits, strict=True)
        try:
            for a, e, limit in pairs:
                check_output("output", a, e, limit)
        except ConformanceError:
            return True
    return False


@fault(
    "inputs-read-as-c-contiguous",
    "memory layout",
    # Cases where the reference's result on the inputs read in C order from their memory (wrong for F,
    # transposed and strided layouts) is rejected: a layout that moves values within one window of a
    # pooling or correlation (its values and the kernel's transposed alike) may not show. Not the 1x1
    # correlation: the adapter hands the dense layer a transposed view of it, misread in every layout.
    _adversarial(
        lambda case: (
            case.op != "corr2d_multi_in_out_1x1"
            and _rejected_on(case, [_read_as_c_order(a) if a.dtype.kind == "f" else a for a in case.arrays()])
        )
    ),
    _adversarial(lambda case: all(spec.layout == "C" for spec in case.inputs) and case.op == "conv2d")[:4],
)
class RawBufferBackend(TorchBackend):
    """Every input read from its raw buffer with C-order strides (as_strided), whatever its layout."""

    def _tensor(self, array, dtype, requires_grad=False):
        return super()._tensor(_read_as_c_order(np.asarray(array)), dtype, requires_grad)


@fault(
    "negative-strides-refused",
    "memory layout",
    _adversarial(lambda case: any(a.size and min(a.strides) < 0 for a in _float_inputs(case))),
    _laid_out("relu", "F", "strided", "transposed")[:4],
    raises=(ValueError,),
)
class NegativeStridesBackend(TorchBackend):
    """Inputs handed to torch.as_tensor as they come: a negative-stride view (X[::-1]) raises ValueError."""

    def _tensor(self, array, dtype, requires_grad=False):
        tensor = torch.as_tensor(np.asarray(array))  # no copy first: torch refuses negative strides
        return super()._tensor(tensor.numpy(), dtype, requires_grad)


# -- aliasing ----------------------------------------------------------------------------------------
def _isolation_ids(op: str) -> tuple[str, ...]:
    """The state-isolation checks (conformance.isolation) of the function ``op``."""
    return tuple(check.id for check in isolation.op_checks() if check.op == op)


@fault(
    "flatten-returns-a-view",
    "aliasing",
    _isolation_ids("flatten"),
    ("flatten-2x3x4x4-f32", "flatten-128x16x5x5-f64", *_pairwise("flatten")[:4]),
)
class FlattenViewBackend(TorchBackend):
    """flatten as np.asarray(X).reshape(N, -1): a view of the caller's array (writes show through)."""

    def flatten(self, X):
        check_flatten(X)
        X = np.asarray(X)
        return X.reshape(X.shape[0], math.prod(X.shape[1:]))


class _LiveParams(TorchLeNet):
    def params(self) -> dict[str, np.ndarray]:
        # tensor.numpy() on the CPU is the tensor's own memory.
        return {name: self._tensor(name).detach().cpu().numpy() for name in reference.lenet.PARAM_SHAPES}


@fault(
    "lenet-params-live-arrays",
    "aliasing",
    ("lenet-isolation-params-float32", "lenet-isolation-params-float64"),
    ("lenet-npz-float32", "lenet-logits-chapter-float64", "lenet-isolation-load-params-float32"),
)
class LeNetLiveParamsBackend(_FaultyLeNetBackend):
    """LeNet params() that hands out the parameters' own memory (tensor.numpy(), no copy; on the CPU)."""

    model = _LiveParams

    def lenet(self, variant="chapter", dtype="float32"):
        return self.model(variant, dtype, "cpu")  # on a GPU, .cpu() copies: nothing would be shared


# -- LeNet's arguments -------------------------------------------------------------------------------
class _UncheckedLabelRange(TorchLeNet):
    def _batch(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X, y = self._images(X), np.asarray(y)
        # The dtype and shape checked (on labels clipped into range); the range left to the framework.
        reference.lenet.check_labels(
            np.clip(y, 0, reference.lenet.CLASSES - 1) if y.dtype.kind in "iu" else y, len(X)
        )
        return X, np.array(y, dtype=np.int64)


@fault(
    "lenet-label-range-unchecked",
    "LeNet arguments",
    ("error-lenet-loss-y-out-of-range", "error-lenet-loss-y-negative", "error-lenet-step-y-out-of-range"),
    (
        "error-lenet-loss-y-float",
        "error-lenet-loss-y-length",
        "error-lenet-loss-y-rank",
        "error-lenet-step-y-float",
        "lenet-grads-chapter-float32",
    ),
)
class LeNetLabelRangeBackend(_FaultyLeNetBackend):
    """LeNet that leaves the labels' range to nn.CrossEntropyLoss: IndexError, not ValueError, for y=10."""

    model = _UncheckedLabelRange

    def lenet(self, variant="chapter", dtype="float32"):
        # On the CPU: on a GPU an out-of-range target is a device-side assert that poisons the process.
        return self.model(variant, dtype, "cpu")
