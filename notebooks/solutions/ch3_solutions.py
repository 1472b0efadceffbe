"""Solutions to the exercises of chapter 3 (03_class_activation_maps.ipynb).

Run ``python notebooks/solutions/ch3_solutions.py`` to see every checker accept them.
"""

import numpy as np


def class_score(maps, weights, bias, class_index):
    """Exercise 3.1: y^c = Σ_k w_k^c · mean(A^k) + b^c."""
    gap = maps.mean(axis=(0, 1))
    return float(gap @ weights[:, class_index] + bias[class_index])


def grad_cam_map(maps, grads):
    """Exercise 3.2: the given function averaged the gradients over the channels (axis=-1), which gives
    one weight per *position*, the same for every channel. Grad-CAM averages each channel's gradients
    over the positions: axis=(0, 1), one weight per channel.

    On vgg_gap the bug is easy to see: ∂y^c/∂A is w_k^c / Z at every position, so the buggy weight is
    the same number at every position, and the map becomes the plain sum of all channels (times that
    number): the same map for every class whose mean weight is positive, an empty one otherwise.
    """
    alpha = grads.mean(axis=(0, 1))            # one weight per channel
    positive = np.maximum(maps @ alpha, 0)     # weighted sum over the channels, then the ReLU
    return positive / positive.max()


def grad_cam_fixed(model, layer_name, image, class_index):
    """Exercise 3.3: the given function differentiated ``model.output``, the softmax probability.
    Grad-CAM differentiates the logit y^c, the input of the softmax: the last Dense layer's
    ``kernel`` and ``bias`` applied to what that layer receives.

    With the probability, ∂p^c/∂y^c = p^c (1 − p^c) is 0 in float32 when p^c rounds to 1: every
    gradient is 0, the map is 0 everywhere and the division by its maximum gives NaN.
    """
    import tensorflow as tf
    from helpers import keras

    head = model.layers[-1]                     # Dense(classes) with the softmax
    grad_model = keras.Model(model.input, [model.get_layer(layer_name).output, head.input])
    with tf.GradientTape() as tape:
        conv_out, head_in = grad_model(image[None])
        logits = tf.matmul(head_in, head.kernel) + head.bias   # the scores before the softmax
        score = logits[0, class_index]
    grads = tape.gradient(score, conv_out)[0]
    alpha = tf.reduce_mean(grads, axis=(0, 1))
    positive = tf.nn.relu(tf.reduce_sum(conv_out[0] * alpha, axis=-1))
    return (positive / tf.reduce_max(positive)).numpy()


if __name__ == "__main__":
    from helpers import exercises

    print("3.1", exercises.check_class_score(class_score))
    print("3.2", exercises.check_grad_cam_map(grad_cam_map))
    print("3.3", exercises.check_logit_grad_cam(grad_cam_fixed))
