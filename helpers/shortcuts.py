"""The shortcut lab: where every explanation method puts its mass, and what a tag tells.

A model that is right for the wrong reason (a "Clever Hans", Lapuschkin et al. 2019; shortcut
learning, Geirhos et al. 2020) is caught only if its heatmaps point at the wrong reason. The
shape world knows the truth: the shape's mask and the tag's mask (:func:`helpers.make_tagged_shapes`),
so each method's heatmaps can be scored by the share of their mass on each. The lab's exercises
are checked by :mod:`helpers.exercises`.

Taught in: ``05_shortcut_lab``.
"""

from __future__ import annotations

import math
import warnings
from typing import Mapping, Sequence

import numpy as np

from helpers._backend import keras
from helpers.data import TAG_COLOURS
from helpers.evaluation import mass_inside
from helpers.explainers import EmptyHeatmapWarning, explain, list_methods

__all__ = ["tag_classes", "mass_shares", "tag_information"]


def tag_classes(images: np.ndarray, tag_masks: np.ndarray) -> np.ndarray:
    """The class whose colour each image's tag has (:data:`helpers.TAG_COLOURS`), ``-1`` without a tag.

    Args:
        images: ``(N, H, W, 3)`` images in 0..255.
        tag_masks: ``(N, H, W)`` bool masks of the tags, as :func:`helpers.make_tagged_shapes`
            or :func:`helpers.add_tags` return them.

    Returns:
        int64 ``(N,)``: the class index of the colour of each tag (the most common palette colour
        under its mask), or -1 where the mask is empty or no pixel has a palette colour.

    Taught in: ``05_shortcut_lab``.
    """
    images = np.asarray(images, dtype=np.float32)
    tag_masks = np.asarray(tag_masks, dtype=bool)
    if images.shape[:3] != tag_masks.shape:
        raise ValueError(f"images {images.shape} and tag masks {tag_masks.shape} do not match.")
    palette = np.asarray(TAG_COLOURS, np.float32)
    found = np.full(len(images), -1, dtype=np.int64)
    for i, (image, tag) in enumerate(zip(images, tag_masks)):
        pixels = image[tag]
        if len(pixels):
            counts = (pixels[:, None, :] == palette[None]).all(axis=-1).sum(axis=0)
            if counts.max() > 0:
                found[i] = int(np.argmax(counts))
    return found


def mass_shares(model: keras.Model, images: np.ndarray, regions: Mapping[str, np.ndarray],
                methods: Sequence[str] | None = None, class_index=None,
                batch_size: int = 64, progress: bool = False) -> dict[str, dict[str, float]]:
    """Mean share of heatmap mass inside each region, for every explanation method.

    Args:
        model: the classifier to explain.
        images: ``(N, H, W, 3)`` images in 0..255.
        regions: named bool masks ``(N, H, W)``, e.g. ``{"shape": masks, "tag": tag_masks}``.
        methods: method names; default every registered one (:func:`helpers.list_methods`).
        class_index: the class to explain (``None``: each image's top class), as in
            :func:`helpers.explain`.
        batch_size: images per explanation batch.
        progress: show each method's progress bar (off: a table of many methods stays readable).

    Returns:
        ``{method: {region: mean share in [0, 1]}}``. A method that cannot explain this model
        gets ``nan`` shares and its error under the key ``"error"`` (as a string in the dict).
        Images whose heatmap is empty (no positive evidence) count as zero mass everywhere.

    Taught in: ``05_shortcut_lab``.
    """
    methods = list_methods() if methods is None else list(methods)
    result: dict[str, dict[str, float]] = {}
    for method in methods:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", EmptyHeatmapWarning)
                maps = explain(model, images, method=method, class_index=class_index, batch_size=batch_size,
                               progress=progress)
        except Exception as err:  # a method that does not apply to this model: reported, not fatal
            result[method] = {name: float("nan") for name in regions}
            result[method]["error"] = f"{type(err).__name__}: {err}"  # type: ignore[assignment]
            continue
        result[method] = {name: float(np.mean(mass_inside(maps, mask))) for name, mask in regions.items()}
    return result


def tag_information(agreement: float, num_classes: int = 6) -> float:
    """Bits of information a tag's colour gives about the label, for a given ``agreement``.

    Labels are uniform; a tag has the label's colour with probability ``agreement`` and,
    otherwise, one of the other ``num_classes - 1`` colours at random, as in
    :func:`helpers.make_tagged_shapes`. The result is the mutual information between colour and
    label: ``log2(num_classes) - H(colour | label)``.

    Taught in: ``05_shortcut_lab``.
    """
    a = float(agreement)
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"agreement must lie in [0, 1]; got {agreement!r}.")
    others = num_classes - 1

    def term(p: float, count: int) -> float:
        return 0.0 if p <= 0.0 else -count * p * math.log2(p)

    conditional = term(a, 1) + term((1.0 - a) / others, others)
    return max(0.0, math.log2(num_classes) - conditional)
