"""Issue 21: the explainer core keeps its promises on models and inputs beyond the tiny fixtures.

Each test here reproduces a case an outside stress run found silently wrong or unclear.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import helpers
from helpers._backend import keras, tf
from helpers.data import ImageRangeWarning
from helpers.explainers import EmptyHeatmapWarning, check_class_index, check_images, get_explainer
from helpers.layers import receptive_field

SIZE = 32
layers = keras.layers


def _branched() -> keras.Model:
    """A stride-2 sibling branch comes before the explained layer in the model's layer order."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    side = layers.Conv2D(4, 3, strides=2, padding="same", name="side")(inputs)  # listed first
    main = layers.Conv2D(8, 3, padding="same", activation="relu", name="main")(inputs)
    a = layers.GlobalAveragePooling2D()(side)
    b = layers.GlobalAveragePooling2D()(main)
    outputs = layers.Dense(3, name="logits")(layers.Concatenate()([a, b]))
    return keras.Model(inputs, outputs, name="branched")


# ---------------------------------------------------------------------- receptive fields
def test_receptive_field_follows_the_layers_own_path():
    model = _branched()
    field = receptive_field(model, "main")
    assert (field.size, field.jump, field.start) == (3, 1, 0.0)
    side = receptive_field(model, "side")
    assert side.jump == 2


def test_receptive_field_of_a_residual_block_lines_up_its_branches():
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(8, 3, padding="same", name="stem")(inputs)
    y = layers.Conv2D(8, 3, padding="same", name="inner")(x)
    z = layers.Add(name="add")([x, y])
    outputs = layers.Dense(2)(layers.GlobalAveragePooling2D()(z))
    model = keras.Model(inputs, outputs)
    field = receptive_field(model, "add")
    assert (field.size, field.jump, field.start) == (5, 1, 0.0)


def test_aligned_heatmap_of_a_branched_model_lands_on_the_object():
    model = _branched()
    image = np.zeros((SIZE, SIZE, 3), np.float32)
    image[8:12, 12:16] = 255.0
    # The channel sums of "main" peak where the bright square is; Grad-CAM must put it there.
    explainer = get_explainer(model, "grad_cam", layer="main")
    assert explainer.field_for(SIZE, SIZE).jump == 1
    result = explainer.explain(image, class_index=0, relu=False)
    raw = np.abs(result.raw[0])
    peak_raw = np.unravel_index(np.argmax(raw), raw.shape)
    heat = np.abs(result.heatmaps[0])
    peak = np.unravel_index(np.argmax(heat), heat.shape)
    assert peak == peak_raw  # jump 1, start 0: the map is not shifted


# ---------------------------------------------------------------------- shared layers, stale caches
def test_a_shared_layer_called_twice_is_refused_as_layer():
    inputs = keras.Input((SIZE, SIZE, 3))
    conv = layers.Conv2D(8, 3, padding="same", name="shared")
    x = conv(inputs)
    x = layers.Conv2D(3, 1, name="mix")(x)
    x = conv(x)
    outputs = layers.Dense(2)(layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    with pytest.raises(ValueError, match="called 2 times.*shared layer"):
        get_explainer(model, "grad_cam", layer="shared")
    get_explainer(model, "grad_cam", layer="mix")  # a layer called once is fine


def test_model_add_on_a_sequential_model_drops_the_cached_explainer():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((SIZE, SIZE, 3)), layers.Conv2D(4, 3, name="conv"),
                              layers.GlobalAveragePooling2D(), layers.Dense(4, name="d4")])
    image = np.random.default_rng(0).uniform(0, 255, (SIZE, SIZE, 3)).astype("float32")
    before = get_explainer(model, "grad_cam")
    assert before.num_classes == 4
    model.add(layers.Dense(3, name="d3"))
    after = get_explainer(model, "grad_cam")
    assert after is not before and after.num_classes == 3
    with pytest.raises(ValueError, match="out of range"):
        after.explain(image, class_index=3)


# ---------------------------------------------------------------------- softmax hidden from pre_softmax
def _head(kind: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(layers.Rescaling(1 / 255.0)(inputs))
    logits = layers.Dense(3, name="logits")(layers.GlobalAveragePooling2D()(x))
    if kind == "ops":
        outputs = keras.ops.softmax(logits)
    elif kind == "lambda":
        outputs = layers.Lambda(lambda t: keras.ops.softmax(t), name="probs")(logits)
    else:
        outputs = layers.Softmax()(logits)
    return keras.Model(inputs, outputs, name=f"head_{kind}")


def test_keras_ops_softmax_is_removed_like_a_softmax_layer(tiny_images):
    model, reference = _head("ops"), _head("layer")
    ours = get_explainer(model, "grad_cam")
    scores = ours.explain(tiny_images).scores
    expected = get_explainer(reference, "grad_cam").explain(tiny_images).scores
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(scores.sum(axis=1), 1.0)  # logits, not probabilities


def test_a_lambda_softmax_is_refused_with_a_clear_message(tiny_images):
    with pytest.raises(ValueError, match="Lambda.*probabilities"):
        get_explainer(_head("lambda"), "grad_cam")
    get_explainer(_head("lambda"), "grad_cam", pre_softmax=False)  # explaining probabilities is allowed
