"""Solutions to the exercises of chapter 4 (04_beyond_grad_cam.ipynb).

Run ``python notebooks/solutions/ch4_solutions.py`` to see every checker accept them.
"""

import numpy as np


def energy_share(heatmap, mask):
    """Exercise 4.1: the share of the map's mass on the object, Σ map·mask / Σ map."""
    return float((heatmap * mask).sum() / heatmap.sum())


def ig_bound(image, baseline, max_gradient):
    """Exercise 4.2: |IG_i| = |Σ_c (x_c − x'_c)·ḡ_c| ≤ G · Σ_c |x_c − x'_c| (each mean gradient is at most G)."""
    return max_gradient * np.abs(image - baseline).sum(axis=-1)


def integrated_gradients(image, baseline, gradient_fn, steps=32):
    """Exercise 4.3: the given function built its path from black (α·x); the path starts at the baseline.

    The bug is invisible with a black baseline (x' = 0 makes x' + α(x − x') equal to α·x), so
    completeness only fails, and shows it, with another baseline.
    """
    alphas = (np.arange(steps) + 0.5) / steps
    path = baseline[None] + alphas[:, None, None, None] * (image - baseline)[None]  # the fix
    mean_gradient = gradient_fn(path).mean(axis=0)
    return ((image - baseline) * mean_gradient).sum(axis=-1)


if __name__ == "__main__":
    from helpers import exercises

    print("4.1", exercises.check_energy_share(energy_share))
    print("4.2", exercises.check_ig_bound(ig_bound))
    print("4.3", exercises.check_integrated_gradients(integrated_gradients))
