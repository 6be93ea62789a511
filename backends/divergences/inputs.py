"""The small fixed inputs every framework's probes share (NCHW / OIHW NumPy float32)."""

from __future__ import annotations

import numpy as np

# 1x1x5x5 image 0..24 and a 2x2 kernel: "same" with an odd total padding.
IMAGE_5 = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)
KERNEL_2 = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=np.float32)
# 1x1x4x4 image of ties: each 2x2 window holds its maximum twice.
TIES = np.array([[[[1, 1, 0, 2], [0, 1, 2, 2], [3, 0, 0, 0], [3, 1, 0, 0]]]], dtype=np.float32)
# 1x1x4x4 with a NaN in the first 2x2 window (not at its maximum's place).
WITH_NAN = np.array([[[[1, np.nan, 0, 2], [5, 1, 2, 2], [3, 0, 0, 0], [3, 1, 0, 0]]]], dtype=np.float32)
# A 1x16x5x5 activation and fc1-like weights (120 x 400): flatten order matters.
ACTIVATION = np.random.default_rng(0).standard_normal((1, 16, 5, 5)).astype(np.float32)
FC1 = np.random.default_rng(1).standard_normal((120, 400)).astype(np.float32)
# For TF32: inputs whose products need more than TF32's 10 mantissa bits.
TF32_X = np.random.default_rng(2).standard_normal((1, 64, 16, 16)).astype(np.float32)
TF32_W = np.random.default_rng(3).standard_normal((64, 64, 3, 3)).astype(np.float32)
