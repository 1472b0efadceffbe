"""Solutions to the exercises of chapter 6 (06_xray.ipynb).

Run ``python notebooks/solutions/ch6_solutions.py`` to see every checker accept them.
"""

import numpy as np


def channel_ranking(maps, weights, class_index):
    """Exercise 6.1: channel k adds w_k^c · mean(A_k) to the logit; sort those numbers, largest first.

    Neither the weight alone (a channel that did not fire adds nothing) nor the mean alone (a negative
    weight turns a strong response into a pull against the class) gives the ranking.
    """
    contributions = maps.mean(axis=(0, 1)) * weights[:, class_index]
    return np.argsort(-contributions, kind="stable")


def first_order(maps, gradients):
    """Exercise 6.2: sum over positions of activation × gradient, one number per channel.

    Grad-CAM's weight times the mean activation is the same only when the gradient is the same at
    every position (a GAP → Dense head).
    """
    return (maps * gradients).sum(axis=(0, 1))


def receptive_box(row, col, size, jump, start):
    """Exercise 6.3: the centre is start + jump × index; the window reaches (size - 1) / 2 pixels above it."""
    top = int(round(start + jump * row - (size - 1) / 2))
    left = int(round(start + jump * col - (size - 1) / 2))
    return top, left, top + size, left + size


if __name__ == "__main__":
    from helpers import exercises

    print("6.1", exercises.check_channel_ranking(channel_ranking))
    print("6.2", exercises.check_first_order_contributions(first_order))
    print("6.3", exercises.check_receptive_box(receptive_box))
