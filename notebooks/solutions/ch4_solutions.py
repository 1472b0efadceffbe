"""Solutions to the exercises of chapter 4 (04_beyond_grad_cam.ipynb).

Run ``python notebooks/solutions/ch4_solutions.py`` to see every checker accept them.
"""

import numpy as np


def energy_share(heatmap, mask):
    """Exercise 4.1: the share of the map's mass on the object, Σ map·mask / Σ map."""
    return float((heatmap * mask).sum() / heatmap.sum())


def smooth_grad_map(gradients):
    """Exercise 4.2: mean gradient over the noisy copies, its magnitude, the largest colour."""
    return np.abs(gradients.mean(axis=0)).max(axis=-1)


def ig_attributions(image, baseline, mean_gradients):
    """Exercise 4.3: (x − x') · mean gradient along the path, summed over the colours."""
    return ((image - baseline) * mean_gradients).sum(axis=-1)


if __name__ == "__main__":
    from helpers import exercises

    print("4.1", exercises.check_energy_share(energy_share))
    print("4.2", exercises.check_smooth_grad_map(smooth_grad_map))
    print("4.3", exercises.check_ig_attributions(ig_attributions))
