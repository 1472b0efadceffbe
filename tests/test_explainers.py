"""helpers.explainers: the core every explanation method runs through.

* a **contract test**: every registered method × every model structure, the same checks;
* a **bad-input matrix**: each case ends in a clear error (naming the problem and the fix) or a
  correct result, never in a silently wrong heatmap;
* the defects the core fixed (unfixed input size, subclassed models, NaN pixels, scale of the
  scores, 0..1 images, memory, class indices), each reproduced;
* the registry: a new method is one class.
"""

from __future__ import annotations

import gc
import logging
import warnings
import weakref

import numpy as np
import pytest

import helpers
from helpers import explainers
from helpers._backend import keras, tf
from helpers.data import ImageRangeWarning
from helpers.explainers import EmptyHeatmapWarning, explain, get_explainer, list_methods

from conftest import SIZE, _seeded


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture
def tiny_unfixed(tiny_gap_model) -> keras.Model:
    """``tiny_gap_model``'s layers and weights on an input of unfixed size ``(None, None, 3)``."""
    inputs = keras.Input((None, None, 3))
    x = inputs
    for layer in tiny_gap_model.layers[1:]:
        x = layer(x)
    return keras.Model(inputs, x, name="tiny_unfixed")


@pytest.fixture
def loaded_gap(tiny_gap_model, tmp_path) -> keras.Model:
    """``tiny_gap_model`` saved to ``.keras`` and loaded again."""
    path = tmp_path / "tiny_gap.keras"
    tiny_gap_model.save(path)
    return keras.saving.load_model(path, compile=False)


STRUCTURES = ["tiny_sequential", "tiny_gap_model", "tiny_nested", "tiny_binary", "loaded_sequential",
              "loaded_gap", "tiny_unfixed"]


def _explainer_or_refusal(model, method):
    """The explainer, or ``None`` when the method refuses the architecture with a clear message."""
    try:
        return get_explainer(model, method)
    except ValueError as err:  # e.g. CAM on a model without a GAP head: must point to another method
        assert "grad_cam" in str(err), f"{method} refused {model.name} without saying what to use: {err}"
        return None


# ----------------------------------------------------------------------------- the contract
@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("method", list_methods())
def test_contract(request, method, structure, tiny_images):
    model = request.getfixturevalue(structure)
    explainer = _explainer_or_refusal(model, method)
    if explainer is None:
        assert method == "cam" and structure in ("tiny_sequential", "loaded_sequential")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyHeatmapWarning)  # random tiny models may have empty maps
        batch = explain(model, tiny_images, method=method)
        single = explain(model, tiny_images[1], method=method)
        result = explainer.explain(tiny_images, class_index=1)
        ones = np.stack([explainer.explain(image, class_index=1).heatmaps[0] for image in tiny_images])
    assert batch.shape == (len(tiny_images), SIZE, SIZE) and batch.dtype == np.float32
    assert single.shape == (SIZE, SIZE)
    assert np.all(np.isfinite(batch)) and batch.min() >= 0.0 and batch.max() <= 1.0
    np.testing.assert_allclose(single, batch[1], atol=1e-5)
    np.testing.assert_allclose(result.heatmaps, ones, atol=1e-5)  # batch equals one by one
    assert list(result.class_indices) == [1] * len(tiny_images)  # class index honoured
    top = explainer.explain(tiny_images)
    np.testing.assert_array_equal(top.class_indices, np.argmax(top.scores, axis=1))
    other = explainer.explain(tiny_images, class_index=0)
    if explainer.class_agnostic or (explainer.magnitude and explainer.binary):
        # Eigen-CAM ignores the class; a magnitude map (|gradient|) of a one-unit sigmoid model is the
        # same for class 0 (score -z) and class 1 (score z). Either way: the same map, exactly as documented.
        np.testing.assert_allclose(other.raw, result.raw, rtol=1e-5, atol=1e-6)
        assert list(other.class_indices) == [0] * len(tiny_images)  # the class is still recorded
    else:
        assert not np.allclose(other.raw, result.raw), "the explained class must change the map"


def test_every_method_cites_its_paper():
    for name in list_methods():
        cls = explainers.method_class(name)
        assert cls.reference and cls.title and cls.__doc__, name


# ----------------------------------------------------------------------------- the registry
def test_a_new_method_is_one_class(tiny_gap_model, tiny_images):
    class MeanActivation(explainers.Explainer):
        """Test-only method: the mean of the layer's channels (no paper; a registry check)."""

        name = "test_mean_activation"
        title = "mean activation"
        reference = "none (a test of the registry)"

        def attribute(self, images, requested):
            forward = self.forward(images, requested)
            return {"maps": tf.reduce_mean(forward["activations"], axis=-1),
                    "class_indices": forward["class_indices"], "scores": forward["scores"]}

    try:
        assert "test_mean_activation" in list_methods()
        maps = helpers.explain(tiny_gap_model, tiny_images, method="test_mean_activation")
        assert maps.shape == (4, SIZE, SIZE) and maps.max() == pytest.approx(1.0)
    finally:
        explainers._REGISTRY.pop("test_mean_activation", None)


def test_method_without_a_layer_fits_the_base(tiny_gap_model, tiny_images):
    class InputGradient(explainers.Explainer):
        """Test-only method without a layer: |∂score/∂pixel| summed over colours."""

        name = "test_input_gradient"
        title = "input gradient"
        reference = "none (a test of the base)"
        uses_layer = False

        def attribute(self, images, requested):
            forward = self.forward(images, requested, gradients=True)
            return {"maps": tf.reduce_sum(tf.abs(forward["gradients"]), axis=-1),
                    "class_indices": forward["class_indices"], "scores": forward["scores"]}

    try:
        explainer = get_explainer(tiny_gap_model, "test_input_gradient", layer=None)
        assert explainer.layer is None
        result = explainer.explain(tiny_images)
        assert result.heatmaps.shape == (4, SIZE, SIZE) and result.layer is None
    finally:
        explainers._REGISTRY.pop("test_input_gradient", None)


def test_method_names_and_options(tiny_gap_model, tiny_images):
    assert explainers.method_class("Grad-CAM") is helpers.GradCAM
    assert explainers.method_class("gradcam") is helpers.GradCAM
    with pytest.raises(ValueError, match="Registered methods: cam, eigen_cam, grad_cam, grad_cam_pp"):
        explain(tiny_gap_model, tiny_images, method="lime")
    with pytest.raises(ValueError, match=r"Unknown option\(s\) \['smoothing'\].*pre_softmax"):
        explain(tiny_gap_model, tiny_images, method="grad_cam", smoothing=3)
    signed = explain(tiny_gap_model, tiny_images, relu=False, batch_size=2, class_index=2)
    # The same computation in batches of 2 and of 4: equal up to float32 rounding, which depends on
    # the batch shape and on the CPU's kernels (values are normalized to at most 1).
    np.testing.assert_allclose(signed, helpers.grad_cam(tiny_gap_model, tiny_images, relu=False, class_index=2),
                               rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- defect 1: unfixed input size
def test_unfixed_input_size_gives_the_fixed_size_map(tiny_gap_model, tiny_unfixed, tiny_images):
    fixed = helpers.grad_cam(tiny_gap_model, tiny_images, layer="block2_conv1")
    free = helpers.grad_cam(tiny_unfixed, tiny_images, layer="block2_conv1")
    np.testing.assert_allclose(free, fixed, atol=1e-5)
    field = get_explainer(tiny_unfixed, layer="block2_conv1").field_for(SIZE, SIZE)
    assert field == helpers.receptive_field(tiny_gap_model, "block2_conv1")


def test_unfixed_vgg16_backbone_matches_fixed_size():
    """keras.applications.VGG16(include_top=False) without an input shape, under a GAP head."""
    _seeded(7)
    backbone = keras.applications.VGG16(include_top=False, weights=None)
    inputs = keras.Input((None, None, 3))
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(backbone(inputs)))
    free = keras.Model(inputs, outputs)
    fixed_backbone = keras.applications.VGG16(include_top=False, weights=None, input_shape=(80, 96, 3))
    fixed_backbone.set_weights(backbone.get_weights())
    fixed_inputs = keras.Input((80, 96, 3))
    fixed = keras.Model(fixed_inputs, free.layers[-1](free.layers[-2](fixed_backbone(fixed_inputs))))
    images = np.random.default_rng(3).uniform(0, 255, (2, 80, 96, 3)).astype("float32")
    layer = "block5_conv3"
    a = helpers.grad_cam(free, images, layer=f"{backbone.name}/{layer}", class_index=0, relu=False)
    b = helpers.grad_cam(fixed, images, layer=f"{fixed_backbone.name}/{layer}", class_index=0, relu=False)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_receptive_field_depends_on_the_input_size():
    inputs = keras.Input((None, None, 1))
    x = keras.layers.Conv2D(1, 3, strides=2, padding="same", name="c")(inputs)
    model = keras.Model(inputs, x)
    with pytest.raises(ValueError, match="input_size"):
        helpers.receptive_field(model, "c")
    # 'same' with stride 2: a 9-px input is padded 1 before (start 0), a 10-px input 0 before (start 1)
    assert helpers.receptive_field(model, "c", 9).start == 0.0
    assert helpers.receptive_field(model, "c", 10).start == 1.0
    non_square = helpers.receptive_field(model, "c", (9, 10))
    assert (non_square.start, non_square.start_col) == (0.0, 1.0)


# ----------------------------------------------------------------------------- defect 2: subclassed models
class _Residual(keras.Model):
    def __init__(self):
        super().__init__(name="residual_subclass")
        self.conv1 = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")
        self.conv2 = keras.layers.Conv2D(4, 3, padding="same", name="conv2")
        self.gap = keras.layers.GlobalAveragePooling2D()
        self.head = keras.layers.Dense(3)

    def call(self, x):
        y = self.conv1(x)
        return self.head(self.gap(y + self.conv2(y)))  # a residual connection: not a chain


def test_subclassed_model_is_refused_with_the_way_out(tiny_images):
    model = _Residual()
    model(tiny_images)
    with pytest.raises(TypeError, match=r"subclassed.*Functional"):
        helpers.grad_cam(model, tiny_images)
    with pytest.raises(TypeError, match="subclassed"):
        helpers.feature_maps(model, tiny_images[0])
    with pytest.raises(TypeError, match="subclassed"):
        helpers.intermediate_model(model, ["conv1"])


# ----------------------------------------------------------------------------- defect 4: scale of the scores
def test_heatmap_does_not_depend_on_the_scale_of_the_scores(tiny_gap_model, tiny_images):
    reference = helpers.grad_cam(tiny_gap_model, tiny_images, class_index=0)
    head = tiny_gap_model.get_layer("predictions")
    kernel, bias = head.get_weights()
    try:
        head.set_weights([kernel * 1e-9, bias * 1e-9])
        helpers.layers.model_cache(tiny_gap_model, "explainers").clear()
        with warnings.catch_warnings():
            warnings.simplefilter("error", EmptyHeatmapWarning)  # a false warning fails the test
            scaled = helpers.grad_cam(tiny_gap_model, tiny_images, class_index=0)
            cam = helpers.cam(tiny_gap_model, tiny_images, class_index=0)
    finally:
        head.set_weights([kernel, bias])
    np.testing.assert_allclose(scaled, reference, atol=1e-4)
    np.testing.assert_allclose(cam, reference, atol=1e-4)


def test_truly_empty_maps_warn_and_are_zero(tiny_images):
    _seeded(4)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(2, 3, activation="relu", name="conv")(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.layers[-1].set_weights([-np.ones((2, 2), "float32"), np.zeros(2, "float32")])  # all evidence negative
    with pytest.warns(EmptyHeatmapWarning, match="no positive evidence"):
        maps = helpers.grad_cam(model, tiny_images)
    assert np.all(maps == 0.0)


# ----------------------------------------------------------------------------- defect 7: memory
def test_deleting_a_model_frees_it(tiny_images):
    _seeded(5)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(x)))
    alive = weakref.ref(model)
    helpers.grad_cam(model, tiny_images)
    helpers.cam(model, tiny_images)
    helpers.feature_maps(model, tiny_images[0])
    explainer = get_explainer(model)
    del model
    gc.collect()
    assert alive() is None, "a cache kept the model alive"
    with pytest.raises(ReferenceError, match="was deleted"):
        explainer.model  # noqa: B018 - the explainer says so clearly
    assert explainer.explain(tiny_images).heatmaps.shape == (4, SIZE, SIZE), "it still works on shared layers"


# ----------------------------------------------------------------------------- defect 12: retracing
def test_feature_maps_of_many_layer_sets_do_not_warn_about_retracing(tiny_gap_model, tiny_images, caplog):
    names = helpers.feature_map_layers(tiny_gap_model)
    sets = [[a] for a in names] + [[a, b] for a in names for b in names if a < b]
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for layers in sets * 2:
            helpers.feature_maps(tiny_gap_model, tiny_images[:2], layers)
    assert len(sets) >= 6
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


# ----------------------------------------------------------------------------- the bad-input matrix
def _two_outputs():
    _seeded(6)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs))
    return keras.Model(inputs, [keras.layers.Dense(3, activation="softmax", name="a")(x),
                                keras.layers.Dense(2, name="b")(x)])


def _unbuilt():
    return keras.Sequential([keras.layers.Conv2D(2, 3), keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(2)])


def _spatial_output():
    inputs = keras.Input((SIZE, SIZE, 3))
    return keras.Model(inputs, keras.layers.Conv2D(2, 3, name="conv")(inputs))


def _rng_images(shape, low=0.0, high=255.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype("float32")


IMAGE = _rng_images((SIZE, SIZE, 3))

# (id, what to call with the model fixture, expected): "ok" → a correct result checked by the test;
# otherwise (exception type, regex the message must match: the problem and the fix).
BAD_INPUTS = [
    # images
    ("nan pixels", lambda m: helpers.grad_cam(m, np.where(np.eye(SIZE)[..., None] > 0, np.nan, IMAGE)),
     (ValueError, r"has 96 NaN or infinite value\(s\).*nan_to_num")),
    ("all-nan image", lambda m: helpers.grad_cam(m, np.full((SIZE, SIZE, 3), np.nan, "float32")),
     (ValueError, r"3072 NaN")),
    ("inf pixel", lambda m: helpers.cam(m, np.where(np.arange(SIZE)[:, None, None] == 3, np.inf, IMAGE)),
     (ValueError, "NaN or infinite")),
    ("nan in feature_maps", lambda m: helpers.feature_maps(m, np.full((SIZE, SIZE, 3), np.nan)),
     (ValueError, "NaN or infinite")),
    ("nan in overlay", lambda m: helpers.overlay(np.full((SIZE, SIZE, 3), np.nan), np.zeros((SIZE, SIZE))),
     (ValueError, "NaN or infinite")),
    ("-1..1 image", lambda m: helpers.grad_cam(m, IMAGE / 127.5 - 1.0), (ValueError, r"\(image \+ 1\) \* 127.5")),
    ("mean-subtracted image", lambda m: helpers.grad_cam(m, IMAGE - 120.0), (ValueError, "negative values")),
    ("values above 255", lambda m: helpers.grad_cam(m, IMAGE * 4.0), (ValueError, "values up to .*0..255")),
    ("channels-first image", lambda m: helpers.grad_cam(m, np.transpose(IMAGE, (2, 0, 1))),
     (ValueError, r"channels-first.*np.transpose\(image, \(1, 2, 0\)\)")),
    ("channels-first batch", lambda m: helpers.grad_cam(m, np.transpose(IMAGE[None], (0, 3, 1, 2))),
     (ValueError, r"np.transpose\(image, \(0, 2, 3, 1\)\)")),
    ("2-channel image", lambda m: helpers.grad_cam(m, IMAGE[..., :2]), (ValueError, r"2 channels.*image\[..., :3\]")),
    ("5-D array", lambda m: helpers.grad_cam(m, IMAGE[None, None]), (ValueError, "Expected one image")),
    ("1-D array", lambda m: helpers.grad_cam(m, IMAGE.ravel()), (ValueError, "Expected one image")),
    ("wrong size", lambda m: helpers.grad_cam(m, _rng_images((40, 30, 3))),
     (ValueError, r"takes 32×32 images; got 40×30.*resize_image")),
    ("wrong size in feature_maps", lambda m: helpers.feature_maps(m, _rng_images((40, 30, 3))),
     (ValueError, r"takes 32×32 images; got 40×30")),
    ("empty batch", lambda m: helpers.grad_cam(m, np.zeros((0, SIZE, SIZE, 3), "float32")),
     (ValueError, "empty batch")),
    ("empty list", lambda m: helpers.grad_cam(m, []), (ValueError, "empty list")),
    ("list of different sizes", lambda m: helpers.grad_cam(m, [IMAGE, _rng_images((30, 32, 3))]),
     (ValueError, "different shapes.*resize_image")),
    ("string instead of image", lambda m: helpers.grad_cam(m, "cat.png"), (TypeError, "numpy array")),
    ("object array", lambda m: helpers.grad_cam(m, np.array([[None]])), (ValueError, "dtype object")),
    ("0..1 float image", "unit", None),
    ("bool image", "bool", None),
    ("uint8 image", "uint8", None),
    ("greyscale (H, W)", "grey", None),
    ("RGBA image", "rgba", None),
    ("list of images", "list", None),
    ("PIL image", "pil", None),
    # class indices
    ("float class 2.5", lambda m: helpers.grad_cam(m, IMAGE, class_index=2.5), (ValueError, r"integer class.*got 2.5")),
    ("string '2'", lambda m: helpers.grad_cam(m, IMAGE, class_index="2"), (ValueError, "'2' is not a class")),
    ("bool class", lambda m: helpers.grad_cam(m, IMAGE, class_index=True), (ValueError, "integer class")),
    ("negative class", lambda m: helpers.grad_cam(m, IMAGE, class_index=-1), (ValueError, r"out of range.*0..2")),
    ("class too large", lambda m: helpers.cam(m, IMAGE, class_index=3), (ValueError, r"out of range.*0..2")),
    ("wrong count of classes", lambda m: helpers.grad_cam(m, IMAGE[None].repeat(3, 0), class_index=[0, 1]),
     (ValueError, "one per image")),
    ("float array of classes",
     lambda m: helpers.grad_cam(m, IMAGE[None].repeat(2, 0), class_index=np.array([0.0, 1.0])),
     (ValueError, "integer class")),
    ("numpy int class", "numpy_int", None),
    # layers
    ("unknown layer", lambda m: helpers.grad_cam(m, IMAGE, layer="block9_conv1"), (ValueError, "Valid names")),
    ("non-spatial layer", lambda m: helpers.grad_cam(m, IMAGE, layer="gap"), (ValueError, "not a spatial")),
    ("layer given as int", lambda m: helpers.grad_cam(m, IMAGE, layer=3), (TypeError, "Layer names are strings")),
    # batching and options
    ("batch size 0", lambda m: helpers.grad_cam(m, IMAGE, batch_size=0), (ValueError, "batch_size must be a positive")),
    ("batch size -3", lambda m: helpers.grad_cam(m, IMAGE, batch_size=-3), (ValueError, "batch_size")),
    ("batch size 2.5", lambda m: helpers.explain(m, IMAGE, batch_size=2.5), (ValueError, "batch_size")),
    ("unknown method", lambda m: helpers.explain(m, IMAGE, method="lime"), (ValueError, "Registered methods")),
    ("CAM post-softmax", lambda m: helpers.get_explainer(m, "cam", pre_softmax=False), (ValueError, "no post-softmax")),
    # models
    ("not a model", lambda m: helpers.grad_cam(lambda x: x, IMAGE), (TypeError, "need a keras.Model; got function")),
    ("a layer, not a model", lambda m: helpers.grad_cam(keras.layers.Dense(2), IMAGE),
     (TypeError, r"keras.Sequential\(\[keras.Input")),
    ("never-built model", lambda m: helpers.grad_cam(_unbuilt(), IMAGE), (ValueError, r"model.build\(")),
    ("never-built model, filters", lambda m: helpers.visualize_filters(_unbuilt(), "conv2d", [0]),
     (ValueError, r"model.build\(")),
    ("two outputs", lambda m: helpers.grad_cam(_two_outputs(), IMAGE), (ValueError, r"2 outputs.*output=0")),
    ("two outputs, output chosen", "two_outputs", None),
    ("unknown output", lambda m: helpers.explain(_two_outputs(), IMAGE, output="c"), (ValueError, "no output 'c'")),
    ("spatial output", lambda m: helpers.grad_cam(_spatial_output(), IMAGE, layer="conv"),
     (ValueError, "not class scores")),
    ("CAM without GAP head", lambda m: helpers.cam(_spatial_head(), IMAGE), (ValueError, "helpers.grad_cam")),
    ("image too small for the network", lambda m: helpers.grad_cam(keras.applications.VGG16(
        weights=None, include_top=False, pooling="avg"), _rng_images((20, 20, 3))), (ValueError, "too small")),
    # files and sizes
    ("load_image size=(150,)", lambda m: helpers.load_image("cat", size=(150,)), (ValueError, r"\(height, width\)")),
    ("load_image size='150'", lambda m: helpers.load_image("cat", size="150"), (ValueError, "size must be an int")),
    ("load_image size=0", lambda m: helpers.load_image("cat", size=0), (ValueError, "positive")),
    ("load_image missing file", lambda m: helpers.load_image("no/such/file.png"),
     (FileNotFoundError, "Bundled images")),
    ("load_image -1..1 array", lambda m: helpers.load_image(IMAGE / 127.5 - 1),
     (ValueError, r"\(image \+ 1\) \* 127.5")),
    ("load_image 16-bit int array", "int16bit", None),
    ("load_image dark float", "dark", None),
    ("decode_predictions top=0", lambda m: helpers.decode_predictions(np.ones((1, 6)) / 6, top=0),
     (ValueError, "top must be")),
    ("pointing game wrong shapes", lambda m: helpers.pointing_game(np.zeros((2, 8, 8)), np.zeros((2, 9, 9))),
     (ValueError, "upsample=True")),
    ("pointing game nan map", lambda m: helpers.pointing_game(np.full((8, 8), np.nan), np.ones((8, 8))),
     (ValueError, "NaN")),
]


def _spatial_head():
    _seeded(8)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    return keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(x)))


def _check_correct(kind: str, model) -> None:
    """The cases that must give a correct result (and, where something was converted, say so)."""
    reference = helpers.grad_cam(model, IMAGE)
    if kind == "unit":
        with pytest.warns(ImageRangeWarning, match="0..1.*scaled by 255"):
            np.testing.assert_allclose(helpers.grad_cam(model, IMAGE / 255.0), reference, atol=1e-4)
        with pytest.warns(ImageRangeWarning):
            np.testing.assert_allclose(helpers.feature_maps(model, IMAGE / 255.0)["block1_conv1"],
                                       helpers.feature_maps(model, IMAGE)["block1_conv1"], rtol=1e-4, atol=1e-3)
        with pytest.warns(ImageRangeWarning):
            assert np.array_equal(helpers.overlay(IMAGE / 255.0, reference), helpers.overlay(IMAGE, reference))
    elif kind == "bool":
        mask = IMAGE > 128
        with pytest.warns(ImageRangeWarning, match="boolean"):
            np.testing.assert_allclose(helpers.grad_cam(model, mask), helpers.grad_cam(model, mask * 255.0), atol=1e-5)
    elif kind == "uint8":
        as_uint8 = IMAGE.astype(np.uint8)
        np.testing.assert_allclose(helpers.grad_cam(model, as_uint8),
                                   helpers.grad_cam(model, as_uint8.astype("float32")))
    elif kind == "grey":
        grey = IMAGE[..., 0]
        np.testing.assert_allclose(helpers.grad_cam(model, grey), helpers.grad_cam(model, np.stack([grey] * 3, -1)))
        np.testing.assert_allclose(helpers.grad_cam(model, grey[..., None]), helpers.grad_cam(model, grey))
    elif kind == "rgba":
        rgba = np.concatenate([IMAGE, np.full((SIZE, SIZE, 1), 255.0, "float32")], axis=-1)  # opaque
        np.testing.assert_allclose(helpers.grad_cam(model, rgba), reference, atol=1e-6)
    elif kind == "list":
        np.testing.assert_allclose(helpers.grad_cam(model, [IMAGE, IMAGE]), np.stack([reference] * 2), atol=1e-6)
    elif kind == "pil":
        from PIL import Image

        as_uint8 = IMAGE.astype(np.uint8)
        np.testing.assert_allclose(helpers.grad_cam(model, Image.fromarray(as_uint8)),
                                   helpers.grad_cam(model, as_uint8))
    elif kind == "numpy_int":
        np.testing.assert_allclose(helpers.grad_cam(model, IMAGE, class_index=np.int64(2)),
                                   helpers.grad_cam(model, IMAGE, class_index=2))
    elif kind == "two_outputs":
        two = _two_outputs()
        first = helpers.explain(two, IMAGE, output=0, relu=False)
        by_name = helpers.explain(two, IMAGE, output="a", relu=False)
        second = helpers.explain(two, IMAGE, output=1, relu=False, class_index=1)
        np.testing.assert_allclose(first, by_name)
        assert not np.allclose(first, second)
    elif kind == "int16bit":
        wide = (IMAGE.astype(np.int32) * 257)
        with pytest.warns(ImageRangeWarning, match="16-bit"):
            np.testing.assert_allclose(helpers.load_image(wide), IMAGE.astype(np.int32).astype("float32"), atol=1e-3)
    elif kind == "dark":
        with pytest.warns(ImageRangeWarning, match="read as a 0..1 image"):
            helpers.load_image(np.full((4, 4, 3), 0.5, "float32"))
    else:  # pragma: no cover
        raise AssertionError(kind)


@pytest.mark.parametrize("case, call, expected", BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_matrix(tiny_gap_model, case, call, expected):
    if isinstance(call, str):
        _check_correct(call, tiny_gap_model)
        return
    error, pattern = expected
    with pytest.raises(error, match=pattern):
        call(tiny_gap_model)


# ----------------------------------------------------------------------------- input checks, directly
def test_check_class_index_by_name_on_models_with_names(tiny_gap_model):
    assert list(explainers.check_class_index(["ring", 0], 2, 3, ("circle", "ring", "square"))) == [1, 0]
    with pytest.raises(ValueError, match="not a class"):
        explainers.check_class_index("ring", 1, 3, None)


def test_bundled_models_take_class_names():
    model = helpers.load_model("vgg_gap")
    image = helpers.make_shapes(1, seed=4)[0][0]
    np.testing.assert_allclose(helpers.grad_cam(model, image, class_index="star"),
                               helpers.grad_cam(model, image, class_index=helpers.CLASS_NAMES.index("star")))


def test_batch_slices_is_the_one_batching_loop():
    assert [(s.start, s.stop) for s in explainers.batch_slices(5, 2)] == [(0, 2), (2, 4), (4, 5)]
    with pytest.raises(ValueError, match="positive"):
        list(explainers.batch_slices(5, 0))


def test_warnings_point_at_the_callers_line(tiny_gap_model):
    """A warning names the user's own line, never a file inside the installed package."""
    with pytest.warns(ImageRangeWarning) as record:
        helpers.grad_cam(tiny_gap_model, IMAGE / 255.0)
    assert record[0].filename == __file__
    with pytest.warns(ImageRangeWarning) as record:
        get_explainer(tiny_gap_model).explain(IMAGE / 255.0)
    assert record[0].filename == __file__
