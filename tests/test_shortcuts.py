"""helpers.shortcuts: heatmap mass per region for every method, the tag's colour and its information."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.data import make_tagged_shapes
from helpers.explainers import list_methods
from helpers.shortcuts import mass_shares, tag_classes, tag_information


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
