"""Device selection shared by the adapters: ``"auto"``, ``"cpu"``, ``"gpu"`` or explicit; the TF32 switch."""

from __future__ import annotations

import os

# "1": the adapters that can (PyTorch, JAX) let float32 convolutions and matmuls run in TF32 on GPUs.
TF32_VARIABLE = "CNN_CHAPTER_REFERENCE_TF32"


def tf32_requested() -> bool:
    """Whether this process asks for TF32 (``CNN_CHAPTER_REFERENCE_TF32=1``; anything else: off).

    Off by default: conformance needs IEEE float32. ``nox -s gpu-check`` turns it on for one run of
    the convolution cases, whose failures measure what the frameworks' GPU default does.
    """
    return os.environ.get(TF32_VARIABLE) == "1"


def resolve_device(requested: str, gpu_count: int, gpu_prefix: str) -> str:
    """The device string to use.

    ``"auto"``: ``f"{gpu_prefix}:0"`` when ``gpu_count > 0``, else ``"cpu"``.
    ``"gpu"``: the first GPU, an error without one. ``"cpu"``, or an explicit
    ``f"{gpu_prefix}:N"`` with ``N < gpu_count``, pass through.

    >>> resolve_device("auto", 0, "cuda"), resolve_device("auto", 2, "cuda")
    ('cpu', 'cuda:0')
    """
    if requested == "auto":
        return f"{gpu_prefix}:0" if gpu_count else "cpu"
    if requested == "cpu":
        return "cpu"
    if requested in ("gpu", gpu_prefix):
        requested = f"{gpu_prefix}:0"
    prefix, _, index = requested.partition(":")
    if prefix != gpu_prefix or not index.isdigit():
        raise ValueError(f"device must be 'auto', 'cpu', 'gpu' or '{gpu_prefix}:N', got device={requested!r}")
    if int(index) >= gpu_count:
        raise ValueError(f"device={requested!r} requested but this machine has {gpu_count} GPU(s) visible")
    return requested
