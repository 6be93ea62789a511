"""TensorFlow adapter: ``tf.nn`` ops in NHWC and ``tf.GradientTape`` gradients.

Inside, images are NHWC and conv weights HWIO (TensorFlow's CPU kernels reject
NCHW for convolution and max pooling); the boundary is NCHW / OIHW NumPy, and
gradients are converted back the same way. Quirks handled here (each call that
needs one records a note):
- The CPU Conv2DBackpropInput rejects dilation > 1 and groups > 1, so
  differentiable CPU convolutions use ``tf.nn.convolution`` at stride 1
  (space-to-batch) and subsample, and one convolution per group.
- TF pooling has no ceil_mode: the output is rounded down ('VALID'), so the
  extra windows come from extra bottom/right padding.
- ``tf.nn.avg_pool2d`` takes no explicit padding and its 'SAME' never counts
  padding: the input is zero-padded and divided by a pooled mask of ones.
- ``tf.nn.max_pool2d`` has no dilation (``tf.nn.pool`` has, at stride 1 only),
  drops NaN, and gives the lowest finite number for an all -inf window: inputs
  with NaN or -inf go through a per-tap ``tf.where`` selection instead.
- TF32 is switched off.
- ``tf.nn.relu(-0.0)`` is -0.0 (the reference: +0.0) and the tape's sigmoid
  gradient ``dY * y * (1 - y)`` flushes the positive tail: both emulated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.python.util import _pywrap_util_port  # private: the only way to ask if oneDNN is on

from backends.base import Backend, Prepared
from backends.devices import resolve_device
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

_TF_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))

Forward = Callable[..., tf.Tensor]


def _nchw(tensor: tf.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.numpy().transpose(0, 3, 1, 2))


def _oihw(tensor: tf.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.numpy().transpose(3, 2, 0, 1))


def _has_nan_or_neg_inf(X: Any) -> bool:
    X = np.asarray(X)
    return X.dtype.kind == "f" and bool(np.isnan(X).any() or np.isneginf(X).any())


def _pool_pads(geometry: PoolGeometry, size: Sequence[int]) -> tuple[list[int], ...]:
    """NHWC pads: ``padding`` each side plus the bottom/right rows a ceil_mode window reaches."""
    pads = []
    for n, k, s, p, d, out in zip(
        size,
        geometry.kernel_size,
        geometry.stride,
        geometry.padding,
        geometry.dilation,
        geometry.output_size,
        strict=True,
    ):
        overhang = (out - 1) * s + d * (k - 1) + 1 - (n + 2 * p)
        pads.append([p, p + max(overhang, 0)])
    return [0, 0], *pads, [0, 0]


def _max_taps(x: tf.Tensor, geometry: PoolGeometry, pads: Sequence[Sequence[int]]) -> tf.Tensor:
    """Max pooling as a running ``tf.where`` over the window taps in row-major order.

    A tap replaces the best so far only when strictly larger, or NaN over a
    non-NaN, so the first maximal element (or first NaN) wins, and the
    gradient of ``tf.where`` goes to that element alone.
    """
    x = tf.pad(x, pads, constant_values=-np.inf)
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel_size, geometry.stride, geometry.dilation
    out_h, out_w = geometry.output_size
    best = None
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (out_h - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (out_w - 1) + 1, sw)
            tap = x[:, rows, cols]
            if best is None:
                best = tap
                continue
            better = (tap > best) | (tf.math.is_nan(tap) & ~tf.math.is_nan(best))
            best = tf.where(better, tap, best)
    return best


class TensorFlowBackend(Backend):
    """The reference's ops computed by TensorFlow on ``device`` ("auto": the GPU when present)."""

    name = "tensorflow"
    framework = "tensorflow"

    def __init__(self, device: str = "auto") -> None:
        super().__init__()
        gpus = tf.config.list_physical_devices("GPU")
        self.device = resolve_device(device, len(gpus), "gpu")
        self._tf_device = "/CPU:0" if self.device == "cpu" else "/" + self.device.upper()
        self.framework_version = tf.__version__
        # Conformance needs IEEE float32: TF32 would round conv and matmul
        # inputs to 10 mantissa bits on Ampere and newer GPUs.
        tf.config.experimental.enable_tensor_float_32_execution(False)
        if self.device == "cpu":
            onednn = "on" if _pywrap_util_port.IsMklEnabled() else "off"
            self.precision = f"ieee float32 (CPU, oneDNN {onednn})"
        else:
            details = tf.config.experimental.get_device_details(gpus[int(self.device.split(":")[1])])
            self.precision = f"ieee float32, TF32 off ({details.get('device_name', self.device)})"

    # -- conversions -----------------------------------------------------
    def _tensor(self, array: Any, dtype: np.dtype) -> tf.Tensor:
        """A tensor on this backend's device (call inside ``tf.device``); float16/32/64 kept."""
        return tf.constant(np.asarray(array, dtype=dtype if dtype in _TF_DTYPES else np.float64))

    def _image(self, X: Any, dtype: np.dtype) -> tf.Tensor:
        return self._tensor(np.asarray(X).transpose(0, 2, 3, 1), dtype)

    @staticmethod
    def _grads(
        forward: Forward, inputs: Sequence[tf.Tensor], dY: tf.Tensor
    ) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """``forward(*inputs)`` and the gradients of ``sum(forward(*inputs) * dY)`` wrt every input."""
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            output = forward(*inputs)
        return output, tape.gradient(output, inputs, output_gradients=dY)

    # -- convolution -----------------------------------------------------
    def _conv(self, geometry: ConvGeometry, differentiable: bool) -> Forward:
        """conv(x NHWC, w HWIO, b) with explicit (possibly asymmetric) padding, natively."""
        pads = [[0, 0], *map(list, geometry.padding), [0, 0]]
        (sh, sw), groups = geometry.stride, geometry.groups
        # The CPU gradient kernels reject dilation and groups; the forward kernel takes both.
        dilated = differentiable and self.device == "cpu" and geometry.dilation != (1, 1)
        split = differentiable and self.device == "cpu" and groups > 1
        if dilated:
            self.note(
                "dilation > 1 with gradients via tf.nn.convolution at stride 1 (space-to-batch) and"
                " subsampling (the CPU Conv2DBackpropInput rejects dilation > 1)"
            )
        if split:
            self.note(
                "groups > 1 with gradients via one tf.nn.conv2d per group and tf.concat"
                " (the CPU Conv2DBackpropInput rejects grouped convolution)"
            )

        def single(x: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
            if dilated:
                y = tf.nn.convolution(tf.pad(x, pads), w, padding="VALID", dilations=geometry.dilation)
                return y[:, ::sh, ::sw]
            return tf.nn.conv2d(x, w, geometry.stride, pads, dilations=geometry.dilation)

        def conv(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | None = None) -> tf.Tensor:
            if split:
                parts = zip(tf.split(x, groups, axis=3), tf.split(w, groups, axis=3), strict=True)
                y = tf.concat([single(xg, wg) for xg, wg in parts], axis=3)
            else:
                y = single(x, w)
            return y if b is None else tf.nn.bias_add(y, b)

        return conv

    def conv2d(self, X, W, b=None, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        dtype = result_dtype(X, W) if b is None else result_dtype(X, W, b)
        conv = self._conv(geometry, differentiable=False)
        with tf.device(self._tf_device):
            bias = None if b is None else self._tensor(b, dtype)
            hwio = self._tensor(np.asarray(W).transpose(2, 3, 1, 0), dtype)
            return _nchw(conv(self._image(X, dtype), hwio, bias))

    def conv2d_vjp(self, X, W, dY, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups, dY=dY)
        dtype = result_dtype(X, W, dY)
        conv = self._conv(geometry, differentiable=True)
        with tf.device(self._tf_device):
            hwio = self._tensor(np.asarray(W).transpose(2, 3, 1, 0), dtype)
            inputs = [self._image(X, dtype), hwio, self._tensor(np.zeros(np.shape(W)[0]), dtype)]
            _, (dX, dW, db) = self._grads(conv, inputs, self._image(dY, dtype))
        return _nchw(dX), _oihw(dW), db.numpy()

    # -- pooling ---------------------------------------------------------
    def _max_pool(self, geometry: PoolGeometry, size: Sequence[int], special: bool) -> Forward:
        """Max pooling of NHWC x; ``special``: x holds NaN or -inf."""
        pads = _pool_pads(geometry, size)
        stride, dilation = geometry.stride, geometry.dilation
        if pads[1][1] > pads[1][0] or pads[2][1] > pads[2][0]:
            self.note("ceil_mode via extra bottom/right padding (TF pooling rounds the output size down)")
        if special:
            self.note(
                "max pooling of NaN or -inf via a per-tap tf.where selection (tf.nn.max_pool2d drops NaN,"
                " gives the lowest finite number for an all -inf window, and MaxPoolGrad sends a NaN"
                " window's gradient to its first element or its largest number)"
            )
            return lambda x: _max_taps(x, geometry, pads)
        if dilation == (1, 1):
            return lambda x: tf.nn.max_pool2d(x, geometry.kernel_size, stride, pads)
        if stride != (1, 1):
            self.note(
                "max_pool2d dilation > 1 with stride > 1 via tf.nn.pool at stride 1 and subsampling"
                " (tf.nn.max_pool2d has no dilation; tf.nn.pool rejects dilation > 1 with stride > 1)"
            )

        def dilated(x: tf.Tensor) -> tf.Tensor:
            padded = tf.pad(x, pads, constant_values=-np.inf)
            y = tf.nn.pool(padded, geometry.kernel_size, "MAX", padding="VALID", dilations=dilation)
            return y[:, :: stride[0], :: stride[1]]

        return dilated

    def _avg_pool(self, geometry: PoolGeometry, size: Sequence[int], count_include_pad: bool) -> Forward:
        """Average pooling of NHWC x."""
        pads = _pool_pads(geometry, size)
        kernel, stride = geometry.kernel_size, geometry.stride
        if pads == ([0, 0], [0, 0], [0, 0], [0, 0]):
            return lambda x: tf.nn.avg_pool2d(x, kernel, stride, "VALID")
        if pads[1][1] > pads[1][0] or pads[2][1] > pads[2][0]:
            self.note(
                "ceil_mode via extra bottom/right padding, left out of the divisor"
                " (TF pooling rounds the output size down)"
            )
        if geometry.padding != (0, 0):
            self.note(
                f"avg_pool2d padding with count_include_pad={count_include_pad} via tf.pad and a divisor"
                " pooled from a mask of ones (tf.nn.avg_pool2d has no explicit padding; its 'SAME'"
                " pads by TF's rule and never counts padding)"
            )
        (ph, pw), h, w = geometry.padding, *size
        inner = [[0, 0], [ph, ph], [pw, pw], [0, 0]]
        overhang = [[0, 0], [0, pads[1][1] - ph], [0, pads[2][1] - pw], [0, 0]]

        def average(x: tf.Tensor) -> tf.Tensor:
            # The divisor counts the real input, the padding if count_include_pad,
            # never the ceil_mode overhang: the average of a mask of those cells.
            ones = tf.ones((1, h, w, 1), x.dtype)
            mask = tf.pad(tf.pad(ones, inner, constant_values=float(count_include_pad)), overhang)
            divisor = tf.nn.avg_pool2d(mask, kernel, stride, "VALID")
            return tf.nn.avg_pool2d(tf.pad(x, pads), kernel, stride, "VALID") / divisor

        return average

    def max_pool2d(self, X, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
        )
        pool = self._max_pool(geometry, np.shape(X)[2:], _has_nan_or_neg_inf(X))
        with tf.device(self._tf_device):
            return _nchw(pool(self._image(X, result_dtype(X))))

    def max_pool2d_vjp(self, X, dY, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode, dY=dY
        )
        dtype = result_dtype(X, dY)
        pool = self._max_pool(geometry, np.shape(X)[2:], _has_nan_or_neg_inf(X))
        with tf.device(self._tf_device):
            _, (dX,) = self._grads(pool, [self._image(X, dtype)], self._image(dY, dtype))
        return _nchw(dX)

    def avg_pool2d(self, X, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        geometry = check_pool2d(
            X,
            kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )
        pool = self._avg_pool(geometry, np.shape(X)[2:], count_include_pad)
        with tf.device(self._tf_device):
            return _nchw(pool(self._image(X, result_dtype(X))))

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
        dtype = result_dtype(X, dY)
        pool = self._avg_pool(geometry, np.shape(X)[2:], count_include_pad)
        with tf.device(self._tf_device):
            _, (dX,) = self._grads(pool, [self._image(X, dtype)], self._image(dY, dtype))
        return _nchw(dX)

    # -- activations, dense, loss -----------------------------------------
    def _apply(self, forward: Forward, *arrays: Any) -> np.ndarray:
        """``forward`` on the arrays (layout kept) in their result dtype."""
        dtype = result_dtype(*arrays)
        with tf.device(self._tf_device):
            return forward(*(self._tensor(a, dtype) for a in arrays)).numpy()

    def _vjp(self, forward: Forward, inputs: Sequence[Any], dY: Any) -> list[np.ndarray]:
        """Gradients of ``sum(forward(*inputs) * dY)`` as NumPy (layout kept)."""
        dtype = result_dtype(*inputs, dY)
        with tf.device(self._tf_device):
            tensors = [self._tensor(a, dtype) for a in inputs]
            _, grads = self._grads(forward, tensors, self._tensor(dY, dtype))
        return [g.numpy() for g in grads]

    def sigmoid(self, X):
        check_elementwise(X)
        return self._apply(tf.nn.sigmoid, X)

    def sigmoid_vjp(self, X, dY):
        check_elementwise(X, dY)
        self.note("sigmoid VJP as dY * sigmoid(x) * sigmoid(-x) (the tape's dY * y * (1 - y): 0 from x = 17)")
        return self._apply(lambda x, dy: dy * tf.nn.sigmoid(x) * tf.nn.sigmoid(-x), X, dY)

    def relu(self, X):
        check_elementwise(X)
        self.note("relu as tf.nn.relu(x) + 0.0, so relu(-0.0) is +0.0 (tf.nn.relu keeps -0.0)")
        return self._apply(lambda x: tf.nn.relu(x) + 0.0, X)

    def relu_vjp(self, X, dY):
        check_elementwise(X, dY)
        return self._vjp(tf.nn.relu, [X], dY)[0]

    @staticmethod
    def _linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | None = None) -> tf.Tensor:
        y = tf.linalg.matmul(x, w, transpose_b=True)
        return y if b is None else tf.nn.bias_add(y, b)

    def linear(self, X, W, b=None):
        check_dense(X, W, b)
        return self._apply(self._linear, X, W) if b is None else self._apply(self._linear, X, W, b)

    def linear_vjp(self, X, W, dY):
        check_dense(X, W, dY=dY)
        zero_bias = np.zeros(np.shape(W)[0], dtype=result_dtype(X, W, dY))
        dX, dW, db = self._vjp(self._linear, [X, W, zero_bias], dY)
        return dX, dW, db

    @staticmethod
    def _flatten(x: tf.Tensor) -> tf.Tensor:
        # The NCHW tensor itself, so the order is C, H, W (an NHWC flatten would give H, W, C).
        return tf.reshape(x, (tf.shape(x)[0], -1))

    def flatten(self, X):
        check_flatten(X)
        return self._apply(self._flatten, X)

    def flatten_vjp(self, X, dY):
        check_flatten(X, dY)
        return self._vjp(self._flatten, [X], dY)[0]

    @staticmethod
    def _cross_entropy(labels: Any) -> Forward:
        labels = np.asarray(labels, dtype=np.int64)
        return lambda z: tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, z))

    def softmax_cross_entropy(self, logits, labels):
        check_cross_entropy(logits, labels)
        return result_dtype(logits).type(self._apply(self._cross_entropy(labels), logits))

    def softmax_cross_entropy_vjp(self, logits, labels, dloss=1.0):
        check_cross_entropy(logits, labels)
        check_real_array("dloss", dloss, 0)
        dloss = np.asarray(dloss, dtype=result_dtype(logits))
        return self._vjp(self._cross_entropy(labels), [logits], dloss)[0]

    # -- LeNet -----------------------------------------------------------
    def lenet(self, variant="chapter", dtype="float32"):
        from backends.tensorflow.lenet import TensorFlowLeNet

        return TensorFlowLeNet(variant, dtype, self._tf_device)

    # -- benchmarks ------------------------------------------------------
    def prepare(self, op, *arrays, backward=False, dY=None, **kwargs):
        self._check_prepare(backward, dY)
        dtype = result_dtype(*arrays)
        if op == "conv2d":
            forward = self._conv(check_conv2d(*arrays, dY=dY, **kwargs), differentiable=backward)
            X, W, *b = arrays
            arrays = (np.asarray(X).transpose(0, 2, 3, 1), np.asarray(W).transpose(2, 3, 1, 0), *b)
            layouts = (_nchw, _oihw, lambda g: g.numpy())[: len(arrays)]
        elif op in ("max_pool2d", "avg_pool2d"):
            geometry = check_pool2d(*arrays, dY=dY, **kwargs)
            size = np.shape(arrays[0])[2:]
            if op == "max_pool2d":
                forward = self._max_pool(geometry, size, _has_nan_or_neg_inf(arrays[0]))
            else:
                forward = self._avg_pool(geometry, size, kwargs.get("count_include_pad", True))
            arrays = (np.asarray(arrays[0]).transpose(0, 2, 3, 1),)
            layouts = (_nchw,)
        else:
            raise ValueError(f"prepare supports conv2d, max_pool2d and avg_pool2d, got op={op!r}")
        with tf.device(self._tf_device):
            tensors = [self._tensor(a, dtype) for a in arrays]
            seed = self._image(dY, dtype) if backward else None
        # Measured on the CPU: a tf.function makes forward + gradient 10-30% faster
        # (no eager taping) but a forward alone slower (~0.4 ms per call). It
        # returns the output too, or graph pruning would skip the forward.
        step = (
            tf.function(lambda: self._grads(forward, tensors, seed))
            if backward
            else (lambda: forward(*tensors))
        )
        synchronize = tf.test.experimental.sync_devices if self.device != "cpu" else (lambda: None)

        def run() -> tf.Tensor | tuple[tf.Tensor, list[tf.Tensor]]:
            with tf.device(self._tf_device):
                outputs = step()
            synchronize()
            return outputs

        if backward:  # run gives (output, grads)

            def to_numpy(outputs: tuple[tf.Tensor, list[tf.Tensor]]) -> tuple[np.ndarray, ...]:
                return tuple(to(g) for to, g in zip(layouts, outputs[1], strict=True))

            return Prepared(run, to_numpy)
        return Prepared(run, lambda output: (_nchw(output),))
