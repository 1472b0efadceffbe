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
from helpers.data import (CLASS_NAMES, LAB_INPUT_SIZE, TAG_COLOURS, make_background_task,
                          make_background_task_without_shapes, make_tagged_shapes)
from helpers.evaluation import mass_inside
from helpers.explainers import EmptyHeatmapWarning, explain, list_methods

__all__ = ["FRAME_WIDTH", "frame_mask", "make_framed_shapes", "background_task_controls", "tag_classes",
           "hottest_on", "mass_shares", "mark_answers", "tag_information"]


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


def hottest_on(maps: np.ndarray, masks: np.ndarray, tolerance: float = 1e-3) -> np.ndarray:
    """Per image, whether the heatmap's hottest pixel lies inside the mask (the pointing game).

    The pointing game (Zhang et al., 2018) asks where a reader's eye goes first: to the map's
    maximum. Pixels within ``tolerance`` (relative) of the maximum count as tied for it, and a
    tie is shared: the result is the share of the tied hottest pixels inside the mask (1 or 0
    when one pixel is hottest). A flat plateau of equal values therefore scores the share of the
    plateau on the mask, whatever the order of the pixels, and rounding differences smaller than
    ``tolerance`` between machines cannot move the hottest pixel. An empty map scores 0.

    Args:
        maps: ``(N, H, W)`` heatmaps (non-negative).
        masks: ``(N, H, W)`` bool masks.
        tolerance: relative distance to the maximum within which pixels tie.

    Returns:
        float64 ``(N,)`` in [0, 1].

    Taught in: ``05_shortcut_lab``.
    """
    maps = np.asarray(maps, dtype=np.float64)
    masks = np.asarray(masks, dtype=bool)
    if maps.shape != masks.shape or maps.ndim != 3:
        raise ValueError(f"maps {maps.shape} and masks {masks.shape} must both be (N, H, W).")
    if not 0.0 <= tolerance < 1.0:
        raise ValueError(f"tolerance must lie in [0, 1); got {tolerance!r}.")
    peak = maps.reshape(len(maps), -1).max(axis=1, initial=0.0)[:, None, None]
    tied = (maps >= peak * (1.0 - tolerance)) & (peak > 0)
    count = tied.sum(axis=(1, 2))
    return np.where(count > 0, (tied & masks).sum(axis=(1, 2)) / np.maximum(count, 1), 0.0)


def mass_shares(model: keras.Model, images: np.ndarray, regions: Mapping[str, np.ndarray],
                methods: Sequence[str] | None = None, class_index=None,
                batch_size: int = 64, progress: bool = False,
                hottest: bool = False) -> dict[str, dict[str, float]]:
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
        hottest: also give, under ``"<region> hottest"``, the share of images whose hottest
            pixel lies in the region (:func:`hottest_on`, ties shared), from the same maps.

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
            if hottest:
                result[method].update({f"{name} hottest": float("nan") for name in regions})
            result[method]["error"] = f"{type(err).__name__}: {err}"  # type: ignore[assignment]
            continue
        result[method] = {name: float(np.mean(mass_inside(maps, mask))) for name, mask in regions.items()}
        if hottest:
            result[method].update({f"{name} hottest": float(np.mean(hottest_on(maps, mask)))
                                   for name, mask in regions.items()})
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


# --------------------------------------------------------------------------- the second cue: a thin frame
FRAME_WIDTH = 1
"""Width in pixels of the frame cue of :func:`make_framed_shapes` (at any image size): one pixel
along the four edges, 252 of a 64-px image's 4,096 pixels (6.2 %), in no single place."""


def frame_mask(size: int, width: int = FRAME_WIDTH) -> np.ndarray:
    """Bool ``(size, size)`` mask of the outermost ``width`` pixels of an image (the frame cue).

    Taught in: ``05_shortcut_lab``.
    """
    if not isinstance(size, (int, np.integer)) or size < 3:
        raise ValueError(f"size must be an integer of at least 3; got {size!r}.")
    if not isinstance(width, (int, np.integer)) or not 1 <= width < size / 2:
        raise ValueError(f"width must be an integer from 1 to below size / 2; got {width!r}.")
    mask = np.ones((size, size), dtype=bool)
    mask[width:size - width, width:size - width] = False
    return mask


def make_framed_shapes(n: int, size: int = LAB_INPUT_SIZE, seed: int = 0, agreement: float | None = 1.0, *,
                       background: str | None = None, easy_fraction: float = 0.0
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shape-world images with a thin coloured frame around the picture: a second, subtler shortcut.

    The pictures are those of :func:`helpers.make_tagged_shapes` with ``agreement=None`` (the same
    shape, background and noise for image ``i`` of a seed, no tag); the outermost
    :data:`FRAME_WIDTH` pixel(s) are then painted in one of :data:`helpers.TAG_COLOURS`. The cue is
    the same colour code as the tag's, spread thinly along the four edges instead of gathered in
    one corner. ``agreement`` works as for the tag: ``1.0`` every frame has its label's colour,
    ``0.0`` never (another class's colour, drawn at random), ``1/6`` uniform and uninformative,
    ``None`` no frame (the picture untouched).

    Args:
        n: number of images.
        size: side in pixels; default the lab models' 64.
        seed: seed of the set (the pictures as :func:`helpers.make_tagged_shapes`; the
            frame's colour choice uses the generator ``(seed, 6)``).
        agreement: share of frames in their label's colour, in [0, 1], or ``None`` for no frame.
        background: force one kind of background (one of :data:`helpers.BACKGROUND_NAMES`).
        easy_fraction: share of easy images (a training curriculum).

    Returns:
        ``(images, labels, masks, frame_masks)``: float32 ``(n, size, size, 3)`` in 0..255, int64
        ``(n,)``, bool ``(n, size, size)`` shape masks (without the frame's pixels) and bool
        ``(n, size, size)`` frame masks (all zero without a frame).

    Taught in: ``05_shortcut_lab``.
    """
    if agreement is not None and (isinstance(agreement, bool) or not 0.0 <= float(agreement) <= 1.0):
        raise ValueError(f"agreement must lie in [0, 1] (or be None for no frame); got {agreement!r}.")
    images, labels, masks, _ = make_tagged_shapes(n, size=size, seed=seed, agreement=None, background=background,
                                                  easy_fraction=easy_fraction)
    frames = np.zeros((n, size, size), dtype=bool)
    if agreement is None:
        return images, labels, masks, frames
    frame = frame_mask(size)
    rng = np.random.default_rng([seed, 6])
    phase = rng.random()
    agrees = np.mod(phase + 0.6180339887498949 * np.arange(n), 1.0) < float(agreement)  # as the tag's
    others = (labels + 1 + rng.integers(len(CLASS_NAMES) - 1, size=n)) % len(CLASS_NAMES)
    colours = np.where(agrees, labels, others)
    palette = np.asarray(TAG_COLOURS, np.float32)
    images[:, frame] = palette[colours][:, None, :]
    frames[:] = frame
    masks &= ~frame
    return images, labels, masks, frames


def background_task_controls(n: int, size: int = LAB_INPUT_SIZE, seed: int = 0,
                             grey: float = 128.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two controls for :func:`helpers.make_background_task`: the shape removed, the shape alone.

    Image ``i`` of ``make_background_task(n, size, seed)`` is a background of a known kind with
    one shape drawn on it. Here the same background is drawn again without the shape (the same
    pixels: the generator is replayed up to the shape; the camera's blur and noise are drawn
    anew, with the same probabilities), and the shape's pixels are pasted on a plain grey
    ``grey``. A model that reads the background keeps its accuracy on the first and loses it on
    the second; a model that reads the shape does the opposite.

    Args:
        n: number of images.
        size: side in pixels; default 64.
        seed: the seed of the ``make_background_task`` set to take apart.
        grey: the grey level (0..255) under the shape alone.

    Returns:
        ``(no_shape, shape_alone, shape_labels)``: float32 ``(n, size, size, 3)`` twice, and the
        int64 ``(n,)`` class (:data:`helpers.CLASS_NAMES`) of each image's shape.

    Taught in: ``05_shortcut_lab``.
    """
    images, _, masks = make_background_task(n, size=size, seed=seed)
    no_shape, shape_labels = make_background_task_without_shapes(n, size=size, seed=seed)
    shape_alone = np.where(masks[..., None], images, np.float32(grey)).astype(np.float32)
    return no_shape, shape_alone, shape_labels


def mark_answers(axes, correct, colour: str = "#d62728"):
    """Mark the wrong answers of a grid of pictures: a red title and a red frame around the picture.

    Args:
        axes: the Axes of the pictures (e.g. ``fig.axes`` of :func:`helpers.plotting.image_grid`),
            in the order of ``correct``.
        correct: one bool per picture: ``True`` where the model's answer is right.
        colour: the colour of the marks.

    Returns:
        The list of Axes that were marked.

    Taught in: ``05_shortcut_lab``.
    """
    from matplotlib.patches import Rectangle

    axes, correct = list(axes), [bool(c) for c in np.ravel(correct)]
    if len(correct) > len(axes):
        raise ValueError(f"{len(correct)} answers for {len(axes)} pictures.")
    marked = []
    for ax, ok in zip(axes, correct):
        if ok:
            continue
        ax.title.set_color(colour)
        ax.title.set_fontweight("bold")
        # a little outside the picture, so that it never hides what is drawn at the picture's edge
        ax.add_patch(Rectangle((-0.05, -0.05), 1.1, 1.1, transform=ax.transAxes, fill=False, edgecolor=colour,
                               linewidth=2.5, clip_on=False))
        marked.append(ax)
    return marked
