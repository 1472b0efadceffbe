"""Measuring heatmaps against the truth: the shape world's masks say where the object is.

Each function takes heatmaps ``(N, H, W)`` (or one ``(H, W)``) at the masks' resolution and
returns one number per image, so methods, layers and models can be compared on hundreds of
images at once:

* :func:`pointing_game` (Zhang et al., 2016): does the map's maximum fall on the object?
* :func:`energy_in_mask` (``mass_inside``): the share of the map's mass on the object;
* :func:`heatmap_peaks` and :func:`heatmap_centroids`: where a map points, and its centre of mass;
* :func:`center_baseline`: the naive map every method must beat, a bump at the image centre.

Taught in: ``03_class_activation_maps``.
"""

from __future__ import annotations

import numpy as np

from helpers._backend import EPSILON

__all__ = ["center_baseline", "energy_in_mask", "heatmap_centroids", "heatmap_peaks", "mass_inside", "pointing_game"]


def _maps_and_masks(heatmaps, masks) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps as float64 ``(N, H, W)`` and masks as bool ``(N, H, W)`` of the same shape."""
    maps, masks = np.asarray(heatmaps, dtype=np.float64), np.asarray(masks, dtype=bool)
    if maps.ndim == 2:
        maps = maps[None]
    if masks.ndim == 2:
        masks = masks[None]
    if maps.shape != masks.shape:
        raise ValueError(f"heatmaps {maps.shape} and masks {masks.shape} must have the same shape; "
                         "compute the heatmaps with upsample=True, at the masks' size.")
    if not np.all(np.isfinite(maps)):
        raise ValueError("heatmaps contain NaN or infinite values; a measurement of them would mean nothing.")
    return maps, masks


def heatmap_peaks(heatmaps: np.ndarray) -> np.ndarray:
    """``(N, 2)`` (row, column) of each map's maximum (``(2,)`` for one map); -1 for an all-zero map.

    Taught in: ``03_class_activation_maps``.
    """
    maps = np.asarray(heatmaps)
    single = maps.ndim == 2
    maps = maps[None] if single else maps
    flat = maps.reshape(len(maps), -1)
    index = np.argmax(flat, axis=1)
    peaks = np.stack(np.unravel_index(index, maps.shape[1:]), axis=1)
    peaks[flat.max(axis=1, initial=0.0) <= 0] = -1
    return peaks[0] if single else peaks


def heatmap_centroids(heatmaps: np.ndarray) -> np.ndarray:
    """``(N, 2)`` (row, column) centre of mass of each map, in pixels (``(2,)`` for one map).

    Negative values count as zero; an all-zero map gives ``nan``. Boolean masks work too (the
    centre of the object), so ``heatmap_centroids(maps) - heatmap_centroids(masks)`` measures how
    far, and in which direction, explanations sit from their objects.

    Taught in: ``03_class_activation_maps``.
    """
    maps = np.asarray(heatmaps, dtype=np.float64)
    single = maps.ndim == 2
    maps = np.maximum(maps[None] if single else maps, 0.0)
    if maps.ndim != 3:
        raise ValueError(f"heatmaps must be (H, W) or (N, H, W); got shape {np.asarray(heatmaps).shape}.")
    rows, columns = np.indices(maps.shape[1:])
    total = maps.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        centroids = np.stack([(maps * rows).sum(axis=(1, 2)) / total,
                              (maps * columns).sum(axis=(1, 2)) / total], axis=1)
    centroids[total <= 0] = np.nan
    return centroids[0] if single else centroids


def pointing_game(heatmaps: np.ndarray, masks: np.ndarray, tolerance: int = 0) -> np.ndarray:
    """Pointing game (Zhang et al., 2016): does each heatmap's maximum fall on the object?

    Args:
        heatmaps: ``(N, H, W)`` maps at the masks' resolution.
        masks: ``(N, H, W)`` boolean ground-truth masks.
        tolerance: count a hit when the peak is within this many pixels of the mask.

    Returns:
        ``(N,)`` bool hits. An all-zero map points nowhere and misses.

    Taught in: ``03_class_activation_maps``.
    """
    maps, masks = _maps_and_masks(heatmaps, masks)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, np.integer)) or tolerance < 0:
        raise ValueError(f"tolerance must be a non-negative integer number of pixels; got {tolerance!r}.")
    peaks = heatmap_peaks(maps)
    hits = np.zeros(len(maps), dtype=bool)
    for i, (row, col) in enumerate(peaks):
        if row < 0:
            continue
        r0, r1 = max(row - tolerance, 0), row + tolerance + 1
        c0, c1 = max(col - tolerance, 0), col + tolerance + 1
        window = masks[i, r0:r1, c0:c1]
        if tolerance:
            rr, cc = np.mgrid[r0:r0 + window.shape[0], c0:c0 + window.shape[1]]
            window = window & ((rr - row) ** 2 + (cc - col) ** 2 <= tolerance ** 2)
        hits[i] = bool(window.any())
    return hits


def center_baseline(n: int, height: int, width: int) -> np.ndarray:
    """``(n, height, width)`` maps peaked at the image centre: the pointing game's naive baseline.

    Taught in: ``03_class_activation_maps``.
    """
    rows = (np.arange(height) - (height - 1) / 2) / max(height, 1)
    cols = (np.arange(width) - (width - 1) / 2) / max(width, 1)
    bump = 1.0 - np.sqrt(rows[:, None] ** 2 + cols[None, :] ** 2)
    bump = (bump - bump.min()) / (bump.max() - bump.min() + EPSILON)
    return np.broadcast_to(bump.astype(np.float32), (n, height, width)).copy()


def mass_inside(heatmaps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Fraction of each heatmap's total mass that lies inside the mask, ``(N,)`` in ``[0, 1]``.

    Taught in: ``03_class_activation_maps``.
    """
    maps, masks = _maps_and_masks(heatmaps, masks)
    total = maps.reshape(len(maps), -1).sum(axis=1)
    inside = (maps * masks).reshape(len(maps), -1).sum(axis=1)
    return inside / (total + EPSILON)


def energy_in_mask(heatmaps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The share of each heatmap's mass that lies on the object, ``(N,)`` in ``[0, 1]``.

    The same measurement as :func:`mass_inside` (the name the evaluation literature uses,
    "energy-based pointing game", Wang et al., 2020).

    Taught in: ``03_class_activation_maps``.
    """
    return mass_inside(heatmaps, masks)
