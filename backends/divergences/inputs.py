"""The small fixed inputs every framework's probes share (NCHW / OIHW NumPy float32)."""

from __future__ import annotations

import numpy as np

# 1x1x5x5 image 0..24 and a 2x2 kernel: "same" with an odd total padding.
IMAGE_5 = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)
KERNEL_2 = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=np.float32)
# 1x1x6x6 image 0..35: "same" pooling with a 3x3 window at stride 2 pads an odd total, (0, 1) per
# axis by TensorFlow's rule (ONNX SAME_UPPER), (1, 0) by ONNX's SAME_LOWER.
IMAGE_6 = np.arange(36, dtype=np.float32).reshape(1, 1, 6, 6)
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

# Special values (the reference's rules for them: README's "semantics" section).
# ReLU's kink: NaN, both zeros, and the infinities; the reference's derivative is 0 at NaN, 0 and -0.0.
RELU_KINK = np.array([np.nan, 0.0, -0.0, 1.0, -1.0, np.inf, -np.inf], dtype=np.float32)
# 1x1x2x4, two 2x2 windows with two NaNs each at different places: the first at window
# positions 1 and 2, the second at 0 and 3 (row-major), so "first NaN" and "last NaN" differ.
NANS_IN_MAX_WINDOWS = np.array([[[[1, np.nan, np.nan, 3], [np.nan, 0, 4, np.nan]]]], dtype=np.float32)
# 1x1x3x3 of -inf: with kernel 3, stride 2, padding 1 every window holds padding and only -inf.
ALL_NEG_INF_3 = np.full((1, 1, 3, 3), -np.inf, dtype=np.float32)
# 1x1x2x2: kernel 2, dilation 3, padding 1 has one window whose taps (-1 and 2 per axis) are all padding.
DILATED_IN_PADDING = np.array([[[[1, 2], [3, 4]]]], dtype=np.float32)
# 1x1x6x6 of -1 .. -36: kernel 3, stride 2, padding 1, ceil_mode has a last window over row/column 5,
# one padding row/column and one past the padded input. Negative, so a zero in place of -inf shows.
CEIL_6 = -np.arange(1, 37, dtype=np.float32).reshape(1, 1, 6, 6)
# Sigmoid's tails, and an upstream gradient that scales each expected VJP to about 0.2-0.4 where
# float32 can (3.8e-14 at +-100): a probe's absolute tolerance is 1e-5 of at least 1, so with
# upstream ones a tail flushed to 0 would look the same as e**-20.
SIGMOID_TAILS = np.array([-100, -40, -20, 0, 20, 40, 100], dtype=np.float32)
SIGMOID_TAIL_DY = np.array([1e30, 1e17, 1e8, 1, 1e8, 1e17, 1e30], dtype=np.float32)
# A 1-D input to flatten: the reference reads axis 0 as the batch, giving shape (5, 1).
FLAT_1D = np.arange(5, dtype=np.float32)
# Cross-entropy rows (3 classes): a -inf logit, huge logits of both signs, a NaN; their labels.
CE_LOGITS = np.array([[-np.inf, 0, 1], [3e38, -3e38, 0], [np.nan, 0, 1]], dtype=np.float32)
CE_LABELS = np.array([1, 0, 2], dtype=np.int64)
# 1x1x2x2 windows for average pooling: inf and -inf together (NaN), inf with finite values (inf).
AVG_INF_NEG_INF = np.array([[[[np.inf, -np.inf], [1, 2]]]], dtype=np.float32)
AVG_INF = np.array([[[[np.inf, 1], [2, 3]]]], dtype=np.float32)
# A 2x3 image read backwards on both axes: a view with negative strides (labels and parameters
# reach adapters this way from x[::-1] or np.flip).
BACKWARDS = np.arange(6, dtype=np.float32).reshape(2, 3)[::-1, ::-1]
# A dense layer of subnormal float32 inputs and huge weights: X W^T = 1e-40 * 1e38 + 1e-45 * 1e38,
# about 0.01; kernels that read subnormal inputs as zero (DAZ) give 0.
SUBNORMAL_X = np.array([[1e-40, 1e-45]], dtype=np.float32)
HUGE_W = np.array([[1e38, 1e38]], dtype=np.float32)
