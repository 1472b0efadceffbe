"""Filter visualization by gradient ascent in input space (chapter section 22.2), fast.

What a filter "looks for" is shown by the input image that makes its mean activation as large
as possible. Starting from a grey image with a little noise, the image is changed step by step
along the gradient of that activation: gradient *ascent* on the pixels, the weights fixed.

Three ways to do the ascent are offered (``method=``):

* ``"plain"`` — the chapter's method: normalized gradient steps on the pixels.
* ``"robust"`` — the same steps, but every step sees a randomly jittered, scaled and slightly
  rotated copy of the image, so only patterns that survive small transformations grow
  (transformation robustness, as in Lucid).
* ``"fourier"`` — the image is parametrized by its Fourier coefficients, scaled down at high
  frequencies, in decorrelated colours, optimized with Adam, with the same random
  transformations (Lucid's recipe, written from scratch for Keras 3).

Speed: every step runs inside one ``tf.function`` on the model *truncated at the target
layer*, and of that layer only the requested filters are computed; the gradient is taken with
respect to the image only (no weight gradients), and all requested filters are optimized
together as one batch, each image maximizing its own filter.

This module is the chapter's one entry point; the work is split by job:

* :mod:`helpers.filter_surgery` — the model cut at a convolution (Keras graph internals, once);
* :mod:`helpers.filter_params` — the images optimized: starting noise, Fourier images, the
  random transformations, viewable images;
* :mod:`helpers.filter_engine` — objectives, compiled steps (one frozen
  :class:`~helpers.filter_engine.AscentConfig` per configuration) and the ascent loop;
* :mod:`helpers.filter_patterns` — measuring the patterns found.

Taught in: ``02_filter_visualization``.
"""

from __future__ import annotations

from helpers.filter_engine import (
    DEFAULT_STEP_SIZE,
    METHODS,
    PRE_ACTIVATION_MODES,
    AscentConfig as AscentConfig,  # importable from here too, outside the flat namespace
    CompiledAscent as CompiledAscent,
    FilterVisualization,
    SilentFilterWarning,
    compiled_ascent,
    filter_ascent,
    filter_loss,
    normalize_gradient,
    visualize_filters,
)
from helpers.filter_params import Robustness, colour_correlation_sqrt, deprocess_image, grey_noise_images
from helpers.filter_patterns import pattern_statistics, randomized_copy, spectral_statistics, transformed_activations
from helpers.filter_surgery import feature_extractor

__all__ = [
    "METHODS", "DEFAULT_STEP_SIZE", "PRE_ACTIVATION_MODES", "compiled_ascent", "filter_loss", "normalize_gradient",
    "grey_noise_images",
    "deprocess_image", "feature_extractor", "Robustness", "colour_correlation_sqrt", "FilterVisualization",
    "filter_ascent", "visualize_filters", "SilentFilterWarning", "randomized_copy", "spectral_statistics",
    "pattern_statistics",
    "transformed_activations",
]
