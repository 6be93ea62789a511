"""NumPy arrays to torch tensors and back, bfloat16 included (torch cannot read or write NumPy's
bfloat16, the ml_dtypes one: it crosses through float32, which holds it exactly)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from reference.dtypes import BFLOAT16


def to_tensor(array: Any, device: Any) -> torch.Tensor:
    """``array`` as a tensor on ``device`` (bfloat16 stays bfloat16; may share memory otherwise)."""
    array = np.asarray(array)
    if array.dtype == BFLOAT16:
        return torch.as_tensor(array.astype(np.float32), device=device).to(torch.bfloat16)
    return torch.as_tensor(array, device=device)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A new C-contiguous NumPy array of ``tensor`` (bfloat16 as ml_dtypes' bfloat16)."""
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return tensor.float().numpy().astype(BFLOAT16)
    # A copy: on the CPU .numpy() shares the tensor's memory, which may be the caller's input.
    return np.array(tensor.numpy(), order="C", copy=True)
