"""Mean softmax cross-entropy and its vector-Jacobian product."""

from __future__ import annotations

from typing import Any

import numpy as np

from reference.dtypes import round_to
from reference.validation import check_cross_entropy, check_real_array, check_tangent, result_dtype


def _log_softmax64(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax_cross_entropy(logits: Any, labels: Any) -> np.floating:
    """Mean over the batch of ``-log softmax(logits)[label]``: logits (N, K), labels (N,).

    Stable for any finite logits (the row maximum is subtracted before ``exp``,
    in float64, so logits up to the dtype's largest finite value give a finite
    loss unless the result itself overflows the dtype). Special values follow
    IEEE 754 through ``log_softmax(z) = z - max - log(sum(exp(z - max)))``: a -inf
    logit has probability 0 (loss +inf when it is the label's); a row holding NaN
    or +inf, or only -inf, gives NaN. Returns a scalar of the logits' floating dtype.
    """
    check_cross_entropy(logits, labels)
    logits, labels = np.asarray(logits), np.asarray(labels)
    picked = _log_softmax64(logits)[np.arange(len(labels)), labels]
    return round_to(-picked.mean(), result_dtype(logits))[()]


def softmax_cross_entropy_vjp(logits: Any, labels: Any, dloss: Any = 1.0) -> np.ndarray:
    """Gradient wrt logits: ``dloss * (softmax(logits) - onehot(labels)) / N``, shape (N, K).

    A -inf logit has softmax 0; a row holding NaN or +inf, or only -inf, is NaN throughout.
    """
    check_cross_entropy(logits, labels)
    check_real_array("dloss", dloss, 0)
    logits, labels = np.asarray(logits), np.asarray(labels)
    grad = np.exp(_log_softmax64(logits))
    grad[np.arange(len(labels)), labels] -= 1.0
    grad *= float(dloss) / len(labels)
    return round_to(grad, result_dtype(logits))


def softmax_cross_entropy_jvp(logits: Any, labels: Any, tlogits: Any) -> np.floating:
    """Jacobian-vector product of :func:`softmax_cross_entropy`: a scalar of the result dtype.

    ``sum((softmax(logits) - onehot(labels)) * tlogits) / N``: the directional
    derivative of the mean loss along ``tlogits`` (the logits' shape, (N, K)), summed in
    float64. A -inf logit has softmax 0 (its tangent does not count); a row holding NaN
    or +inf, or only -inf, makes the result NaN.
    """
    check_cross_entropy(logits, labels)
    check_tangent("tlogits", tlogits, logits)
    logits, labels = np.asarray(logits), np.asarray(labels)
    grad = np.exp(_log_softmax64(logits))
    grad[np.arange(len(labels)), labels] -= 1.0
    total = np.sum(grad * np.asarray(tlogits, dtype=np.float64)) / len(labels)
    return round_to(np.float64(total), result_dtype(logits, tlogits))[()]
