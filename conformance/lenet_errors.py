"""Invalid arguments of the LeNet models as data: every entry point, the same error on every backend.

Each record is an :class:`~conformance.error_cases.ErrorCase` filed under the op
``lenet_arguments``; ``case.call(ops)`` builds a model with :func:`model` (on a
backend ``ops.lenet(variant, dtype)``, on the ``reference`` module
:class:`backends.lenet.ReferenceLeNet`) and calls one of its entry points: the
constructor, ``load_params``, ``logits``, ``loss_and_grads`` or ``train_step``.
The validation is the reference's (:mod:`reference.lenet`), called by
:class:`backends.lenet.LeNetModel` before any framework code runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backends.lenet import LeNetModel, ReferenceLeNet
from conformance.error_cases import ErrorCase
from reference import lenet

OP = "lenet_arguments"
X2 = np.zeros((2, 1, 28, 28))  # a valid batch of two images
Y2 = np.array([0, 9])  # valid labels for it
PARAMS = lenet.init_params(0)
VE, TE = ValueError, TypeError


def model(ops: Any, variant: str = "chapter", dtype: str = "float32") -> LeNetModel:
    """``ops.lenet(variant, dtype)`` on a backend; :class:`ReferenceLeNet` on the ``reference`` module."""
    factory = getattr(ops, "lenet", None)
    return (factory if callable(factory) else ReferenceLeNet)(variant, dtype)


def L(  # noqa: N802 - short, like conformance.error_cases.E
    case_id: str, call: Callable[[LeNetModel], object], error: type[Exception], *mentions: str
) -> ErrorCase:
    """An error case calling ``call`` on a valid float32 chapter model."""
    return ErrorCase(f"lenet-{case_id}", lambda ops: call(model(ops)), error, mentions, OP)


def _without(name: str) -> dict[str, np.ndarray]:
    return {key: value for key, value in PARAMS.items() if key != name}


LENET_ERRORS: tuple[ErrorCase, ...] = (
    # the constructor
    ErrorCase("lenet-variant-unknown", lambda ops: model(ops, "alexnet"), VE,
              ("variant", "'alexnet'", "relu-max"), OP),
    ErrorCase("lenet-dtype-float8", lambda ops: model(ops, dtype="float8_e4m3fn"), VE,
              ("dtype", "'float8_e4m3fn'", "bfloat16"), OP),
    ErrorCase("lenet-dtype-int32", lambda ops: model(ops, dtype="int32"), VE, ("dtype", "'int32'"), OP),
    # load_params
    L("params-missing", lambda m: m.load_params(_without("fc3.bias")), VE, "params", "missing ['fc3.bias']"),
    L("params-extra", lambda m: m.load_params({**PARAMS, "fc4.weight": np.zeros((10, 10))}), VE,
      "params", "unexpected ['fc4.weight']"),
    L("params-shape", lambda m: m.load_params({**PARAMS, "fc1.weight": PARAMS["fc1.weight"].T}), VE,
      "fc1.weight", "(120, 400)", "(400, 120)"),
    L("params-complex", lambda m: m.load_params({**PARAMS, "conv1.bias": np.zeros(6, complex)}), TE,
      "params['conv1.bias']", "complex128"),
    L("params-not-a-mapping", lambda m: m.load_params(list(PARAMS.values())), TE, "params", "list"),
    # logits
    L("logits-X-rank", lambda m: m.logits(np.zeros((2, 28, 28))), VE, "X", "(N, 1, 28, 28)", "(2, 28, 28)"),
    L("logits-X-spatial", lambda m: m.logits(np.zeros((2, 1, 32, 32))), VE, "X", "(2, 1, 32, 32)"),
    L("logits-X-channels", lambda m: m.logits(np.zeros((2, 3, 28, 28))), VE, "X", "(2, 3, 28, 28)"),
    L("logits-X-empty", lambda m: m.logits(np.zeros((0, 1, 28, 28))), VE, "X", "N >= 1", "(0, 1, 28, 28)"),
    L("logits-X-complex", lambda m: m.logits(X2.astype(complex)), TE, "X", "complex128"),
    L("logits-X-strings", lambda m: m.logits(np.full((2, 1, 28, 28), "a")), TE, "X", "<U1"),
    # loss_and_grads
    L("loss-X-spatial", lambda m: m.loss_and_grads(np.zeros((2, 1, 27, 28)), Y2), VE, "X", "(2, 1, 27, 28)"),
    L("loss-y-float", lambda m: m.loss_and_grads(X2, Y2.astype(float)), TE, "y", "float64"),
    L("loss-y-out-of-range", lambda m: m.loss_and_grads(X2, np.array([0, 10])), VE, "[0, 10)", "y[1]=10"),
    L("loss-y-negative", lambda m: m.loss_and_grads(X2, np.array([-1, 0])), VE, "y", "[0, 10)", "y[0]=-1"),
    L("loss-y-length", lambda m: m.loss_and_grads(X2, np.array([0, 1, 2])), VE, "y", "(2,)", "(3,)"),
    L("loss-y-rank", lambda m: m.loss_and_grads(X2, Y2[:, None]), VE, "y", "(2,)", "(2, 1)"),
    # train_step
    L("step-X-channels", lambda m: m.train_step(np.zeros((2, 3, 28, 28)), Y2, 0.1), VE, "(2, 3, 28, 28)"),
    L("step-y-out-of-range", lambda m: m.train_step(X2, np.array([12, 0]), 0.1), VE, "y", "y[0]=12"),
    L("step-y-float", lambda m: m.train_step(X2, Y2.astype(np.float32), 0.1), TE, "y", "float32"),
    L("step-lr-zero", lambda m: m.train_step(X2, Y2, 0.0), VE, "lr", "lr=0.0", "finite and positive"),
    L("step-lr-negative", lambda m: m.train_step(X2, Y2, -0.1), VE, "lr", "lr=-0.1", "finite and positive"),
    L("step-lr-nan", lambda m: m.train_step(X2, Y2, float("nan")), VE, "lr", "lr=nan", "finite and positive"),
    L("step-lr-inf", lambda m: m.train_step(X2, Y2, float("inf")), VE, "lr", "lr=inf", "finite and positive"),
    L("step-lr-string", lambda m: m.train_step(X2, Y2, "0.1"), TE, "lr", "lr='0.1'", "str"),
    L("step-lr-array", lambda m: m.train_step(X2, Y2, np.array([0.1])), TE, "lr", "ndarray"),
)  # fmt: skip
