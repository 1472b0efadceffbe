"""helpers.plotting: plot_outlined_maps (maps over their images, object outlines, one colour bar) and
plot_pattern_grid (filter patterns numbered in the margins, silent filters framed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.plotting import plot_outlined_maps, plot_pattern_grid  # noqa: E402


def _inputs(n=2, side=24):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (n, side, side, 3)).astype("float32")
    masks = np.zeros((n, side, side), bool)
    masks[:, 6:14, 8:16] = True
    maps = {"A": rng.uniform(0, 1, (n, side, side)), "B": None}
    return images, masks, maps


def test_one_row_per_image_outlines_labels_and_a_shared_colour_bar():
    images, masks, maps = _inputs()
    fig = plot_outlined_maps(images, maps, [masks[0], None], row_titles=["one", "two"], suptitle="t")
    panels = [ax for ax in fig.axes if ax.images or ax.texts]
    assert len(panels) == 2 * 3                                  # image + two methods per row
    assert len(fig.axes) == 2 * 3 + 1                            # and one colour bar
    first_row, second_row = panels[:3], panels[3:]
    assert first_row[1].collections and not second_row[1].collections  # outline only where a mask is given
    assert first_row[0].get_ylabel() == "one" and first_row[1].get_title() == "A"
    assert "n/a" in first_row[2].texts[0].get_text()
    plt.close(fig)


def test_one_image_and_clear_errors():
    images, masks, maps = _inputs(1)
    fig = plot_outlined_maps(images[0], {"A": maps["A"][0]}, masks[0])
    assert len(fig.axes) == 3
    plt.close(fig)
    with pytest.raises(ValueError, match="one map per image"):
        plot_outlined_maps(images, {"A": np.zeros((2, 24, 24))})
    with pytest.raises(ValueError, match="one entry per image"):
        plot_outlined_maps(images, {"A": maps["A"]}, [masks[0], masks[0]])
    with pytest.raises(ValueError, match="at least one heatmap"):
        plot_outlined_maps(images, {})


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
