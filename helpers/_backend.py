"""The one place that imports Keras and TensorFlow for the whole ``helpers`` package.

Every other module does ``from helpers._backend import keras, tf, ops``. Setting the
environment here (TensorFlow backend, quiet logs) before the first import keeps notebooks,
tests and scripts consistent.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

if keras.backend.backend() != "tensorflow":  # pragma: no cover - environment guard
    raise RuntimeError(
        "ConvNet X-Ray needs the TensorFlow backend of Keras 3; "
        f"KERAS_BACKEND is {keras.backend.backend()!r}. Unset it or set it to 'tensorflow'."
    )

EPSILON = 1e-8
"""Added to every denominator in the package, so no division can produce NaN or inf."""

__all__ = ["keras", "tf", "ops", "EPSILON"]
