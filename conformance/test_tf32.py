"""The TF32 switch (``CNN_CHAPTER_REFERENCE_TF32=1``, the TF32 run of ``nox -s gpu-check``), on any device.

The switch is read when a process builds its backend, so each state is looked at in a fresh
process of this backend's environment. PyTorch must set both of its TF32 flags and JAX must
lower its convolution at ``Precision.HIGH`` (JAX's name for ``"tensorfloat32"``) instead of
``HIGHEST``; a backend without a switch must ignore the variable (its precision mode unchanged).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import backends
from backends.devices import TF32_VARIABLE

ROOT = Path(__file__).resolve().parents[1]

# What the framework itself says about TF32 after the backend is built, printed as JSON.
_STATE = r"""
import json, sys
import backends
backend = backends.get_backend(sys.argv[1], device="cpu")
state = {"precision": backend.precision}
if backend.framework == "torch":
    import torch
    state["flags"] = [torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32]
elif backend.framework == "jax":
    import jax, numpy as np
    from backends.jax import ops
    from reference.shapes import conv2d_geometry
    x, w = np.ones((1, 1, 4, 4), np.float32), np.ones((1, 1, 3, 3), np.float32)
    text = jax.jit(ops.conv, static_argnums=0).lower(conv2d_geometry(x.shape, w.shape), x, w).as_text()
    state["flags"] = [line.split("precision_config = ")[1].split("]")[0]
                      for line in text.splitlines() if "stablehlo.convolution" in line]
    state["default_matmul_precision"] = jax.config.jax_default_matmul_precision
print(json.dumps(state))
"""


def _state(name: str, tf32: bool) -> dict:
    env = {key: value for key, value in os.environ.items() if key != TF32_VARIABLE}
    if tf32:
        env[TF32_VARIABLE] = "1"
    done = subprocess.run([sys.executable, "-c", _STATE, name], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_tf32_switch_sets_the_framework_flags(backend: backends.Backend) -> None:
    off, on = _state(backend.name, tf32=False), _state(backend.name, tf32=True)
    if backend.framework == "torch":
        assert (off["flags"], on["flags"]) == ([False, False], [True, True])
    elif backend.framework == "jax":
        highest, high = "#stablehlo<precision HIGHEST>", "#stablehlo<precision HIGH>"
        assert off["flags"] == [f"[{highest}, {highest}"]
        assert on["flags"] == [f"[{high}, {high}"]
        assert (off["default_matmul_precision"], on["default_matmul_precision"]) == (None, "tensorfloat32")
        assert "TF32 requested" in on["precision"] and "TF32" not in off["precision"]
    else:
        assert on == off
