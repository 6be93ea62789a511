"""The FLOPs of one LeNet training example, against arithmetic written out here and a brute count."""

from __future__ import annotations

import numpy as np

from benchmarks.lenet_flops import layer_macs, lenet_forward_flops, lenet_training_flops
from reference.conv import conv2d
from reference.dense import linear

# Multiply-adds per example, by hand: out channels x output pixels x in channels x kernel taps.
HAND_MACS = {
    "conv1": 6 * 28 * 28 * 1 * 5 * 5,  # 117,600: 28x28 input, padding 2 keeps 28x28
    "conv2": 16 * 10 * 10 * 6 * 5 * 5,  # 240,000: 14x14 after the first pool, no padding
    "fc1": 120 * 400,
    "fc2": 84 * 120,
    "fc3": 10 * 84,
}


def test_layer_macs_match_the_hand_count() -> None:
    assert layer_macs() == HAND_MACS
    assert sum(HAND_MACS.values()) == 416_520


def test_forward_and_training_flops_by_hand() -> None:
    forward = 2 * 416_520
    # backward: a weight gradient for every layer, an input gradient for every layer but conv1
    backward = 2 * 416_520 + 2 * (416_520 - 117_600)
    assert lenet_forward_flops() == forward == 833_040
    assert lenet_training_flops() == forward + backward == 2_263_920


def brute_macs() -> dict[str, int]:
    """Multiply-adds counted by running each layer on ones: with all-ones inputs (the padding
    filled with ones too, as a dense kernel visits it) and all-ones weights, every output is the
    number of products summed into it, so the sum of the outputs is the number of multiply-adds."""
    counts = {}
    for layer, (channels, size, out_channels, pad) in {
        "conv1": (1, 28, 6, 2),
        "conv2": (6, 14, 16, 0),
    }.items():
        X = np.pad(
            np.ones((1, channels, size, size)),
            ((0, 0), (0, 0), (pad, pad), (pad, pad)),
            "constant",
            constant_values=1,
        )
        counts[layer] = int(conv2d(X, np.ones((out_channels, channels, 5, 5))).sum())
    for layer, (inputs, outputs) in {"fc1": (400, 120), "fc2": (120, 84), "fc3": (84, 10)}.items():
        counts[layer] = int(linear(np.ones((1, inputs)), np.ones((outputs, inputs))).sum())
    return counts


def test_layer_macs_match_a_brute_count() -> None:
    assert layer_macs() == brute_macs()
