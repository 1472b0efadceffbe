"""helpers.plotting.plot_outlined_maps: maps over their images, object outlines, one colour bar."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.plotting import plot_outlined_maps  # noqa: E402


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
