"""Solutions to the exercises of chapter 1 (01_intermediate_activations.ipynb).

Run ``python notebooks/solutions/ch1_solutions.py`` to see every checker accept them.
"""

import numpy as np


def conv_params(kernel_size, in_channels, filters):
    """Exercise 1.1: every filter has kernel_size × kernel_size × in_channels weights and one bias."""
    return filters * (kernel_size * kernel_size * in_channels + 1)


def feature_map_side(input_side, n_blocks):
    """Exercise 1.2: a 3×3 'valid' convolution loses 2 pixels, a 2×2 pooling halves (rounding down)."""
    side = input_side
    for _ in range(n_blocks):
        side = (side - 2) // 2
    return side


def layer_sparsity(maps):
    """Exercise 1.3: share of zero activations, share of channels that are zero everywhere."""
    zero = np.asarray(maps) == 0
    return float(zero.mean()), float(zero.all(axis=(0, 1)).mean())


if __name__ == "__main__":
    from helpers import exercises

    print("1.1", exercises.check_conv_params(conv_params))
    print("1.2", exercises.check_feature_map_side(feature_map_side))
    print("1.3", exercises.check_layer_sparsity(layer_sparsity))
