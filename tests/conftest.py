"""Shared fixtures: tiny seeded models of every structure the helpers must handle.

Unit tests use these (seconds), never the bundled models, except where a test says so.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers._backend import keras

SIZE = 32


def _seeded(seed: int = 0) -> None:
    keras.utils.set_random_seed(seed)


@pytest.fixture
def tiny_images() -> np.ndarray:
    """Four random 32×32 RGB images in 0..255."""
    return np.random.default_rng(0).uniform(0, 255, (4, SIZE, SIZE, 3)).astype("float32")


@pytest.fixture
def tiny_gap_model() -> keras.Model:
    """Functional VGG-like model: two conv blocks, GAP, Dense softmax (CAM-ready), 3 classes."""
    _seeded(0)
    layers = keras.layers
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Rescaling(1 / 255.0)(inputs)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="block1_conv1")(x)
    x = layers.MaxPooling2D(2, name="block1_pool")(x)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="block2_conv1")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(3, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="tiny_gap")


@pytest.fixture
def tiny_sequential() -> keras.Sequential:
    """Sequential conv/pool/flatten/dense model like small_convnet, 3 classes."""
    _seeded(1)
    layers = keras.layers
    return keras.Sequential([
        keras.Input((SIZE, SIZE, 3)),
        layers.Rescaling(1 / 255.0),
        layers.Conv2D(8, 3, activation="relu", name="conv2d_1"),
        layers.MaxPooling2D(2, name="max_pooling2d_1"),
        layers.Conv2D(8, 3, activation="relu", name="conv2d_2"),
        layers.Flatten(name="flatten"),
        layers.Dense(3, activation="softmax", name="dense"),
    ], name="tiny_sequential")


@pytest.fixture
def loaded_sequential(tiny_sequential, tmp_path) -> keras.Sequential:
    """``tiny_sequential`` saved and loaded again, never called: the Keras 3 trouble case."""
    path = tmp_path / "tiny_sequential.keras"
    tiny_sequential.save(path)
    return keras.saving.load_model(path, compile=False)


@pytest.fixture
def tiny_nested(tiny_gap_model) -> keras.Model:
    """A backbone model used as one layer (``"backbone/block2_conv1"``), then GAP and Dense."""
    _seeded(2)
    backbone = keras.Model(tiny_gap_model.inputs, tiny_gap_model.get_layer("block2_conv1").output, name="backbone")
    inputs = keras.Input((SIZE, SIZE, 3))
    x = backbone(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="tiny_nested")


@pytest.fixture
def tiny_binary() -> keras.Model:
    """A one-unit sigmoid binary classifier (class 0 is explained by the negative logit)."""
    _seeded(3)
    layers = keras.layers
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Rescaling(1 / 255.0)(inputs)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="output")(x)
    return keras.Model(inputs, outputs, name="tiny_binary")


# Tests that take more than a few seconds are marked `slow` here, in one place, so `make test-fast`
# (`pytest -m "not slow"`) stays the edit-test loop; `make test` runs them all.
SLOW_MODULES = {"test_notebooks.py", "test_packaging.py", "test_train.py", "test_environment.py"}
"""Whole modules that build wheels, train, or read every notebook."""
CONTRACT_FAST_STRUCTURE = "tiny_gap_model"
"""The contract test runs every method on every model structure; the fast loop keeps one structure."""


def pytest_collection_modifyitems(config, items):
    for item in items:
        slow = (item.get_closest_marker("bundled") is not None  # the trained models: seconds each
                or item.path.name in SLOW_MODULES
                or "tf_keras_vis" in item.name
                or item.name.startswith(("test_foreign_architectures[", "test_import_prints_no_native_log"))
                or (item.name.startswith("test_contract[") and not item.name.endswith(f"-{CONTRACT_FAST_STRUCTURE}]")))
        if slow:
            item.add_marker(pytest.mark.slow)
