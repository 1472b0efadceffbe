"""Measuring heatmaps against the truth: the shape world's masks say where the object is.

Each function takes heatmaps ``(N, H, W)`` (or one ``(H, W)``) at the masks' resolution and
returns one number per image, so methods, layers and models can be compared on hundreds of
images at once:

* :func:`pointing_game` (Zhang et al., 2016): does the map's maximum fall on the object?
* :func:`energy_in_mask` (``mass_inside``): the share of the map's mass on the object;
* :func:`heatmap_peaks` and :func:`heatmap_centroids`: where a map points, and its centre of mass;
* :func:`center_baseline`: the naive map every method must beat, a bump at the image centre;
  :func:`random_baseline` and :func:`edge_baseline` (Sobel): a method that does not beat an edge
  detector explains the image, not the model;
* :func:`deletion_curve` and :func:`insertion_curve` (Petsiuk et al., 2018): the class
  probability as the most important pixels are removed (to grey) or added (to a blurred copy);
* :func:`randomization_check` (Adebayo et al., 2018): do the maps change when the model's
  weights are destroyed, layer by layer from the top? (:func:`rank_correlation` compares maps.)

Taught in: ``03_class_activation_maps`` and ``04_beyond_grad_cam``.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from helpers._backend import EPSILON, keras
from helpers.explainers import EmptyHeatmapWarning, Explainer, check_class_index, check_images, explain, get_explainer
from helpers.inputs import positive_int
from helpers.layers import iter_layers
from helpers.models import class_names_of

__all__ = [
    "blur", "center_baseline", "deletion_curve", "edge_baseline", "energy_in_mask", "heatmap_centroids",
    "heatmap_peaks", "insertion_curve", "mass_inside", "pointing_game", "random_baseline", "randomization_check",
    "rank_correlation",
]


def _maps_and_masks(heatmaps, masks) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps as float64 ``(N, H, W)`` and masks as float64 weights in ``[0, 1]`` of the same shape.

    Boolean (or 0/1) masks are the usual case; a soft mask (values between 0 and 1) is kept as
    weights, never silently binarized.
    """
    maps, masks = np.asarray(heatmaps, dtype=np.float64), np.asarray(masks)
    if masks.dtype != bool:
        masks = masks.astype(np.float64)
        if masks.size and (not np.all(np.isfinite(masks)) or masks.min() < 0.0 or masks.max() > 1.0):
            raise ValueError(f"masks must be boolean or weights in [0, 1]; got values from {masks.min():.3g} to "
                             f"{masks.max():.3g}. Convert them, e.g. masks > 0 or masks / 255.")
    masks = masks.astype(np.float64)
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
        masks: ``(N, H, W)`` boolean ground-truth masks (a soft mask in ``[0, 1]`` counts where it
            is at least 0.5).
        tolerance: count a hit when the peak is within this many pixels of the mask.

    Returns:
        ``(N,)`` bool hits. An all-zero map points nowhere and misses.

    Taught in: ``03_class_activation_maps``.
    """
    maps, masks = _maps_and_masks(heatmaps, masks)
    masks = masks >= 0.5
    tolerance = positive_int(tolerance, "tolerance", "a number of pixels", minimum=0)
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

    Only positive evidence is mass: negative values of a signed map (``relu=False``) count as
    zero, so the result stays in ``[0, 1]``. A soft mask (weights in ``[0, 1]``, not only 0 and
    1) weights each pixel's mass by the mask's value: ``Σ map·mask / Σ map``.

    Taught in: ``03_class_activation_maps``.
    """
    maps, masks = _maps_and_masks(heatmaps, masks)
    maps = np.maximum(maps, 0.0)
    total = maps.reshape(len(maps), -1).sum(axis=1)
    inside = (maps * masks).reshape(len(maps), -1).sum(axis=1)
    return inside / (total + EPSILON)


def energy_in_mask(heatmaps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The share of each heatmap's mass that lies on the object, ``(N,)`` in ``[0, 1]``.

    The same measurement as :func:`mass_inside` (the name the evaluation literature uses,
    "energy-based pointing game", Wang et al., 2020): negative values count as zero, a soft
    mask weights each pixel.

    Taught in: ``03_class_activation_maps``.
    """
    return mass_inside(heatmaps, masks)


# ---------------------------------------------------------------------- baselines
def random_baseline(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """``(n, height, width)`` maps of uniform noise in ``[0, 1]`` (seeded): the map that knows nothing.

    Taught in: ``04_beyond_grad_cam``.
    """
    return np.random.default_rng(seed).uniform(0.0, 1.0, (n, height, width)).astype(np.float32)


def edge_baseline(images) -> np.ndarray:
    """``(N, H, W)`` Sobel edge magnitude of each image (grey), divided by its maximum.

    The baseline that looks like an explanation without asking the model anything: a method
    whose maps do not beat it on the measurements explains the image, not the model.

    Taught in: ``04_beyond_grad_cam``.
    """
    batch, _ = check_images(images)
    grey = batch.astype(np.float64).mean(axis=-1)
    padded = np.pad(grey, ((0, 0), (1, 1), (1, 1)), mode="edge")

    def shifted(dr: int, dc: int) -> np.ndarray:
        return padded[:, 1 + dr:padded.shape[1] - 1 + dr, 1 + dc:padded.shape[2] - 1 + dc]

    gx = (shifted(-1, 1) + 2 * shifted(0, 1) + shifted(1, 1)) - (shifted(-1, -1) + 2 * shifted(0, -1) + shifted(1, -1))
    gy = (shifted(1, -1) + 2 * shifted(1, 0) + shifted(1, 1)) - (shifted(-1, -1) + 2 * shifted(-1, 0) + shifted(-1, 1))
    magnitude = np.hypot(gx, gy)
    return (magnitude / (magnitude.max(axis=(1, 2), keepdims=True) + EPSILON)).astype(np.float32)


def blur(images, sigma: float = 10.0) -> np.ndarray:
    """Gaussian blur of ``(N, H, W, C)`` images (``sigma`` in pixels, borders reflected): insertion's start.

    Taught in: ``04_beyond_grad_cam``.
    """
    batch = np.asarray(images, dtype=np.float32)
    radius = max(1, int(round(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / max(sigma, EPSILON)) ** 2)
    kernel = (kernel / kernel.sum()).astype(np.float32)
    for axis in (1, 2):
        pad = [(0, 0)] * batch.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(batch, pad, mode="symmetric")
        length = batch.shape[axis]
        batch = sum(w * np.take(padded, np.arange(k, k + length), axis=axis) for k, w in enumerate(kernel))
    return batch.astype(np.float32)


# ---------------------------------------------------------------------- deletion and insertion
def _probabilities(model: keras.Model, batch: np.ndarray, output=None, batch_size: int = 64) -> np.ndarray:
    """Class probabilities ``(N, classes)`` by the core's one scoring path (:meth:`Explainer.class_probabilities`).

    Softmax of the logits for a softmax model, each label's sigmoid for a multi-label sigmoid
    model, ``[1 - p, p]`` for a one-unit sigmoid model.
    """
    try:
        explainer = get_explainer(model, "saliency", output=output)
    except ValueError as err:  # several outputs: name the parameter these functions have
        raise ValueError(str(err).replace("e.g. output=0", "e.g. output=0 in this call")) from None
    return explainer.class_probabilities(batch, batch_size)


def _curve(model, images, heatmaps, class_index, steps: int, baseline: str, start_from_baseline: bool,
           batch_size: int, sigma: float, output=None) -> tuple[np.ndarray, np.ndarray]:
    batch, _ = check_images(images, model)
    maps = np.asarray(heatmaps, dtype=np.float64)
    maps = maps[None] if maps.ndim == 2 else maps
    if maps.shape != batch.shape[:3]:
        raise ValueError(f"heatmaps {maps.shape} must match the images {batch.shape[:3]}: compute them with "
                         "upsample=True.")
    if not np.all(np.isfinite(maps)):
        raise ValueError("heatmaps contain NaN or infinite values.")
    steps = positive_int(steps, "steps")
    if baseline == "grey":
        background = np.full_like(batch, 127.5)
    elif baseline == "black":
        background = np.zeros_like(batch)
    elif baseline == "blur":
        background = blur(batch, sigma)
    else:
        raise ValueError(f"baseline must be 'grey', 'black' or 'blur'; got {baseline!r}.")
    n, height, width = maps.shape
    pixels = height * width
    probabilities = _probabilities(model, batch, output, batch_size)
    num_classes = probabilities.shape[1]
    classes = check_class_index(class_index, n, num_classes, class_names_of(model, num_classes))
    classes = np.where(classes < 0, probabilities.argmax(axis=1), classes)
    counts = np.round(np.linspace(0, pixels, steps + 1)).astype(int)
    curves = np.empty((n, steps + 1))
    for i in range(n):
        order = np.argsort(-maps[i].ravel(), kind="stable")  # most important first; ties: reading order
        rank = np.empty(pixels, dtype=int)
        rank[order] = np.arange(pixels)
        chosen = (rank[None, :] < counts[:, None]).reshape(steps + 1, height, width, 1)  # (steps+1, H, W, 1)
        first, second = (batch[i], background[i]) if not start_from_baseline else (background[i], batch[i])
        series = np.where(chosen, second[None], first[None]).astype(np.float32)
        values = _probabilities(model, series, output, batch_size)
        curves[i] = values[:, classes[i]]
    areas = np.trapezoid(curves, dx=1.0 / steps, axis=1)
    return curves, areas


def deletion_curve(model: keras.Model, images, heatmaps, class_index=None, steps: int = 20,
                   baseline: str = "grey", batch_size: int = 64, sigma: float = 10.0,
                   output: int | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Deletion (Petsiuk et al., 2018): the class probability as the most important pixels are removed.

    Pixels are removed in the heatmap's order (highest first, ties in reading order), in
    ``steps`` equal parts, to a **grey** baseline (127.5) by default (``"black"`` or ``"blur"``:
    a Gaussian blur of the image). A good map makes the probability fall fast: a **low** area.

    Args:
        model: the classifier (probabilities as the model gives them: the softmax of its logits, or
            each label's sigmoid for a multi-label sigmoid model).
        images: ``(N, H, W, 3)`` images in 0..255 (or one image).
        heatmaps: ``(N, H, W)`` maps at the images' resolution.
        class_index: the class whose probability is followed; ``None``: each image's top class.
        steps: number of removal steps (``steps + 1`` forward passes per image, batched).
        baseline: what removed pixels become: ``"grey"``, ``"black"`` or ``"blur"``.
        batch_size: images per forward pass.
        sigma: the blur's standard deviation in pixels (``baseline="blur"``).
        output: for a model with several outputs, which one to follow (index or layer name).

    Returns:
        ``(curves, areas)``: ``(N, steps + 1)`` probabilities from 0 % to 100 % removed, and
        ``(N,)`` areas under them (trapezoid rule over the removed fraction, in ``[0, 1]``).

    Taught in: ``04_beyond_grad_cam``.
    """
    return _curve(model, images, heatmaps, class_index, steps, baseline, False, batch_size, sigma, output)


def insertion_curve(model: keras.Model, images, heatmaps, class_index=None, steps: int = 20,
                    baseline: str = "blur", batch_size: int = 64, sigma: float = 10.0,
                    output: int | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Insertion (Petsiuk et al., 2018): the class probability as the most important pixels are added.

    Starts from a **blurred** copy of the image by default (Gaussian, ``sigma`` pixels; or
    ``"grey"``/``"black"``) and puts the original pixels back in the heatmap's order. A good map
    makes the probability rise fast: a **high** area. Arguments and returns as
    :func:`deletion_curve` (``curves[:, 0]`` is the baseline image, ``curves[:, -1]`` the original).

    Taught in: ``04_beyond_grad_cam``.
    """
    return _curve(model, images, heatmaps, class_index, steps, baseline, True, batch_size, sigma, output)


# ---------------------------------------------------------------------- randomization check
def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values``, ties sharing their average rank (as Spearman's correlation needs)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(starts) - 1
    bounds = np.r_[np.flatnonzero(starts), len(values)]
    average = 0.5 * (bounds[:-1] + bounds[1:] - 1) + 1.0
    ranks = np.empty(len(values))
    ranks[order] = average[group]
    return ranks


def rank_correlation(maps_a: np.ndarray, maps_b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each pair of maps, ``(N,)`` (ties get average ranks).

    A constant map has no order: its correlation is 0.

    Taught in: ``04_beyond_grad_cam``.
    """
    a, b = np.asarray(maps_a, dtype=np.float64), np.asarray(maps_b, dtype=np.float64)
    a, b = (a[None] if a.ndim == 2 else a), (b[None] if b.ndim == 2 else b)
    if a.shape != b.shape:
        raise ValueError(f"maps of shapes {a.shape} and {b.shape} cannot be compared.")
    out = np.zeros(len(a))
    for i in range(len(a)):
        ra, rb = _average_ranks(a[i].ravel()), _average_ranks(b[i].ravel())
        ra, rb = ra - ra.mean(), rb - rb.mean()
        denominator = np.sqrt((ra ** 2).sum() * (rb ** 2).sum())
        out[i] = (ra * rb).sum() / denominator if denominator > EPSILON else 0.0
    return out


def _reinitialize(layer: keras.layers.Layer, rng: np.random.Generator) -> None:
    """New weights for ``layer``: Glorot-uniform kernels, zero biases and shifts, unit scales and variances."""
    fresh = []
    for variable in layer.weights:
        name = variable.path.rsplit("/", 1)[-1]
        shape = tuple(variable.shape)
        if name in ("gamma", "moving_variance", "scale"):
            fresh.append(np.ones(shape, np.float32))
        elif len(shape) >= 2:
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 2 else shape[0]
            fan_out = int(np.prod(shape[:-2]) * shape[-1]) if len(shape) > 2 else shape[1]
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            fresh.append(rng.uniform(-limit, limit, shape).astype(np.float32))
        else:
            fresh.append(np.zeros(shape, np.float32))
    layer.set_weights(fresh)


def randomization_check(model: keras.Model, images, method: "str | type[Explainer] | Callable" = "grad_cam",
                        class_index=None, layers=None, seed: int = 0, **options) -> dict[str, float]:
    """Cascading model-parameter randomization (Adebayo et al., 2018): do the maps depend on the weights?

    A copy of ``model`` (the user's model is never modified) has its layers re-initialized one
    after another from the top (the output) down: Glorot-uniform kernels, zero biases, seeded.
    After each, the method's maps on the copy are compared with its maps on the trained model
    (Spearman rank correlation per image, the same classes explained). A method whose maps stay
    similar when the weights are destroyed explains the image, not the model, and fails.

    Args:
        model: the trained model (unchanged).
        images: the images to explain.
        method: a registered method name, or a callable ``(model, images) -> (N, H, W) maps``
            (for baselines, which do not look at the model at all).
        class_index: the classes explained (``None``: each image's top class on the trained model).
        layers: the cascade layers after which to measure (paths); ``None``: after every one.
            The cascade always re-initializes every layer above the last one measured.
        seed: seed of the new weights.
        **options: the method's options (e.g. ``samples=8``, ``batch_size=32``).

    Returns:
        ``{layer path: mean Spearman correlation}`` in cascade order (top first).

    Taught in: ``04_beyond_grad_cam``.
    """
    batch, _ = check_images(images, model)

    def maps_of(net: keras.Model) -> np.ndarray:
        if callable(method) and not isinstance(method, type):
            return np.asarray(method(net, batch), dtype=np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmptyHeatmapWarning)  # random weights may leave no evidence
            return explain(net, batch, method=method, class_index=classes, **options)

    probabilities = _probabilities(model, batch, options.get("output"))
    classes = check_class_index(class_index, len(batch), probabilities.shape[1],
                                class_names_of(model, probabilities.shape[1]))
    classes = np.where(classes < 0, probabilities.argmax(axis=1), classes)
    reference = maps_of(model)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    cascade = [(path, layer) for path, layer in iter_layers(copy)
               if not isinstance(layer, keras.Model) and layer.weights][::-1]
    names = [path for path, _ in cascade]
    wanted = names if layers is None else list(layers)
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise ValueError(f"layers {unknown} have no weights to re-initialize; the cascade is {names}.")
    last = max(names.index(name) for name in wanted)
    rng = np.random.default_rng(seed)
    result: dict[str, float] = {}
    for path, layer in cascade[:last + 1]:
        _reinitialize(layer, rng)
        if path in wanted:
            result[path] = float(rank_correlation(reference, maps_of(copy)).mean())
    return result
