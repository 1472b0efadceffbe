"""The chapter-3 diagrams draw the model's own numbers and return their Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.diagrams import draw_cam_weighting, draw_gap, draw_grad_cam_pipeline


@pytest.fixture
def maps() -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 1, (5, 5, 6))


def test_gap_diagram_shows_each_drawn_maps_mean(maps):
    ax = draw_gap(maps, n_show=3)
    assert len(ax.images) == 3
    texts = [t.get_text() for t in ax.texts]
    for k in range(3):
        assert f"{maps[..., k].mean():.3f}" in texts
    assert "⋮" in texts and "6 feature maps, 5×5" in texts
    plt.close("all")


def test_cam_diagram_draws_the_weighted_sum_of_all_maps(maps):
    weights = np.random.default_rng(1).normal(0, 1, (6, 3))
    ax = draw_cam_weighting(maps, weights, class_index=2, n_show=2, class_name="ring")
    assert len(ax.images) == 3  # two maps and the class map
    np.testing.assert_allclose(ax.images[-1].get_array(), maps @ weights[:, 2])
    assert any(f"{weights[1, 2]:+.3f}" in t.get_text() for t in ax.texts)
    with pytest.raises(ValueError, match="K = 6"):
        draw_cam_weighting(maps, weights[:4], 0)
    with pytest.raises(ValueError, match="height, width, channels"):
        draw_gap(maps[0])
    plt.close("all")


def test_grad_cam_pipeline_has_every_stage_and_draws_into_a_given_axes():
    fig, ax = plt.subplots()
    assert draw_grad_cam_pipeline(ax=ax) is ax
    text = " ".join(t.get_text() for t in ax.texts)
    for stage in ("image", "feature maps", "class score", "ReLU", "upsample", "backward"):
        assert stage in text
    plt.close(fig)
