"""The backend contract: the reference's public ops, computed by a framework.

Every adapter subclasses :class:`Backend` and implements the framework-specific
ops with the framework's own functions and autograd. At the boundary arrays are
NumPy (images NCHW, conv weights OIHW, dense weights (out, in)); results come
back as NumPy in the result dtype the reference would give (float32 stays
float32, float64 stays float64). Every op validates its arguments with the
reference's validator first, so errors are identical across backends.

Where a native op cannot express a reference semantic, the adapter composes
native ops and calls :meth:`Backend.note` with a short description; the
conformance suite reads the notes with :meth:`Backend.recording`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

import numpy as np

import reference
from backends.errors import UnsupportedError
from backends.lenet import LeNetModel
from reference.dtypes import BFLOAT16
from reference.shapes import int_pair
from reference.validation import (
    check_conv2d,
    check_corr2d,
    check_cross_entropy,
    check_dense,
    check_elementwise,
    check_flatten,
    check_pool2d,
    check_real_array,
    check_tangent,
)

# The chapter's functions that the base class composes from one op: their sums are that op's.
COMPOSED = {
    "corr2d": "conv2d",
    "corr2d_multi_in": "conv2d",
    "corr2d_multi_in_out": "conv2d",
    "corr2d_multi_in_out_1x1": "linear",
    "pool2d": "avg_pool2d",
}


def bfloat16_with_non_finite(dtype: np.dtype, *arrays: Any) -> bool:
    """Whether a call computes in bfloat16 with an inf or NaN among ``arrays`` (None skipped): where
    oneDNN's bfloat16 conv gives NaN for some infinite sums of one sign, so adapters compute
    such a call in float32 and round once."""
    return dtype == BFLOAT16 and not all(np.isfinite(a).all() for a in arrays if a is not None)


@dataclass(frozen=True)
class Prepared:
    """A benchmark's op, prepared by :meth:`Backend.prepare`: what is timed and how to check it.

    ``run()`` is the timed path: it computes the op on the device, synchronises
    the device and returns the framework's outputs as they are (device
    tensors, no host copy). ``to_numpy(outputs)`` copies what one ``run()``
    returned to NumPy: canonical layouts (NCHW, OIHW), the result dtype.
    """

    run: Callable[[], Any]
    to_numpy: Callable[[Any], tuple[np.ndarray, ...]]

    def fetch(self) -> tuple[np.ndarray, ...]:
        """One call of the timed path, its outputs as NumPy arrays."""
        return tuple(self.to_numpy(self.run()))


class Backend(abc.ABC):
    """One framework behind the reference's interface.

    Attributes set by each adapter: ``name`` (registry name), ``framework``
    (import name), ``framework_version``, ``device`` (e.g. ``"cpu"``,
    ``"cuda:0"``) and ``precision`` (how float32 matmuls and convolutions are
    computed, e.g. ``"ieee float32 (TF32 off)"``).

    Each adapter defines one method per op of the op specs (``conformance.specs``),
    with the reference function's name and signature (``conformance/test_interface.py``
    checks every one); the chapter's functions below are composed from those ops.
    """

    name: ClassVar[str]
    framework: ClassVar[str]
    # Per half dtype ("float16", "bfloat16"), the functions whose sums the framework keeps in
    # float32, rounding once to the dtype (measured: conformance/accumulation.py).
    float32_sums: ClassVar[Mapping[str, frozenset[str]]] = {}
    framework_version: str
    device: str
    precision: str

    def __init__(self) -> None:
        self._notes: list[str] | None = None

    # -- emulation notes -------------------------------------------------
    def note(self, text: str) -> None:
        """Record that the current op call emulates a semantic (see :meth:`recording`)."""
        if self._notes is not None and text not in self._notes:
            self._notes.append(text)

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        """Collect the emulation notes of the op calls made inside the block."""
        self._notes = []
        try:
            yield self._notes
        finally:
            self._notes = None

    def environment(self) -> dict[str, str]:
        """What was tested: backend, framework version, device, precision, NumPy version."""
        return {
            "backend": self.name,
            "framework": self.framework,
            "framework_version": self.framework_version,
            "device": self.device,
            "precision": self.precision,
            "numpy_version": np.__version__,
        }

    def device_peak_memory(self, call: Callable[[], object]) -> int | None:
        """Bytes by which the framework allocator's peak on :attr:`device` during ``call()``
        exceeds what it held before (the call's results synchronised); None where the adapter
        does not probe its device (the base class; on the CPU the benchmarks probe the process)."""
        return None

    # -- determinism ----------------------------------------------------
    @classmethod
    def thread_environment(cls, threads: int) -> dict[str, str]:
        """Environment variables that give a new process of this framework ``threads`` CPU threads
        (set before the framework is imported). Base: the OpenMP, MKL and OpenBLAS pools."""
        count = str(threads)
        return {"OMP_NUM_THREADS": count, "MKL_NUM_THREADS": count, "OPENBLAS_NUM_THREADS": count}

    def enable_determinism(self) -> str:
        """Turn the framework's determinism switch on for this process and return its name.

        Raises :class:`UnsupportedError` with the reason where the framework has no such
        switch for this device (the base class: none)."""
        raise UnsupportedError(f"{self.framework} has no determinism switch")

    # -- half precision ---------------------------------------------------
    def accumulation_dtype(self, function: str, dtype: np.dtype) -> np.dtype:
        """The dtype in which the backend's ``function`` sums for results in ``dtype``.

        float32 where the adapter's :attr:`float32_sums` lists the function (or the op
        the base class composes it from, :data:`COMPOSED`) under ``dtype``'s name, else
        ``dtype`` itself: the bound any sum meets. The error bound of a reduction
        follows it (``conformance.tolerance``, "Half precision"), and
        ``conformance/test_accumulation.py`` measures each declaration.
        """
        dtype = np.dtype(dtype)
        summed_wide = COMPOSED.get(function, function) in self.float32_sums.get(dtype.name, ())
        return np.dtype(np.float32) if summed_wide else dtype

    # -- LeNet -----------------------------------------------------------
    @abc.abstractmethod
    def lenet(self, variant: str = "chapter", dtype: str = "float32") -> LeNetModel:
        """The chapter's LeNet (or its ``"relu-max"`` variant) from the framework's native layers."""

    # -- benchmarks ------------------------------------------------------
    @abc.abstractmethod
    def prepare(
        self,
        op: str,
        *arrays: np.ndarray,
        backward: bool = False,
        dY: np.ndarray | None = None,
        **kwargs: Any,
    ) -> Prepared:
        """``op`` (``conv2d``, ``max_pool2d`` or ``avg_pool2d``) on device-resident
        copies of ``arrays`` (NCHW, OIHW), ready to time; ``kwargs`` as the op takes them.

        Forward (``backward=False``, no ``dY``): ``run()`` computes the output and
        :meth:`Prepared.fetch` gives ``(Y,)``. With ``backward=True`` the caller
        passes ``dY`` (the output's shape; moved to the device once) and ``run()``
        computes the forward and the gradients of ``sum(output * dY)``;
        :meth:`Prepared.fetch` gives one gradient per array of ``arrays``, in
        order: ``(dX, dW)`` for ``conv2d(X, W)``, ``(dX,)`` for pooling. Raises
        ``ValueError`` for another op, or when ``dY`` is missing with ``backward``
        or given without it."""

    @staticmethod
    def _check_prepare(backward: bool, dY: np.ndarray | None) -> None:
        """The ``backward``/``dY`` pairing rule of :meth:`prepare`."""
        if backward != (dY is not None):
            raise ValueError(f"prepare needs dY exactly when backward=True, got backward={backward!r}")

    # -- forward mode: a backend without it validates, then raises --------
    # Each ``<op>_jvp`` has the reference's signature; an adapter with forward-mode automatic
    # differentiation overrides it. Here the arguments are checked as the reference checks them
    # (an invalid call raises the same error everywhere) and UnsupportedError follows.
    def _no_forward_mode(self, function: str) -> NoReturn:
        raise UnsupportedError(f"{self.framework} has no forward-mode automatic differentiation ({function})")

    def conv2d_jvp(self, X, W, tX, tW, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
        """``conv2d(tX, W) + conv2d(X, tW)`` (:func:`reference.conv2d_jvp`)."""
        check_conv2d(X, W, stride=stride, padding=padding, dilation=dilation, groups=groups)
        check_tangent("tX", tX, X)
        check_tangent("tW", tW, W)
        self._no_forward_mode("conv2d_jvp")

    def max_pool2d_jvp(
        self, X, tX, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
    ) -> np.ndarray:
        """tX at each window's selected element (:func:`reference.max_pool2d_jvp`)."""
        check_pool2d(X, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
        check_tangent("tX", tX, X)
        self._no_forward_mode("max_pool2d_jvp")

    def avg_pool2d_jvp(
        self, X, tX, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ) -> np.ndarray:
        """``avg_pool2d(tX)`` (:func:`reference.avg_pool2d_jvp`)."""
        check_pool2d(X, kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                     count_include_pad=count_include_pad)  # fmt: skip
        check_tangent("tX", tX, X)
        self._no_forward_mode("avg_pool2d_jvp")

    def sigmoid_jvp(self, X, tX) -> np.ndarray:
        """``tX * s(X) * s(-X)`` (:func:`reference.sigmoid_jvp`)."""
        check_elementwise(X)
        check_tangent("tX", tX, X)
        self._no_forward_mode("sigmoid_jvp")

    def relu_jvp(self, X, tX) -> np.ndarray:
        """``tX`` where ``X > 0``, else 0 (:func:`reference.relu_jvp`)."""
        check_elementwise(X)
        check_tangent("tX", tX, X)
        self._no_forward_mode("relu_jvp")

    def linear_jvp(self, X, W, tX, tW) -> np.ndarray:
        """``tX W^T + X tW^T`` (:func:`reference.linear_jvp`)."""
        check_dense(X, W)
        check_tangent("tX", tX, X)
        check_tangent("tW", tW, W)
        self._no_forward_mode("linear_jvp")

    def flatten_jvp(self, X, tX) -> np.ndarray:
        """``flatten(tX)`` (:func:`reference.flatten_jvp`)."""
        check_flatten(X)
        check_tangent("tX", tX, X)
        self._no_forward_mode("flatten_jvp")

    def softmax_cross_entropy_jvp(self, logits, labels, tlogits) -> np.floating:
        """The mean loss's derivative along ``tlogits`` (:func:`reference.softmax_cross_entropy_jvp`)."""
        check_cross_entropy(logits, labels)
        check_tangent("tlogits", tlogits, logits)
        self._no_forward_mode("softmax_cross_entropy_jvp")

    # -- the chapter's functions, through the native ops -----------------
    def corr2d(self, X: Any, K: Any) -> np.ndarray:
        """The chapter's corr2d, as the backend's conv2d on a 1x1x H x W batch."""
        check_corr2d(X, K)
        return self.conv2d(np.asarray(X)[None, None], np.asarray(K)[None, None])[0, 0]

    def corr2d_multi_in(self, X: Any, K: Any) -> np.ndarray:
        """Sum over channels of corr2d: X (C, H, W), K (C, kh, kw) -> (Ho, Wo)."""
        check_corr2d(X, K, channels=1)
        return self.conv2d(np.asarray(X)[None], np.asarray(K)[None])[0, 0]

    def corr2d_multi_in_out(self, X: Any, K: Any) -> np.ndarray:
        """X (C, H, W), K (O, C, kh, kw) -> (O, Ho, Wo)."""
        check_corr2d(X, K, channels=2)
        return self.conv2d(np.asarray(X)[None], K)[0]

    def corr2d_multi_in_out_1x1(self, X: Any, K: Any) -> np.ndarray:
        """A 1x1 convolution as the backend's dense layer: X (C, H, W), K (O, C, 1, 1) -> (O, H, W)."""
        check_corr2d(X, K, channels=2)
        X, K = np.asarray(X), np.asarray(K)
        if K.shape[2:] != (1, 1):
            raise ValueError(f"K must be a 1x1 kernel (O, C, 1, 1), got K.shape={K.shape}")
        c, h, w = X.shape
        Y = self.linear(X.reshape(c, h * w).T, K.reshape(K.shape[0], c))
        return np.ascontiguousarray(Y.T.reshape(-1, h, w))  # the transpose is a view: a fresh C array

    def pool2d(self, X: Any, pool_size: Any, mode: str = "max") -> np.ndarray:
        """The chapter's pool2d (stride 1, no padding) through the backend's pooling."""
        X = check_real_array("X", X, 2)
        size = int_pair("pool_size", pool_size, 1)
        if mode not in ("max", "avg"):
            raise ValueError(f"mode must be 'max' or 'avg', got mode={mode!r}")
        if size[0] > X.shape[0] or size[1] > X.shape[1]:
            raise ValueError(f"pool_size={pool_size!r} must fit in X.shape={X.shape}")
        pool = self.max_pool2d if mode == "max" else self.avg_pool2d
        return pool(X[None, None], size, stride=1)[0, 0]

    def Conv2D(self, kernel_size: Any, rng: np.random.Generator | None = None) -> _Conv2DLayer:  # noqa: N802
        """The chapter's Conv2D layer, whose forward pass is this backend's corr2d."""
        return _Conv2DLayer(self, kernel_size, rng)

    # -- shape helpers: pure integer arithmetic, shared with the reference --
    conv_output_size = staticmethod(reference.conv_output_size)
    pool_output_size = staticmethod(reference.pool_output_size)
    same_padding = staticmethod(reference.same_padding)
    conv2d_output_shape = staticmethod(reference.conv2d_output_shape)
    pool2d_output_shape = staticmethod(reference.pool2d_output_shape)


class _Conv2DLayer(reference.Conv2D):
    """:class:`reference.Conv2D` with the corr2d of a backend."""

    def __init__(self, backend: Backend, kernel_size: Any, rng: np.random.Generator | None) -> None:
        super().__init__(kernel_size, rng)
        self._backend = backend

    def forward(self, X: Any) -> np.ndarray:
        """``corr2d(X, weight) + bias`` computed by the backend."""
        return self._backend.corr2d(X, self.weight) + self.bias

    __call__ = forward
