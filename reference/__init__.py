"""NumPy reference for the "Convolutional Neural Networks" chapter of Dive into Deep Learning.

Every function takes and returns NumPy arrays (images NCHW, conv weights OIHW,
dense weights (out, in)), accumulates in float64 and rounds once to the result
dtype. Invalid arguments raise ValueError or TypeError naming the argument.
"""

from reference.activations import relu, relu_vjp, sigmoid, sigmoid_vjp
from reference.conv import conv2d, conv2d_vjp
from reference.corr2d import (
    Conv2D,
    corr2d,
    corr2d_multi_in,
    corr2d_multi_in_out,
    corr2d_multi_in_out_1x1,
    pool2d,
)
from reference.dense import flatten, flatten_vjp, linear, linear_vjp
from reference.loss import softmax_cross_entropy, softmax_cross_entropy_vjp
from reference.pool import avg_pool2d, avg_pool2d_vjp, max_pool2d, max_pool2d_vjp
from reference.shapes import (
    conv2d_output_shape,
    conv_output_size,
    pool2d_output_shape,
    pool_output_size,
    same_padding,
)

__all__ = [
    "Conv2D",
    "avg_pool2d",
    "avg_pool2d_vjp",
    "conv2d",
    "conv2d_output_shape",
    "conv2d_vjp",
    "conv_output_size",
    "corr2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "corr2d_multi_in_out_1x1",
    "flatten",
    "flatten_vjp",
    "linear",
    "linear_vjp",
    "max_pool2d",
    "max_pool2d_vjp",
    "pool2d",
    "pool2d_output_shape",
    "pool_output_size",
    "relu",
    "relu_vjp",
    "same_padding",
    "sigmoid",
    "sigmoid_vjp",
    "softmax_cross_entropy",
    "softmax_cross_entropy_vjp",
]
