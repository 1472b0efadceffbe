"""Solutions to the exercises of chapter 2 (02_filter_visualization.ipynb).

Run ``python notebooks/solutions/ch2_solutions.py`` to see every checker accept them.
"""

import numpy as np


def filter_loss(activation, filter_index, border):
    """Exercise 2.1: the mean of one channel over the interior of the map."""
    height, width = activation.shape[:2]
    interior = activation[border:height - border, border:width - border, filter_index]
    return float(interior.mean())


def ascent_step(image, gradient, step_size):
    """Exercise 2.2: I ← I + η · g / (RMS(g) + 1e-8).

    The bug: the classmate divided by the L2 norm, sqrt(sum(g²)), which is √(number of values) times the RMS. On a
    64 × 64 × 3 image that is √12288 ≈ 111 times too large a divisor, so each step moved the pixels by about
    step_size / 111 grey levels and the loss barely rose.
    """
    rms = np.sqrt(np.mean(np.square(gradient)))
    return image + step_size * gradient / (rms + 1e-8)


def silent_filters(activation, border):
    """Exercise 2.3: the filters that are zero at every interior position (no gradient).

    On block3_conv1 with each filter's own starting image, 5 filters are silent, one fewer than the 6 that section 5
    climbed before the ReLU: one filter fired on its start and was silenced by a step (section 7's table).
    """
    height, width = activation.shape[:2]
    interior = activation[border:height - border, border:width - border]
    return np.flatnonzero(~interior.any(axis=(0, 1)))


if __name__ == "__main__":
    from helpers import exercises

    print("2.1", exercises.check_filter_loss(filter_loss))
    print("2.2", exercises.check_ascent_step(ascent_step))
    print("2.3", exercises.check_silent_filters(silent_filters))
