"""MXNet adapter: legacy ``mx.nd`` ops and ``mx.autograd`` gradients (MXNet 1.9.1, the last release).

Quirks handled here, as measured on MXNet 1.9.1 (each call that needs one records a note):
- Legacy ``mx.nd`` shapes read a 0 dimension as "unknown": ``mx.nd.array`` refuses
  zero-size arrays and ``reshape`` divides by them (SIGFPE). Zero-size inputs get
  results of the reference's shape without MXNet: empty, or zero gradients
  (``dW``, ``db`` of an empty batch, from ``mx.nd.zeros``).
- ``Convolution`` pads symmetrically only: asymmetric or TensorFlow-"same"
  padding goes through ``mx.nd.pad``.
- ``Pooling`` pads symmetrically (any pad below the window): asymmetric, "same"
  and "same_lower" pooling pads with ``mx.nd.pad`` (max: strided slices and a
  pick; average: sum pools over a sum-pooled mask of the counted cells).
- ``Pooling``'s ``pooling_convention="full"`` rounds up like ceil_mode but keeps
  a last window that starts in the bottom/right padding: it is sliced off.
- With a ceil_mode window hanging past the padded input, MKL-DNN's float32
  average pooling gets the gradient's divisor wrong (it counts the overhang)
  or, without count_include_pad, fails, and ``Pooling`` refuses a window larger
  than the padded input: such average pools are sum pools of the input padded
  by hand, divided by a sum-pooled mask of the cells the divisor counts.
- ``Pooling`` has no dilation, skips NaN, starts a max from the lowest finite
  number (a window of -inf gives -FLT_MAX; MKL-DNN's padding ties a real
  -FLT_MAX and takes its gradient) and refuses a window larger than the padded
  input: such max pools pick among strided slices (``argmax`` + ``pick``), where
  a window whose maximum is -inf picks its first real element, never padding.
- ``relu``'s backward multiplies dY by ``x > 0``: NaN at x = NaN, and where a NaN
  or infinite dY meets x <= 0 (the reference's is 0): such inputs take the
  gradient of ``where(x > 0, x, 0)``.
- ``Pooling``'s stride defaults to 1, not to the window: it is always passed.
- autograd's sigmoid gradient ``dY * y * (1 - y)`` flushes the positive tail:
  the VJP is ``dY * sigmoid(x) * sigmoid(-x)``; an infinite dY at a finite x
  (inf times a derivative that underflows to 0 is NaN) is passed through ``where``.
- ``log_softmax``'s float32 output (MKL-DNN) is off by up to 64 u (absolute; 24 u
  with one class, where the loss is exactly 0) and it and ``softmax`` skip NaN: the
  loss is ``z - max - log(sum(exp(z - max)))`` from ``mx.nd`` ops (IEEE: a row whose
  maximum is NaN or infinite gives NaN), in float64 where ``z - max`` or the sum of
  the row losses could overflow float32 (the reference computes in float64). The
  gradient (log_softmax's backward would carry its error) is ``(softmax(z) -
  one_hot(labels)) * dloss / n``, plus ``max - max`` (NaN in such rows) where the
  logits are not all finite.
Native and matching: the average divisors of the forward pass (both
count_include_pad settings, the ceil overhang never counted) and max-pool
gradient ties (first maximum).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from backends.base import Backend, Prepared, UnsupportedError
from backends.devices import resolve_device
from backends.mxnet.ops import NDArray, full_convention, max_pool_taps, mx, relu_by_where
from reference.dtypes import BFLOAT16, finfo
from reference.shapes import ConvGeometry, PoolGeometry
from reference.validation import (
    check_conv2d,
    check_cross_entropy,
    check_dense,
    check_elementwise,
    check_flatten,
    check_pool2d,
    check_real_array,
    result_dtype,
)

# MXNet 1.9.1's own messages for float16 on the CPU.
NO_FLOAT16_GEMM = {
    "Convolution": "'FP16 gemm on cpu not implemented!'",
    "FullyConnected": "'float16 fully connected layer is currently only supported by CuDNN version'",
}
NO_BFLOAT16 = (
    "MXNet 1.9.1's bfloat16 is a NumPy structured dtype of its own ([('bfloat16', uint16)]) that mx.nd.array"
    " cannot take from ml_dtypes' bfloat16, and on this CPU its oneDNN Convolution, Pooling and"
    " FullyConnected have no bfloat16 primitive ('could not create a primitive descriptor iterator')"
)


class MXNetBackend(Backend):
    """The reference's ops computed by MXNet on ``device`` ("auto": the GPU when present)."""

    name = "mxnet"
    framework = "mxnet"

    # Measured (conformance/accumulation.py): float16 average pooling sums in float32 (99.4% correctly
    # rounded), its VJP in float16 (36%); conv and dense have no float16 kernel on the CPU.
    float32_sums: ClassVar[dict[str, frozenset[str]]] = {"float16": frozenset({"avg_pool2d"})}

    def __init__(self, device: str = "auto") -> None:
        super().__init__()
        self.device = resolve_device(device, mx.context.num_gpus(), "gpu")
        self.framework_version = mx.__version__
        if self.device == "cpu":
            self._context = mx.cpu()
            mkldnn = mx.runtime.Features().is_enabled("MKLDNN")
            mkldnn = mkldnn and os.environ.get("MXNET_MKLDNN_ENABLED") != "0"
            self.precision = f"ieee float32 (CPU, MKL-DNN {'on' if mkldnn else 'off'})"
        else:
            self._context = mx.gpu(int(self.device.partition(":")[2]))
            # cuDNN autotuning picks algorithms by timing (results vary run to
            # run); TF32 would round float32 inputs to 10 mantissa bits.
            os.environ["MXNET_CUDNN_AUTOTUNE_DEFAULT"] = "0"
            os.environ["NVIDIA_TF32_OVERRIDE"] = "0"
            self.precision = "ieee float32, TF32 off, cuDNN autotune off"

    @classmethod
    def thread_environment(cls, threads: int) -> dict[str, str]:
        """The base's pools and MXNet's CPU worker threads (read when MXNet starts)."""
        return {**super().thread_environment(threads), "MXNET_CPU_WORKER_NTHREADS": str(threads)}

    def enable_determinism(self) -> str:
        """None for the CPU: ``MXNET_ENFORCE_DETERMINISM=1`` only restricts GPU kernels (cuDNN's
        algorithm choice and atomics); on a GPU it is set here, before the first GPU op."""
        if self.device == "cpu":
            raise UnsupportedError(
                "MXNet's switch, MXNET_ENFORCE_DETERMINISM=1, restricts GPU kernels only; its CPU "
                "operators have none"
            )
        os.environ["MXNET_ENFORCE_DETERMINISM"] = "1"
        return "MXNET_ENFORCE_DETERMINISM=1"

    # -- conversions -----------------------------------------------------
    def _array(self, array: Any, dtype: np.dtype) -> NDArray:
        if dtype == BFLOAT16:
            raise UnsupportedError(NO_BFLOAT16)
        array = np.asarray(array, dtype=dtype)
        if array.size == 0 or array.ndim == 0:
            # MXNet's NumPy shape mode (mx.util.set_np_shape) would allow them, but breaks Gluon.
            raise UnsupportedError(f"legacy mx.nd arrays cannot be 0-d or empty, got shape {array.shape}")
        return mx.nd.array(array, ctx=self._context, dtype=dtype)

    def _zero_size(self, *arrays: Any) -> bool:
        """Whether an input is empty; legacy ``mx.nd`` reads a 0 dimension as "unknown"
        (``mx.nd.array`` refuses it, ``reshape`` divides by it), so such calls get
        results of the reference's shape without MXNet: empty, or zero gradients."""
        if any(np.size(a) == 0 for a in arrays):
            self.note(
                "zero-size input: an empty result or zero gradients (legacy mx.nd arrays cannot be empty)"
            )
            return True
        return False

    def _zeros(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """Zeros of ``shape``, from MXNet where the shape is not empty."""
        if 0 in shape:
            return np.zeros(shape, dtype=dtype)
        return mx.nd.zeros(shape, ctx=self._context, dtype=dtype).asnumpy()

    def _grads(
        self, forward: Callable[..., NDArray], inputs: Sequence[Any], dY: Any, dtype: np.dtype
    ) -> list[np.ndarray]:
        """Gradients of ``sum(forward(*inputs) * dY)`` with respect to every input."""
        arrays = [self._array(a, dtype) for a in inputs]
        for array in arrays:
            array.attach_grad()
        with mx.autograd.record():
            output = forward(*arrays)
        output.backward(self._array(dY, dtype))
        return [array.grad.asnumpy() for array in arrays]

    # -- convolution -----------------------------------------------------
    def _conv(self, geometry: ConvGeometry, out_channels: int) -> Callable[..., NDArray]:
        (top, bottom), (left, right) = geometry.padding
        symmetric = top == bottom and left == right

        def conv(x: NDArray, w: NDArray, b: NDArray | None = None) -> NDArray:
            if not symmetric:
                x = mx.nd.pad(x, mode="constant", pad_width=(0, 0, 0, 0, top, bottom, left, right))
            return mx.nd.Convolution(
                x,
                w,
                b,
                kernel=geometry.kernel_size,
                stride=geometry.stride,
                dilate=geometry.dilation,
                pad=(top, left) if symmetric else (0, 0),
                num_filter=out_channels,
                num_group=geometry.groups,
                no_bias=b is None,
            )

        if not symmetric:
            self.note("asymmetric padding via mx.nd.pad (Convolution pads symmetrically)")
        return conv

    @staticmethod
    def _check_gemm_dtype(dtype: np.dtype, layer: str) -> None:
        """Refuse float16 before MXNet runs: its CPU gemm has none, and the engine's error would
        surface asynchronously, in a later call."""
        if dtype == np.float16:
            raise UnsupportedError(f"MXNet's CPU {layer} has no float16 kernel ({NO_FLOAT16_GEMM[layer]})")

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        dtype = result_dtype(X, W) if b is None else result_dtype(X, W, b)
        self._check_gemm_dtype(dtype, "Convolution")
        if self._zero_size(X):  # an empty batch
            return self._zeros(geometry.output_shape(0, np.shape(W)[0]), dtype)
        conv = self._conv(geometry, np.shape(W)[0])
        bias = None if b is None else self._array(b, dtype)
        return conv(self._array(X, dtype), self._array(W, dtype), bias).asnumpy()

    def conv2d_vjp(self, X, W, dY, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups, dY=dY)
        out_channels, dtype = np.shape(W)[0], result_dtype(X, W, dY)
        self._check_gemm_dtype(dtype, "Convolution")
        if self._zero_size(X):  # an empty batch: no gradient reaches W or b
            return (
                self._zeros(np.shape(X), dtype),
                self._zeros(np.shape(W), dtype),
                self._zeros((out_channels,), dtype),
            )
        conv = self._conv(geometry, out_channels)
        dX, dW, db = self._grads(conv, (X, W, np.zeros(out_channels)), dY, dtype)
        return dX, dW, db

    # -- pooling ---------------------------------------------------------
    def _pool(
        self, geometry: PoolGeometry, size: tuple[int, ...], pool_type: str, count_include_pad: bool = True
    ) -> Callable[[NDArray], NDArray]:
        """Native ``Pooling`` of an input of spatial ``size``; with ceil_mode, minus a
        last window that starts in the bottom/right padding."""
        out_h, out_w = geometry.output_size
        drop = geometry.ceil_mode and full_convention(geometry, size)[0] != geometry.output_size
        if drop:
            self.note(
                "ceil_mode via pooling_convention='full' and a slice"
                " ('full' keeps a last window that starts in the bottom/right padding)"
            )

        def pool(x: NDArray) -> NDArray:
            y = mx.nd.Pooling(
                x,
                kernel=geometry.kernel_size,
                stride=geometry.stride,
                pad=geometry.symmetric_padding(),
                pool_type=pool_type,
                pooling_convention="full" if geometry.ceil_mode else "valid",
                count_include_pad=count_include_pad,
            )
            return mx.nd.slice(y, begin=(None, None, 0, 0), end=(None, None, out_h, out_w)) if drop else y

        return pool

    def _max_pool(self, geometry: PoolGeometry, X: np.ndarray) -> Callable[[NDArray], NDArray]:
        if geometry.symmetric_padding() is None:
            self.note(
                "max pooling with asymmetric padding via strided slices, argmax and pick"
                " (Pooling pads symmetrically)"
            )
            return max_pool_taps(geometry)
        if geometry.dilation != (1, 1):
            self.note("dilated max pooling via strided slices, argmax and pick (Pooling has no dilation)")
            return max_pool_taps(geometry)
        lowest = finfo(result_dtype(X)).min
        if not np.greater(X, lowest).all():  # false at NaN too
            # MKL-DNN pads with the lowest finite value, which then ties a real one and takes its gradient.
            self.note(
                "max pooling of NaN, -inf or the lowest finite value via strided slices, argmax and pick"
                " (Pooling skips NaN, gives -FLT_MAX for a window of -inf, and its padding ties -FLT_MAX)"
            )
            return max_pool_taps(geometry)
        if self._window_past_input(geometry, X.shape[2:]):
            self.note(
                "max pooling of a window larger than the padded input via strided slices, argmax and pick"
            )
            return max_pool_taps(geometry)
        return self._pool(geometry, X.shape[2:], "max")

    @staticmethod
    def _window_past_input(geometry: PoolGeometry, size: tuple[int, ...]) -> bool:
        """Whether the window exceeds the padded input (possible with ceil_mode): Pooling refuses it."""
        pairs = zip(geometry.kernel_size, size, geometry.symmetric_padding() or (0, 0), strict=True)
        return any(k > n + 2 * p for k, n, p in pairs)

    def _avg_pool(
        self, geometry: PoolGeometry, size: tuple[int, ...], count_include_pad: bool
    ) -> Callable[[NDArray], NDArray]:
        symmetric = geometry.symmetric_padding() is not None
        if symmetric and not (geometry.ceil_mode and full_convention(geometry, size)[1]):
            return self._pool(geometry, size, "avg", count_include_pad)
        if not symmetric:
            self.note(
                "average pooling with asymmetric padding via sum pooling of the padded input over a"
                " sum-pooled mask of the counted cells (Pooling pads symmetrically)"
            )
        else:
            self.note(
                "ceil_mode average pooling via sum pooling of the padded input over a sum-pooled mask of the"
                " counted cells (MKL-DNN's float32 avg-pool gradient counts the ceil overhang in the divisor"
                " and, without count_include_pad, fails on a window past the input; Pooling refuses a window"
                " larger than the padded input)"
            )
        ((top, bottom), (left, right)), (h, w) = geometry.padding, size
        # Zeros past the bottom/right padding hold every ceil_mode window whole; both are pooled unpadded.
        (_, held_bottom), (_, held_right) = geometry.window_padding(size)
        unpadded = replace(geometry, padding=((0, 0), (0, 0)), ceil_mode=False)
        total = self._pool(unpadded, (h + top + held_bottom, w + left + held_right), "sum")

        def pool(x: NDArray) -> NDArray:
            padded = mx.nd.pad(
                x,
                mode="constant",
                constant_value=0,
                pad_width=(0, 0, 0, 0, top, held_bottom, left, held_right),
            )
            # The divisor's cells: the input, the padding if count_include_pad, never the overhang.
            mask = mx.nd.pad(
                mx.nd.ones((1, 1, h, w), ctx=x.context, dtype=x.dtype),
                mode="constant",
                constant_value=float(count_include_pad),
                pad_width=(0, 0, 0, 0, top, bottom, left, right),
            )
            mask = mx.nd.pad(
                mask,
                mode="constant",
                constant_value=0,
                pad_width=(0, 0, 0, 0, 0, held_bottom - bottom, 0, held_right - right),
            )
            return mx.nd.broadcast_div(total(padded), total(mask))

        return pool

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
        )
        X = np.asarray(X)
        if self._zero_size(X):  # an empty batch
            return self._zeros((*X.shape[:2], *geometry.output_size), result_dtype(X))
        return self._max_pool(geometry, X)(self._array(X, result_dtype(X))).asnumpy()

    def max_pool2d_vjp(self, X, dY, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode, dY=dY
        )
        X = np.asarray(X)
        if self._zero_size(X):  # an empty batch
            return self._zeros(X.shape, result_dtype(X, dY))
        return self._grads(self._max_pool(geometry, X), (X,), dY, result_dtype(X, dY))[0]

    def avg_pool2d(self, X, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        geometry = check_pool2d(
            X,
            kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )
        X = np.asarray(X)
        if self._zero_size(X):  # an empty batch
            return self._zeros((*X.shape[:2], *geometry.output_size), result_dtype(X))
        pool = self._avg_pool(geometry, X.shape[2:], count_include_pad)
        return pool(self._array(X, result_dtype(X))).asnumpy()

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
        X = np.asarray(X)
        if self._zero_size(X):  # an empty batch
            return self._zeros(X.shape, result_dtype(X, dY))
        pool = self._avg_pool(geometry, X.shape[2:], count_include_pad)
        return self._grads(pool, (X,), dY, result_dtype(X, dY))[0]

    # -- activations, dense, loss -----------------------------------------
    def sigmoid(self, X):
        check_elementwise(X)
        if self._zero_size(X):
            return self._zeros(np.shape(X), result_dtype(X))
        return mx.nd.sigmoid(self._array(X, result_dtype(X))).asnumpy()

    def sigmoid_vjp(self, X, dY):
        check_elementwise(X, dY)
        dtype = result_dtype(X, dY)
        if self._zero_size(X):
            return self._zeros(np.shape(X), dtype)
        self.note("sigmoid VJP as dY * sigmoid(x) * sigmoid(-x) (autograd's dY * y * (1 - y): 0 from x = 17)")
        x, dy = self._array(X, dtype), self._array(dY, dtype)
        grad = dy * mx.nd.sigmoid(x) * mx.nd.sigmoid(-x)
        if np.isinf(dY).any():
            # The derivative is positive at every finite x: an infinite dY gives that infinity
            # there, not the NaN of inf * 0 where the derivative underflows the dtype.
            self.note("sigmoid VJP of an infinite dY at a finite x via where (inf * an underflowed 0 is NaN)")
            # v - v is 0 where v is finite, NaN where it is NaN or infinite (MXNet's scalars cannot be inf).
            infinite_dy = (dy - dy != 0) * (dy == dy)
            grad = mx.nd.where(infinite_dy * (x - x == 0), dy, grad)
        return grad.asnumpy()

    def relu(self, X):
        check_elementwise(X)
        if self._zero_size(X):
            return self._zeros(np.shape(X), result_dtype(X))
        return mx.nd.relu(self._array(X, result_dtype(X))).asnumpy()

    def relu_vjp(self, X, dY):
        check_elementwise(X, dY)
        if self._zero_size(X):
            return self._zeros(np.shape(X), result_dtype(X, dY))
        relu = mx.nd.relu
        if np.isnan(X).any() or not np.isfinite(dY).all():
            # relu's backward multiplies dY by (x > 0): NaN at x = NaN, and NaN where dY is
            # NaN or inf at x <= 0; where's backward selects dY instead.
            self.note(
                "relu gradient via where(x > 0, x, 0) (relu's backward gives NaN at x = NaN"
                " and where a NaN or infinite dY meets x <= 0)"
            )
            relu = relu_by_where
        return self._grads(relu, (X,), dY, result_dtype(X, dY))[0]

    @staticmethod
    def _linear(x: NDArray, w: NDArray, b: NDArray | None = None) -> NDArray:
        return mx.nd.FullyConnected(x, w, b, num_hidden=w.shape[0], no_bias=b is None)

    def linear(self, X, W, b=None):
        check_dense(X, W, b)
        dtype = result_dtype(X, W) if b is None else result_dtype(X, W, b)
        self._check_gemm_dtype(dtype, "FullyConnected")
        if self._zero_size(X):  # an empty batch
            return self._zeros((0, np.shape(W)[0]), dtype)
        bias = None if b is None else self._array(b, dtype)
        return self._linear(self._array(X, dtype), self._array(W, dtype), bias).asnumpy()

    def linear_vjp(self, X, W, dY):
        check_dense(X, W, dY=dY)
        out, dtype = np.shape(W)[0], result_dtype(X, W, dY)
        self._check_gemm_dtype(dtype, "FullyConnected")
        if self._zero_size(X):  # an empty batch: no gradient reaches W or b
            return (
                self._zeros(np.shape(X), dtype),
                self._zeros(np.shape(W), dtype),
                self._zeros((out,), dtype),
            )
        dX, dW, db = self._grads(self._linear, (X, W, np.zeros(out)), dY, dtype)
        return dX, dW, db

    @staticmethod
    def _flatten(x: NDArray) -> NDArray:
        return mx.nd.reshape(x, shape=(0, -1))  # 0 keeps the batch axis

    def flatten(self, X):
        check_flatten(X)
        if self._zero_size(X):  # keeps its shape's product: (0, 3, 2) -> (0, 6), (4, 0) -> (4, 0)
            return self._zeros(
                (np.shape(X)[0], int(np.prod(np.shape(X)[1:], dtype=np.int64))), result_dtype(X)
            )
        return self._flatten(self._array(X, result_dtype(X))).asnumpy()

    def flatten_vjp(self, X, dY):
        check_flatten(X, dY)
        if self._zero_size(X):
            return self._zeros(np.shape(X), result_dtype(X, dY))
        return self._grads(self._flatten, (X,), dY, result_dtype(X, dY))[0]

    def _nan_rows(self, logits: Any) -> bool:
        """Whether a row of ``logits`` may hold NaN, +inf or only -inf, which the reference's
        ``z - max(z)`` makes NaN (``softmax`` skips NaN)."""
        if np.isfinite(logits).all():
            return False
        self.note(
            "loss gradient rows whose maximum is NaN or infinite made NaN by adding max - max"
            " (softmax skips NaN)"
        )
        return True

    @staticmethod
    def _log_softmax(z: NDArray) -> NDArray:
        """``z - max - log(sum(exp(z - max)))`` along axis 1, IEEE throughout: a row whose maximum
        is NaN (MXNet's max reduction propagates NaN) or infinite gives NaN, a -inf logit -inf."""
        shifted = mx.nd.broadcast_sub(z, mx.nd.max(z, axis=1, keepdims=True))
        return mx.nd.broadcast_sub(shifted, mx.nd.log(mx.nd.sum(mx.nd.exp(shifted), axis=1, keepdims=True)))

    def softmax_cross_entropy(self, logits, labels):
        check_cross_entropy(logits, labels)
        dtype = result_dtype(logits)
        # log_softmax: MKL-DNN's float32 kernel is off by up to 64 u (24 u with one class, where the
        # loss is exactly 0) and skips NaN; its own formula from mx.nd ops is within a few u.
        self.note(
            "loss as z - max - log(sum(exp(z - max))) from mx.nd ops"
            " (MKL-DNN's log_softmax: error 64 u, skips NaN)"
        )
        finite = np.abs(logits, where=np.isfinite(logits), out=np.zeros(np.shape(logits)))
        compute = dtype
        if dtype != np.float64 and 4.0 * len(finite) * finite.max() > np.finfo(dtype).max:
            # z - max, or the sum of the row losses, would overflow where the reference's float64 does not.
            self.note(
                "loss of logits near the dtype's largest value computed in float64 (z - max would overflow)"
            )
            compute = np.dtype(np.float64)
        z = self._array(logits, compute)
        target = self._array(labels, compute)  # pick takes float indices; exact below 2**24 classes
        loss = -mx.nd.mean(mx.nd.pick(self._log_softmax(z), target, axis=1))
        return dtype.type(loss.asscalar())

    def softmax_cross_entropy_vjp(self, logits, labels, dloss=1.0):
        check_cross_entropy(logits, labels)
        check_real_array("dloss", dloss, 0)
        dtype = result_dtype(logits)
        self.note("loss gradient as (softmax(z) - one_hot) * dloss / n (log_softmax backward: error 64 u)")
        z = self._array(logits, dtype)
        onehot = mx.nd.one_hot(self._array(labels, dtype), depth=z.shape[1], dtype=dtype)
        grad = (mx.nd.softmax(z, axis=1) - onehot) * (float(dloss) / z.shape[0])
        if self._nan_rows(logits):
            top = mx.nd.max(z, axis=1, keepdims=True)  # NaN wins in MXNet's max reduction
            grad = mx.nd.broadcast_add(grad, top - top)
        return grad.asnumpy()

    # -- LeNet -----------------------------------------------------------
    def lenet(self, variant="chapter", dtype="float32"):
        from backends.mxnet.lenet import MXNetLeNet

        return MXNetLeNet(variant, dtype, self._context)

    # -- benchmarks ------------------------------------------------------
    def prepare(self, op, *arrays, backward=False, dY=None, **kwargs):
        self._check_prepare(backward, dY)
        dtype = result_dtype(*arrays)
        if op == "conv2d":
            forward = self._conv(check_conv2d(*arrays, dY=dY, **kwargs), np.shape(arrays[1])[0])
        elif op == "max_pool2d":
            forward = self._max_pool(check_pool2d(*arrays, dY=dY, **kwargs), np.asarray(arrays[0]))
        elif op == "avg_pool2d":
            geometry, size = check_pool2d(*arrays, dY=dY, **kwargs), np.shape(arrays[0])[2:]
            forward = self._avg_pool(geometry, size, kwargs.get("count_include_pad", True))
        else:
            raise ValueError(f"prepare supports conv2d, max_pool2d and avg_pool2d, got op={op!r}")
        inputs = [self._array(a, dtype) for a in arrays]

        def to_numpy(outputs: Sequence[NDArray]) -> tuple[np.ndarray, ...]:
            return tuple(output.asnumpy() for output in outputs)

        if not backward:

            def run() -> list[NDArray]:
                output = forward(*inputs)
                mx.nd.waitall()
                return [output]

            return Prepared(run, to_numpy)
        for array in inputs:
            array.attach_grad()
        seed = self._array(dY, dtype)

        def run_backward() -> list[NDArray]:
            with mx.autograd.record():
                output = forward(*inputs)
            output.backward(seed)
            mx.nd.waitall()
            return [array.grad for array in inputs]

        return Prepared(run_backward, to_numpy)
