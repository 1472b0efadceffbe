"""Solutions to the exercises of chapter 1 (01_intermediate_activations.ipynb).

Run ``python notebooks/solutions/ch1_solutions.py`` to see every checker accept them.
"""

import numpy as np


def feature_map_side(input_side, n_blocks):
    """Exercise 1.1: a 3×3 'valid' convolution loses 2 pixels, a 2×2 pooling halves (rounding down)."""
    side = input_side
    for _ in range(n_blocks):
        side = (side - 2) // 2
    return side


def dense_params(input_side):
    """Exercise 1.2: dense_1 reads side × side × 128 numbers; each of its 512 units has that many weights and a bias.

    At 150 pixels the last map is 7 × 7, at 200 pixels 10 × 10: dense_1 grows from 3,211,776 to 6,554,112 parameters,
    while the convolutions keep theirs (a filter's weights do not depend on the image size). The total therefore
    grows by about 1.97 times, more than the 1.78 times of the pixel count, because the side is rounded down four
    times (7 is 150/21.4, 10 is 200/20).
    """
    side = feature_map_side(input_side, 4)
    return 512 * (side * side * 128 + 1)


def layer_sparsity(maps):
    """Exercise 1.3: the bug was `zero.all(axis=-1)`, the share of *positions* where every channel is zero.

    A blank channel is zero at every position of its own map: reduce over height and width (axes 0 and 1).
    """
    zero = np.asarray(maps) == 0
    return float(zero.mean()), float(zero.all(axis=(0, 1)).mean())


if __name__ == "__main__":
    from helpers import exercises

    print("1.1", exercises.check_feature_map_side(feature_map_side))
    print("1.2", exercises.check_dense_params(dense_params))
    print("1.3", exercises.check_layer_sparsity(layer_sparsity))
