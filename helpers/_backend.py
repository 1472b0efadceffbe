"""The one place that imports Keras and TensorFlow for the whole ``helpers`` package.

Every other module does ``from helpers._backend import keras, tf, ops``. Setting the
environment here (TensorFlow backend, quiet logs) before the first import keeps notebooks,
tests and scripts consistent.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Discard what native code writes straight to file descriptor 2 while the block runs.

    TensorFlow's C++ core prints INFO lines while it loads ("oneDNN custom operations are on",
    "All log messages before absl::InitializeLog() ..."), before ``TF_CPP_MIN_LOG_LEVEL`` takes
    effect. In Jupyter they land in the output of whichever cell first imports ``helpers``, and
    only some of the time, which breaks strict notebook checks (nbval). Python-level output and
    exceptions are unaffected; with ``TF_CPP_MIN_LOG_LEVEL=0`` nothing is silenced.
    """
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") in ("", "0"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2 (some embedded interpreters)
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


with _native_stderr_silenced():
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
