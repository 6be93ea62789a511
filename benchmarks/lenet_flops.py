"""FLOPs of one LeNet training example, from the layer shapes of :mod:`reference.lenet`.

What is counted: the multiply-adds (MACs) of the two convolutions and the three
dense layers, a multiply-add being 2 FLOPs. A convolution's MACs are
``out_channels × Ho × Wo × in_channels × kh × kw``, every kernel tap counted,
conv1's taps on its zero padding too (a dense kernel computes them); a dense
layer's are ``out × in``. Forward: 2 × the MACs of every layer. Backward: for
every layer, the gradient of its weight (the same MACs as its forward) and the
gradient of its input (again the same MACs), except conv1, whose input (the
images) needs no gradient. Training = forward + backward
= 2 × (3 × all MACs − conv1's MACs) = 2,263,920 FLOPs per example.

What is neglected: the bias adds and bias gradients, activations, pooling,
flatten, the softmax cross-entropy and the SGD update. They touch the 6,518
conv and dense outputs of an example (6×28×28 + 16×10×10 + 120 + 84 + 10) a
handful of times each, forward and backward: roughly 0.1 MFLOP, about 4% of the
count above, and on a CPU bound by memory traffic rather than by the float32
matmul rate the roof divides.
"""

from __future__ import annotations

import math

from reference.lenet import CONV_PADDING, IMAGE_SHAPE, PARAM_SHAPES
from reference.shapes import conv_output_size, pool_output_size

FLOPS_PER_MAC = 2
POOL = 2  # both pools: window 2, stride 2


def layer_macs() -> dict[str, int]:
    """Multiply-adds of one example's forward pass, per layer (``conv1`` ... ``fc3``)."""
    macs: dict[str, int] = {}
    size = IMAGE_SHAPE[1]  # square images and feature maps
    for layer in ("conv1", "conv2"):
        out_channels, in_channels, kh, kw = PARAM_SHAPES[f"{layer}.weight"]
        out = conv_output_size(size, kh, pad_total=2 * CONV_PADDING[layer])
        macs[layer] = out_channels * out * out * in_channels * kh * kw
        size = pool_output_size(out, POOL)
    for layer in ("fc1", "fc2", "fc3"):
        macs[layer] = math.prod(PARAM_SHAPES[f"{layer}.weight"])
    return macs


def lenet_forward_flops() -> int:
    """FLOPs of one example's forward pass: 2 per multiply-add of the conv and dense layers."""
    return FLOPS_PER_MAC * sum(layer_macs().values())


def lenet_training_flops() -> int:
    """FLOPs of one example's training step: forward, weight gradients, and input gradients
    of every layer but conv1 (see the module docstring for what is neglected)."""
    macs = layer_macs()
    backward = FLOPS_PER_MAC * (2 * sum(macs.values()) - macs["conv1"])
    return lenet_forward_flops() + backward
