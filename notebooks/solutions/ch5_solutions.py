"""Solutions to the exercises of chapter 5 (05_shortcut_lab.ipynb).

Run ``python notebooks/solutions/ch5_solutions.py`` to see every checker accept them.
"""

import numpy as np


def cell_ceiling(cue_mask, cell):
    """Exercise 5.1: the best a map constant on cell×cell blocks can do is to put all of its mass
    into the block with the largest share of cue pixels; that share is the ceiling."""
    h, w = cue_mask.shape
    blocks = cue_mask.reshape(h // cell, cell, w // cell, cell).mean(axis=(1, 3))
    return float(blocks.max())


def uninformative_agreement(num_classes):
    """Exercise 5.2: every colour equally likely whatever the label: a = (1 - a) / (n - 1), so a = 1/n."""
    return 1.0 / num_classes


def model_contrast(shape_maps, background_maps, masks):
    """Exercise 5.3: mean share on the shape for the shape model minus for the background model."""
    def shares(maps):
        return np.array([(m * k).sum() / m.sum() for m, k in zip(maps, masks)])

    return float(shares(shape_maps).mean() - shares(background_maps).mean())


if __name__ == "__main__":
    from helpers import exercises

    print("5.1", exercises.check_cell_ceiling(cell_ceiling))
    print("5.2", exercises.check_uninformative_agreement(uninformative_agreement))
    print("5.3", exercises.check_model_contrast(model_contrast))
