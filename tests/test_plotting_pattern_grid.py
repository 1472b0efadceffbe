"""helpers.plotting.plot_pattern_grid: filter patterns numbered in the margins, silent filters framed."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.plotting import plot_pattern_grid  # noqa: E402


def test_rows_are_labelled_by_their_first_filter_and_silent_tiles_framed():
    images = np.random.default_rng(0).integers(0, 256, (10, 6, 6, 3), dtype=np.uint8)
    silent = np.zeros(10, bool)
    silent[[2, 7]] = True
    ax = plot_pattern_grid(images, filters=range(16, 26), silent=silent, ncols=4, title="t")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["16", "20", "24"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["+0", "+1", "+2", "+3"]
    assert not ax.texts  # nothing written over the patterns
    frames = [p for p in ax.patches if p.get_edgecolor()[:3] == (1.0, 0.0, 0.0)]
    assert sorted((int(p.get_x() + 0.5), int(p.get_y() + 0.5)) for p in frames) == [(16, 0), (24, 8)]  # tiles 2, 7
    plt.close(ax.figure)


def test_bad_arguments_are_named():
    images = np.zeros((4, 5, 5, 3), np.uint8)
    with pytest.raises(ValueError, match="consecutive"):
        plot_pattern_grid(images, filters=[0, 1, 5, 6])
    with pytest.raises(ValueError, match="one flag per tile"):
        plot_pattern_grid(images, silent=[True])
    with pytest.raises(ValueError, match="4 tiles"):
        plot_pattern_grid(images, filters=range(3))
    plt.close("all")
