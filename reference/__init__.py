"""NumPy reference for the "Convolutional Neural Networks" chapter of Dive into Deep Learning.

Every function takes and returns NumPy arrays (images NCHW, conv weights OIHW,
dense weights (out, in)), accumulates in float64 and rounds once to the result
dtype. Invalid arguments raise ValueError or TypeError naming the argument.
"""

from reference import activations, conv, dense, loss, pool
from reference import corr2d as _corr2d
from reference.corr2d import Conv2D
from reference.ieee import ieee
from reference.shapes import (
    conv2d_output_shape,
    conv_output_size,
    pool2d_output_shape,
    pool_output_size,
    same_padding,
)

# The public ops run under IEEE defaults (reference/ieee.py): NaN, infinities, overflow and
# underflow are defined results, so they never warn. The modules' own functions are the same
# code without the wrapper.
relu, relu_vjp = ieee(activations.relu), ieee(activations.relu_vjp)
sigmoid, sigmoid_vjp = ieee(activations.sigmoid), ieee(activations.sigmoid_vjp)
conv2d, conv2d_vjp = ieee(conv.conv2d), ieee(conv.conv2d_vjp)
# Forward mode: the Jacobian-vector product of every op with a VJP, the same rules.
relu_jvp, sigmoid_jvp = ieee(activations.relu_jvp), ieee(activations.sigmoid_jvp)
conv2d_jvp = ieee(conv.conv2d_jvp)
flatten_jvp, linear_jvp = ieee(dense.flatten_jvp), ieee(dense.linear_jvp)
softmax_cross_entropy_jvp = ieee(loss.softmax_cross_entropy_jvp)
max_pool2d_jvp, avg_pool2d_jvp = ieee(pool.max_pool2d_jvp), ieee(pool.avg_pool2d_jvp)
corr2d = ieee(_corr2d.corr2d)
corr2d_multi_in = ieee(_corr2d.corr2d_multi_in)
corr2d_multi_in_out = ieee(_corr2d.corr2d_multi_in_out)
corr2d_multi_in_out_1x1 = ieee(_corr2d.corr2d_multi_in_out_1x1)
pool2d = ieee(_corr2d.pool2d)
flatten, flatten_vjp = ieee(dense.flatten), ieee(dense.flatten_vjp)
linear, linear_vjp = ieee(dense.linear), ieee(dense.linear_vjp)
softmax_cross_entropy = ieee(loss.softmax_cross_entropy)
softmax_cross_entropy_vjp = ieee(loss.softmax_cross_entropy_vjp)
max_pool2d, max_pool2d_vjp = ieee(pool.max_pool2d), ieee(pool.max_pool2d_vjp)
avg_pool2d, avg_pool2d_vjp = ieee(pool.avg_pool2d), ieee(pool.avg_pool2d_vjp)

__all__ = [
    "Conv2D",
    "avg_pool2d",
    "avg_pool2d_jvp",
    "avg_pool2d_vjp",
    "conv2d",
    "conv2d_jvp",
    "conv2d_output_shape",
    "conv2d_vjp",
    "conv_output_size",
    "corr2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "corr2d_multi_in_out_1x1",
    "flatten",
    "flatten_jvp",
    "flatten_vjp",
    "linear",
    "linear_jvp",
    "linear_vjp",
    "max_pool2d",
    "max_pool2d_jvp",
    "max_pool2d_vjp",
    "pool2d",
    "pool2d_output_shape",
    "pool_output_size",
    "relu",
    "relu_jvp",
    "relu_vjp",
    "same_padding",
    "sigmoid",
    "sigmoid_jvp",
    "sigmoid_vjp",
    "softmax_cross_entropy",
    "softmax_cross_entropy_jvp",
    "softmax_cross_entropy_vjp",
]
