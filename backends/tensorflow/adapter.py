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
  with NaN, -inf or subnormals, and windows entirely in padding, go through a
  per-tap ``tf.where`` selection instead.
- With dilation, the stride-1 route's gradient multiplies skipped positions by
  a zero dY (0 * inf = NaN): NaN or inf inputs go through a sum over kernel taps.
- TF's CPU kernels read subnormal inputs as 0 (denormals-are-zero): ReLU and
  max pooling compare on the bits; sums of products add the subnormals' terms
  back from exactly scaled copies (:meth:`TensorFlowBackend._without_daz`).
- TF32 is switched off.
- ``tf.nn.relu(-0.0)`` is -0.0 (the reference: +0.0), ReluGrad multiplies dY by
  ``x > 0`` (a NaN or inf dY at x <= 0 gives NaN) and the tape's sigmoid
  gradient ``dY * y * (1 - y)`` flushes the positive tail: all emulated.
- Forward mode is ``tf.autodiff.ForwardAccumulator`` on the same (differentiable) routes;
  sigmoid's JVP is the VJP's ``tX * sigmoid(x) * sigmoid(-x)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import tensorflow as tf
from tensorflow.python.util import _pywrap_util_port  # private: the only way to ask if oneDNN is on

from backends.base import Backend, Prepared, bfloat16_with_non_finite
from backends.devices import resolve_device
from reference.dtypes import BFLOAT16, finfo, is_floating
from reference.shapes import ConvGeometry, PoolGeometry
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

_TF_DTYPES = (np.dtype(np.float16), BFLOAT16, np.dtype(np.float32), np.dtype(np.float64))

Forward = Callable[..., tf.Tensor]


def _nchw(tensor: tf.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.numpy().transpose(0, 3, 1, 2))


def _oihw(tensor: tf.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.numpy().transpose(3, 2, 0, 1))


def _needs_taps(X: Any) -> bool:
    """Max pooling input that the native kernels get wrong: NaN, -inf or subnormals."""
    X = np.asarray(X)
    return is_floating(X.dtype) and bool(np.isnan(X).any() or np.isneginf(X).any() or _has_subnormal(X))


def _has_subnormal(*arrays: Any) -> bool:
    """Whether a float array holds a subnormal number (TF's CPU kernels read those as 0: DAZ)."""
    for array in map(np.asarray, arrays):
        if is_floating(array.dtype) and array.size:
            magnitude = np.abs(array)
            if ((magnitude > 0) & (magnitude < finfo(array.dtype).tiny)).any():
                return True
    return False


def _has_inf(*arrays: Any) -> bool:
    return any(is_floating(np.asarray(a).dtype) and bool(np.isinf(a).any()) for a in arrays)


def _int_view(x: tf.Tensor) -> tf.Tensor:
    """``x``'s bits as the signed integers of its width (no float arithmetic: no DAZ)."""
    return tf.bitcast(x, {2: tf.int16, 4: tf.int32, 8: tf.int64}[x.dtype.size])


def _positive(x: tf.Tensor) -> tf.Tensor:
    """``x > 0`` for every float, subnormals included: TF's CPU comparisons read subnormals as 0
    (denormals-are-zero), so the test is on the bits: sign clear, not +0.0, not NaN."""
    return (_int_view(x) > 0) & ~tf.math.is_nan(x)


def _order_key(x: tf.Tensor) -> tf.Tensor:
    """Integers ordered as the (non-NaN) floats, subnormals included, with -0.0 equal to +0.0:
    the sign-magnitude bits as two's complement (TF's float comparisons read subnormals as 0)."""
    bits = _int_view(x)
    magnitude = bits & tf.constant(np.iinfo(bits.dtype.as_numpy_dtype).max, bits.dtype)
    return tf.where(bits < 0, -magnitude, magnitude)


def _conv_taps(x: tf.Tensor, w: tf.Tensor, geometry: ConvGeometry, b: tf.Tensor | None) -> tf.Tensor:
    """Convolution of the padded NHWC ``x`` as a sum over kernel taps of ``tap @ w[i, j]`` per group:
    each input position meets only the windows that read it, as in the reference."""
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel_size, geometry.stride, geometry.dilation
    out_h, out_w = geometry.output_size
    groups, c_g, o = geometry.groups, w.shape[2], w.shape[3]
    y = None
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (out_h - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (out_w - 1) + 1, sw)
            tap = tf.reshape(x[:, rows, cols], (-1, out_h, out_w, groups, c_g))
            term = tf.einsum("nhwgc,cgo->nhwgo", tap, tf.reshape(w[i, j], (c_g, groups, o // groups)))
            y = term if y is None else y + term
    y = tf.reshape(y, (-1, out_h, out_w, o))
    return y if b is None else tf.nn.bias_add(y, b)


def _subnormal_bits(t: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """``t``'s bits, the magnitude of its bits, and where it is subnormal (on the bits: no DAZ)."""
    info = finfo(t.dtype.as_numpy_dtype)
    bits = _int_view(t)
    magnitude = bits & tf.constant(np.iinfo(bits.dtype.as_numpy_dtype).max, bits.dtype)
    return bits, magnitude, (magnitude > 0) & (magnitude < (1 << info.nmant))


def _subnormals_as_zero(t: tf.Tensor) -> tf.Tensor:
    """``t`` with its subnormals replaced by +0.0: what TF's CPU kernels read (DAZ), made explicit."""
    return tf.where(_subnormal_bits(t)[2], tf.zeros_like(t), t)


def _lifted_subnormals(t: tf.Tensor, k: int) -> tf.Tensor:
    """``t``'s subnormal entries times 2**k, exactly, 0 elsewhere: built from their integer
    mantissas (TF's CPU arithmetic reads subnormals as 0, DAZ, so ``t * 2**k`` would give 0)."""
    bits, magnitude, subnormal = _subnormal_bits(t)
    mantissa = tf.where(subnormal, magnitude, tf.zeros_like(magnitude))
    scale = float(finfo(t.dtype.as_numpy_dtype).smallest_subnormal) * 2.0**k
    lifted = tf.cast(mantissa, t.dtype) * tf.constant(scale, t.dtype)
    return tf.where(bits < 0, -lifted, lifted)


def _subnormals_as_tiny(t: tf.Tensor) -> tf.Tensor:
    """``t`` with its subnormals replaced by the smallest normal number of their sign: the
    same product with an infinity (where DAZ makes subnormal * inf a NaN)."""
    bits, _, subnormal = _subnormal_bits(t)
    tiny = tf.constant(float(finfo(t.dtype.as_numpy_dtype).tiny), t.dtype)
    return tf.where(subnormal, tf.where(bits < 0, -tiny, tiny), t)


def _pool_pads(geometry: PoolGeometry, size: Sequence[int]) -> list[list[int]]:
    """NHWC pads: ``padding`` plus the bottom/right rows a ceil_mode window reaches."""
    (top, bottom), (left, right) = geometry.window_padding(tuple(size))
    return [[0, 0], [top, bottom], [left, right], [0, 0]]


def _overhang(geometry: PoolGeometry, size: Sequence[int]) -> bool:
    """Whether a ceil_mode window reaches past the padded input (TF pooling rounds down)."""
    return geometry.window_padding(tuple(size)) != geometry.padding


def _max_taps(
    x: tf.Tensor, geometry: PoolGeometry, size: Sequence[int], pads: Sequence[Sequence[int]]
) -> tf.Tensor:
    """Max pooling as a running ``tf.where`` over the window taps in row-major order.

    A real tap replaces the best so far when the best is padding, or when it is
    strictly larger (compared on :func:`_order_key`, so subnormals count), or NaN
    over a non-NaN: the first maximal real element (or first NaN) wins, and the
    gradient of ``tf.where`` goes to that element alone. Padding never wins; a
    window with no real element keeps the -inf padding and sends its gradient
    into the padding, which ``tf.pad``'s gradient drops.
    """
    x = tf.pad(x, pads, constant_values=-np.inf)
    keys = _order_key(x)
    real = tf.constant(np.pad(np.ones((1, *size, 1), dtype=bool), pads))  # True on the real input
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel_size, geometry.stride, geometry.dilation
    out_h, out_w = geometry.output_size
    best = best_key = best_real = None
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (out_h - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (out_w - 1) + 1, sw)
            tap, tap_key, tap_real = x[:, rows, cols], keys[:, rows, cols], real[:, rows, cols]
            if best is None:
                best, best_key, best_real = tap, tap_key, tap_real
                continue
            larger = tf.math.is_nan(tap) | (tap_key > best_key)
            better = tap_real & (~best_real | (~tf.math.is_nan(best) & larger))
            best, best_key = tf.where(better, tap, best), tf.where(better, tap_key, best_key)
            best_real = best_real | tap_real
    return best


def _sigmoid_slope_times(x: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
    """``v * sigmoid(x) * sigmoid(-x)``: no ``1 - y`` to cancel in the positive tail."""
    grad = v * tf.nn.sigmoid(x) * tf.nn.sigmoid(-x)
    # The derivative is positive at every finite x, even where it underflows to 0
    # (where inf * 0 would give NaN): an infinite v there is the result.
    return tf.where(tf.math.is_inf(v) & tf.math.is_finite(x), v, grad)


def _push_forward(forward: Forward, primals: Sequence[tf.Tensor], tangents: Sequence[tf.Tensor]) -> tf.Tensor:
    """The tangent of ``forward(*primals)`` along ``tangents`` (``tf.autodiff.ForwardAccumulator``)."""
    with tf.autodiff.ForwardAccumulator(list(primals), list(tangents)) as accumulator:
        output = forward(*primals)
    return accumulator.jvp(output, unconnected_gradients=tf.UnconnectedGradients.ZERO)


class TensorFlowBackend(Backend):
    """The reference's ops computed by TensorFlow on ``device`` ("auto": the GPU when present)."""

    name = "tensorflow"
    framework = "tensorflow"

    # Measured (conformance/accumulation.py): float16 conv, dense and dense VJP sum in float32 and
    # round once; bfloat16 only the forward conv (dense 50%, its VJP's db 11% correctly rounded);
    # average pooling (23%) and the conv and avg-pool VJPs round in the half dtype. With oneDNN on
    # (CPUs with AVX512-VNNI and newer) bfloat16 dense and average pooling sum in float32: see __init__.
    float32_sums: ClassVar[dict[str, frozenset[str]]] = {
        "float16": frozenset({"conv2d", "linear", "linear_vjp"}),
        "bfloat16": frozenset({"conv2d"}),
    }

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
            if onednn == "on":  # TF turns it on where the CPU has AVX512-VNNI, -BF16 or AMX
                # Measured on an AMD Zen 5: oneDNN's bfloat16 dense layer and average pooling sum
                # in float32 (every element correctly rounded).
                wide = self.float32_sums["bfloat16"] | {"linear", "avg_pool2d"}
                self.float32_sums = {**self.float32_sums, "bfloat16": wide}
        else:
            details = tf.config.experimental.get_device_details(gpus[int(self.device.split(":")[1])])
            self.precision = f"ieee float32, TF32 off ({details.get('device_name', self.device)})"

    @classmethod
    def thread_environment(cls, threads: int) -> dict[str, str]:
        """The base's pools and TensorFlow's intra- and inter-op pools (read when TF starts)."""
        count = str(threads)
        return {**super().thread_environment(threads), "TF_NUM_INTRAOP_THREADS": count,
                "TF_NUM_INTEROP_THREADS": count}  # fmt: skip

    def enable_determinism(self) -> str:
        """``tf.config.experimental.enable_op_determinism()`` (ops without a deterministic kernel
        then raise instead of running)."""
        tf.config.experimental.enable_op_determinism()
        return "tf.config.experimental.enable_op_determinism()"

    # -- conversions -----------------------------------------------------
    def _tensor(self, array: Any, dtype: np.dtype) -> tf.Tensor:
        """A tensor on this backend's device (call inside ``tf.device``); float16/bfloat16/32/64 kept."""
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

    def _without_daz(
        self,
        compute: Callable[..., Sequence[tf.Tensor]],
        tensors: Sequence[tf.Tensor],
        arrays: Sequence[Any],
        linear_in: Sequence[set[int]],
    ) -> list[tf.Tensor]:
        """``compute(*tensors)``, a list of outputs, each linear in the operands ``linear_in[o]``
        (a sum of products, e.g. (dX, dW, db) with dX linear in W and dY), as if subnormals counted.

        TF's CPU kernels read subnormal inputs as 0 (denormals-are-zero): a subnormal times a large
        number loses its product, and times an infinity gives NaN. Emulated only where ``arrays``
        (the inputs as given) hold subnormals: the outputs of the operands with their subnormals
        as 0 (explicitly, so a device without DAZ gives the same), plus each such operand's terms
        from its subnormals lifted by 2**k (exact) with the other operands' finite values, scaled
        by 2**-k; outputs that are NaN or inf come from a run with every subnormal replaced by
        the smallest normal number of its sign, whose products with infinities are the same.
        """
        subnormal = [_has_subnormal(a) for a in arrays]
        if not any(subnormal):
            return list(compute(*tensors))
        outputs = list(compute(*map(_subnormals_as_zero, tensors)))
        self.note(
            "sums of products with subnormal inputs: the subnormals' terms added back exactly scaled by"
            " 2**k, the signs of infinities from subnormals replaced by the smallest normal number"
            " (TF's CPU kernels read subnormals as 0: their products are lost, and times inf give NaN)"
        )
        finite = [tf.where(tf.math.is_finite(t), t, tf.zeros_like(t)) for t in tensors]
        corrected = list(outputs)
        for i, t in enumerate(tensors):
            if not subnormal[i]:
                continue
            k = finfo(t.dtype.as_numpy_dtype).nmant + 2  # lifts every subnormal into the normals
            lifted = _lifted_subnormals(t, k)
            parts = compute(*(lifted if j == i else f for j, f in enumerate(finite)))
            for o, part in enumerate(parts):
                if i in linear_in[o]:
                    corrected[o] = corrected[o] + part * tf.constant(2.0**-k, part.dtype)
        nonfinite = list(compute(*map(_subnormals_as_tiny, tensors))) if _has_inf(*arrays) else outputs
        return [
            tf.where(tf.math.is_finite(y), c, n)
            for y, c, n in zip(outputs, corrected, nonfinite, strict=True)
        ]

    # -- convolution -----------------------------------------------------
    def _conv(
        self, geometry: ConvGeometry, differentiable: bool, finite: bool = True, pad_first: bool = False
    ) -> Forward:
        """conv(x NHWC, w HWIO, b) with explicit (possibly asymmetric) padding, natively.

        ``finite``: the inputs (and dY) hold no NaN or inf. ``pad_first``: the forward pads x with
        ``tf.pad`` and convolves without padding, so the padding's zeros multiply the weights.
        """
        pads = [[0, 0], *map(list, geometry.padding), [0, 0]]
        (sh, sw), groups = geometry.stride, geometry.groups
        # The CPU gradient kernels reject dilation and groups; the forward kernel takes both.
        dilated = differentiable and self.device == "cpu" and geometry.dilation != (1, 1)
        split = differentiable and self.device == "cpu" and groups > 1
        if dilated and not finite:
            # The stride-1 route's gradient multiplies the positions that the stride skips (and
            # space-to-batch's zero padding) by a zero dY: 0 * inf is NaN where no window reaches.
            self.note(
                "dilation > 1 with gradients of NaN or inf inputs as a sum over kernel taps of strided"
                " slices times the tap's weights (tf.nn.convolution at stride 1 multiplies the skipped"
                " positions by a zero gradient, and 0 * inf is NaN)"
            )
            return lambda x, w, b=None: _conv_taps(tf.pad(x, pads), w, geometry, b)
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
            if pad_first:
                return tf.nn.conv2d(tf.pad(x, pads), w, geometry.stride, "VALID", dilations=geometry.dilation)
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
        if np.shape(X)[0] == 0:
            return self._empty_conv(W, geometry, dtype)
        # oneDNN's bfloat16 conv gives NaN for some sums of infinite products of one sign (an AMD
        # Zen 5: conv2d-inf-bf16); float32 products of bfloat16 values are exact and their sum is
        # IEEE, so a non-finite bfloat16 call is computed in float32 and rounded once.
        wide = bfloat16_with_non_finite(dtype, X, W, b)
        if wide:
            self.note(
                "bfloat16 conv2d of inf or NaN computed in float32, rounded once (oneDNN's bf16 kernels)"
            )
        compute_dtype = np.dtype(np.float32) if wide else dtype
        # oneDNN's conv (on where the CPU has AVX512-VNNI and newer) skips the taps in its padding, so
        # a NaN or inf weight there contributes nothing; the reference multiplies the padding's zeros.
        pad_first = any(map(any, geometry.padding)) and not np.isfinite(W).all()
        if pad_first:
            self.note("conv2d padding via tf.pad where W holds NaN or inf (oneDNN skips 0 * W in padding)")
        conv = self._conv(geometry, differentiable=False, pad_first=pad_first)
        with tf.device(self._tf_device):
            hwio = self._tensor(np.asarray(W).transpose(2, 3, 1, 0), compute_dtype)
            (Y,) = self._without_daz(
                lambda x, w: [conv(x, w)], [self._image(X, compute_dtype), hwio], [X, W], [{0, 1}]
            )
            if b is not None:
                Y = tf.nn.bias_add(Y, self._tensor(b, compute_dtype))
            return _nchw(Y).astype(dtype) if wide else _nchw(Y)

    def _empty_conv(self, W: Any, geometry: Any, dtype: np.dtype) -> np.ndarray:
        """conv2d of an empty batch, (0, O, Ho, Wo): oneDNN's conv (on where the CPU has AVX512-VNNI
        and newer) returns the input's shape for it, and its bias addition then fails."""
        self.note("conv2d of an empty batch without TensorFlow (oneDNN's conv returns the input's shape)")
        return np.zeros((0, np.shape(W)[0], *geometry.output_size), dtype)

    def conv2d_vjp(self, X, W, dY, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups, dY=dY)
        dtype = result_dtype(X, W, dY)
        if np.shape(X)[0] == 0:  # sums over no image: zero gradients (see _empty_conv)
            self._empty_conv(W, geometry, dtype)
            return np.zeros(np.shape(X), dtype), np.zeros(np.shape(W), dtype), np.zeros(np.shape(W)[0], dtype)
        finite = all(np.isfinite(a).all() for a in (X, W, dY))
        conv = self._conv(geometry, differentiable=True, finite=finite)
        with tf.device(self._tf_device):
            hwio = self._tensor(np.asarray(W).transpose(2, 3, 1, 0), dtype)
            zero_bias = self._tensor(np.zeros(np.shape(W)[0]), dtype)

            def vjp(x: tf.Tensor, w: tf.Tensor, dy: tf.Tensor) -> list[tf.Tensor]:
                return self._grads(conv, [x, w, zero_bias], dy)[1]

            tensors = [self._image(X, dtype), hwio, self._image(dY, dtype)]
            dX, dW, db = self._without_daz(vjp, tensors, [X, W, dY], [{1, 2}, {0, 2}, {2}])
        return _nchw(dX), _oihw(dW), db.numpy()

    # -- pooling ---------------------------------------------------------
    def _max_pool(
        self, geometry: PoolGeometry, size: Sequence[int], special: bool, forward_mode: bool = False
    ) -> Forward:
        """Max pooling of NHWC x; ``special``: x holds NaN, -inf or subnormals (:func:`_needs_taps`);
        ``forward_mode``: for a ForwardAccumulator (MaxPoolGradGrad takes no explicit padding)."""
        pads = _pool_pads(geometry, size)
        stride, dilation = geometry.stride, geometry.dilation
        if _overhang(geometry, size):
            self.note("ceil_mode via extra bottom/right padding (TF pooling rounds the output size down)")
        if special or geometry.empty_windows(size).any():
            self.note(
                "max pooling of NaN, -inf, subnormals or windows entirely in padding via a per-tap"
                " tf.where selection (tf.nn.max_pool2d drops NaN, gives the lowest finite number for"
                " an all -inf or empty window, reads subnormals as 0, and MaxPoolGrad sends a NaN"
                " window's gradient to its first element)"
            )
            return lambda x: _max_taps(x, geometry, size, pads)
        if dilation == (1, 1) and forward_mode:
            self.note(
                "max-pool JVP via tf.pad with -inf and 'VALID' pooling (MaxPoolGradGrad, which"
                " ForwardAccumulator differentiates through, rejects explicit padding, zeros included)"
            )
            return lambda x: tf.nn.max_pool2d(
                tf.pad(x, pads, constant_values=-np.inf), geometry.kernel_size, stride, "VALID"
            )
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
        if pads == [[0, 0], [0, 0], [0, 0], [0, 0]]:
            return lambda x: tf.nn.avg_pool2d(x, kernel, stride, "VALID")
        if _overhang(geometry, size):
            self.note(
                "ceil_mode via extra bottom/right padding, left out of the divisor"
                " (TF pooling rounds the output size down)"
            )
        if geometry.padding != ((0, 0), (0, 0)):
            self.note(
                f"avg_pool2d padding with count_include_pad={count_include_pad} via tf.pad and a divisor"
                " pooled from a mask of ones (tf.nn.avg_pool2d has no explicit padding; its 'SAME'"
                " pads by TF's rule and never counts padding)"
            )
        ((top, bottom), (left, right)), h, w = geometry.padding, *size
        inner = [[0, 0], [top, bottom], [left, right], [0, 0]]
        overhang = [[0, 0], [0, pads[1][1] - bottom], [0, pads[2][1] - right], [0, 0]]

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
        pool = self._max_pool(geometry, np.shape(X)[2:], _needs_taps(X))
        with tf.device(self._tf_device):
            return _nchw(pool(self._image(X, result_dtype(X))))

    def max_pool2d_vjp(self, X, dY, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode, dY=dY
        )
        dtype = result_dtype(X, dY)
        pool = self._max_pool(geometry, np.shape(X)[2:], _needs_taps(X))
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
        return self._apply(_sigmoid_slope_times, X, dY)

    def relu(self, X):
        check_elementwise(X)
        if _has_subnormal(X):
            self.note(
                "relu of subnormals as tf.where on the sign bits (TF's CPU kernels read subnormals"
                " as 0, so tf.nn.relu and x > 0 give 0 for a positive subnormal)"
            )
            return self._apply(lambda x: tf.where(_positive(x) | tf.math.is_nan(x), x, tf.zeros_like(x)), X)
        self.note("relu as tf.nn.relu(x) + 0.0, so relu(-0.0) is +0.0 (tf.nn.relu keeps -0.0)")
        return self._apply(lambda x: tf.nn.relu(x) + 0.0, X)

    def relu_vjp(self, X, dY):
        check_elementwise(X, dY)
        if _has_subnormal(X, dY) or not np.isfinite(dY).all():
            self.note(
                "relu VJP as tf.where(x > 0, dY, 0) on the sign bits (ReluGrad multiplies dY by"
                " (x > 0), so a NaN or inf dY at x <= 0 gives NaN, and reads subnormals as 0)"
            )
            return self._apply(lambda x, dy: tf.where(_positive(x), dy, tf.zeros_like(dy)), X, dY)
        return self._vjp(tf.nn.relu, [X], dY)[0]

    @staticmethod
    def _linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | None = None) -> tf.Tensor:
        y = tf.linalg.matmul(x, w, transpose_b=True)
        return y if b is None else tf.nn.bias_add(y, b)

    def linear(self, X, W, b=None):
        check_dense(X, W, b)
        dtype = result_dtype(X, W) if b is None else result_dtype(X, W, b)
        with tf.device(self._tf_device):
            tensors = [self._tensor(X, dtype), self._tensor(W, dtype)]
            (Y,) = self._without_daz(lambda x, w: [self._linear(x, w)], tensors, [X, W], [{0, 1}])
            return (Y if b is None else tf.nn.bias_add(Y, self._tensor(b, dtype))).numpy()

    def linear_vjp(self, X, W, dY):
        check_dense(X, W, dY=dY)
        dtype = result_dtype(X, W, dY)
        with tf.device(self._tf_device):
            zero_bias = self._tensor(np.zeros(np.shape(W)[0]), dtype)

            def vjp(x: tf.Tensor, w: tf.Tensor, dy: tf.Tensor) -> list[tf.Tensor]:
                return self._grads(self._linear, [x, w, zero_bias], dy)[1]

            tensors = [self._tensor(a, dtype) for a in (X, W, dY)]
            grads = self._without_daz(vjp, tensors, [X, W, dY], [{1, 2}, {0, 2}, {2}])
        dX, dW, db = (g.numpy() for g in grads)
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

    def _cross_entropy(self, labels: Any, logits: Any) -> Forward:
        labels = np.asarray(labels, dtype=np.int64)
        dtype = result_dtype(logits)
        finite = np.abs(np.asarray(logits, dtype=np.float64)[np.isfinite(logits)])
        # A row's loss is at most 2 max|z| + log K: can it, or the batch's sum, overflow the dtype?
        room = (float(finfo(dtype).max) / max(len(labels), 1) - np.log(max(np.shape(logits)[1], 1))) / 2
        if dtype != np.float64 and finite.max(initial=0.0) > room:
            self.note(
                "the cross-entropy in float64 where a row's loss or the batch's sum can overflow the"
                " logits' dtype (the native op and tf.reduce_mean give inf where the mean is finite)"
            )

            def wide(z: tf.Tensor) -> tf.Tensor:
                losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.cast(z, tf.float64))
                return tf.cast(tf.reduce_mean(losses), z.dtype)

            return wide
        return lambda z: tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, z))

    def softmax_cross_entropy(self, logits, labels):
        check_cross_entropy(logits, labels)
        return result_dtype(logits).type(self._apply(self._cross_entropy(labels, logits), logits))

    def softmax_cross_entropy_vjp(self, logits, labels, dloss=1.0):
        check_cross_entropy(logits, labels)
        check_real_array("dloss", dloss, 0)
        dloss = np.asarray(dloss, dtype=result_dtype(logits))
        return self._vjp(self._cross_entropy(labels, logits), [logits], dloss)[0]

    # -- forward mode: tf.autodiff.ForwardAccumulator -----------------------
    def _tangent(self, forward: Forward, primals: Sequence[Any], tangents: Sequence[Any]) -> np.ndarray:
        """The tangent output of ``forward`` as NumPy (layout kept), in the arrays' result dtype."""
        dtype = result_dtype(*primals, *tangents)
        with tf.device(self._tf_device):
            inputs = [self._tensor(a, dtype) for a in primals]
            return _push_forward(forward, inputs, [self._tensor(t, dtype) for t in tangents]).numpy()

    def conv2d_jvp(self, X, W, tX, tW, stride=1, padding=0, dilation=1, groups=1):
        geometry = check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups)
        check_tangent("tX", tX, X)
        check_tangent("tW", tW, W)
        dtype = result_dtype(X, W, tX, tW)
        if np.shape(X)[0] == 0:
            return self._empty_conv(W, geometry, dtype)
        # ForwardAccumulator differentiates the backprop kernels: the differentiable route.
        conv = self._conv(geometry, differentiable=True, finite=all(np.isfinite(a).all() for a in (X, W)))
        with tf.device(self._tf_device):
            images = [self._image(X, dtype), self._image(tX, dtype)]
            hwio = [self._tensor(np.asarray(w).transpose(2, 3, 1, 0), dtype) for w in (W, tW)]
            return _nchw(_push_forward(conv, [images[0], hwio[0]], [images[1], hwio[1]]))

    def max_pool2d_jvp(self, X, tX, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = check_pool2d(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
        )
        check_tangent("tX", tX, X)
        dtype = result_dtype(X, tX)
        pool = self._max_pool(geometry, np.shape(X)[2:], _needs_taps(X), forward_mode=True)
        with tf.device(self._tf_device):
            return _nchw(_push_forward(pool, [self._image(X, dtype)], [self._image(tX, dtype)]))

    def avg_pool2d_jvp(
        self, X, tX, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        geometry = check_pool2d(X, kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                                count_include_pad=count_include_pad)  # fmt: skip
        check_tangent("tX", tX, X)
        dtype = result_dtype(X, tX)
        pool = self._avg_pool(geometry, np.shape(X)[2:], count_include_pad)
        with tf.device(self._tf_device):
            return _nchw(_push_forward(pool, [self._image(X, dtype)], [self._image(tX, dtype)]))

    def sigmoid_jvp(self, X, tX):
        check_elementwise(X)
        check_tangent("tX", tX, X)
        self.note(
            "sigmoid JVP as tX * sigmoid(x) * sigmoid(-x)"
            " (ForwardAccumulator's tX * y * (1 - y): 0 from x = 17)"
        )
        return self._apply(_sigmoid_slope_times, X, tX)

    def relu_jvp(self, X, tX):
        check_elementwise(X)
        check_tangent("tX", tX, X)
        return self._tangent(tf.nn.relu, [X], [tX])

    def linear_jvp(self, X, W, tX, tW):
        check_dense(X, W)
        check_tangent("tX", tX, X)
        check_tangent("tW", tW, W)
        return self._tangent(self._linear, [X, W], [tX, tW])

    def flatten_jvp(self, X, tX):
        check_flatten(X)
        check_tangent("tX", tX, X)
        return self._tangent(self._flatten, [X], [tX])

    def softmax_cross_entropy_jvp(self, logits, labels, tlogits):
        check_cross_entropy(logits, labels)
        check_tangent("tlogits", tlogits, logits)
        tangent = self._tangent(self._cross_entropy(labels, logits), [logits], [tlogits])
        return result_dtype(logits, tlogits).type(tangent)

    # -- LeNet -----------------------------------------------------------
    def lenet(self, variant="chapter", dtype="float32"):
        from backends.tensorflow.lenet import TensorFlowLeNet

        return TensorFlowLeNet(variant, dtype, self._tf_device)

    # -- benchmarks ------------------------------------------------------
    def device_peak_memory(self, call: Callable[[], object]) -> int | None:
        """TensorFlow's GPU allocator peak during ``call()`` (``get_memory_info``'s ``peak``, reset
        first, the devices synchronised) above its bytes in use before it; None on the CPU, whose
        allocator keeps no statistics."""
        if self.device == "cpu":
            return None
        name = self._tf_device.removeprefix("/")
        tf.test.experimental.sync_devices()
        before = tf.config.experimental.get_memory_info(name)["current"]
        tf.config.experimental.reset_memory_stats(name)
        call()
        tf.test.experimental.sync_devices()
        return tf.config.experimental.get_memory_info(name)["peak"] - before

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
                forward = self._max_pool(geometry, size, _needs_taps(arrays[0]))
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
