"""Conformance cases as data: small frozen records with readable ids.

A :class:`Case` names a reference op, the specification of its input arrays
(shape, dtype and how to fill them, so the record prints a summary, not data)
and its keyword arguments. :func:`all_cases` yields the chapter's examples,
a systematic grid over every argument form, max-pool ties, NaN and Inf inputs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import reference

DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class ArraySpec:
    """How to make one input array.

    ``fill``: ``"normal"`` (standard normal), ``"ties"`` (integers 0..2, so
    windows hold repeated maxima), ``"nan"`` / ``"inf"`` (normal with a few NaN or
    +-Inf entries), ``"labels:K"`` (int64 in [0, K)), or ``"given"`` (``values``).
    """

    name: str
    shape: tuple[int, ...]
    fill: str = "normal"
    values: tuple | None = None
    dtype: str | None = None  # overrides the case's dtype (integer labels)

    def make(self, dtype: str, rng: np.random.Generator) -> np.ndarray:
        if self.fill == "given":
            return np.asarray(self.values, dtype=self.dtype or dtype)
        if self.fill.startswith("labels:"):
            return rng.integers(0, int(self.fill.split(":")[1]), size=self.shape).astype(np.int64)
        if self.fill == "ties":
            return rng.integers(0, 3, size=self.shape).astype(dtype)
        array = rng.standard_normal(self.shape).astype(dtype)
        if self.fill in ("nan", "inf"):
            flat = array.reshape(-1)
            picks = rng.choice(flat.size, size=max(1, flat.size // 10), replace=False)
            specials = (np.nan,) if self.fill == "nan" else (np.inf, -np.inf)
            flat[picks] = rng.choice(specials, size=picks.size)
        return array

    def summary(self) -> str:
        shape = "x".join(map(str, self.shape))
        return f"{self.name}[{shape}{'' if self.fill == 'normal' else ' ' + self.fill}]"


@dataclass(frozen=True)
class Case:
    """One call of a reference op: ``op(*inputs, **kwargs)`` in ``dtype``."""

    id: str
    op: str
    inputs: tuple[ArraySpec, ...]
    kwargs: tuple[tuple[str, Any], ...] = ()
    dtype: str = "float64"
    seed: int = 0
    source: str = "grid"  # "chapter", "grid", "ties", "special" or "hypothesis"

    @property
    def kw(self) -> dict[str, Any]:
        return dict(self.kwargs)

    def arrays(self) -> list[np.ndarray]:
        """The input arrays, the same on every call (seeded)."""
        rng = np.random.default_rng(self.seed)
        return [spec.make(self.dtype, rng) for spec in self.inputs]

    def call(self) -> str:
        """A readable one-line call, e.g. ``conv2d(X[2x3x7x7], W[4x3x3x3], stride=2)``."""
        args = [spec.summary() for spec in self.inputs]
        args += [f"{k}={v!r}" for k, v in self.kwargs]
        return f"{self.op}({', '.join(args)}) {self.dtype}"

    def params(self) -> dict[str, Any]:
        """JSON-friendly parameters for the results file."""
        return {
            "inputs": {spec.name: list(spec.shape) for spec in self.inputs},
            "fills": {spec.name: spec.fill for spec in self.inputs if spec.fill != "normal"},
            **{k: _jsonable(v) for k, v in self.kwargs},
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return "x".join(_short(v) for v in value)
    return str(value)


def _case_id(op: str, kwargs: dict[str, Any], dtype: str, tag: str = "") -> str:
    parts = [op, *(f"{k[:4]}{_short(v)}" for k, v in kwargs.items())]
    if tag:
        parts.append(tag)
    parts.append("f32" if dtype == "float32" else "f64")
    return "-".join(parts)


# -- the chapter's examples ---------------------------------------------------
def _given(name: str, values: Any) -> ArraySpec:
    array = np.asarray(values, dtype=np.float64)
    return ArraySpec(name, array.shape, "given", tuple(array.tolist()))


def chapter_cases() -> Iterator[Case]:
    """The values the chapter prints (conv-layer, padding-and-strides, channels, pooling)."""
    x3 = np.arange(9.0).reshape(3, 3)
    k2 = np.arange(4.0).reshape(2, 2)
    edge = np.ones((6, 8))
    edge[:, 2:6] = 0
    x_multi = np.stack([x3, x3 + 1])
    k_multi = np.stack([k2, k2 + 1])
    x16 = np.arange(16.0).reshape(1, 1, 4, 4)
    examples = [
        ("corr2d-3x3", "corr2d", [_given("X", x3), _given("K", k2)], {}),
        ("corr2d-edge", "corr2d", [_given("X", edge), _given("K", [[1.0, -1.0]])], {}),
        ("corr2d-edge-transposed", "corr2d", [_given("X", edge.T), _given("K", [[1.0, -1.0]])], {}),
        ("corr2d-multi-in", "corr2d_multi_in", [_given("X", x_multi), _given("K", k_multi)], {}),
        (
            "corr2d-multi-in-out",
            "corr2d_multi_in_out",
            [_given("X", x_multi), _given("K", np.stack([k_multi, k_multi + 1, k_multi + 2]))],
            {},
        ),
        ("pool2d-max", "pool2d", [_given("X", x3)], {"pool_size": (2, 2), "mode": "max"}),
        ("pool2d-avg", "pool2d", [_given("X", x3)], {"pool_size": (2, 2), "mode": "avg"}),
        ("max-pool-3x3", "max_pool2d", [_given("X", x16)], {"kernel_size": 3}),
        ("max-pool-pad1-s2", "max_pool2d", [_given("X", x16)], {"kernel_size": 3, "padding": 1, "stride": 2}),
        (
            "max-pool-2x3-pad01-s23",
            "max_pool2d",
            [_given("X", x16)],
            {"kernel_size": (2, 3), "stride": (2, 3), "padding": (0, 1)},
        ),
        (
            "max-pool-two-channels",
            "max_pool2d",
            [_given("X", np.concatenate([x16, x16 + 1], axis=1))],
            {"kernel_size": 3, "padding": 1, "stride": 2},
        ),
    ]
    for name, op, inputs, kwargs in examples:
        for dtype in DTYPES:
            yield Case(
                f"chapter-{name}-{dtype[5:] and ('f' + dtype[5:])}",
                op,
                tuple(inputs),
                tuple(kwargs.items()),
                dtype,
                source="chapter",
            )
    rng = np.random.default_rng(7)
    for dtype in DTYPES:
        yield Case(
            f"chapter-1x1-f{dtype[5:]}",
            "corr2d_multi_in_out_1x1",
            (ArraySpec("X", (3, 3, 3)), ArraySpec("K", (2, 3, 1, 1))),
            dtype=dtype,
            seed=int(rng.integers(1 << 30)),
            source="chapter",
        )
        for shape, kwargs in [
            ((8, 8), {"W": (1, 1, 3, 3), "padding": 1}),
            ((8, 8), {"W": (1, 1, 5, 3), "padding": (2, 1)}),
            ((8, 8), {"W": (1, 1, 3, 3), "padding": 1, "stride": 2}),
            ((8, 8), {"W": (1, 1, 3, 5), "padding": (0, 1), "stride": (3, 4)}),
        ]:
            w_shape = kwargs.pop("W")
            yield Case(
                _case_id("chapter-conv2d", kwargs, dtype, f"k{w_shape[2]}x{w_shape[3]}"),
                "conv2d",
                (ArraySpec("X", (1, 1, *shape)), ArraySpec("W", w_shape)),
                tuple(kwargs.items()),
                dtype,
                seed=int(rng.integers(1 << 30)),
                source="chapter",
            )


# -- the systematic grid -------------------------------------------------------
CONV_PADDINGS: tuple[Any, ...] = (0, 1, (1, 2), ((0, 1), (2, 1)), ((2, 0), (0, 1)), "valid", "same")


@dataclass
class _Shapes:
    rng: np.random.Generator
    seeds: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def size(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))


def conv_cases() -> Iterator[Case]:
    """conv2d and conv2d_vjp over padding forms x strides x dilations x groups x dtypes."""
    shapes = _Shapes(np.random.default_rng(20))
    for padding, stride, dilation, groups, dtype in itertools.product(
        CONV_PADDINGS, (1, 2, 3), (1, 2), (1, 2), DTYPES
    ):
        kh, kw = shapes.size(1, 4), shapes.size(1, 4)
        span_h, span_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1
        x_shape = (
            shapes.size(1, 3),
            groups * shapes.size(1, 3),
            shapes.size(span_h, span_h + 7),
            shapes.size(span_w, span_w + 7),
        )
        w_shape = (groups * shapes.size(1, 3), x_shape[1] // groups, kh, kw)
        kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        y_shape = reference.conv2d_output_shape(x_shape, w_shape, **kwargs)
        seed = next(shapes.seeds)
        x, w = ArraySpec("X", x_shape), ArraySpec("W", w_shape)
        yield Case(
            _case_id("conv2d", kwargs, dtype),
            "conv2d",
            (x, w, ArraySpec("b", (w_shape[0],))),
            tuple(kwargs.items()),
            dtype,
            seed,
        )
        yield Case(
            _case_id("conv2d_vjp", kwargs, dtype),
            "conv2d_vjp",
            (x, w, ArraySpec("dY", y_shape)),
            tuple(kwargs.items()),
            dtype,
            seed,
        )


def pool_cases() -> Iterator[Case]:
    """Both poolings and their VJPs over kernel x stride x padding x ceil_mode x the mode's own flag."""
    shapes = _Shapes(np.random.default_rng(30))
    grid = itertools.product((2, 3, (3, 2)), (None, 1, 2), (0, 1), (False, True), (1, 2), DTYPES)
    for kernel, stride, padding, ceil_mode, variant, dtype in grid:
        x_shape = (shapes.size(1, 2), shapes.size(1, 3), shapes.size(5, 11), shapes.size(5, 11))
        seed = next(shapes.seeds)
        max_kwargs = {
            "kernel_size": kernel,
            "stride": stride,
            "padding": padding,
            "dilation": variant,
            "ceil_mode": ceil_mode,
        }
        avg_kwargs = {
            "kernel_size": kernel,
            "stride": stride,
            "padding": padding,
            "ceil_mode": ceil_mode,
            "count_include_pad": variant == 1,
        }
        for op, kwargs in (("max_pool2d", max_kwargs), ("avg_pool2d", avg_kwargs)):
            y_shape = reference.pool2d_output_shape(
                x_shape, kernel, stride, padding, kwargs.get("dilation", 1), ceil_mode
            )
            x = ArraySpec("X", x_shape)
            yield Case(_case_id(op, kwargs, dtype), op, (x,), tuple(kwargs.items()), dtype, seed)
            yield Case(
                _case_id(f"{op}_vjp", kwargs, dtype),
                f"{op}_vjp",
                (x, ArraySpec("dY", y_shape)),
                tuple(kwargs.items()),
                dtype,
                seed,
            )


def tie_cases() -> Iterator[Case]:
    """Max pooling of inputs with many equal values: the gradient goes to the first maximum."""
    for (kernel, stride, padding), dtype in itertools.product(
        ((2, None, 0), (3, 1, 1), (3, 2, 1), ((2, 3), (1, 2), (1, 0))), DTYPES
    ):
        x_shape = (2, 2, 7, 8)
        y_shape = reference.pool2d_output_shape(x_shape, kernel, stride, padding)
        kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding}
        x = ArraySpec("X", x_shape, "ties")
        yield Case(
            _case_id("max_pool2d", kwargs, dtype, "ties"),
            "max_pool2d",
            (x,),
            tuple(kwargs.items()),
            dtype,
            source="ties",
        )
        yield Case(
            _case_id("max_pool2d_vjp", kwargs, dtype, "ties"),
            "max_pool2d_vjp",
            (x, ArraySpec("dY", y_shape)),
            tuple(kwargs.items()),
            dtype,
            source="ties",
        )


def special_value_cases() -> Iterator[Case]:
    """NaN and +-Inf inputs, forward and VJP: they propagate as IEEE arithmetic does.

    A NaN wins a max window and takes its gradient (the first NaN of the window);
    ReLU's and sigmoid's gradients at NaN are 0 and NaN.
    """
    x_shape, w_shape = (2, 3, 6, 6), (2, 3, 3, 3)
    for fill, dtype in itertools.product(("nan", "inf"), DTYPES):
        x = ArraySpec("X", x_shape, fill)
        yield Case(
            f"conv2d-{fill}-f{dtype[5:]}",
            "conv2d",
            (x, ArraySpec("W", w_shape)),
            (("padding", 1),),
            dtype,
            source="special",
        )
        pools = (
            ("max_pool2d", {"kernel_size": 2}),
            ("avg_pool2d", {"kernel_size": 3, "stride": 1}),
            ("max_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1}),
        )
        for op, kwargs in pools:
            yield Case(
                _case_id(op, kwargs, dtype, fill), op, (x,), tuple(kwargs.items()), dtype, source="special"
            )
            if op == "avg_pool2d":  # its gradient does not read X
                continue
            dy = ArraySpec("dY", reference.pool2d_output_shape(x_shape, **kwargs))
            yield Case(
                _case_id(f"{op}_vjp", kwargs, dtype, fill),
                f"{op}_vjp",
                (x, dy),
                tuple(kwargs.items()),
                dtype,
                source="special",
            )
        for op in ("sigmoid", "relu"):
            yield Case(f"{op}-{fill}-f{dtype[5:]}", op, (x,), (), dtype, source="special")
            yield Case(
                f"{op}_vjp-{fill}-f{dtype[5:]}",
                f"{op}_vjp",
                (x, ArraySpec("dY", x_shape)),
                (),
                dtype,
                source="special",
            )


def layer_cases() -> Iterator[Case]:
    """Activations, flatten, the dense layer and the loss at a few sizes."""
    seeds = itertools.count(100)
    for (n, features, out), dtype in itertools.product(((1, 3, 2), (4, 16, 10), (128, 400, 120)), DTYPES):
        x, w = ArraySpec("X", (n, features)), ArraySpec("W", (out, features))
        tag = f"{n}x{features}x{out}"
        seed = next(seeds)
        yield Case(f"linear-{tag}-f{dtype[5:]}", "linear", (x, w, ArraySpec("b", (out,))), (), dtype, seed)
        yield Case(
            f"linear_vjp-{tag}-f{dtype[5:]}", "linear_vjp", (x, w, ArraySpec("dY", (n, out))), (), dtype, seed
        )
        logits, labels = ArraySpec("logits", (n, out)), ArraySpec("labels", (n,), f"labels:{out}")
        yield Case(
            f"softmax_cross_entropy-{tag}-f{dtype[5:]}",
            "softmax_cross_entropy",
            (logits, labels),
            (),
            dtype,
            seed,
        )
        yield Case(
            f"softmax_cross_entropy_vjp-{tag}-f{dtype[5:]}",
            "softmax_cross_entropy_vjp",
            (logits, labels),
            (),
            dtype,
            seed,
        )
    for shape, dtype in itertools.product(((5,), (2, 3, 4, 4), (128, 16, 5, 5)), DTYPES):
        tag = "x".join(map(str, shape))
        seed = next(seeds)
        x, dy = ArraySpec("X", shape), ArraySpec("dY", shape)
        for op in ("sigmoid", "relu"):
            yield Case(f"{op}-{tag}-f{dtype[5:]}", op, (x,), (), dtype, seed)
            yield Case(f"{op}_vjp-{tag}-f{dtype[5:]}", f"{op}_vjp", (x, dy), (), dtype, seed)
        if len(shape) > 1:
            flat = (shape[0], int(np.prod(shape[1:])))
            yield Case(f"flatten-{tag}-f{dtype[5:]}", "flatten", (x,), (), dtype, seed)
            yield Case(
                f"flatten_vjp-{tag}-f{dtype[5:]}", "flatten_vjp", (x, ArraySpec("dY", flat)), (), dtype, seed
            )
    # Logits far apart: a naive softmax overflows, a stable one does not.
    for dtype in DTYPES:
        big = _given("logits", [[1000.0, -1000.0, 0.0], [-500.0, 500.0, 499.0]])
        labels = ArraySpec("labels", (2,), "given", (1, 2), dtype="int64")
        for op in ("softmax_cross_entropy", "softmax_cross_entropy_vjp"):
            yield Case(f"{op}-large-logits-f{dtype[5:]}", op, (big, labels), (), dtype, source="special")


def edge_value_cases() -> Iterator[Case]:
    """Sigmoid in both tails and at 0; signed zeros through ReLU, max pooling and flatten.

    The sigmoid tails catch a VJP computed as ``dY * y * (1 - y)`` from a rounded
    ``y`` (it flushes to 0 from x = 17 in float32); ReLU of -0.0 is +0.0; a max-pool
    window of -0.0 (alone or with negatives) gives -0.0, of +0.0 gives +0.0, and
    windows mixing both zeros (sign unspecified) still give a zero with the first
    zero's gradient.
    """
    tails = [0.0, -0.0, 0.5, -0.5, 5.0, -5.0, 13.0, -13.0, 13.5, -13.5, 17.0, -17.0, 20.0, -20.0]
    tails += [30.0, -30.0, 40.0, -40.0, 50.0, -50.0, 87.0, -87.0, 100.0, -100.0]
    x_tails = _given("X", [tails, tails[::-1]])
    # 2x2 windows: all -0.0; -0.0 with negatives; +0.0 with negatives; both zeros (unspecified).
    zeros = [
        [-0.0, -0.0, -0.0, -1.0],
        [-0.0, -0.0, -2.0, -0.0],
        [0.0, -3.0, -0.0, 0.0],
        [-1.0, 0.0, -4.0, -0.0],
    ]
    negative = [
        [-1.0, -0.0, -2.0, -3.0],
        [-4.0, -5.0, -0.0, -6.0],
        [-0.0, -7.0, -8.0, -9.0],
        [-1.0, -2.0, -3.0, -0.0],
    ]
    x_zeros = _given("X", [[zeros, negative]])  # (1, 2, 4, 4)
    dy_zeros = _given("dY", [[-1.5, -0.0, 2.0, 0.0], [-0.0, 0.0, -2.5, 1.0]])
    pools = ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1})
    for dtype in DTYPES:
        suffix = f"f{dtype[5:]}"
        yield Case(f"sigmoid-tails-{suffix}", "sigmoid", (x_tails,), (), dtype, source="special")
        yield Case(
            f"sigmoid_vjp-tails-{suffix}",
            "sigmoid_vjp",
            (x_tails, ArraySpec("dY", x_tails.shape)),
            (),
            dtype,
            seed=11,
            source="special",
        )
        relu_x = _given("X", [[-0.0, 0.0, -1.0, 1.0], [0.0, -0.0, 2.0, -2.0]])
        yield Case(f"relu-signed-zeros-{suffix}", "relu", (relu_x,), (), dtype, source="special")
        yield Case(
            f"relu_vjp-signed-zeros-{suffix}", "relu_vjp", (relu_x, dy_zeros), (), dtype, source="special"
        )
        for kwargs in pools:
            y_shape = reference.pool2d_output_shape(x_zeros.shape, **kwargs)
            for op, inputs in (
                ("max_pool2d", (x_zeros,)),
                ("max_pool2d_vjp", (x_zeros, ArraySpec("dY", y_shape))),
            ):
                yield Case(
                    _case_id(op, kwargs, dtype, "signed-zeros"),
                    op,
                    inputs,
                    tuple(kwargs.items()),
                    dtype,
                    seed=12,
                    source="special",
                )
        yield Case(
            f"pool2d-max-signed-zeros-{suffix}",
            "pool2d",
            (_given("X", zeros),),
            (("pool_size", (2, 2)), ("mode", "max")),
            dtype,
            source="special",
        )
        yield Case(f"flatten-signed-zeros-{suffix}", "flatten", (x_zeros,), (), dtype, source="special")
        yield Case(
            f"flatten_vjp-signed-zeros-{suffix}",
            "flatten_vjp",
            (x_zeros, _given("dY", np.reshape(x_zeros.values, (1, 32)))),
            (),
            dtype,
            source="special",
        )


def all_cases() -> list[Case]:
    """Every case of the suite, ids unique."""
    cases = [
        *chapter_cases(),
        *conv_cases(),
        *pool_cases(),
        *tie_cases(),
        *special_value_cases(),
        *edge_value_cases(),
        *layer_cases(),
    ]
    ids = [case.id for case in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate case ids: {sorted(duplicates)[:5]}")
    return cases
