"""Run a conformance pack with PyTorch alone: read it, compute every case, check, report.

    python examples/pack_runner_torch.py PACK [--outputs DIR]

This file imports NumPy, PyTorch and the standard library only: the pack is all
it needs. For each case of ``PACK/manifest.json`` it calls PyTorch's own ops in
the case's dtype on the CPU (autograd for the VJPs, torch.func.jvp for the JVPs), then checks each output
as the manifest's ``comparison`` rules say: shape and dtype equal; NaN and
infinities where the expected output has them; an ``exact`` output bit for
bit (the sign of zero where ``signed``), an ``elementwise`` one within its
bound, which it rebuilds from the recorded terms (``coefficient * |magnitude| +
addend``) and checks against the bound file. It prints a table per function
and exits with 1 if a case fails. ``--outputs DIR`` also writes its outputs in
the pack's layout (and ``index.json``), for ``python -m conformance.pack verify``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)


def explicit_pads(padding, size, kernel, stride, dilation) -> tuple[tuple[int, int], tuple[int, int]]:
    """The pack's padding forms (int, pair, ((top, bottom), (left, right)), "valid", "same",
    "same_lower") as ((top, bottom), (left, right))."""
    if padding == "valid":
        padding = 0
    if padding in ("same", "same_lower"):  # output ceil(n / s); the odd extra after ("same") or before
        pads = []
        for n, k, s, d in zip(size, kernel, stride, dilation, strict=True):
            total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
            half = total // 2
            pads.append((half, total - half) if padding == "same" else (total - half, half))
        padding = pads
    if isinstance(padding, int):
        padding = (padding, padding)
    (top, bottom), (left, right) = [(p, p) if isinstance(p, int) else tuple(p) for p in padding]
    return (top, bottom), (left, right)


def tuples(value):
    """JSON arrays in kwargs stand for tuples (padding=[[0, 1], [2, 1]] is ((0, 1), (2, 1)))."""
    return tuple(map(tuples, value)) if isinstance(value, list) else value


def pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def conv2d(X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
    stride, dilation = pair(stride), pair(dilation)
    (top, bottom), (left, right) = explicit_pads(padding, X.shape[2:], W.shape[2:], stride, dilation)
    return F.conv2d(F.pad(X, (left, right, top, bottom)), W, b, stride, 0, dilation, groups)


def pool_geometry(X, kernel_size, stride, padding, dilation):
    """kernel, stride, dilation as pairs and the explicit pads; ``native``: PyTorch's pools take the
    pads themselves (symmetric, at most half the window)."""
    kernel, dilation = pair(kernel_size), pair(dilation)
    stride = kernel if stride is None else pair(stride)
    pads = explicit_pads(padding, X.shape[2:], kernel, stride, dilation)
    native = all(a == b and a <= k // 2 for (a, b), k in zip(pads, kernel, strict=True))
    return kernel, stride, dilation, pads, native


def max_pool2d(X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    kernel, stride, dilation, pads, native = pool_geometry(X, kernel_size, stride, padding, dilation)
    if native:
        padding = (pads[0][0], pads[1][0])
        return F.max_pool2d(X, kernel, stride, padding, dilation, ceil_mode)
    (top, bottom), (left, right) = pads  # -inf padding never wins over a real element
    return F.max_pool2d(F.pad(X, (left, right, top, bottom), value=-np.inf), kernel, stride, 0, dilation)


def avg_pool2d(X, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    kernel, stride, _, pads, native = pool_geometry(X, kernel_size, stride, padding, 1)
    if native:
        padding = (pads[0][0], pads[1][0])
        return F.avg_pool2d(X, kernel, stride, padding, ceil_mode, count_include_pad)
    (top, bottom), (left, right) = pads
    mean = F.avg_pool2d(F.pad(X, (left, right, top, bottom)), kernel, stride)  # divisor: the window
    if count_include_pad:
        return mean
    real = F.pad(torch.ones_like(X[:1, :1]), (left, right, top, bottom))
    return mean / F.avg_pool2d(real, kernel, stride)  # the share of real cells in each window


def pool2d(X, pool_size, mode="max"):  # the chapter's pooling: one 2-D image, stride 1
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    return pool(X[None, None], pool_size, 1)[0, 0]


# Forward functions by the pack's function names, called with the pack's input names.
FORWARD = {
    "corr2d": lambda X, K: F.conv2d(X[None, None], K[None, None])[0, 0],
    "corr2d_multi_in": lambda X, K: F.conv2d(X[None], K[None])[0, 0],
    "corr2d_multi_in_out": lambda X, K: F.conv2d(X[None], K)[0],
    "corr2d_multi_in_out_1x1": lambda X, K: F.conv2d(X[None], K)[0],
    "pool2d": pool2d,
    "conv2d": conv2d,
    "max_pool2d": max_pool2d,
    "avg_pool2d": avg_pool2d,
    "sigmoid": lambda X: torch.sigmoid(X),
    "relu": lambda X: torch.relu(X) + 0.0,  # the pack's relu(-0.0) is +0.0: -0.0 + 0.0 rounds to +0.0
    "flatten": lambda X: X.reshape(X.shape[0], int(np.prod(X.shape[1:]))),
    "linear": lambda X, W, b=None: F.linear(X, W, b),
    "softmax_cross_entropy": lambda logits, labels: F.cross_entropy(logits, labels),
}


def sigmoid_vjp(X, dY):
    """dY * s(x) * s(-x): autograd's dY * y * (1 - y) loses the tail where 1 - y rounds to 0."""
    grad = dY * torch.sigmoid(X) * torch.sigmoid(-X)
    # The derivative is positive at every finite x: an infinite dY there gives that infinity
    # (where the derivative underflows to 0, inf * 0 would be NaN).
    return torch.where(torch.isinf(dY) & torch.isfinite(X), dY, grad)


# VJPs and JVPs where autograd's rule differs from the pack's (relu's passes dY through at NaN,
# where the pack's derivative is 0; sigmoid's flushes the tail). Both derivatives are diagonal:
# the JVP is the VJP's rule with the tangent for dY.
SPECIAL = {
    "sigmoid_vjp": sigmoid_vjp,
    "relu_vjp": lambda X, dY: torch.where(X > 0, dY, 0.0),
    "sigmoid_jvp": lambda X, tX: sigmoid_vjp(X, tX),
    "relu_jvp": lambda X, tX: torch.where(X > 0, tX, 0.0),
}


def vjp(forward, inputs: dict, kwargs: dict, outputs: list[str]):
    """The gradients named ``outputs`` (``d<input>``) of ``forward`` at ``inputs``, against dY or dloss."""
    dY = inputs.pop("dY", None)
    if dY is None:
        dY = torch.tensor(kwargs.pop("dloss", 1.0), dtype=inputs["logits"].dtype)
    if "db" in outputs and "b" not in inputs:  # the bias gradient: a zero bias to differentiate
        inputs["b"] = torch.zeros(inputs["W"].shape[0], dtype=inputs["W"].dtype)
    wrt = [inputs[name[1:]].requires_grad_() for name in outputs]
    return torch.autograd.grad(forward(**inputs, **kwargs), wrt, dY)


def jvp(forward, inputs: dict, kwargs: dict):
    """The tangent of ``forward`` at ``inputs`` along the inputs named ``t<input>`` (forward mode)."""
    names = [name for name in inputs if f"t{name}" in inputs]
    tangents = tuple(inputs.pop(f"t{name}") for name in names)
    primals = tuple(inputs.pop(name) for name in names)

    def along(*values):
        return forward(**inputs, **dict(zip(names, values, strict=True)), **kwargs)

    return [torch.func.jvp(along, primals, tangents)[1]]


def unsupported(function: str, inputs: dict, kwargs: dict) -> str | None:
    """Why this runner leaves a case out: PyTorch's rule differs, and emulating it is an adapter's job."""
    if function.startswith(("max_pool2d", "avg_pool2d")) and kwargs.get("ceil_mode"):
        geometry = pool_geometry(inputs["X"], kwargs["kernel_size"], kwargs.get("stride"),
                                 kwargs.get("padding", 0), kwargs.get("dilation", 1))  # fmt: skip
        if not geometry[-1]:  # ceil_mode places its last window by the padding PyTorch is given
            return "ceil_mode with padding PyTorch's pools do not take"
    if function in ("max_pool2d_vjp", "max_pool2d_jvp") and torch.isnan(inputs["X"]).any():
        # torch 2.13's CPU backward sends a NaN window's gradient to its last NaN (the pack: the
        # first), and one whose elements are all NaN to no element of X (it corrupted the heap here).
        return "max-pool gradient of a window with NaN"
    if function == "max_pool2d_vjp" and torch.isinf(max_pool2d(torch.ones_like(inputs["X"]), **kwargs)).any():
        return "max-pool gradient with a window of padding only"  # dilation or ceil_mode: no real element
    return None


def compute(case: dict, pack: Path) -> list[np.ndarray] | str:
    """The case's outputs computed by PyTorch, or why this runner does not support the case."""
    function, outputs = case["function"], [output["name"] for output in case["outputs"]]
    inputs = {entry["name"]: torch.from_numpy(np.load(pack / entry["file"])) for entry in case["inputs"]}
    kwargs = {name: tuples(value) for name, value in case["kwargs"].items()}
    reason = unsupported(function, inputs, kwargs)
    if reason:
        return reason
    if function in SPECIAL:
        values = [SPECIAL[function](**inputs, **kwargs)]
    elif function in FORWARD:
        values = [FORWARD[function](**inputs, **kwargs)]
    elif function.endswith("_vjp") and function[: -len("_vjp")] in FORWARD:
        values = vjp(FORWARD[function[: -len("_vjp")]], inputs, kwargs, outputs)
    elif function.endswith("_jvp") and function[: -len("_jvp")] in FORWARD:
        values = jvp(FORWARD[function[: -len("_jvp")]], inputs, kwargs)
    else:
        return f"no {function} in this runner"
    return [value.detach().numpy() for value in values]


def bound_array(pack: Path, bound: dict) -> np.ndarray:
    """The elementwise bound, rebuilt from its terms where the manifest records them."""
    array = np.load(pack / bound["file"])
    if bound["terms"]:
        terms = bound["terms"]
        magnitude = np.load(pack / terms["magnitude"])
        kind = magnitude.dtype.type  # the terms are applied in the magnitude's dtype
        rebuilt = kind(terms["coefficient"]) * np.abs(magnitude) + kind(terms["addend"])
        assert np.array_equal(rebuilt, array, equal_nan=True), f"{terms['magnitude']}: terms disagree"
    return array


def check(actual: np.ndarray, expected: np.ndarray, bound: dict, pack: Path) -> float:
    """The worst error/bound ratio of one output; AssertionError where it does not conform."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, (
        f"got {actual.dtype}{list(actual.shape)}, expected {expected.dtype}{list(expected.shape)}"
    )
    finite = np.isfinite(expected)
    same = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    assert not (~(finite & np.isfinite(actual)) & ~same).any(), "NaN or infinity where the reference differs"
    if bound["kind"] == "exact":
        signed = bound["signed"] if isinstance(bound["signed"], bool) else np.load(pack / bound["signed"])
        assert not (finite & (actual != expected)).any(), "an exact output differs"
        assert not (finite & signed & (np.signbit(actual) != np.signbit(expected))).any(), "sign of zero"
        return 0.0
    with np.errstate(all="ignore"):
        error = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        ratio = np.where(finite & (error > 0), error / bound_array(pack, bound), 0.0)
    worst = float(np.nan_to_num(ratio, nan=np.inf).max(initial=0.0))  # a NaN bound accepts no error
    assert worst <= 1.0, f"error exceeds the bound (worst ratio {worst:.3g})"
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack", type=Path)
    parser.add_argument("--outputs", type=Path, help="also write the outputs here, in the pack's layout")
    args = parser.parse_args()
    manifest = json.loads((args.pack / "manifest.json").read_text())
    rows: dict[str, dict[str, float]] = {}
    not_computed: dict[str, str] = {}
    for case in manifest["cases"]:
        row = rows.setdefault(
            case["function"], {"cases": 0, "pass": 0, "fail": 0, "not supported": 0, "worst": 0}
        )
        row["cases"] += 1
        with np.errstate(all="ignore"):
            values = compute(case, args.pack)
        if isinstance(values, str):
            row["not supported"] += 1
            not_computed[case["id"]] = values
            continue
        try:
            for output, value in zip(case["outputs"], values, strict=True):
                ratio = check(value, np.load(args.pack / output["file"]), output["bound"], args.pack)
                row["worst"] = max(row["worst"], ratio)
            row["pass"] += 1
        except AssertionError as error:
            row["fail"] += 1
            print(f"FAIL {case['id']} {output['name']}: {error}  [{case['call']}]")
        if args.outputs:
            for output, value in zip(case["outputs"], values, strict=True):
                path = args.outputs / "cases" / case["id"] / f"{output['name']}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, value)
    if args.outputs:
        index = {
            "implementation": f"pack_runner_torch, torch {torch.__version__}",
            "not_computed": not_computed,
        }
        (args.outputs / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True))
    print(f"{'function':26} {'cases':>6} {'pass':>6} {'fail':>6} {'not supported':>14} {'worst ratio':>12}")
    for name, row in rows.items():
        print(f"{name:26} {row['cases']:6} {row['pass']:6} {row['fail']:6} {row['not supported']:14}"
              f" {row['worst']:12.3g}")  # fmt: skip
    return 1 if any(row["fail"] for row in rows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
