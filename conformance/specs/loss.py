"""softmax_cross_entropy and its VJP: named cases, invalid calls and bounds."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

import reference
from conformance.adversarial import LAYOUTS
from conformance.cases import DTYPES, ArraySpec, Case, given, suffix, with_jvp_twins
from conformance.error_cases import TE, VE, E
from conformance.space import Call, Space
from conformance.spec import Function, OpSpec
from conformance.specs.dense import FIRST_SEED, SIZES
from conformance.tolerance import Bounds, elementary_error, gamma, reduction_bound, relative_bound
from reference.validation import check_cross_entropy

# Logits far apart: a naive softmax overflows, a stable one does not.
LARGE_LOGITS = ((1000.0, -1000.0, 0.0), (-500.0, 500.0, 499.0))
LARGE_LABELS = (1, 2)
SPECIAL_LOGITS = ((0.5, np.nan, -1.0), (2.0, -np.inf, 0.0), (1.0, 3.0, np.nan))
SPECIAL_LABELS = (0, 2, 1)


def named_cases() -> Iterator[Case]:
    """The loss and its VJP at the dense layer's sizes (batch x classes), and of huge logits."""
    for seed, ((n, features, out), dtype) in enumerate(itertools.product(SIZES, DTYPES), start=FIRST_SEED):
        logits, labels = ArraySpec("logits", (n, out)), ArraySpec("labels", (n,), f"labels:{out}")
        tag = f"{n}x{features}x{out}-{suffix(dtype)}"
        for op in ("softmax_cross_entropy", "softmax_cross_entropy_vjp"):
            yield Case(f"{op}-{tag}", op, (logits, labels), (), dtype, seed)
    big = given("logits", LARGE_LOGITS)
    labels = ArraySpec("labels", (2,), "given", LARGE_LABELS, dtype="int64")
    for dtype in DTYPES:
        for op in ("softmax_cross_entropy", "softmax_cross_entropy_vjp"):
            yield Case(f"{op}-large-logits-{suffix(dtype)}", op, (big, labels), (), dtype, source="special")
    # NaN and -inf away from the labels: a NaN row is NaN whatever its label; -inf has probability 0.
    special = given("logits", SPECIAL_LOGITS)
    special_labels = ArraySpec("labels", (3,), "given", SPECIAL_LABELS, dtype="int64")
    for dtype in DTYPES:
        for op in ("softmax_cross_entropy", "softmax_cross_entropy_vjp"):
            yield Case(f"{op}-nan-off-label-{suffix(dtype)}", op, (special, special_labels), (), dtype,
                       source="special")  # fmt: skip


def log_softmax_error(logits: np.ndarray) -> np.ndarray:
    """Per element: the scale of its log-softmax's rounding errors, ``1 + |z - max z| + |max z|``.

    ``z - max z`` rounds relative to ``|z - max z|`` and feeds exp (whose relative
    error is then an absolute error of the log), the max enters the row's
    log-sum-exp with its own rounding, and the log of a sum >= 1 adds errors of order 1.
    """
    z = np.asarray(logits, dtype=np.float64)
    return 1.0 + np.abs(z - z.max(axis=1, keepdims=True)) + np.abs(z.max(axis=1, keepdims=True))


def softmax_cross_entropy_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """Per row: exp (e_exp) and a k-term sum (gamma(k)) at the row's error scale;
    the mean over n rows is an n-term sum of the row losses."""
    logits, _ = arrays
    n, k = np.shape(logits)
    scale = log_softmax_error(logits).max(axis=1).mean()
    relative = elementary_error(dtype) + gamma(k + n + 2, dtype) + gamma(k + n + 2, np.float64)
    return [relative_bound(dtype, relative, np.asarray(scale))]


def softmax_cross_entropy_vjp_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """``dloss * (p - onehot) / n`` with ``p = exp(z - max z) / sum``: exp, a k-term sum and the
    divide relative to p at its error scale; the one-hot subtraction, dloss and /n round once each."""
    logits, labels = arrays
    n, k = np.shape(logits)
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.zeros_like(p)
    onehot[np.arange(n), np.asarray(labels)] = 1.0
    scaled = np.where(p > 0, p * log_softmax_error(logits), 0.0)  # p = 0 (a far logit) has no error
    magnitude = (scaled + onehot) * abs(float(kw.get("dloss", 1.0))) / n
    relative = elementary_error(dtype) + gamma(k + 3, dtype) + gamma(k + 3, np.float64)
    return [relative_bound(dtype, relative, magnitude)]


def softmax_cross_entropy_jvp_bound(arrays: list[np.ndarray], kw: dict[str, Any], dtype: np.dtype) -> Bounds:
    """``sum(g * t)`` with ``g = (p - onehot) / n``: each ``g`` within its VJP bound ``E(g)``, met by
    ``|t|``, plus an ``n k``-term sum of products of magnitude ``sum |g| |t|``."""
    logits, labels, tlogits = arrays
    n, k = np.shape(logits)
    t = np.abs(np.asarray(tlogits, dtype=np.float64))
    grad = np.abs(reference.softmax_cross_entropy_vjp(np.asarray(logits, dtype=np.float64), labels))
    carried = np.sum(t * softmax_cross_entropy_vjp_bound([logits, labels], {}, dtype)[0])
    return [carried + reduction_bound(dtype, n * k + 1, np.asarray(np.sum(grad * t)))]


def loss_calls(levels: Mapping[str, Any]) -> tuple[Call, ...]:
    """The loss and its VJP (with ``dloss``) of one combination of :data:`LOSS_SPACE`."""
    n, classes, layout = levels["batch"], levels["classes"], levels["layout"]
    logits = ArraySpec("logits", (n, classes), levels["fill"], layout=layout)
    labels = ArraySpec("labels", (n,), f"labels:{classes}", layout=layout)
    return (
        ("softmax_cross_entropy", (logits, labels), {}),
        ("softmax_cross_entropy_vjp", (logits, labels), {"dloss": levels["dloss"]}),
    )


# Logits with huge (the largest finite, "tails"), -inf, +inf and NaN values; one class or ten.
LOSS_SPACE = Space(
    (
        ("batch", (1, 4)),
        ("classes", (1, 3, 10)),
        ("fill", ("normal", "special", "tails", "nans", "neginf")),
        ("dloss", (1.0, 0.0, -2.5)),
        ("layout", LAYOUTS),
        ("dtype", DTYPES),
    ),
    loss_calls,
)


SOFTMAX_CROSS_ENTROPY = OpSpec(
    name="softmax_cross_entropy",
    section="lenet",
    validate=check_cross_entropy,
    forward=Function("softmax_cross_entropy", ("loss",), softmax_cross_entropy_bound),
    vjp=Function("softmax_cross_entropy_vjp", ("dlogits",), softmax_cross_entropy_vjp_bound),
    jvp=Function("softmax_cross_entropy_jvp", ("tloss",), softmax_cross_entropy_jvp_bound),
    cases=with_jvp_twins(named_cases, "softmax_cross_entropy_vjp", "softmax_cross_entropy_jvp", ("logits",)),
    space=LOSS_SPACE,
    errors=(
        E(
            "softmax_cross_entropy-logits-1d",
            lambda ops: ops.softmax_cross_entropy(np.ones(3), np.array([0])),
            VE,
            "logits",
            "(3,)",
        ),
        E(
            "softmax_cross_entropy-logits-complex",
            lambda ops: ops.softmax_cross_entropy(np.ones((2, 3), complex), np.array([0, 1])),
            TE,
            "logits",
            "complex",
        ),
        E(
            "softmax_cross_entropy-label-too-large",
            lambda ops: ops.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
            VE,
            "labels",
            "3",
        ),
        E(
            "softmax_cross_entropy-label-negative",
            lambda ops: ops.softmax_cross_entropy(np.zeros((2, 3)), np.array([-1, 0])),
            VE,
            "labels",
            "-1",
        ),
        E(
            "softmax_cross_entropy-labels-wrong-length",
            lambda ops: ops.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])),
            VE,
            "labels",
            "(3,)",
        ),
        E(
            "softmax_cross_entropy-vjp-label-too-large",
            lambda ops: ops.softmax_cross_entropy_vjp(np.zeros((2, 3)), np.array([5, 0])),
            VE,
            "labels",
            "5",
        ),
    ),
)

SPECS = (SOFTMAX_CROSS_ENTROPY,)
