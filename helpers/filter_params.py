"""How the filter ascent's images are made and seen: starting points, random transformations, Fourier images.

The parametrizations of :mod:`helpers.filters`: what the ascent optimizes (pixels, or Fourier
coefficients in decorrelated colours), the random jitter, zoom and rotation every ``robust`` or
``fourier`` step sees, and how optimized pixels become viewable images. Plain functions of
arrays and tensors: nothing here knows about models.

Taught in: ``02_filter_visualization``.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from helpers._backend import EPSILON, tf

__all__ = [
    "Robustness", "colour_correlation_sqrt", "deprocess_image", "fourier_scale", "fourier_to_pixels",
    "grey_noise_images", "jitter_of", "random_affine",
]


# --------------------------------------------------------------------------- starting and viewable images
def grey_noise_images(n: int, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """``n`` starting images: grey (128) plus uniform noise of 20 grey levels, as in the chapter.

    Taught in: ``02_filter_visualization``.
    """
    rng = np.random.default_rng(seed)
    return (128.0 + 20.0 * rng.random((n, *size, 3))).astype("float32")


def deprocess_image(x: np.ndarray, contrast: float = 0.1) -> np.ndarray:
    """Turn optimized pixels (any range) into viewable uint8 images, each one on its own.

    Each image is centred on 0, scaled to a standard deviation of ``contrast`` (as a fraction of
    the 0..1 range), moved to mid-grey 0.5, clipped and converted to 0..255: the chapter's
    ``deprocess_image``. Works on one image ``(h, w, 3)`` or a batch ``(n, h, w, 3)``.

    Taught in: ``02_filter_visualization``.
    """
    x = np.asarray(x, dtype="float64")
    axes = tuple(range(x.ndim - 3, x.ndim))
    x = x - x.mean(axis=axes, keepdims=True)
    x = x / (x.std(axis=axes, keepdims=True) + EPSILON) * contrast + 0.5
    return (np.clip(x, 0.0, 1.0) * 255.0).round().astype("uint8")


# --------------------------------------------------------------------------- transformations
@dataclasses.dataclass(frozen=True)
class Robustness:
    """Random transformations applied to the image before every step (``robust``/``fourier``).

    Attributes:
        jitter: largest shift in pixels, each direction; ``None`` means 1/16 of the image size.
        scale: largest relative zoom, in and out (0.1 means 0.9 to 1.1).
        degrees: largest rotation, either way.

    Taught in: ``02_filter_visualization``.
    """

    jitter: int | None = None
    scale: float = 0.1
    degrees: float = 5.0


def random_affine(images: tf.Tensor, generator: tf.random.Generator, robustness: Robustness,
                   jitter: int) -> tf.Tensor:
    """Jitter, zoom and rotate every image of the batch by its own random amount (differentiable)."""
    n = tf.shape(images)[0]
    h = tf.cast(tf.shape(images)[1], tf.float32)
    w = tf.cast(tf.shape(images)[2], tf.float32)
    angle = generator.uniform((n,), -1.0, 1.0) * (robustness.degrees * math.pi / 180.0)
    zoom = 1.0 + generator.uniform((n,), -1.0, 1.0) * robustness.scale
    shift = tf.cast(generator.uniform((n, 2), -jitter, jitter + 1, dtype=tf.int32), tf.float32)
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    # Output pixel (x, y) samples input pixel A @ (x - c) + c - shift, A = rotation(-angle) / zoom.
    a0, a1, b0, b1 = cos, sin, -sin, cos
    a2 = cx - a0 * cx - a1 * cy - shift[:, 0]
    b2 = cy - b0 * cx - b1 * cy - shift[:, 1]
    zeros = tf.zeros_like(cos)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")


def jitter_of(robustness: Robustness, size: tuple[int, int]) -> int:
    """The largest shift in pixels for ``size`` images: ``robustness.jitter``, or 1/16 of the smaller side."""
    return max(1, min(size) // 16) if robustness.jitter is None else int(robustness.jitter)


# --------------------------------------------------------------------------- Fourier images
@functools.lru_cache(maxsize=1)
def colour_correlation_sqrt() -> np.ndarray:
    """A square root of the RGB covariance of the shape world (3×3, largest column norm 1).

    Multiplying three *uncorrelated* channels by this matrix gives colours correlated the way
    they are in the training images; optimizing in the uncorrelated space is what Lucid calls
    colour decorrelation. Computed from 64 held-out shape-world images.

    Taught in: ``02_filter_visualization``.
    """
    from helpers.data import make_shapes

    images, _, _ = make_shapes(64, size=64, seed=1)
    pixels = images.reshape(-1, 3).astype("float64") / 255.0
    values, vectors = np.linalg.eigh(np.cov(pixels, rowvar=False))
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    return (root / (np.linalg.norm(root, axis=0).max() + EPSILON)).astype("float32")


def fourier_scale(size: tuple[int, int], decay: float) -> np.ndarray:
    """1 / frequency**decay for the rfft2 grid, normalized to an RMS of 1."""
    fy = np.fft.fftfreq(size[0])[:, None]
    fx = np.fft.rfftfreq(size[1])[None, :]
    freq = np.sqrt(fx**2 + fy**2)
    scale = 1.0 / np.maximum(freq, 1.0 / max(size)) ** decay
    return (scale / np.sqrt(np.mean(scale**2))).astype("float32")


def fourier_to_pixels(params: tf.Tensor, scale: tf.Tensor, colour: tf.Tensor,
                       size: tuple[int, int]) -> tf.Tensor:
    """(n, 3, h, w//2+1, 2) real/imag coefficients -> (n, h, w, 3) pixels in 0..255."""
    spectrum = tf.complex(params[..., 0] * scale, params[..., 1] * scale)
    spatial = tf.signal.irfft2d(spectrum, fft_length=size) * math.sqrt(size[0] * size[1])
    spatial = tf.transpose(spatial, (0, 2, 3, 1))  # channels last, still decorrelated
    rgb = tf.einsum("nhwk,ck->nhwc", spatial, colour)
    return tf.sigmoid(rgb) * 255.0
