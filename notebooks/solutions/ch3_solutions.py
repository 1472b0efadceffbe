"""Solutions to the exercises of chapter 3 (03_class_activation_maps.ipynb).

Run ``python notebooks/solutions/ch3_solutions.py`` to see every checker accept them.
"""

import numpy as np


def class_score(maps, weights, bias, class_index):
    """Exercise 3.1: y^c = Σ_k w_k^c · mean(A^k) + b^c."""
    gap = maps.mean(axis=(0, 1))
    return float(gap @ weights[:, class_index] + bias[class_index])


def cam_map(maps, weights, class_index):
    """Exercise 3.2: ReLU(Σ_k w_k^c A^k), divided by its maximum."""
    positive = np.maximum(maps @ weights[:, class_index], 0)
    return positive / positive.max()


def grad_cam_weights(grads):
    """Exercise 3.3: α_k^c = (1/Z) Σ_ij ∂y^c/∂A_ij^k, the mean of each map's gradients."""
    return grads.mean(axis=(0, 1))


if __name__ == "__main__":
    from helpers import exercises

    print("3.1", exercises.check_class_score(class_score))
    print("3.2", exercises.check_cam_map(cam_map))
    print("3.3", exercises.check_grad_cam_weights(grad_cam_weights))
