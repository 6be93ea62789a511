"""PyTorch adapter: ``torch.nn.functional`` ops and ``torch.autograd`` gradients.

Quirks handled here (each call that needs one records a note):
- ``F.conv2d`` pads symmetrically only and its ``padding='same'`` refuses
  stride > 1, so asymmetric or TensorFlow-"same" padding goes through ``F.pad``.
- Max pooling, average pooling, ceil_mode and count_include_pad match the
  reference natively (the reference follows PyTorch's rules) for symmetric pads
  up to ``kernel_size // 2``; other pads (asymmetric, "same", "same_lower", up
  to ``kernel_size - 1``) go through ``F.pad`` and pooling at padding 0, the
  average divided by the reference's divisors (``divisor_override=1`` sums).
- TF32 is switched off for matmuls and cuDNN convolutions on GPUs.
- ``torch.relu(-0.0)`` is -0.0 (the reference: +0.0) and autograd's sigmoid
  backward ``dY * y * (1 - y)`` flushes the positive tail: both emulated.
- At NaN, autograd's relu backward passes dY through (the reference: 0) and
  the max-pool backward sends a window's gradient to its last NaN (the
  reference: the first): inputs with NaN take emulated gradients.
- The sigmoid VJP runs in float64 as ``dY * e / (1 + e)**2`` with
  ``e = exp(-|x|)``; an infinite dY at a finite x gives that infinity.
- ``F.conv2d``'s forward skips padding taps (a NaN or inf weight there adds
  nothing; the reference multiplies the padding's zeros): such weights take
  explicit ``F.pad`` padding.
- ``torch.flatten(x, 1)`` refuses 1-D inputs: those are reshaped to (N, 1).
- ``F.cross_entropy`` of float32 logits near the largest finite value
  overflows in ``z - max``: such logits are computed in float64.
- ``torch.as_tensor`` refuses negative strides: such arrays (labels too) are copied.
- Forward mode is ``torch.func.jvp``; the max-pool JVP of NaN or empty windows gathers tX at
  the emulated indices, ReLU's at NaN goes through ``where`` and sigmoid's is the VJP's
  float64 arithmetic (its native ``tX * y * (1 - y)`` flushes the positive tail).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)

from backends.base import Backend, Prepared, bfloat16_with_non_finite
from backends.devices import resolve_device, tf32_requested
from backends.torch.lenet import to_numpy, to_tensor
from reference.dtypes import BFLOAT16
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

_TORCH_DTYPES = {
    np.dtype(np.float16): torch.float16,
    BFLOAT16: torch.bfloat16,
    np.dtype(np.float32): torch.float32,
}


def _relu_by_where(x: torch.Tensor) -> torch.Tensor:
    """ReLU whose gradient is 0 wherever ``x > 0`` is false, NaN included."""
    return torch.where(x > 0, x, 0.0)


class TorchBackend(Backend):
    """The reference's ops computed by PyTorch on ``device`` ("auto": CUDA when present)."""

    name = "torch"
    framework = "torch"

    # Measured (conformance/accumulation.py): the forward conv, the dense layer and its VJP and
    # average pooling sum half precision in float32 and round once (all but 0.1% of the elements
    # correctly rounded); the conv VJP (dX 43%, dW 71%) and the avg-pool VJP (36%) round in the dtype
    # (the conv VJP sums in float32 too on a CPU with AVX512-BF16: see __init__).
    float32_sums: ClassVar[dict[str, frozenset[str]]] = dict.fromkeys(
        ("float16", "bfloat16"), frozenset({"conv2d", "linear", "linear_vjp", "avg_pool2d"})
    )

    def __init__(self, device: str = "auto") -> None:
        super().__init__()
        self.device = resolve_device(device, torch.cuda.device_count(), "cuda")
        self.framework_version = torch.__version__
        if self.device == "cpu" and torch.cpu._is_avx512_bf16_supported():
            # Measured on an AMD Zen 5: oneDNN's AVX512-BF16 kernels sum the conv VJP's bfloat16
            # products in float32 (every element of dX, dW and db correctly rounded).
            wide = self.float32_sums["bfloat16"] | {"conv2d_vjp"}
            self.float32_sums = {**self.float32_sums, "bfloat16": wide}
        # Conformance needs IEEE float32: TF32 would round conv and matmul inputs to 10 mantissa
        # bits on Ampere and newer GPUs. Only the TF32 run of nox -s gpu-check turns it on.
        tf32 = tf32_requested()
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        self.precision = (
            f"{'TF32 on' if tf32 else 'ieee float32, TF32 off'} ({torch.cuda.get_device_name(self.device)})"
            if self.device != "cpu"
            else f"ieee float32 (CPU, {torch.get_num_threads()} threads)"
        )

    def enable_determinism(self) -> str:
        """``torch.use_deterministic_algorithms(True)``; on CUDA also the cuBLAS workspace setting
        it requires (``CUBLAS_WORKSPACE_CONFIG=:4096:8``, read when cuBLAS starts)."""
        if self.device != "cpu":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        return "torch.use_deterministic_algorithms(True)"

    # -- conversions -----------------------------------------------------
    def _tensor(self, array: Any, dtype: np.dtype, requires_grad: bool = False) -> torch.Tensor:
        torch_dtype = _TORCH_DTYPES.get(dtype, torch.float64)
        array = np.asarray(array)
        # torch cannot wrap views with negative strides, and warns on read-only arrays (it would
        # share their memory); such inputs are copied first.
        if any(stride < 0 for stride in array.strides) or not array.flags.writeable:
            array = array.copy()
        tensor = to_tensor(array, self.device).to(torch_dtype)
        return tensor.requires_grad_(requires_grad)

    @staticmethod
    def _numpy(tensor: torch.Tensor) -> np.ndarray:
        # as_tensor does not copy, and a view op such as flatten returns the caller's input: a copy.
        return to_numpy(tensor)

    def _grads(
        self, forward: Callable[..., torch.Tensor], inputs: Sequence[Any], dY: Any, dtype: np.dtype
    ) -> list[np.ndarray]:
        """Gradients of ``sum(forward(*inputs) * dY)`` with respect to every input."""
        tensors = [self._tensor(a, dtype, requires_grad=True) for a in inputs]
        output = forward(*tensors)
        grads = torch.autograd.grad(output, tensors, self._tensor(dY, dtype))
        return [self._numpy(g) for g in grads]

    # -- convolution -----------------------------------------------------
    def _conv(self, geometry: Any, explicit_padding: bool = False) -> Callable[..., torch.Tensor]:
        (top, bottom), (left, right) = geometry.padding
        symmetric = (top == bottom and left == right) and not explicit_padding

        def conv(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
            if not symmetric:
                x = F.pad(x, (left, right, top, bottom))
            padding = (top, left) if symmetric else 0
            return F.conv2d(x, w, b, geometry.stride, padding, geometry.dilation, geometry.groups)

        if not (top == bottom and left == right):
            self.note("asymmetric padding via F.pad (F.conv2d pads symmetrically)")
        return conv

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        dtype = result_dtype(X, W) if b is None else result_dtype(X, W, b)
        # F.conv2d's forward skips the taps that fall in its padding, so a NaN or inf weight there
        # contributes nothing; the reference multiplies the zeros of the padding (0 * inf is NaN).
        explicit_padding = any(map(any, geometry.padding)) and not np.isfinite(W).all()
        if explicit_padding:
            self.note("conv2d padding via F.pad where W holds NaN or inf (F.conv2d skips 0 * W in padding)")
        conv = self._conv(geometry, explicit_padding)
        bias = None if b is None else self._tensor(b, dtype)
        # oneDNN's AVX512-BF16 kernels give NaN for some sums of infinite products of one sign (an
        # AMD Zen 5: conv2d-inf-bf16); float32 products of bfloat16 values are exact and their sum
        # is IEEE, so a non-finite bfloat16 call is computed in float32 and rounded once.
        wide = bfloat16_with_non_finite(dtype, X, W, b)
        if wide:
            self.note("bfloat16 conv2d of inf or NaN computed in float32, rounded once (AVX512-BF16 kernels)")
        with torch.no_grad():
            if wide:
                x, w = (self._tensor(a, dtype).float() for a in (X, W))
                return self._numpy(conv(x, w, None if bias is None else bias.float()).to(torch.bfloat16))
            return self._numpy(conv(self._tensor(X, dtype), self._tensor(W, dtype), bias))

    def conv2d_vjp(self, X, W, dY, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups, dY=dY)
        dtype = result_dtype(X, W, dY)
        bias = np.zeros(np.shape(W)[0])
        dX, dW, db = self._grads(self._conv(geometry), (X, W, bias), dY, dtype)
        return dX, dW, db

    # -- pooling ---------------------------------------------------------
    def _pool_pads(self, geometry: PoolGeometry, size: Sequence[int]) -> tuple[int, int, int, int] | None:
        """``F.pad``'s (left, right, top, bottom) that hold every window, where the native pooling
        cannot pad (asymmetric pads, or pads over its limit of ``kernel_size // 2``); else None."""
        symmetric = geometry.symmetric_padding()
        if symmetric is not None and all(
            p <= k // 2 for p, k in zip(symmetric, geometry.kernel_size, strict=True)
        ):
            return None
        self.note(
            "pool padding that is asymmetric or over half the window via F.pad and pooling at padding 0"
            " in floor mode (F.max_pool2d and F.avg_pool2d pad symmetrically, at most kernel_size // 2)"
        )
        (top, bottom), (left, right) = geometry.window_padding(tuple(size))
        return left, right, top, bottom

    def _max_pool(
        self, geometry: PoolGeometry, size: Sequence[int], return_indices: bool = False
    ) -> Callable[[torch.Tensor], Any]:
        """Max pooling of x (N, C, H, W); with ``return_indices``, positions in the padded plane."""
        kernel, stride, dilation = geometry.kernel_size, geometry.stride, geometry.dilation
        pads = self._pool_pads(geometry, size)
        if pads is None:
            padding, ceil_mode = geometry.symmetric_padding(), geometry.ceil_mode
            return lambda x: F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices)
        return lambda x: F.max_pool2d(
            F.pad(x, pads, value=-torch.inf), kernel, stride, 0, dilation, False, return_indices
        )

    def _avg_pool(
        self, geometry: PoolGeometry, size: Sequence[int], count_include_pad: bool
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        kernel, stride = geometry.kernel_size, geometry.stride
        pads = self._pool_pads(geometry, size)
        if pads is None:
            padding, ceil_mode = geometry.symmetric_padding(), geometry.ceil_mode
            return lambda x: F.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad)
        divisors = geometry.divisors(tuple(size), count_include_pad)

        def average(x: torch.Tensor) -> torch.Tensor:
            total = F.avg_pool2d(F.pad(x, pads), kernel, stride, 0, False, True, divisor_override=1)
            return total / torch.as_tensor(divisors, dtype=x.dtype, device=x.device)

        return average

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
        )
        with torch.no_grad():
            return self._numpy(self._max_pool(geometry, np.shape(X)[2:])(self._tensor(X, result_dtype(X))))

    def max_pool2d_vjp(self, X, dY, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode, dY=dY
        )
        dtype = result_dtype(X, dY)
        size = np.shape(X)[2:]
        selection = self._max_pool_selection(geometry, X, dtype)
        if selection is None:
            return self._grads(self._max_pool(geometry, size), (X,), dY, dtype)[0]
        x, index, real, (left, right, top, bottom) = selection
        with torch.no_grad():
            dy = torch.where(real, self._tensor(dY, dtype), 0).flatten(2)
            height, width = size[0] + top + bottom, size[1] + left + right
            dX = x.new_zeros((*x.shape[:2], height * width)).scatter_add_(2, index, dy)
            dX = dX.view(*x.shape[:2], height, width)[:, :, top : top + size[0], left : left + size[1]]
            return self._numpy(dX)

    def _max_pool_selection(
        self, geometry: PoolGeometry, X: Any, dtype: np.dtype
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[int, int, int, int]] | None:
        """None where autograd's selection is the reference's, else ``(x, index, real, pads)``: X as a
        tensor; each window's flat index of its first maximum (first NaN; first real element of an
        all -inf window; 0 for a window with no real element) in the plane padded by ``pads``
        (``F.pad``'s (left, right, top, bottom), zeros where the native pooling pads); and the
        (Ho, Wo) mask of windows that have a real element."""
        size = np.shape(X)[2:]
        empty = geometry.empty_windows(size)
        has_nan = bool(np.isnan(X).any())
        pads = self._pool_pads(geometry, size)
        # Explicit -inf padding ties a window of -inf and takes its gradient (the native padding never does).
        neginf = pads is not None and bool(np.isneginf(X).any())
        if not has_nan and not empty.any() and not neginf:
            return None
        if has_nan:
            self.note(
                "max-pool gradient of a NaN window to its first NaN via pooled indices (autograd's: the last)"
            )
        if empty.any():
            # PyTorch's index of a window with no real element lies outside the input: its backward
            # writes out of bounds (heap corruption, then an abort).
            self.note(
                "max-pool windows entirely in padding pass no gradient (native backward writes out of bounds)"
            )
        if neginf:
            self.note("max-pool gradient of an all -inf window to its first real element via pooled indices")
        with torch.no_grad():
            x = self._tensor(X, dtype)
            pool = self._max_pool(geometry, size, return_indices=True)
            Y, index = pool(x)
            if has_nan:
                _, first_nan = pool(torch.isnan(x).to(x.dtype))
                index = torch.where(torch.isnan(Y), first_nan, index)
            if neginf:
                _, first_real = pool(torch.ones_like(x))
                index = torch.where(torch.isneginf(Y), first_real, index)
            real = ~torch.as_tensor(empty, device=self.device)
            return x, torch.where(real, index, 0).flatten(2), real, pads or (0, 0, 0, 0)

    def avg_pool2d(self, X, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        geometry = check_pool2d(
            X,
            kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )
        with torch.no_grad():
            pool = self._avg_pool(geometry, np.shape(X)[2:], count_include_pad)
            return self._numpy(pool(self._tensor(X, result_dtype(X))))

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
        pool = self._avg_pool(geometry, np.shape(X)[2:], count_include_pad)
        return self._grads(pool, (X,), dY, result_dtype(X, dY))[0]

    # -- activations, dense, loss -----------------------------------------
    def sigmoid(self, X):
        check_elementwise(X)
        with torch.no_grad():
            return self._numpy(torch.sigmoid(self._tensor(X, result_dtype(X))))

    def sigmoid_vjp(self, X, dY):
        check_elementwise(X, dY)
        self.note(
            "sigmoid VJP as dY * e / (1 + e)**2, e = exp(-|x|), in float64"
            " (autograd's dY * y * (1 - y): 0 from x = 17)"
        )
        return self._sigmoid_slope_times(X, dY)

    def _sigmoid_slope_times(self, X: Any, V: Any) -> np.ndarray:
        """``V * s(x) * s(-x)`` in float64 as ``V * e / (1 + e)**2``, ``e = exp(-|x|)``."""
        dtype = result_dtype(X, V)
        with torch.no_grad():
            x, v = self._tensor(X, np.dtype(np.float64)), self._tensor(V, np.dtype(np.float64))
            e = torch.exp(-x.abs())
            grad = v * (e / torch.square(1.0 + e))
            if torch.isinf(v).any():
                # inf * a derivative that underflows to 0 is NaN: the derivative is positive at every
                # finite x, so an infinite V there gives that infinity.
                self.note("sigmoid derivative times an infinite dY or tX at a finite x is that infinity")
                grad = torch.where(torch.isinf(v) & torch.isfinite(x), v, grad)
            return self._numpy(grad.to(_TORCH_DTYPES.get(dtype, torch.float64)))

    def relu(self, X):
        check_elementwise(X)
        self.note("relu as torch.relu(x) + 0.0, so relu(-0.0) is +0.0 (torch.relu keeps -0.0)")
        with torch.no_grad():
            return self._numpy(torch.relu(self._tensor(X, result_dtype(X))) + 0.0)

    def relu_vjp(self, X, dY):
        check_elementwise(X, dY)
        relu = torch.relu
        if np.isnan(X).any():
            self.note("relu gradient at NaN via where(x > 0, x, 0) (autograd's passes dY through there)")
            relu = _relu_by_where
        return self._grads(relu, (X,), dY, result_dtype(X, dY))[0]

    def linear(self, X, W, b=None):
        check_dense(X, W, b)
        dtype = result_dtype(X, W) if b is None else result_dtype(X, W, b)
        bias = None if b is None else self._tensor(b, dtype)
        with torch.no_grad():
            return self._numpy(F.linear(self._tensor(X, dtype), self._tensor(W, dtype), bias))

    def linear_vjp(self, X, W, dY):
        check_dense(X, W, dY=dY)
        bias = np.zeros(np.shape(W)[0])
        dX, dW, db = self._grads(F.linear, (X, W, bias), dY, result_dtype(X, W, dY))
        return dX, dW, db

    def _flatten(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 1:
            # torch.flatten(x, 1) refuses a 1-D input (IndexError): (N,) -> (N, 1) as the reference.
            self.note("flatten of a 1-D input as reshape (N, 1) (torch.flatten(x, 1) refuses 1-D)")
            return x.reshape(-1, 1)
        return torch.flatten(x, 1)

    def flatten(self, X):
        check_flatten(X)
        with torch.no_grad():
            return self._numpy(self._flatten(self._tensor(X, result_dtype(X))))

    def flatten_vjp(self, X, dY):
        check_flatten(X, dY)
        return self._grads(self._flatten, (X,), dY, result_dtype(X, dY))[0]

    def _labels(self, labels: Any) -> torch.Tensor:
        # A copy (torch.tensor always copies): torch.as_tensor refuses negative strides and warns
        # on read-only arrays.
        return torch.tensor(np.ascontiguousarray(labels, dtype=np.int64), device=self.device)

    def _loss_dtype(self, logits: Any, dtype: np.dtype) -> np.dtype:
        """float64 for narrower logits of a huge magnitude, else ``dtype``.

        F.cross_entropy works in the logits' dtype: from float32 logits near the largest finite
        value, ``z - max`` and the row losses overflow to inf where the reference's float64 does not.
        """
        if dtype.itemsize < 8:
            finite = np.abs(np.asarray(logits))
            if (finite[np.isfinite(finite)] > np.sqrt(np.finfo(dtype).max)).any():
                self.note("cross-entropy of huge float32 logits in float64 (z - max overflows in float32)")
                return np.dtype(np.float64)
        return dtype

    def softmax_cross_entropy(self, logits, labels):
        check_cross_entropy(logits, labels)
        dtype = result_dtype(logits)
        with torch.no_grad():
            z = self._tensor(logits, self._loss_dtype(logits, dtype))
            loss = F.cross_entropy(z, self._labels(labels))
        return dtype.type(loss.item())

    def softmax_cross_entropy_vjp(self, logits, labels, dloss=1.0):
        check_cross_entropy(logits, labels)
        check_real_array("dloss", dloss, 0)
        dtype = result_dtype(logits)
        target = self._labels(labels)
        work = self._loss_dtype(logits, dtype)
        grads = self._grads(lambda z: F.cross_entropy(z, target), (logits,), np.asarray(dloss), work)
        return grads[0].astype(dtype, copy=False)

    # -- forward mode: torch.func.jvp ---------------------------------------
    def _jvp(self, forward: Callable[..., torch.Tensor], primals: Sequence[Any], tangents: Sequence[Any],
             dtype: np.dtype) -> np.ndarray:  # fmt: skip
        """The tangent output of ``torch.func.jvp(forward, primals, tangents)``."""
        inputs = tuple(self._tensor(a, dtype) for a in primals)
        _, tangent = torch.func.jvp(forward, inputs, tuple(self._tensor(t, dtype) for t in tangents))
        return self._numpy(tangent)

    def conv2d_jvp(self, X, W, tX, tW, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups)
        check_tangent("tX", tX, X)
        check_tangent("tW", tW, W)
        return self._jvp(self._conv(geometry), (X, W), (tX, tW), result_dtype(X, W, tX, tW))

    def max_pool2d_jvp(self, X, tX, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
        )
        check_tangent("tX", tX, X)
        dtype = result_dtype(X, tX)
        selection = self._max_pool_selection(geometry, X, dtype)
        if selection is None:
            return self._jvp(self._max_pool(geometry, np.shape(X)[2:]), (X,), (tX,), dtype)
        self.note("max-pool JVP of NaN or empty windows as tX gathered at the pooled indices above")
        x, index, real, pads = selection
        with torch.no_grad():
            t = F.pad(self._tensor(tX, dtype), pads).flatten(2)  # the indices are in the padded plane
            tY = t.gather(2, index).view(*x.shape[:2], *geometry.output_size)
            return self._numpy(torch.where(real, tY, 0))

    def avg_pool2d_jvp(
        self, X, tX, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        geometry = check_pool2d(X, kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                                count_include_pad=count_include_pad)  # fmt: skip
        check_tangent("tX", tX, X)
        pool = self._avg_pool(geometry, np.shape(X)[2:], count_include_pad)
        return self._jvp(pool, (X,), (tX,), result_dtype(X, tX))

    def sigmoid_jvp(self, X, tX):
        check_elementwise(X)
        check_tangent("tX", tX, X)
        self.note(
            "sigmoid JVP as tX * e / (1 + e)**2, e = exp(-|x|), in float64"
            " (torch.func.jvp's tX * y * (1 - y): 0 from x = 17)"
        )
        return self._sigmoid_slope_times(X, tX)

    def relu_jvp(self, X, tX):
        check_elementwise(X)
        check_tangent("tX", tX, X)
        relu = torch.relu
        if np.isnan(X).any():
            self.note("relu JVP at NaN via where(x > 0, x, 0) (torch.relu's forward mode passes tX there)")
            relu = _relu_by_where
        return self._jvp(relu, (X,), (tX,), result_dtype(X, tX))

    def linear_jvp(self, X, W, tX, tW):
        check_dense(X, W)
        check_tangent("tX", tX, X)
        check_tangent("tW", tW, W)
        return self._jvp(F.linear, (X, W), (tX, tW), result_dtype(X, W, tX, tW))

    def flatten_jvp(self, X, tX):
        check_flatten(X)
        check_tangent("tX", tX, X)
        return self._jvp(self._flatten, (X,), (tX,), result_dtype(X, tX))

    def softmax_cross_entropy_jvp(self, logits, labels, tlogits):
        check_cross_entropy(logits, labels)
        check_tangent("tlogits", tlogits, logits)
        dtype = result_dtype(logits, tlogits)
        target = self._labels(labels)
        tangent = self._jvp(lambda z: F.cross_entropy(z, target), (logits,), (tlogits,),
                            self._loss_dtype(logits, dtype))  # fmt: skip
        return dtype.type(tangent)

    # -- LeNet -----------------------------------------------------------
    def lenet(self, variant="chapter", dtype="float32"):
        from backends.torch.lenet import TorchLeNet

        return TorchLeNet(variant, dtype, self.device)

    # -- benchmarks ------------------------------------------------------
    def device_peak_memory(self, call: Callable[[], object]) -> int | None:
        """The CUDA caching allocator's peak of allocated bytes during ``call()`` above those
        allocated before it (``torch.cuda.max_memory_allocated``, reset first); None on the CPU."""
        if self.device == "cpu":
            return None
        torch.cuda.synchronize(self.device)
        before = torch.cuda.memory_allocated(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        call()
        torch.cuda.synchronize(self.device)
        return torch.cuda.max_memory_allocated(self.device) - before

    def prepare(self, op, *arrays, backward=False, dY=None, **kwargs):
        self._check_prepare(backward, dY)
        dtype = result_dtype(*arrays)
        tensors = [self._tensor(a, dtype, requires_grad=backward) for a in arrays]
        if op == "conv2d":
            forward = self._conv(check_conv2d(*arrays, dY=dY, **kwargs))
        elif op == "max_pool2d":
            forward = self._max_pool(check_pool2d(*arrays, dY=dY, **kwargs), np.shape(arrays[0])[2:])
        elif op == "avg_pool2d":
            geometry = check_pool2d(*arrays, dY=dY, **kwargs)
            forward = self._avg_pool(geometry, np.shape(arrays[0])[2:], kwargs.get("count_include_pad", True))
        else:
            raise ValueError(f"prepare supports conv2d, max_pool2d and avg_pool2d, got op={op!r}")
        synchronize = torch.cuda.synchronize if self.device != "cpu" else (lambda: None)
        if not backward:

            def run() -> torch.Tensor:
                with torch.no_grad():
                    output = forward(*tensors)
                synchronize()
                return output

            return Prepared(run, lambda output: (self._numpy(output),))
        seed = self._tensor(dY, dtype)

        def run_backward() -> tuple[torch.Tensor, ...]:
            grads = torch.autograd.grad(forward(*tensors), tensors, seed)
            synchronize()
            return grads

        return Prepared(run_backward, lambda grads: tuple(self._numpy(g) for g in grads))
