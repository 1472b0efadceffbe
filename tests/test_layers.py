"""helpers.layers: find layers in any Keras 3 model and look inside it in one forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from helpers._backend import keras, tf
from helpers.layers import (
    conv_layer_names,
    default_explanation_layer,
    get_layer,
    input_shape,
    intermediate_model,
    layer_names,
    layer_output_shapes,
    logits_model,
    spatial_layer_names,
)
from helpers.models import build_small_convnet, build_vgg_gap


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


@pytest.fixture
def unbuilt_sequential() -> keras.Sequential:
    """A Sequential with no Input layer that was never called: its input shape is unknown."""
    return keras.Sequential([
        keras.layers.Conv2D(4, 3, name="conv"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(2, activation="softmax", name="out"),
    ], name="unbuilt")


# --------------------------------------------------------------------------- names
def test_conv_layer_names_sequential(tiny_sequential, loaded_sequential) -> None:
    assert conv_layer_names(tiny_sequential) == ["conv2d_1", "conv2d_2"]
    assert conv_layer_names(loaded_sequential) == ["conv2d_1", "conv2d_2"]


def test_conv_layer_names_functional_and_nested(tiny_gap_model, tiny_nested) -> None:
    assert conv_layer_names(tiny_gap_model) == ["block1_conv1", "block2_conv1"]
    assert conv_layer_names(tiny_nested) == ["backbone/block1_conv1", "backbone/block2_conv1"]


def test_conv_layer_names_course_models() -> None:
    assert conv_layer_names(build_small_convnet()) == ["conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4"]
    assert conv_layer_names(build_vgg_gap())[-1] == "block5_conv2"


def test_layer_names_lists_nested_layers_in_order(tiny_nested) -> None:
    names = layer_names(tiny_nested)
    # the Rescaling layer has an auto-generated name ("rescaling", "rescaling_3", ...)
    assert names[0].startswith("backbone/rescaling")
    assert names[1:] == ["backbone/block1_conv1", "backbone/block1_pool", "backbone/block2_conv1", "gap", "head"]
    assert "backbone" not in names, "nested models themselves are not layers with outputs to show"


def test_get_layer_by_path_and_bare_name(tiny_nested) -> None:
    backbone = tiny_nested.get_layer("backbone")
    by_path = get_layer(tiny_nested, "backbone/block2_conv1")
    assert by_path is backbone.get_layer("block2_conv1")
    assert get_layer(tiny_nested, "block2_conv1") is by_path, "a unique bare name is found in nested models"
    assert get_layer(tiny_nested, "head") is tiny_nested.get_layer("head")
    assert get_layer(tiny_nested, "backbone") is backbone


def test_get_layer_unknown_name_lists_valid_names(tiny_nested) -> None:
    with pytest.raises(ValueError, match="block9_conv1") as info:
        get_layer(tiny_nested, "block9_conv1")
    message = str(info.value)
    assert "backbone/block2_conv1" in message and "head" in message
    with pytest.raises(TypeError):
        get_layer(tiny_nested, 3)


def test_get_layer_ambiguous_bare_name() -> None:
    inner_a = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="conv")], name="a")
    inner_b = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(2, 3, name="conv")], name="b")
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, inner_b(inner_a(inputs)), name="two_convs")
    assert get_layer(model, "b/conv") is inner_b.get_layer("conv")
    with pytest.raises(ValueError, match="ambiguous"):
        get_layer(model, "conv")


# --------------------------------------------------------------------------- intermediate_model
@pytest.mark.parametrize("fixture, layers, shapes", [
    ("loaded_sequential", ["conv2d_1", "max_pooling2d_1", "conv2d_2"],
     [(4, 30, 30, 8), (4, 15, 15, 8), (4, 13, 13, 8)]),
    ("tiny_sequential", ["conv2d_2", "flatten"], [(4, 13, 13, 8), (4, 1352)]),
    ("tiny_gap_model", ["block1_conv1", "block2_conv1", "gap"], [(4, 32, 32, 8), (4, 16, 16, 16), (4, 16)]),
    ("tiny_nested", ["backbone/block1_conv1", "backbone/block2_conv1", "gap"],
     [(4, 32, 32, 8), (4, 16, 16, 16), (4, 16)]),
])
def test_intermediate_model_shapes_and_final_output(request, tiny_images, fixture, layers, shapes) -> None:
    model = request.getfixturevalue(fixture)
    inspector = intermediate_model(model, layers)
    outputs = inspector(tiny_images)
    assert len(outputs) == len(layers) + 1
    assert [tuple(o.shape) for o in outputs[:-1]] == shapes
    np.testing.assert_allclose(np.asarray(outputs[-1]), np.asarray(model(tiny_images)), rtol=1e-5, atol=1e-6)


def test_intermediate_outputs_are_the_real_layer_outputs(tiny_gap_model, tiny_images) -> None:
    """Compare with Keras' own sub-model (possible for a plain Functional model)."""
    reference = keras.Model(tiny_gap_model.input, tiny_gap_model.get_layer("block2_conv1").output)
    ours = intermediate_model(tiny_gap_model, ["block2_conv1"], include_output=False)
    out = ours(tiny_images)
    out = out[0] if isinstance(out, (list, tuple)) else out
    np.testing.assert_allclose(np.asarray(out), np.asarray(reference(tiny_images)), rtol=1e-5, atol=1e-6)


def test_intermediate_model_of_nested_backbone_matches_backbone(tiny_nested, tiny_images) -> None:
    backbone = tiny_nested.get_layer("backbone")
    inspector = intermediate_model(tiny_nested, ["backbone/block2_conv1"], include_output=False)
    out = inspector(tiny_images)
    out = out[0] if isinstance(out, (list, tuple)) else out
    expected = backbone([tiny_images])  # the fixture built the backbone on a list of inputs
    np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-5, atol=1e-6)


def test_intermediate_model_unknown_layer(tiny_gap_model) -> None:
    with pytest.raises(ValueError, match="nope") as info:
        intermediate_model(tiny_gap_model, ["nope"])
    assert "block1_conv1" in str(info.value)


def test_loaded_sequential_is_never_called_yet(loaded_sequential, tiny_images) -> None:
    """The fixture really is the trouble case; intermediate_model still works on it."""
    assert input_shape(loaded_sequential) == (32, 32, 3)
    inspector = intermediate_model(loaded_sequential, ["conv2d_2"])
    features, probabilities = inspector(tiny_images)
    assert features.shape == (4, 13, 13, 8)
    np.testing.assert_allclose(np.asarray(probabilities).sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("fixture", ["tiny_gap_model", "tiny_sequential", "loaded_sequential", "tiny_nested"])
def test_pre_softmax_gives_logits(request, tiny_images, fixture) -> None:
    model = request.getfixturevalue(fixture)
    logits = np.asarray(logits_model(model)(tiny_images))
    probabilities = np.asarray(model(tiny_images))
    assert not np.allclose(logits.sum(axis=1), 1.0, atol=1e-3), "logits, not probabilities"
    np.testing.assert_allclose(_softmax(logits), probabilities, rtol=1e-4, atol=1e-6)
    # the model itself keeps its softmax afterwards
    np.testing.assert_allclose(np.asarray(model(tiny_images)).sum(axis=1), 1.0, atol=1e-5)


def test_pre_softmax_with_intermediate_layers(tiny_gap_model, tiny_images) -> None:
    features, logits = intermediate_model(tiny_gap_model, ["block2_conv1"], pre_softmax=True)(tiny_images)
    assert features.shape == (4, 16, 16, 16)
    np.testing.assert_allclose(_softmax(np.asarray(logits)), np.asarray(tiny_gap_model(tiny_images)),
                               rtol=1e-4, atol=1e-6)


def test_pre_softmax_separate_activation_layer(tiny_images) -> None:
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(3, name="scores")(x)
    model = keras.Model(inputs, keras.layers.Softmax(name="probabilities")(x))
    logits = np.asarray(logits_model(model)(tiny_images))
    np.testing.assert_allclose(logits, np.asarray(keras.Model(inputs, x)(tiny_images)), rtol=1e-5, atol=1e-6)


def test_sigmoid_binary_model(tiny_binary, tiny_images) -> None:
    features, logit = intermediate_model(tiny_binary, ["conv"], pre_softmax=True)(tiny_images)
    assert features.shape == (4, 32, 32, 8) and logit.shape == (4, 1)
    probability = np.asarray(tiny_binary(tiny_images))
    np.testing.assert_allclose(_sigmoid(np.asarray(logit)), probability, rtol=1e-4, atol=1e-6)
    assert not np.allclose(np.asarray(logit), probability, atol=1e-3)


@pytest.mark.parametrize("fixture, layer", [
    ("tiny_gap_model", "block2_conv1"),
    ("loaded_sequential", "conv2d_2"),
    ("tiny_nested", "backbone/block2_conv1"),
    ("tiny_binary", "conv"),
])
def test_gradients_reach_intermediate_outputs(request, tiny_images, fixture, layer) -> None:
    model = request.getfixturevalue(fixture)
    inspector = intermediate_model(model, [layer], pre_softmax=True)
    with tf.GradientTape() as tape:
        features, logits = inspector(tf.convert_to_tensor(tiny_images))
        score = logits[:, 0]
    gradient = tape.gradient(score, features)
    assert gradient is not None, "features and score must come from one forward pass"
    assert tuple(gradient.shape) == tuple(features.shape)
    assert np.abs(np.asarray(gradient)).sum() > 0


def test_unbuilt_sequential_gives_a_clear_error(unbuilt_sequential) -> None:
    with pytest.raises(ValueError, match=r"never been called.*build"):
        intermediate_model(unbuilt_sequential, ["conv"])
    assert conv_layer_names(unbuilt_sequential) == ["conv"], "names work without an input shape"
    unbuilt_sequential.build((None, 16, 16, 3))
    features, _ = intermediate_model(unbuilt_sequential, ["conv"])(np.zeros((1, 16, 16, 3), np.float32))
    assert features.shape == (1, 14, 14, 4)


def test_intermediate_model_shares_weights(tiny_gap_model, tiny_images) -> None:
    inspector = intermediate_model(tiny_gap_model, ["block1_conv1"])
    conv = tiny_gap_model.get_layer("block1_conv1")
    kernel, bias = conv.get_weights()
    conv.set_weights([kernel * 0.0, bias * 0.0])
    features, _ = inspector(tiny_images)
    assert np.allclose(np.asarray(features), 0.0), "intermediate models reuse the model's weights"


# --------------------------------------------------------------------------- shapes and defaults
def test_layer_output_shapes_never_called(loaded_sequential) -> None:
    shapes = layer_output_shapes(loaded_sequential)
    assert shapes["conv2d_1"] == (None, 30, 30, 8)
    assert shapes["flatten"] == (None, 1352)
    assert shapes["dense"] == (None, 3)
    spatial = spatial_layer_names(loaded_sequential)
    assert len(spatial) == 4 and spatial[0].startswith("rescaling")
    assert spatial[1:] == ["conv2d_1", "max_pooling2d_1", "conv2d_2"]


@pytest.mark.parametrize("fixture, expected", [
    ("tiny_gap_model", "block2_conv1"),
    ("tiny_nested", "backbone/block2_conv1"),
    ("tiny_binary", "conv"),
])
def test_default_explanation_layer_feeds_gap(request, fixture, expected) -> None:
    assert default_explanation_layer(request.getfixturevalue(fixture)) == expected


def test_default_explanation_layer_course_models() -> None:
    assert default_explanation_layer(build_vgg_gap()) == "block5_conv2"
    # the pooling right before Flatten only coarsens the map: the last convolution is explained
    assert default_explanation_layer(build_small_convnet()) == "conv2d_4"


def test_default_explanation_layer_needs_a_spatial_layer() -> None:
    dense_only = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")], name="mlp")
    with pytest.raises(ValueError, match="mlp"):
        default_explanation_layer(dense_only)


def test_per_size_caches_of_an_unfixed_model_are_bounded():
    """Explained on ever new image sizes, an unfixed-size model keeps at most SIZE_CACHE_LIMIT sizes
    in its shape and geometry caches, and the answers stay right for a size that was dropped."""
    import helpers
    from helpers._backend import keras
    from helpers.layers import SIZE_CACHE_LIMIT, layer_output_shapes, model_cache

    keras.utils.set_random_seed(2)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="conv")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x)))
    explainer = helpers.get_explainer(model, "grad_cam", layer="conv")
    sizes = [(16 + i, 20 + i) for i in range(SIZE_CACHE_LIMIT + 8)]
    first = explainer.field_for(*sizes[0])
    for size in sizes:
        layer_output_shapes(model, size)
        explainer.field_for(*size)
    assert len(model_cache(model, "shapes")) <= SIZE_CACHE_LIMIT
    assert len(explainer._geometry) <= SIZE_CACHE_LIMIT and sizes[0] not in explainer._geometry
    assert explainer.field_for(*sizes[0]) == first  # recomputed, the same
    assert layer_output_shapes(model, sizes[0])["conv"] == (None, 8, 10, 4)
