"""Where a training run gets its LeNet: a backend's native model, or the NumPy reference."""

from __future__ import annotations

from backends import get_backend
from backends.lenet import LeNetModel, ReferenceLeNet
from reference import lenet


def make_model(
    backend: str, variant: str = "chapter", dtype: str = "float32", device: str = "auto"
) -> LeNetModel:
    """A LeNet of ``"reference"`` or a backend, with :func:`reference.lenet.init_params` (seed 0)."""
    if backend == "reference":
        model: LeNetModel = ReferenceLeNet(variant, dtype)
    else:
        model = get_backend(backend, device=device).lenet(variant, dtype)
    model.load_params(lenet.init_params(0, dtype))
    return model
