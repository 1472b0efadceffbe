"""helpers.shortcuts: heatmap mass per region for every method, the tag's colour and its information."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.data import make_tagged_shapes
from helpers.explainers import list_methods
from helpers.data import make_background_task
from helpers.shortcuts import (background_task_controls, frame_mask, hottest_on, make_framed_shapes, mass_shares,
                               tag_classes, tag_information)


def test_tag_information_extremes() -> None:
    assert tag_information(1.0) == pytest.approx(math.log2(6))
    assert tag_information(1 / 6) == pytest.approx(0.0, abs=1e-12)
    assert tag_information(0.0) == pytest.approx(math.log2(6) - math.log2(5))
    assert tag_information(0.5) > tag_information(0.0) > 0
    with pytest.raises(ValueError):
        tag_information(1.2)


def test_mass_shares_every_method(tiny_gap_model) -> None:
    images, _, masks, tags = make_tagged_shapes(4, size=32, seed=0)
    shares = mass_shares(tiny_gap_model, images, {"shape": masks, "tag": tags, "all": np.ones_like(masks)})
    assert list(shares) == list_methods()
    for method, values in shares.items():
        assert "error" not in values, values
        assert 0.0 <= values["shape"] <= 1.0 and 0.0 <= values["tag"] <= 1.0
        assert values["shape"] + values["tag"] <= values["all"] + 1e-6


def test_mass_shares_reports_a_method_that_does_not_apply(tiny_sequential) -> None:
    """CAM needs a GAP head: on a Flatten model it is reported, not fatal."""
    images, _, masks, tags = make_tagged_shapes(2, size=32, seed=0)
    shares = mass_shares(tiny_sequential, images, {"shape": masks}, methods=["cam", "grad_cam"])
    assert "error" in shares["cam"] and math.isnan(shares["cam"]["shape"])
    assert "error" not in shares["grad_cam"]


def test_tag_classes_reads_the_tag_colour() -> None:
    images, labels, _, tags = make_tagged_shapes(30, size=32, seed=1, agreement=1.0)
    np.testing.assert_array_equal(tag_classes(images, tags), labels)
    swapped, _, _, swapped_tags = make_tagged_shapes(30, size=32, seed=1, agreement=0.0)
    assert (tag_classes(swapped, swapped_tags) != labels).all()
    bare, _, _, none = make_tagged_shapes(3, size=32, seed=1, agreement=None)
    assert (tag_classes(bare, none) == -1).all()
    with pytest.raises(ValueError):
        tag_classes(images, tags[:2])


def test_hottest_on_shares_ties_and_ignores_empty_maps() -> None:
    maps = np.zeros((4, 4, 4), np.float32)
    maps[0, 1, 1] = 1.0                      # one hottest pixel, on the mask
    maps[1, 1, 1], maps[1, 2, 2] = 1.0, 0.5  # one hottest pixel, the mask holds the second
    maps[2] = 0.5                            # a plateau: shared over its 16 pixels, 5 on the mask
    masks = np.zeros((4, 4, 4), bool)
    masks[:, 1, 1] = True
    masks[1, 1, 1], masks[1, 2, 2] = False, True
    masks[2, 0, :] = True
    np.testing.assert_allclose(hottest_on(maps, masks), [1.0, 0.0, 5 / 16, 0.0])  # map 3 is empty: 0
    nearly = maps.copy()
    nearly[1, 2, 2] = 1.0 - 1e-5              # within the tolerance: a tie, shared
    assert hottest_on(nearly, masks)[1] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        hottest_on(maps, masks[:2])


def test_mass_shares_hottest_comes_from_the_same_maps(tiny_gap_model) -> None:
    images, _, masks, tags = make_tagged_shapes(3, size=32, seed=0)
    shares = mass_shares(tiny_gap_model, images, {"shape": masks, "all": np.ones_like(masks)},
                         methods=["grad_cam"], hottest=True)["grad_cam"]
    assert set(shares) == {"shape", "all", "shape hottest", "all hottest"}
    assert 0.0 <= shares["shape hottest"] <= 1.0
    assert shares["all hottest"] == pytest.approx(1.0) or shares["all hottest"] == 0.0


def test_make_framed_shapes_changes_only_the_frame() -> None:
    framed, labels, masks, frames = make_framed_shapes(12, seed=3)
    swapped, labels2, masks2, frames2 = make_framed_shapes(12, seed=3, agreement=0.0)
    bare, _, _, no_frames = make_framed_shapes(12, seed=3, agreement=None)
    tagged_bare, _, _, _ = make_tagged_shapes(12, seed=3, agreement=None)
    np.testing.assert_array_equal(labels, labels2)
    np.testing.assert_array_equal(bare, tagged_bare)  # the same pictures, no tag
    assert not no_frames.any() and (frames == frame_mask(64)).all() and (frames2 == frames).all()
    assert frame_mask(64).sum() == 4 * 63 and not (masks & frames).any()
    changed = (swapped != framed).any(axis=-1)
    assert not (changed & ~frames).any() and changed.any()
    np.testing.assert_array_equal(tag_classes(framed, frames), labels)        # the label's colour
    assert not (tag_classes(swapped, frames) == labels).any()                  # another class's colour
    uniform = make_framed_shapes(600, seed=1, agreement=1 / 6)
    agree = np.mean(tag_classes(uniform[0], uniform[3]) == uniform[1])
    assert abs(agree - 1 / 6) < 0.01
    with pytest.raises(ValueError):
        make_framed_shapes(2, agreement=1.5)
    with pytest.raises(ValueError):
        frame_mask(64, width=0)


def test_background_task_controls_remove_and_isolate_the_shape() -> None:
    images, _, masks = make_background_task(6, seed=5)
    no_shape, shape_alone, shape_labels = background_task_controls(6, seed=5, grey=100.0)
    assert no_shape.shape == shape_alone.shape == images.shape and shape_labels.shape == (6,)
    np.testing.assert_array_equal(shape_alone[masks], images[masks])
    assert (shape_alone[~masks] == 100.0).all()
    assert set(shape_labels.tolist()) <= set(range(6))
    # the same background without the shape: outside the shape, close to the original (noise redrawn)
    assert np.median(np.abs(no_shape - images)[~masks]) < 40


def test_mark_answers_marks_only_the_wrong_ones() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers.shortcuts import mark_answers

    fig, axes = plt.subplots(1, 3)
    for ax in axes:
        ax.set_title("answer")
    marked = mark_answers(axes, [True, False, True])
    assert marked == [axes[1]] and len(axes[1].patches) == 1 and not axes[0].patches
    assert axes[1].title.get_color() != axes[0].title.get_color()
    with pytest.raises(ValueError):
        mark_answers(axes[:1], [True, False])
    plt.close(fig)
