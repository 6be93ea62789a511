"""MXNet's native calls (legacy ``mx.nd``, MXNet 1.9.1) with the obvious arguments, against the reference."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import reference
from backends.divergences import NotApplicableError, Probe
from backends.divergences.inputs import (
    ACTIVATION,
    ALL_NEG_INF_3,
    AVG_INF,
    AVG_INF_NEG_INF,
    BACKWARDS,
    CE_LABELS,
    CE_LOGITS,
    CEIL_6,
    DILATED_IN_PADDING,
    FC1,
    FLAT_1D,
    HUGE_W,
    IMAGE_5,
    IMAGE_6,
    KERNEL_2,
    NANS_IN_MAX_WINDOWS,
    RELU_KINK,
    SIGMOID_TAIL_DY,
    SIGMOID_TAILS,
    SUBNORMAL_X,
    TF32_W,
    TF32_X,
    TIES,
    WITH_NAN,
)
from backends.mxnet.ops import mx  # imported there with its import-time warnings silenced

nd = mx.nd


# Inputs of the pooling probes beside the shared ones of :mod:`backends.divergences.inputs`.
ONES_4 = np.ones((1, 1, 4, 4), dtype=np.float32)
ONES_5 = np.ones((1, 1, 5, 5), dtype=np.float32)
ALL_NEG_INF = np.full((1, 1, 2, 2), -np.inf, dtype=np.float32)


def _a(array: np.ndarray, ctx: mx.Context | None = None) -> mx.nd.NDArray:
    """An NDArray of a probe input (float32, CPU unless ``ctx``)."""
    return nd.array(array, ctx=ctx or mx.cpu(), dtype=array.dtype)


def _run(call: Callable[[], mx.nd.NDArray]) -> np.ndarray:
    """``call()`` as NumPy; an ``MXNetError`` keeps only its last line, the reason
    (its first lines are a C++ traceback header)."""
    try:
        return call().asnumpy()
    except mx.base.MXNetError as error:
        reason = str(error).strip().splitlines()[-1].removeprefix("MXNetError: ")
        raise mx.base.MXNetError(reason) from None


def _conv(**kwargs) -> np.ndarray:
    """``Convolution`` of the 5x5 image with the 2x2 kernel."""
    return _run(lambda: nd.Convolution(_a(IMAGE_5), _a(KERNEL_2), kernel=(2, 2), num_filter=1, no_bias=True,
                                       **kwargs))  # fmt: skip


def _pool(array: np.ndarray, **kwargs) -> np.ndarray:
    return _run(lambda: nd.Pooling(_a(array), **kwargs))


def _pool_grad(array: np.ndarray, **kwargs) -> np.ndarray:
    """Gradient of ``Pooling(x, **kwargs).sum()``."""
    x = _a(array)
    x.attach_grad()
    with mx.autograd.record():
        y = nd.Pooling(x, **kwargs)
    y.backward(nd.ones_like(y))
    return x.grad.asnumpy()


def _grad(forward: Callable[[mx.nd.NDArray], mx.nd.NDArray], array: np.ndarray, dy: np.ndarray | None = None):
    """x.grad after recording ``forward(x)`` and ``backward(dy)`` (dy: ones by default)."""
    x = _a(array)
    x.attach_grad()
    with mx.autograd.record():
        y = forward(x)
    y.backward(nd.ones_like(y) if dy is None else _a(dy))
    return x.grad.asnumpy()


def _dilated_pool() -> np.ndarray:
    """``Pooling`` asked for a dilation; its "unknown argument" error states the reason in its first line
    (the lines after it list Pooling's arguments)."""
    try:
        return nd.Pooling(_a(DILATED_IN_PADDING), kernel=(2, 2), pool_type="max", stride=(1, 1), pad=(1, 1),
                          dilate=(3, 3)).asnumpy()  # fmt: skip
    except mx.base.MXNetError as error:
        reason = str(error).strip().splitlines()[0].removeprefix("MXNetError: ").partition(", Possible")[0]
        raise mx.base.MXNetError(reason) from None


def _cross_entropy_loss(row: int) -> Callable[[mx.nd.NDArray], mx.nd.NDArray]:
    """Gluon's softmax cross-entropy of one CE_LOGITS row against its label, averaged over the batch."""
    labels = _a(CE_LABELS[row : row + 1].astype(np.float32))
    loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    return lambda z: loss(z, labels).mean()


def _cross_entropy(row: int) -> np.ndarray:
    """The loss as a 0-d array, as the reference's (a legacy NDArray has shape (1,))."""
    return _run(lambda: _cross_entropy_loss(row)(_a(CE_LOGITS[row : row + 1]))).reshape(())


def _tf32_conv() -> np.ndarray:
    if not mx.context.num_gpus():
        raise NotApplicableError("no GPU (the PyPI mxnet 1.9.1 wheel is CPU only)")
    gpu = mx.gpu(0)
    # cuDNN 8's default math mode lets float32 convolutions use TF32 on Ampere and newer.
    x, w = _a(TF32_X, gpu), _a(TF32_W, gpu)
    return nd.Convolution(x, w, kernel=(3, 3), pad=(1, 1), num_filter=64, no_bias=True).asnumpy()


def _same_padding() -> list[Probe]:
    """'same' padding with an odd total: MXNet has no 'same', a user pads symmetrically."""
    return [
        Probe("'same' padding, odd total",
              "nd.Convolution(x, w, kernel=(2, 2), num_filter=1, no_bias=True, pad=(1, 1))"
              " (no 'same' option: a user pads symmetrically)",
              lambda: _conv(pad=(1, 1)),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, padding="same"),
              "explicit pads from the reference's rule, mx.nd.pad when asymmetric"),
        Probe("'same' padding, odd total",
              "nd.Convolution(x, w, kernel=(2, 2), num_filter=1, no_bias=True, stride=(2, 2), pad=(1, 1))",
              lambda: _conv(stride=(2, 2), pad=(1, 1)),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, stride=2, padding="same"),
              "explicit pads from the reference's rule, mx.nd.pad when asymmetric"),
    ]  # fmt: skip


def _pool_6(pool_type: str, **kwargs: object) -> np.ndarray:
    """``nd.Pooling`` of the 6x6 image, 3x3 window, stride 2."""
    return mx.nd.Pooling(mx.nd.array(IMAGE_6), kernel=(3, 3), pool_type=pool_type, **kwargs).asnumpy()


def _same_pooling() -> list[Probe]:
    """'same' pooling: Pooling pads symmetrically; its pooling_convention 'same' only sizes the output."""
    return [
        Probe("'same' pooling",
              "nd.Pooling(x, kernel=(3, 3), stride=(2, 2), pool_type='max', pooling_convention='same')"
              " on 6x6",
              lambda: _pool_6("max", stride=(2, 2), pooling_convention="same"),
              lambda: reference.max_pool2d(IMAGE_6, 3, stride=2, padding="same"),
              "mx.nd.pad (-inf) by the reference's rule, strided slices and a pick"),
        Probe("'same' pooling",
              "nd.Pooling(x, kernel=(3, 3), stride=(2, 2), pool_type='avg', pooling_convention='same')"
              " on 6x6",
              lambda: _pool_6("avg", stride=(2, 2), pooling_convention="same"),
              lambda: reference.avg_pool2d(IMAGE_6, 3, stride=2, padding="same"),
              "mx.nd.pad (zeros) by the reference's rule, sum pools over a sum-pooled mask of the"
              " counted cells"),
        Probe("'same' pooling",
              "nd.Pooling(x, kernel=(3, 3), stride=(2, 2), pool_type='max', pad=(1, 1)) on 6x6 as the port of"
              " TF's 'SAME'",
              lambda: _pool_6("max", stride=(2, 2), pad=(1, 1)),
              lambda: reference.max_pool2d(IMAGE_6, 3, stride=2, padding="same"),
              "mx.nd.pad (-inf) with pads (0, 1) per axis, strided slices and a pick"),
        Probe("'same' pooling",
              "nd.Pooling(x, kernel=(3, 3), stride=(1, 1), pool_type='max', pad=(2, 2))"
              " (pads kernel_size - 1)",
              lambda: _pool_6("max", stride=(1, 1), pad=(2, 2)),
              lambda: reference.max_pool2d(IMAGE_6, 3, stride=1, padding=2),
              "native"),
    ]  # fmt: skip


def _asymmetric_padding() -> list[Probe]:
    """Asymmetric padding: ``pad`` is one symmetric size per axis."""
    return [
        Probe("asymmetric padding",
              "nd.Convolution(x, w, kernel=(2, 2), num_filter=1, no_bias=True, pad=(0, 1, 0, 1))"
              " (pad is one symmetric size per axis)",
              lambda: _conv(pad=(0, 1, 0, 1)),
              lambda: reference.conv2d(IMAGE_5, KERNEL_2, padding=((0, 1), (0, 1))),
              "mx.nd.pad, then Convolution without padding"),
    ]  # fmt: skip


def _avg_pool_count() -> list[Probe]:
    """Whether average pooling's divisor counts the padding."""
    return [
        Probe("avg-pool padding count",
              "nd.Pooling(x, kernel=(3, 3), pool_type='avg', stride=(2, 2), pad=(1, 1))",
              lambda: _pool(ONES_5, kernel=(3, 3), pool_type="avg", stride=(2, 2), pad=(1, 1)),
              lambda: reference.avg_pool2d(ONES_5, 3, stride=2, padding=1),
              "native (count_include_pad=True is MXNet's default too)"),
    ]  # fmt: skip


def _ceil_mode() -> list[Probe]:
    """ceil_mode through ``pooling_convention``, forward and backward."""
    return [
        Probe("ceil_mode",
              "nd.Pooling(x, kernel=(2, 2), pool_type='max', stride=(2, 2), pad=(1, 1),"
              " pooling_convention='full')",
              lambda: _pool(IMAGE_5, kernel=(2, 2), pool_type="max", stride=(2, 2), pad=(1, 1),
                            pooling_convention="full"),
              lambda: reference.max_pool2d(IMAGE_5, 2, stride=2, padding=1, ceil_mode=True),
              "pooling_convention='full', then a slice drops the last window, which starts in the padding"),
        Probe("ceil_mode",
              "nd.Pooling(x, kernel=(2, 2), pool_type='avg', stride=(2, 2)) (pooling_convention='valid')",
              lambda: _pool(IMAGE_5, kernel=(2, 2), pool_type="avg", stride=(2, 2)),
              lambda: reference.avg_pool2d(IMAGE_5, 2, ceil_mode=True),
              "pooling_convention='full' for ceil_mode=True"),
        Probe("ceil_mode",
              "nd.Pooling(x, kernel=(2, 2), pool_type='avg', stride=(2, 2), pooling_convention='full')",
              lambda: _pool(IMAGE_5, kernel=(2, 2), pool_type="avg", stride=(2, 2),
                            pooling_convention="full"),
              lambda: reference.avg_pool2d(IMAGE_5, 2, ceil_mode=True),
              "native (the forward divisor never counts the ceil overhang)"),
        Probe("ceil_mode",
              "x.grad after nd.Pooling(x, kernel=(3, 3), pool_type='avg', stride=(2, 2), pad=(1, 1),"
              " pooling_convention='full') on 4x4, backward of ones",
              lambda: _pool_grad(
                  ONES_4, kernel=(3, 3), pool_type="avg", stride=(2, 2), pad=(1, 1), pooling_convention="full"
              ),
              lambda: reference.avg_pool2d_vjp(ONES_4, np.ones((1, 1, 3, 3), np.float32), 3, stride=2,
                                               padding=1, ceil_mode=True),
              "sum pooling divided by a sum-pooled mask of the counted cells when a ceil_mode window"
              " hangs past the padded input (MKL-DNN's float32 backward counts the overhang)"),
    ]  # fmt: skip


def _pooling_conventions() -> list[Probe]:
    """``Pooling``'s own defaults: stride 1, a max that starts from -FLT_MAX."""
    return [
        Probe("MXNet pooling conventions",
              "nd.Pooling(x, kernel=(2, 2), pool_type='max') (no stride)",
              lambda: _pool(IMAGE_5, kernel=(2, 2), pool_type="max"),
              lambda: reference.max_pool2d(IMAGE_5, 2),
              "stride always passed (Pooling's stride defaults to 1, not to the window)"),
        Probe("MXNet pooling conventions",
              "nd.Pooling(x, kernel=(2, 2), pool_type='max', stride=(2, 2)) on a window of -inf",
              lambda: _pool(ALL_NEG_INF, kernel=(2, 2), pool_type="max", stride=(2, 2)),
              lambda: reference.max_pool2d(ALL_NEG_INF, 2),
              "strided slices, argmax and pick when the input holds -inf (Pooling starts from -FLT_MAX)"),
    ]  # fmt: skip


def _max_pool_ties() -> list[Probe]:
    """Which of tied maxima takes a window's gradient."""
    return [
        Probe("max-pool ties",
              "x.grad after nd.Pooling(x, kernel=(2, 2), pool_type='max', stride=(2, 2)), backward of ones",
              lambda: _pool_grad(TIES, kernel=(2, 2), pool_type="max", stride=(2, 2)),
              lambda: reference.max_pool2d_vjp(TIES, np.ones((1, 1, 2, 2), np.float32), 2),
              "native on the CPU (first maximal element)"),
    ]  # fmt: skip


def _nan_in_max_window() -> list[Probe]:
    """A NaN in a max-pool window."""
    return [
        Probe("NaN in a max window",
              "nd.Pooling(x, kernel=(2, 2), pool_type='max', stride=(2, 2))",
              lambda: _pool(WITH_NAN, kernel=(2, 2), pool_type="max", stride=(2, 2)),
              lambda: reference.max_pool2d(WITH_NAN, 2),
              "strided slices, argmax and pick when the input holds NaN (Pooling skips NaN)"),
    ]  # fmt: skip


def _flatten_order() -> list[Probe]:
    """Flatten order before the first dense layer."""
    return [
        Probe("flatten order before the first dense layer",
              "nd.FullyConnected(nd.flatten(x), fc1, no_bias=True, num_hidden=120)",
              lambda: _run(lambda: nd.FullyConnected(nd.flatten(_a(ACTIVATION)), _a(FC1), no_bias=True,
                                                     num_hidden=120)),
              lambda: reference.linear(reference.flatten(ACTIVATION), FC1),
              "native (NCHW, so flatten is C, H, W order)"),
    ]  # fmt: skip


def _tf32() -> list[Probe]:
    """Float32 convolutions on a GPU, where TF32 may be on."""
    return [
        Probe("TF32 on GPUs",
              "nd.Convolution(x, w, kernel=(3, 3), pad=(1, 1), num_filter=64, no_bias=True) on mx.gpu(0)",
              _tf32_conv,
              lambda: reference.conv2d(TF32_X, TF32_W, padding=1),
              "NVIDIA_TF32_OVERRIDE=0 (and cuDNN autotune off) on GPUs"),
    ]  # fmt: skip


def _relu_kink() -> list[Probe]:
    """ReLU's gradient at NaN and at both zeros."""
    return [
        Probe("NaN at ReLU's kink",
              "x.grad after nd.relu(x), backward of ones, x = [nan, 0, -0, 1, -1, inf, -inf]",
              lambda: _grad(nd.relu, RELU_KINK),
              lambda: reference.relu_vjp(RELU_KINK, np.ones_like(RELU_KINK)),
              "inputs with NaN: autograd of nd.where(x > 0, x, 0) (relu's backward gives NaN at NaN);"
              " otherwise native"),
    ]  # fmt: skip


def _special_max_windows() -> list[Probe]:
    """Max windows with several NaNs, only -inf beside padding, or only padding (dilated)."""
    ones_2x2 = np.ones((1, 1, 2, 2), np.float32)
    return [
        Probe("several NaNs in a max window",
              "x.grad after nd.Pooling(x, kernel=(2, 2), pool_type='max', stride=(2, 2)), backward of ones,"
              " two NaNs in each 2x2 window",
              lambda: _grad(lambda x: nd.Pooling(x, kernel=(2, 2), pool_type="max", stride=(2, 2)),
                            NANS_IN_MAX_WINDOWS),
              lambda: reference.max_pool2d_vjp(NANS_IN_MAX_WINDOWS, np.ones((1, 1, 1, 2), np.float32), 2),
              "inputs with NaN or -inf: autograd of strided slices, argmax and pick (first NaN)"),
        Probe("all -inf window beside padding",
              "nd.Pooling(x, kernel=(3, 3), pool_type='max', stride=(2, 2), pad=(1, 1)), x all -inf",
              lambda: _pool(ALL_NEG_INF_3, kernel=(3, 3), pool_type="max", stride=(2, 2), pad=(1, 1)),
              lambda: reference.max_pool2d(ALL_NEG_INF_3, 3, stride=2, padding=1),
              "inputs with NaN or -inf: strided slices of mx.nd.pad(x, -inf), argmax and pick"),
        Probe("all -inf window beside padding",
              "x.grad after nd.Pooling(x, kernel=(3, 3), pool_type='max', stride=(2, 2), pad=(1, 1)),"
              " backward of ones, x all -inf",
              lambda: _pool_grad(ALL_NEG_INF_3, kernel=(3, 3), pool_type="max", stride=(2, 2), pad=(1, 1)),
              lambda: reference.max_pool2d_vjp(ALL_NEG_INF_3, ones_2x2, 3, stride=2, padding=1),
              "emulated for inputs with NaN, -inf or the lowest finite value: strided slices of"
              " mx.nd.pad(x, -inf) whose selection skips padding taps, so a window sends its gradient to"
              " its first real element"),
        Probe("dilated window entirely in padding",
              "nd.Pooling(x, kernel=(2, 2), pool_type='max', stride=(1, 1), pad=(1, 1), dilate=(3, 3))"
              " on 2x2 (both taps of each axis in padding)",
              _dilated_pool,
              lambda: reference.max_pool2d(DILATED_IN_PADDING, 2, stride=1, padding=1, dilation=3),
              "strided slices of mx.nd.pad(x, -inf), argmax and pick (Pooling has no dilation)"),
    ]  # fmt: skip


def _ceil_window_past_padding() -> list[Probe]:
    """A ceil_mode window that reaches past the padded input: ``pooling_convention='full'``."""
    return [
        Probe("ceil_mode window past the padded input",
              "nd.Pooling(x, kernel=(3, 3), pool_type='max', stride=(2, 2), pad=(1, 1),"
              " pooling_convention='full') on 6x6",
              lambda: _pool(CEIL_6, kernel=(3, 3), pool_type="max", stride=(2, 2), pad=(1, 1),
                            pooling_convention="full"),
              lambda: reference.max_pool2d(CEIL_6, 3, stride=2, padding=1, ceil_mode=True),
              "pooling_convention='full' (no window to slice off here)"),
        Probe("ceil_mode window past the padded input",
              "nd.Pooling(x, kernel=(3, 3), pool_type='avg', stride=(2, 2), pad=(1, 1),"
              " pooling_convention='full') on 6x6",
              lambda: _pool(CEIL_6, kernel=(3, 3), pool_type="avg", stride=(2, 2), pad=(1, 1),
                            pooling_convention="full"),
              lambda: reference.avg_pool2d(CEIL_6, 3, stride=2, padding=1, ceil_mode=True),
              "sum pooling divided by a sum-pooled mask of the counted cells (the window hangs past the"
              " padded input; MKL-DNN's float32 backward counts the overhang)"),
    ]  # fmt: skip


def _sigmoid_tails() -> list[Probe]:
    """Autograd's sigmoid gradient ``dY * y * (1 - y)`` in both tails."""
    return [
        Probe("sigmoid gradient in the tails",
              "x.grad after nd.sigmoid(x), backward of dy, x = [-100, -40, -20, 0, 20, 40, 100],"
              " dy = [1e30, 1e17, 1e8, 1, 1e8, 1e17, 1e30]",
              lambda: _grad(nd.sigmoid, SIGMOID_TAILS, SIGMOID_TAIL_DY),
              lambda: reference.sigmoid_vjp(SIGMOID_TAILS, SIGMOID_TAIL_DY),
              "emulated: dY * nd.sigmoid(x) * nd.sigmoid(-x), no autograd (its dY * y * (1 - y));"
              " an infinite dY at a finite x stays infinite"),
    ]  # fmt: skip


def _flatten_1d() -> list[Probe]:
    """Flatten of an input with only a batch axis."""
    return [
        Probe("flatten of a 1-D input", "nd.flatten(x), x of shape (5,)",
              lambda: _run(lambda: nd.flatten(_a(FLAT_1D))),
              lambda: reference.flatten(FLAT_1D),
              "nd.reshape(x, shape=(0, -1))"),
    ]  # fmt: skip


def _cross_entropy_specials() -> list[Probe]:
    """Gluon's softmax cross-entropy of a -inf, a huge and a NaN logits row, and two gradients."""
    call = "mx.gluon.loss.SoftmaxCrossEntropyLoss()(z, y).mean()"

    def ce_row(row: int) -> Callable[[], np.ndarray]:
        return lambda: reference.softmax_cross_entropy(CE_LOGITS[row : row + 1], CE_LABELS[row : row + 1])

    def ce_grad(row: int) -> Callable[[], np.ndarray]:
        return lambda: reference.softmax_cross_entropy_vjp(CE_LOGITS[row : row + 1], CE_LABELS[row : row + 1])

    def native_grad(row: int) -> Callable[[], np.ndarray]:
        return lambda: _grad(_cross_entropy_loss(row), CE_LOGITS[row : row + 1])

    forward = (
        "emulated: z - max - log(sum(exp(z - max))) from nd ops (MKL-DNN's float32 log_softmax is off by"
        " up to 64 u and skips NaN)"
    )
    backward = "emulated: (nd.softmax(z, axis=1) - nd.one_hot(y)) * dloss / n, no autograd"
    nan_forward = forward
    nan_backward = f"{backward}, plus (max - max) per row: NaN where a row's maximum is NaN or infinite"
    return [
        Probe("cross-entropy with -inf, NaN and huge logits", f"{call}, z = [[-inf, 0, 1]], y = [1]",
              lambda: _cross_entropy(0), ce_row(0), forward),
        Probe("cross-entropy with -inf, NaN and huge logits", f"{call}, z = [[3e38, -3e38, 0]], y = [0]",
              lambda: _cross_entropy(1), ce_row(1), forward),
        Probe("cross-entropy with -inf, NaN and huge logits", f"{call}, z = [[nan, 0, 1]], y = [2]",
              lambda: _cross_entropy(2), ce_row(2), nan_forward),
        Probe("cross-entropy with -inf, NaN and huge logits",
              f"z.grad after {call}, backward, z = [[-inf, 0, 1]], y = [1]",
              native_grad(0), ce_grad(0), backward),
        Probe("cross-entropy with -inf, NaN and huge logits",
              f"z.grad after {call}, backward, z = [[3e38, -3e38, 0]], y = [0]",
              native_grad(1), ce_grad(1), backward),
        Probe("cross-entropy with -inf, NaN and huge logits",
              f"z.grad after {call}, backward, z = [[nan, 0, 1]], y = [2]",
              native_grad(2), ce_grad(2), nan_backward),
    ]  # fmt: skip


def _avg_of_infinities() -> list[Probe]:
    """Average windows holding inf and -inf, or inf among finite values."""
    return [
        Probe("inf and -inf in one average window",
              "nd.Pooling(x, kernel=(2, 2), pool_type='avg', stride=(2, 2)), x = [[inf, -inf], [1, 2]]",
              lambda: _pool(AVG_INF_NEG_INF, kernel=(2, 2), pool_type="avg", stride=(2, 2)),
              lambda: reference.avg_pool2d(AVG_INF_NEG_INF, 2),
              "native"),
        Probe("inf and -inf in one average window",
              "nd.Pooling(x, kernel=(2, 2), pool_type='avg', stride=(2, 2)), x = [[inf, 1], [2, 3]]",
              lambda: _pool(AVG_INF, kernel=(2, 2), pool_type="avg", stride=(2, 2)),
              lambda: reference.avg_pool2d(AVG_INF, 2),
              "native"),
    ]  # fmt: skip


def _subnormals() -> list[Probe]:
    """Subnormal float32 inputs: whether the kernels read them as zero (DAZ)."""
    return [
        Probe("subnormal inputs", "nd.dot(x, w, transpose_b=True),"
              " x = [[1e-40, 1e-45]], w = [[1e38, 1e38]] float32",
              lambda: mx.nd.dot(mx.nd.array(SUBNORMAL_X), mx.nd.array(HUGE_W), transpose_b=True).asnumpy(),
              lambda: reference.linear(SUBNORMAL_X, HUGE_W),
              "native"),
    ]  # fmt: skip


def _negative_strides() -> list[Probe]:
    """A view with negative strides, as labels and parameters arrive from x[::-1]."""
    return [
        Probe("negative strides", "mx.nd.array(x), x = np.arange(6.).reshape(2, 3)[::-1, ::-1]",
              lambda: mx.nd.array(BACKWARDS).asnumpy(),
              lambda: np.array(BACKWARDS),
              "native"),
    ]  # fmt: skip


def probes() -> list[Probe]:
    """Every probe, family by family."""
    families = (
        _same_padding,
        _same_pooling,
        _asymmetric_padding,
        _avg_pool_count,
        _ceil_mode,
        _pooling_conventions,
        _max_pool_ties,
        _nan_in_max_window,
        _flatten_order,
        _tf32,
        _relu_kink,
        _special_max_windows,
        _ceil_window_past_padding,
        _sigmoid_tails,
        _flatten_1d,
        _cross_entropy_specials,
        _avg_of_infinities,
        _subnormals,
        _negative_strides,
    )
    return [probe for family in families for probe in family()]
