"""JAX adapter: ``jax.lax`` ops, ``jax.nn`` activations and ``jax.vjp`` gradients.

Quirks handled here (each call that needs one records a note):
- ``lax.reduce_window`` has no ceil_mode: extra bottom/right padding forms the
  last windows; the reference's output size applies the drop rule.
- lax has no average pooling: a ``reduce_window`` sum divided by the count of
  (padded) input cells each window covers, found by pooling a ones mask.
- XLA's CPU runtime reads subnormal inputs as 0 (denormals-are-zero): ReLU,
  max pooling and their gradients select on the bits; convolutions and dense
  layers with subnormal, NaN or inf inputs add scaled-up subnormal parts and
  count non-finite terms with 0/1 masks (which also corrects XLA's CPU conv
  skipping padding taps, its transposed conv multiplying the zeros it pads dY with by W
  and its float64 grouped conv, one conv with a block-diagonal kernel, spilling
  NaN into other groups).
- The gradient of ``reduce_window`` max (XLA's select_and_scatter, comparing
  with ``>=``) moves a window's gradient past every NaN, and its -inf padding
  can take an all -inf window's gradient; a custom VJP sends it to the first
  maximal real element, NaN counting as maximal, as the reference does.
- ``jax.vjp`` of sigmoid computes ``dY * y * (1 - y)``, which flushes the
  positive tail: the VJP is ``dY * sigmoid(x) * sigmoid(-x)`` (an infinite dY at
  a finite x gives that infinity, not inf * 0 where ``sigmoid(-x)`` underflows).
- Forward mode is ``jax.jvp``; the max-pool JVP gathers each window's tangent at its first
  maximal real element (the custom VJP above has no forward mode), and sigmoid's JVP is the
  VJP's ``tX * sigmoid(x) * sigmoid(-x)`` (``jax.jvp``'s ``tX * y * (1 - y)`` flushes the tail).
- float64 needs ``jax_enable_x64``, switched on when :mod:`backends.jax.ops`
  (the ops as pure functions, which this adapter jit-compiles) is imported;
  convolutions and matmuls run at ``Precision.HIGHEST``, so GPUs do not use TF32
  (unless ``CNN_CHAPTER_REFERENCE_TF32=1``, :func:`backends.devices.tf32_requested`).

Each op is jit-compiled once per geometry, shape and dtype (``jax.jit``'s cache).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import jax
import numpy as np

from backends.base import Backend, Prepared, UnsupportedError
from backends.devices import resolve_device
from backends.jax.ops import (
    PRECISION,
    avg_pool,
    conv,
    conv_exact,
    conv_vjp_exact,
    cross_entropy,
    flatten,
    linear,
    linear_exact,
    linear_vjp_exact,
    max_pool,
    max_pool_jvp,
    max_pool_subnormal,
    pool_pads,
    relu_subnormal,
    relu_vjp_subnormal,
    sigmoid_vjp,
    sigmoid_vjp_infinite_dy,
)
from reference.shapes import PoolGeometry
from reference.validation import (
    check_conv2d,
    check_cross_entropy,
    check_dense,
    check_elementwise,
    check_flatten,
    check_pool2d,
    check_real_array,
    check_tangent,
    result_dtype,
)


def _apply(op: Callable, static: tuple, *arrays: jax.Array | None) -> jax.Array:
    return op(*static, *arrays)


def _forward_and_pullback(
    op: Callable, static: tuple, dy: jax.Array, primals: tuple, consts: tuple = ()
) -> tuple[jax.Array, tuple]:
    """``op(*static, *primals, *consts)`` and :func:`_pullback`'s gradients (jitted, the
    output stays live: XLA cannot prune the forward out of a timed forward+backward)."""
    output, pullback = jax.vjp(lambda *p: op(*static, *p, *consts), *primals)
    return output, pullback(dy)


def _push_forward(
    op: Callable, static: tuple, primals: tuple, tangents: tuple, consts: tuple = ()
) -> jax.Array:
    """The tangent output of ``jax.jvp`` of ``op(*static, *primals, *consts)`` along ``tangents``."""
    return jax.jvp(lambda *p: op(*static, *p, *consts), primals, tangents)[1]


def _pullback(op: Callable, static: tuple, dy: jax.Array, primals: tuple, consts: tuple = ()) -> tuple:
    """Gradients of ``sum(op(*static, *primals, *consts) * dy)`` with respect to ``primals``."""
    return _forward_and_pullback(op, static, dy, primals, consts)[1]


# One compiled program per op, static arguments, shapes and dtypes (jit's cache).
# An op call mostly compiles a new geometry and runs it once: LLVM -O0 cuts
# XLA's CPU compile time by about a third. Its results can differ from
# optimised code in the last bit (both pass the suite); prepare() benchmarks
# optimised code.
_QUICK_COMPILE = {"xla_backend_optimization_level": 0}
_forward = jax.jit(_apply, static_argnums=(0, 1), compiler_options=_QUICK_COMPILE)
_vjp = jax.jit(_pullback, static_argnums=(0, 1), compiler_options=_QUICK_COMPILE)
_jvp = jax.jit(_push_forward, static_argnums=(0, 1), compiler_options=_QUICK_COMPILE)
_optimised_forward = jax.jit(_apply, static_argnums=(0, 1))
_optimised_step = jax.jit(_forward_and_pullback, static_argnums=(0, 1))


def _has_subnormal(array: Any, dtype: np.dtype) -> bool:
    """Whether ``array`` as ``dtype`` holds a subnormal (XLA's CPU runtime reads those as 0, DAZ)."""
    values = np.abs(np.asarray(array, dtype=dtype))
    return bool(((values > 0) & (values < np.finfo(dtype).tiny)).any())


def _gpu_count() -> int:
    try:
        return len(jax.devices("gpu"))
    except RuntimeError:  # a CPU-only jaxlib has no "gpu" platform at all
        return 0


class JaxBackend(Backend):
    """The reference's ops computed by JAX on ``device`` ("auto": the GPU when JAX sees one)."""

    name = "jax"
    framework = "jax"

    # Measured (conformance/accumulation.py): XLA's CPU conv and dot sum half precision in float32 and
    # round once; the VJPs' bias gradients (a reduce: 0 to 27% correctly rounded) and average
    # pooling (22%, a reduce_window) sum in the half dtype.
    float32_sums: ClassVar[dict[str, frozenset[str]]] = dict.fromkeys(
        ("float16", "bfloat16"), frozenset({"conv2d", "linear"})
    )

    def __init__(self, device: str = "auto") -> None:
        super().__init__()
        self.device = resolve_device(device, _gpu_count(), "gpu")
        platform, _, index = self.device.partition(":")
        self._device = jax.devices(platform)[int(index or 0)]
        self.framework_version = jax.__version__
        if platform == "gpu":
            mode = "TF32 on" if PRECISION is None else "ieee float32, Precision.HIGHEST: TF32 off"
            self.precision = f"{mode} ({self._device.device_kind})"
        else:
            mode = "TF32 requested, which only GPUs have" if PRECISION is None else "Precision.HIGHEST"
            self.precision = f"ieee float32 (CPU, {mode})"

    @classmethod
    def thread_environment(cls, threads: int) -> dict[str, str]:
        """The base's pools; with one thread also XLA:CPU's Eigen pool off
        (``--xla_cpu_multi_thread_eigen=false`` added to ``XLA_FLAGS``, read when JAX starts).
        XLA sizes its other pools by the process's CPU affinity."""
        flags = [flag for flag in os.environ.get("XLA_FLAGS", "").split() if "multi_thread_eigen" not in flag]
        if threads == 1:
            flags.append("--xla_cpu_multi_thread_eigen=false")
        return {**super().thread_environment(threads), "XLA_FLAGS": " ".join(flags)}

    def enable_determinism(self) -> str:
        """None in a running process: XLA's switch, ``--xla_gpu_deterministic_ops``, is for GPUs
        and is read from ``XLA_FLAGS`` when JAX starts; XLA:CPU has none."""
        if self.device != "cpu" and "--xla_gpu_deterministic_ops=true" in os.environ.get("XLA_FLAGS", ""):
            return "XLA_FLAGS=--xla_gpu_deterministic_ops=true"
        raise UnsupportedError(
            "XLA has no determinism switch for the CPU; on a GPU it is XLA_FLAGS="
            "--xla_gpu_deterministic_ops=true, set before JAX starts"
        )

    # -- conversions -----------------------------------------------------
    def _array(self, value: Any, dtype: Any) -> jax.Array:
        return jax.device_put(np.asarray(value, dtype=dtype), self._device)

    def _run(self, op: Callable, static: tuple, *arrays: jax.Array | None) -> np.ndarray:
        return np.array(_forward(op, static, *arrays))

    def _grads(
        self, op: Callable, static: tuple, dY: Any, primals: Sequence[Any], dtype: Any
    ) -> list[np.ndarray]:
        """Gradients of ``sum(op(*static, *primals) * dY)`` with respect to every primal."""
        arrays = tuple(self._array(p, dtype) for p in primals)
        return [np.array(g) for g in _vjp(op, static, self._array(dY, dtype), arrays)]

    # -- convolution -----------------------------------------------------
    def _needs_exact(self, op: str, dtype: np.dtype, *arrays: Any) -> bool:
        """Whether ``arrays`` (as ``dtype``) hold a NaN, inf or subnormal (noted: the exact path runs)."""
        if all(
            np.isfinite(np.asarray(a, dtype=dtype)).all() and not _has_subnormal(a, dtype) for a in arrays
        ):
            return False
        self.note(
            f"{op} with NaN, inf or subnormal inputs as finite normal and scaled-up subnormal parts"
            " plus counts of non-finite terms from 0/1 masks (XLA's CPU runtime reads a subnormal"
            " as 0, so subnormal * inf gives NaN; its conv skips padding taps, its transposed conv"
            " multiplies the zeros it pads dY with by W; its float64 grouped conv spills NaN across groups)"
        )
        return True

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        dtype = result_dtype(X, W) if b is None else result_dtype(X, W, b)
        op = conv_exact if self._needs_exact("conv2d", dtype, X, W) else conv
        bias = None if b is None else self._array(b, dtype)
        return self._run(op, (geometry,), self._array(X, dtype), self._array(W, dtype), bias)

    def conv2d_vjp(self, X, W, dY, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups, dY=dY)
        dtype = result_dtype(X, W, dY)
        if self._needs_exact("conv2d VJP", dtype, X, W, dY):
            arrays = (self._array(a, dtype) for a in (X, W, dY))
            return tuple(np.array(g) for g in _forward(conv_vjp_exact, (geometry,), *arrays))
        dX, dW, db = self._grads(conv, (geometry,), dY, (X, W, np.zeros(np.shape(W)[0])), dtype)
        return dX, dW, db

    # -- pooling ---------------------------------------------------------
    def _note_ceil_mode(self, geometry: PoolGeometry, shape: Sequence[int]) -> None:
        if pool_pads(geometry, shape)[2:] != geometry.padding:
            self.note("ceil_mode via extra bottom/right padding for the last window (reduce_window has none)")

    def _note_average(self, count_include_pad: bool) -> None:
        cells = "padded-input" if count_include_pad else "real input"
        self.note(
            f"average pooling via a reduce_window sum over the {cells} cells per window,"
            " counted by pooling a ones mask (lax has no average pooling)"
        )

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
        )
        self._note_ceil_mode(geometry, np.shape(X))
        dtype = result_dtype(X)
        pool = max_pool
        if _has_subnormal(X, dtype):
            self.note(
                "max pooling of subnormals as an integer max of order-preserving keys of the bits"
                " (XLA's CPU max reads a subnormal as 0: max(1e-45, -1) gives 0)"
            )
            pool = max_pool_subnormal
        return self._run(pool, (geometry,), self._array(X, dtype))

    def max_pool2d_vjp(self, X, dY, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode, dY=dY
        )
        self._note_ceil_mode(geometry, np.shape(X))
        self.note(
            "max-pool gradient via a custom VJP to the first maximal real window element, NaN maximal,"
            " an argmax of order-preserving integer keys with padding below every value"
            " (reduce_window's select_and_scatter compares with >=: a window with a NaN sends"
            " its gradient to the largest element after its last NaN, or to that NaN if last,"
            " and -inf padding can take an all -inf window's gradient)"
        )
        return self._grads(max_pool, (geometry,), dY, (X,), result_dtype(X, dY))[0]

    def avg_pool2d(self, X, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        geometry = check_pool2d(
            X,
            kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )
        self._note_ceil_mode(geometry, np.shape(X))
        self._note_average(count_include_pad)
        static = (geometry, bool(count_include_pad))
        return self._run(avg_pool, static, self._array(X, result_dtype(X)))

    def avg_pool2d_vjp(
        self, X, dY, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        geometry = check_pool2d(
            X,
            kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
            dY=dY,
        )
        self._note_ceil_mode(geometry, np.shape(X))
        self._note_average(count_include_pad)
        static = (geometry, bool(count_include_pad))
        return self._grads(avg_pool, static, dY, (X,), result_dtype(X, dY))[0]

    # -- activations, dense, loss -----------------------------------------
    def sigmoid(self, X):
        check_elementwise(X)
        return self._run(jax.nn.sigmoid, (), self._array(X, result_dtype(X)))

    def sigmoid_vjp(self, X, dY):
        check_elementwise(X, dY)
        self.note("sigmoid VJP as dY * sigmoid(x) * sigmoid(-x) (jax.vjp's dY * y * (1 - y): 0 from x = 17)")
        return self._sigmoid_slope_times(X, dY)

    def _sigmoid_slope_times(self, X: Any, V: Any) -> np.ndarray:
        """``V * sigmoid(x) * sigmoid(-x)``, an infinite ``V`` at a finite ``x`` giving that infinity."""
        dtype = result_dtype(X, V)
        op = sigmoid_vjp
        if np.isinf(np.asarray(V, dtype=dtype)).any():
            self.note(
                "sigmoid derivative times an infinite dY or tX at a finite x is that infinity"
                " (V * s(x) * s(-x) is inf * 0 = NaN where s(-x) underflows)"
            )
            op = sigmoid_vjp_infinite_dy
        return self._run(op, (), self._array(X, dtype), self._array(V, dtype))

    def _note_relu_subnormal(self) -> None:
        self.note(
            "ReLU of subnormals: x > 0 from the bits, values moved by a select"
            " (XLA's CPU runtime reads a subnormal as 0: relu(1e-45) gives 0, its gradient 0)"
        )

    def relu(self, X):
        check_elementwise(X)
        dtype = result_dtype(X)
        if _has_subnormal(X, dtype):
            self._note_relu_subnormal()
            return self._run(relu_subnormal, (), self._array(X, dtype))
        return self._run(jax.nn.relu, (), self._array(X, dtype))

    def relu_vjp(self, X, dY):
        check_elementwise(X, dY)
        dtype = result_dtype(X, dY)
        if _has_subnormal(X, dtype):
            self._note_relu_subnormal()
            return self._run(relu_vjp_subnormal, (), self._array(X, dtype), self._array(dY, dtype))
        return self._grads(jax.nn.relu, (), dY, (X,), dtype)[0]

    def linear(self, X, W, b=None):
        check_dense(X, W, b)
        dtype = result_dtype(X, W) if b is None else result_dtype(X, W, b)
        bias = None if b is None else self._array(b, dtype)
        op = linear_exact if self._needs_exact("linear", dtype, X, W) else linear
        return self._run(op, (), self._array(X, dtype), self._array(W, dtype), bias)

    def linear_vjp(self, X, W, dY):
        check_dense(X, W, dY=dY)
        dtype = result_dtype(X, W, dY)
        if self._needs_exact("linear VJP", dtype, X, W, dY):
            arrays = (self._array(a, dtype) for a in (X, W, dY))
            return tuple(np.array(g) for g in _forward(linear_vjp_exact, (), *arrays))
        bias = np.zeros(np.shape(W)[0])
        dX, dW, db = self._grads(linear, (), dY, (X, W, bias), dtype)
        return dX, dW, db

    def flatten(self, X):
        check_flatten(X)
        return self._run(flatten, (), self._array(X, result_dtype(X)))

    def flatten_vjp(self, X, dY):
        check_flatten(X, dY)
        return self._grads(flatten, (), dY, (X,), result_dtype(X, dY))[0]

    def _loss_dtype(self, logits: Any, dtype: np.dtype) -> np.dtype:
        """float64 for float32 logits so large that ``z - max`` or the batch sum can overflow float32
        (the reference computes in float64: logits up to the largest finite give a finite loss)."""
        values = np.asarray(logits, dtype=np.float64)
        finite = np.abs(values[np.isfinite(values)])
        if dtype != np.float32 or not finite.size or 2 * finite.max() * len(values) < np.finfo(dtype).max:
            return dtype
        self.note(
            "float32 cross-entropy of logits near the largest finite value computed in float64, rounded"
            " once (in float32, z - max overflows to -inf and the loss to inf)"
        )
        return np.dtype(np.float64)

    def softmax_cross_entropy(self, logits, labels):
        check_cross_entropy(logits, labels)
        dtype = result_dtype(logits)
        compute = self._loss_dtype(logits, dtype)
        loss = self._run(cross_entropy, (), self._array(logits, compute), self._array(labels, np.int64))
        return dtype.type(loss)

    def softmax_cross_entropy_vjp(self, logits, labels, dloss=1.0):
        check_cross_entropy(logits, labels)
        check_real_array("dloss", dloss, 0)
        dtype = result_dtype(logits)
        compute = self._loss_dtype(logits, dtype)
        primals = (self._array(logits, compute),)
        labels = (self._array(labels, np.int64),)
        grad = _vjp(cross_entropy, (), self._array(dloss, compute), primals, labels)[0]
        return np.array(grad, dtype=dtype)

    # -- forward mode: jax.jvp ------------------------------------------------
    def _tangent(
        self, op: Callable, static: tuple, primals: Sequence[Any], tangents: Sequence[Any], dtype: Any
    ) -> np.ndarray:
        """The tangent output of ``jax.jvp`` of ``op(*static, *primals)`` along ``tangents``."""
        arrays = tuple(self._array(a, dtype) for a in primals)
        return np.array(_jvp(op, static, arrays, tuple(self._array(t, dtype) for t in tangents)))

    def conv2d_jvp(self, X, W, tX, tW, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups)
        check_tangent("tX", tX, X)
        check_tangent("tW", tW, W)
        return self._tangent(conv, (geometry,), (X, W), (tX, tW), result_dtype(X, W, tX, tW))

    def max_pool2d_jvp(self, X, tX, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
        )
        check_tangent("tX", tX, X)
        self._note_ceil_mode(geometry, np.shape(X))
        self.note(
            "max-pool JVP via jax.jvp of the window taps, each window's tangent at its first maximal"
            " real element, NaN maximal (reduce_window's own JVP chooses with >=; the custom VJP has none)"
        )
        dtype = result_dtype(X, tX)
        return self._run(max_pool_jvp, (geometry,), self._array(X, dtype), self._array(tX, dtype))

    def avg_pool2d_jvp(
        self, X, tX, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        geometry = check_pool2d(X, kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                                count_include_pad=count_include_pad)  # fmt: skip
        check_tangent("tX", tX, X)
        self._note_ceil_mode(geometry, np.shape(X))
        self._note_average(count_include_pad)
        static = (geometry, bool(count_include_pad))
        return self._tangent(avg_pool, static, (X,), (tX,), result_dtype(X, tX))

    def sigmoid_jvp(self, X, tX):
        check_elementwise(X)
        check_tangent("tX", tX, X)
        self.note("sigmoid JVP as tX * sigmoid(x) * sigmoid(-x) (jax.jvp's tX * y * (1 - y): 0 from x = 17)")
        return self._sigmoid_slope_times(X, tX)

    def relu_jvp(self, X, tX):
        check_elementwise(X)
        check_tangent("tX", tX, X)
        dtype = result_dtype(X, tX)
        if _has_subnormal(X, dtype):
            self._note_relu_subnormal()
            return self._run(relu_vjp_subnormal, (), self._array(X, dtype), self._array(tX, dtype))
        return self._tangent(jax.nn.relu, (), (X,), (tX,), dtype)

    def linear_jvp(self, X, W, tX, tW):
        check_dense(X, W)
        check_tangent("tX", tX, X)
        check_tangent("tW", tW, W)
        return self._tangent(linear, (), (X, W), (tX, tW), result_dtype(X, W, tX, tW))

    def flatten_jvp(self, X, tX):
        check_flatten(X)
        check_tangent("tX", tX, X)
        return self._tangent(flatten, (), (X,), (tX,), result_dtype(X, tX))

    def softmax_cross_entropy_jvp(self, logits, labels, tlogits):
        check_cross_entropy(logits, labels)
        check_tangent("tlogits", tlogits, logits)
        dtype = result_dtype(logits, tlogits)
        compute = self._loss_dtype(logits, dtype)
        primals = (self._array(logits, compute),)
        labels = (self._array(labels, np.int64),)
        tangent = _jvp(cross_entropy, (), primals, (self._array(tlogits, compute),), labels)
        return dtype.type(np.array(tangent))

    # -- LeNet -----------------------------------------------------------
    def lenet(self, variant="chapter", dtype="float32"):
        from backends.jax.lenet import JaxLeNet

        return JaxLeNet(variant, dtype, self._device)

    # -- benchmarks ------------------------------------------------------
    def prepare(self, op, *arrays, backward=False, dY=None, **kwargs):
        self._check_prepare(backward, dY)
        if op == "conv2d":
            static, forward = (check_conv2d(*arrays, dY=dY, **kwargs),), conv
        elif op == "max_pool2d":
            static, forward = (check_pool2d(*arrays, dY=dY, **kwargs),), max_pool
        elif op == "avg_pool2d":
            count_include_pad = bool(kwargs.get("count_include_pad", True))
            static, forward = (check_pool2d(*arrays, dY=dY, **kwargs), count_include_pad), avg_pool
        else:
            raise ValueError(f"prepare supports conv2d, max_pool2d and avg_pool2d, got op={op!r}")
        dtype = result_dtype(*arrays)
        inputs = tuple(self._array(a, dtype) for a in arrays)
        if backward:
            seed = self._array(dY, dtype)

            def run() -> tuple[jax.Array, tuple[jax.Array, ...]]:
                return jax.block_until_ready(_optimised_step(forward, static, seed, inputs))

            def to_numpy(outputs: tuple[jax.Array, tuple[jax.Array, ...]]) -> tuple[np.ndarray, ...]:
                return tuple(np.array(grad) for grad in outputs[1])

        else:

            def run() -> jax.Array:
                return _optimised_forward(forward, static, *inputs).block_until_ready()

            def to_numpy(output: jax.Array) -> tuple[np.ndarray, ...]:
                return (np.array(output),)

        run()  # compile now, so no timed call includes jit compilation
        return Prepared(run, to_numpy)
