"""Measuring the filter ascent's patterns: what they contain, how robust they are, against a random model.

Taught in: ``02_filter_visualization``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from helpers._backend import EPSILON, keras, tf
from helpers.filter_engine import FilterVisualization, filter_loss
from helpers.filter_params import Robustness, jitter_of, random_affine
from helpers.filter_surgery import check_conv_layer, check_filters, feature_extractor

__all__ = ["pattern_statistics", "randomized_copy", "spectral_statistics", "transformed_activations"]


def randomized_copy(model: keras.Model, seed: int = 0) -> keras.Model:
    """A copy of ``model`` whose weights are shuffled within each weight tensor (a sanity check).

    Every layer keeps exactly the same weight values — same scale, same distribution — but their
    arrangement is random, so whatever the trained model learned is gone. Patterns that look the
    same for the copy tell nothing about training. ``model`` itself is left unchanged.

    Taught in: ``02_filter_visualization``.
    """
    copy = keras.models.clone_model(model)
    rng = np.random.default_rng(seed)
    copy.set_weights([rng.permutation(w.ravel()).reshape(w.shape) for w in model.get_weights()])
    return copy


def spectral_statistics(images: np.ndarray) -> dict[str, np.ndarray]:
    """Spatial-frequency content of each image's luminance (its mean removed).

    Returns:
        One ``(n,)`` array per measure:

        * ``"mean_frequency"``: power-weighted mean frequency, in cycles per pixel (0.5 is a
          stripe every 2 pixels);
        * ``"high_frequency_fraction"``: share of the power above 0.25 cycles per pixel
          (periods shorter than 4 pixels);
        * ``"spectral_entropy"``: entropy of the normalized power spectrum, in bits (low: a few
          pure stripes; high: many frequencies, like noise);
        * ``"orientation_strength"``: 1 when all the power lies along one orientation (stripes,
          edges), 0 when no orientation is preferred (blobs, noise).

    Taught in: ``02_filter_visualization``.
    """
    images = np.asarray(images, dtype="float64")
    luminance = images @ np.array([0.299, 0.587, 0.114])
    luminance = luminance - luminance.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(luminance)) ** 2
    h, w = luminance.shape[1:]
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    freq = np.sqrt(fx**2 + fy**2)
    p = power / (power.sum(axis=(1, 2), keepdims=True) + EPSILON)
    # Orientation: mean of exp(2i·angle) weighted by power (angles θ and θ+π are one orientation).
    doubled = np.exp(2j * np.arctan2(fy, fx))
    return {
        "mean_frequency": (p * freq).sum(axis=(1, 2)),
        "high_frequency_fraction": (p * (freq > 0.25)).sum(axis=(1, 2)),
        "spectral_entropy": -(p * np.log2(p + EPSILON)).sum(axis=(1, 2)),
        "orientation_strength": np.abs((p * doubled).sum(axis=(1, 2))),
    }


def pattern_statistics(result: FilterVisualization) -> dict[str, np.ndarray]:
    """Measures of each pattern of a :class:`FilterVisualization`, one ``(n,)`` array per name.

    * ``"moved"``: how far the image moved from its start, RMS in grey levels. A pattern that
      moved less than the starting noise itself (about 5.8 grey levels) stayed noise.
    * ``"uniform_colour_share"``: share of that change that is one flat colour over the whole
      image (1: a plain colour field; 0: pure spatial structure).
    * ``"concentration"``: share of the change's energy in the 10% of pixels that changed most
      (0.1: spread evenly, like a texture; near 1: a few concentrated structures).
    * the four measures of :func:`spectral_statistics`, on the viewable images.

    Taught in: ``02_filter_visualization``.
    """
    change = np.asarray(result.pixels, "float64") - np.asarray(result.start_pixels, "float64")
    energy = (change**2).sum(axis=-1).reshape(len(change), -1)
    total = energy.sum(axis=1) + EPSILON
    flat = (change.mean(axis=(1, 2)) ** 2).sum(axis=-1) * energy.shape[1]
    top = np.sort(energy, axis=1)[:, ::-1][:, : max(1, energy.shape[1] // 10)].sum(axis=1)
    return {
        "moved": np.sqrt(energy.sum(axis=1) / change[0].size),
        "uniform_colour_share": flat / total,
        "concentration": top / total,
        **spectral_statistics(result.images),
    }


def transformed_activations(model: keras.Model, layer: str, pixels: np.ndarray,
                            filters: Sequence[int], robustness: Robustness = Robustness(),
                            samples: int = 8, seed: int = 0, border: int = 2) -> np.ndarray:
    """Mean activation of each filter on ``samples`` randomly jittered/scaled/rotated copies.

    A pattern that only works at one exact pixel position loses most of its activation when
    shifted by a few pixels; a robust one keeps it. Compare with the untransformed activation.

    Args:
        model, layer: the model and conv layer the patterns were made for.
        pixels: ``(n, h, w, 3)`` images as the model sees them (``FilterVisualization.pixels``).
        filters: ``(n,)`` the filter each image is scored on.
        robustness: the random transformations (jitter ``None`` = 1/16 of the image size).
        samples: random transformations averaged per image.
        seed: seeds the transformations.
        border: feature-map pixels left out of the loss on every side.

    Returns:
        ``(n,)`` mean activation over the transformed copies.

    Taught in: ``02_filter_visualization``.
    """
    pixels = tf.constant(np.asarray(pixels, dtype="float32"))
    size = tuple(int(s) for s in pixels.shape[1:3])
    path, target = check_conv_layer(model, layer)
    filters = check_filters(filters, path, int(target.kernel.shape[-1]))
    if len(filters) != pixels.shape[0]:
        raise ValueError(f"Got {pixels.shape[0]} images for {len(filters)} filters.")
    extractor = feature_extractor(model, path, size)
    jitter = jitter_of(robustness, size)
    generator = tf.random.Generator.from_seed(seed)
    targets = tf.constant(filters, dtype=tf.int32)
    totals = np.zeros(len(filters))
    for _ in range(samples):  # eager: no tracing, nothing to silence
        seen = random_affine(pixels, generator, robustness, jitter)
        totals += filter_loss(extractor(seen, training=False), targets, border).numpy()
    return totals / samples
