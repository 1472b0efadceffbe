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


# ---------------------------------------------------------------------- the pixel rule
def test_uint16_holding_0_to_255_values_is_read_as_pixels():
    image = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3)).astype(np.uint16)
    with pytest.warns(ImageRangeWarning, match="uint16 with values only in 0..255"):
        batch, _ = check_images(image)
    np.testing.assert_array_equal(batch[0], image.astype(np.float32))
    deep = (image.astype(np.uint32) * 257).astype(np.uint16)  # a real 16-bit image: scaled silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(check_images(deep)[0][0], image, atol=1e-3)


def test_the_0_to_1_rule_is_decided_per_image(tiny_gap_model):
    rng = np.random.default_rng(0)
    dark = rng.uniform(0, 1, (SIZE, SIZE, 3)).astype(np.float32)  # 0..1 image
    bright = rng.uniform(0, 255, (SIZE, SIZE, 3)).astype(np.float32)
    with pytest.warns(ImageRangeWarning, match=r"images \[1\]"):
        batch, _ = check_images(np.stack([bright, dark]))
    with pytest.warns(ImageRangeWarning):
        alone, _ = check_images(dark)
    np.testing.assert_allclose(batch[1], alone[0])
    np.testing.assert_allclose(batch[0], bright)
    with pytest.warns(ImageRangeWarning):
        maps = helpers.explain(tiny_gap_model, np.stack([bright, dark]))
    with pytest.warns(ImageRangeWarning):
        single = helpers.explain(tiny_gap_model, dark)
    np.testing.assert_allclose(maps[1], single, atol=1e-5)


def test_a_list_of_greyscale_images_is_a_batch():
    images = [np.full((SIZE, SIZE), 10.0 * i, np.float32) + 5 for i in range(3)]
    batch, single = check_images(images)
    assert batch.shape == (3, SIZE, SIZE, 3) and not single
    np.testing.assert_allclose(batch[2, 0, 0], [25.0, 25.0, 25.0])


def _unit_model(scale_inside: bool) -> keras.Model:
    """The same weights trained on 0..1 inputs (no Rescaling) or on 0..255 (with Rescaling(1/255))."""
    keras.utils.set_random_seed(4)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Rescaling(1 / 255.0)(inputs) if scale_inside else inputs
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(x)
    outputs = layers.Dense(3, name="logits")(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs, name="unit" if not scale_inside else "pixels")


@pytest.mark.parametrize("method", ["grad_cam", "integrated_gradients"])
def test_input_range_explains_a_model_trained_on_0_to_1_inputs(method, tiny_images):
    unit, pixels = _unit_model(False), _unit_model(True)
    expected = helpers.explain(pixels, tiny_images, method=method, class_index=1, steps=8) \
        if method != "grad_cam" else helpers.explain(pixels, tiny_images, method=method, class_index=1)
    options = {"steps": 8} if method != "grad_cam" else {}
    ours = helpers.explain(unit, tiny_images, method=method, class_index=1, input_range=(0, 1), **options)
    np.testing.assert_allclose(ours, expected, atol=1e-4)
    with warnings.catch_warnings():  # 0..1 images are what such a model takes: no warning
        warnings.simplefilter("error", ImageRangeWarning)
        from_unit = helpers.explain(unit, tiny_images / 255.0, method=method, class_index=1, input_range=(0, 1),
                                    **options)
    np.testing.assert_allclose(from_unit, expected, atol=1e-4)
    helpers.explainers.set_input_range(unit, (0, 1))
    np.testing.assert_allclose(helpers.explain(unit, tiny_images, method=method, class_index=1, **options),
                               expected, atol=1e-4)


# ---------------------------------------------------------------------- outputs
def test_a_one_unit_linear_output_is_explained_as_itself(tiny_images):
    keras.utils.set_random_seed(5)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(layers.Rescaling(1 / 255.0)(inputs))
    outputs = layers.Dense(1, name="value")(layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    result = get_explainer(model, "grad_cam").explain(tiny_images, relu=False)
    y = np.asarray(model(tiny_images))
    assert result.scores.shape == (4, 1)
    np.testing.assert_allclose(result.scores, y, rtol=1e-5, atol=1e-6)
    assert set(result.class_indices) == {0}
    with pytest.raises(ValueError, match="out of range"):
        get_explainer(model, "grad_cam").explain(tiny_images, class_index=1)


def test_mixed_float16_models_are_explained_by_every_cam(tiny_images):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(6)
        inputs = keras.Input((SIZE, SIZE, 3))
        x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(layers.Rescaling(1 / 255.0)(inputs))
        x = layers.GlobalAveragePooling2D()(x)
        outputs = layers.Dense(3, activation="softmax", dtype="float32", name="probs")(x)
        model = keras.Model(inputs, outputs)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    try:  # TensorFlow itself: oneDNN has float16 convolutions only on CPUs with AVX-512 (FP16/AMX)
        model.predict(tiny_images[:1], verbose=0)
    except tf.errors.OpError:
        pytest.skip("this CPU's TensorFlow cannot run the float16 model (its own predict fails)")
    for method in ("grad_cam", "grad_cam_pp", "layer_cam", "eigen_cam", "score_cam", "cam"):
        maps = helpers.explain(model, tiny_images, method=method)
        assert maps.dtype == np.float32 and np.all(np.isfinite(maps)), method


def test_class_index_as_a_0d_array_or_a_tensor(tiny_gap_model):
    for value in (np.array(2), tf.constant(2), np.int64(2), tf.constant([2, 1])):
        out = check_class_index(value, 2 if np.ndim(value) else 1, 3)
        assert out[0] == 2
    with pytest.raises(ValueError, match="integer class"):
        check_class_index(np.array(2.0), 1, 3)


# ---------------------------------------------------------------------- Integrated Gradients' baseline
def test_an_image_baseline_is_checked_up_front(tiny_gap_model):
    with pytest.raises(ValueError, match="16×16 but model .* takes 32×32"):
        get_explainer(tiny_gap_model, "integrated_gradients", baseline=np.zeros((16, 16, 3)))
    with pytest.raises(ValueError, match="RGBA"):
        get_explainer(tiny_gap_model, "integrated_gradients", baseline=np.zeros((SIZE, SIZE, 4)))
    grey = get_explainer(tiny_gap_model, "integrated_gradients", baseline=np.full((SIZE, SIZE), 9.0))
    assert grey.baseline.shape == (SIZE, SIZE, 3)


def test_an_image_baseline_does_not_rebuild_the_explainer(tiny_gap_model):
    baseline = np.full((SIZE, SIZE, 3), 30.0)
    first = get_explainer(tiny_gap_model, "integrated_gradients", baseline=baseline)
    assert get_explainer(tiny_gap_model, "integrated_gradients", baseline=baseline.copy()) is first
    assert get_explainer(tiny_gap_model, "integrated_gradients", baseline=baseline + 1) is not first


def test_an_equal_image_baseline_traces_nothing_new(tiny_gap_model, tiny_images):
    from helpers.layers import TRACE_COUNTS

    baseline = np.full((SIZE, SIZE, 3), 40.0)
    helpers.explain(tiny_gap_model, tiny_images[:2], method="integrated_gradients", baseline=baseline, steps=4)
    traced = sum(TRACE_COUNTS.values())
    for _ in range(2):  # an equal array, built anew each call (as a notebook cell re-run does)
        helpers.explain(tiny_gap_model, tiny_images[:3], method="integrated_gradients", baseline=baseline.copy(),
                        steps=4)
    assert sum(TRACE_COUNTS.values()) == traced


# ---------------------------------------------------------------------- one compiled-function cache
def test_two_methods_on_one_layer_share_one_extractor(monkeypatch, tiny_images):
    import helpers.layers as layers_module

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((SIZE, SIZE, 3)), layers.Conv2D(4, 3, activation="relu", name="conv"),
                              layers.GlobalAveragePooling2D(), layers.Dense(3, name="logits")])
    retraces = []
    original = layers_module.retrace
    monkeypatch.setattr(layers_module, "retrace", lambda *a, **k: retraces.append(a[2:3]) or original(*a, **k))
    grad_cam = get_explainer(model, "grad_cam", layer="conv")
    built = len(retraces)
    for method in ("grad_cam_pp", "layer_cam", "score_cam"):
        other = get_explainer(model, method, layer="conv")
        assert other.extractor is grad_cam.extractor
    assert len(retraces) == built, "the model was re-traced again for another method on the same layer"
    assert get_explainer(model, "grad_cam", layer="conv", pre_softmax=False).extractor is not grad_cam.extractor


def test_each_compiled_function_is_traced_once(tiny_gap_model, tiny_images):
    from helpers.layers import TRACE_COUNTS

    explainer = get_explainer(tiny_gap_model, "grad_cam")
    explainer(tiny_images[:1])
    traced = TRACE_COUNTS["Explainer._pipeline"]
    for n in (1, 3, 5):  # other batch sizes: the same trace
        explainer(tiny_images[:n])
    assert TRACE_COUNTS["Explainer._pipeline"] == traced
    explainer(tiny_images[:2], relu=False)  # another configuration: one more trace
    assert TRACE_COUNTS["Explainer._pipeline"] == traced + 1


@pytest.mark.parametrize("method, options", [("integrated_gradients", {"baseline": "black", "steps": 4}),
                                             ("occlusion", {"fill": "black", "patch": 16})])
def test_an_image_equal_to_the_baseline_gets_the_right_advice(tiny_gap_model, method, options):
    black = np.zeros((SIZE, SIZE, 3), np.float32)
    with pytest.warns(EmptyHeatmapWarning, match=r"\[0\] (equal the baseline|are uniformly the fill)"):
        helpers.explain(tiny_gap_model, black, method=method, **options)


# ---------------------------------------------------------------------- evaluation
def test_energy_in_mask_of_a_signed_map_stays_in_0_1():
    heat = np.zeros((1, 8, 8))
    heat[0, :2] = 1.0
    heat[0, 4:] = -3.0
    mask = np.zeros((1, 8, 8), bool)
    mask[0, :4] = True
    assert helpers.evaluation.energy_in_mask(heat, mask)[0] == pytest.approx(1.0, abs=1e-6)


def test_a_soft_mask_weights_the_mass_instead_of_being_binarized():
    heat = np.ones((1, 10, 10))
    soft = np.zeros((1, 10, 10))
    soft[0, :5] = 0.4  # half the image, at weight 0.4
    assert helpers.evaluation.energy_in_mask(heat, soft)[0] == pytest.approx(0.2, abs=1e-6)
    assert not helpers.evaluation.pointing_game(heat, soft)[0]  # below 0.5: not the object
    with pytest.raises(ValueError, match="weights in \\[0, 1\\]"):
        helpers.evaluation.energy_in_mask(heat, soft * 255)


def _multi_label() -> keras.Model:
    keras.utils.set_random_seed(7)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(layers.Rescaling(1 / 255.0)(inputs))
    outputs = layers.Dense(3, activation="sigmoid", name="labels")(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs)


def test_the_deletion_curve_of_a_multi_label_model_follows_its_sigmoid(tiny_images):
    model = _multi_label()
    maps = np.random.default_rng(0).uniform(0, 1, tiny_images.shape[:3])
    curves, _ = helpers.evaluation.deletion_curve(model, tiny_images, maps, class_index=1, steps=4)
    np.testing.assert_allclose(curves[:, 0], np.asarray(model(tiny_images))[:, 1], rtol=1e-5)
    curves, _ = helpers.evaluation.insertion_curve(model, tiny_images, maps, class_index=1, steps=4)
    np.testing.assert_allclose(curves[:, -1], np.asarray(model(tiny_images))[:, 1], rtol=1e-5)


def test_deletion_on_a_two_output_model_takes_output(tiny_images):
    keras.utils.set_random_seed(8)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(8, 3, name="conv")(layers.Rescaling(1 / 255.0)(inputs)))
    model = keras.Model(inputs, [layers.Dense(3, activation="softmax", name="a")(x),
                                 layers.Dense(2, activation="softmax", name="b")(x)])
    maps = np.random.default_rng(0).uniform(0, 1, tiny_images.shape[:3])
    with pytest.raises(ValueError, match="output=0 in this call"):
        helpers.evaluation.deletion_curve(model, tiny_images, maps, steps=2)
    curves, _ = helpers.evaluation.deletion_curve(model, tiny_images, maps, steps=2, output="b")
    np.testing.assert_allclose(curves[:, 0], np.asarray(model(tiny_images)[1]).max(axis=1), rtol=1e-5)


# ---------------------------------------------------------------------- memory and cost (fresh processes)
@pytest.mark.slow
def test_peak_memory_stays_flat_when_the_passes_grow_8_times():
    from helpers.benchmarks.memory import measure

    few = measure("smooth_grad", {"samples": 16}, batch_size=16, size=128)
    many = measure("smooth_grad", {"samples": 128}, batch_size=16, size=128)
    # Unchunked, 128 noisy copies of a 128-px image through three conv layers need over 1 GB.
    assert many["growth_mb"] <= 1.25 * few["growth_mb"] + 64, (few, many)


@pytest.mark.slow
@pytest.mark.parametrize("method, options", [("smooth_grad", {"samples": 64}),
                                             ("integrated_gradients", {"steps": 64}),
                                             ("occlusion", {"patch": 16, "stride": 8}),
                                             ("score_cam", {})])
def test_estimate_cost_is_within_a_factor_of_2_of_the_time_measured(method, options):
    from helpers.benchmarks.memory import measure

    result = measure(method, options, batch_size=32, size=96, estimate=True, second=True)
    assert result["passes"] >= 64
    assert 0.5 <= result["second_s"] / result["estimate_s"] <= 2.0, result
    assert result["compile_s"] > 0.0


@pytest.mark.slow
def test_score_cams_first_call_compiles_the_model_about_once(tiny_images):
    """Score-CAM's masked copies run in one compiled loop: its first call pays about the compile time of
    a Grad-CAM (the model in the graph about twice), not once per chunk of channels (64 channels in
    chunks of 2 would put 32 copies of the model in the graph)."""
    import time

    keras.utils.set_random_seed(4)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="last")(x)
    model = keras.Model(inputs, layers.Dense(3)(layers.GlobalAveragePooling2D()(x)))
    helpers.explain(model, tiny_images[:1], method="saliency")  # TensorFlow's own first-use costs

    def overhead(method: str) -> float:
        explainer = get_explainer(model, method, layer="last")
        times = []
        for _ in range(2):
            start = time.perf_counter()
            explainer.explain(tiny_images[:1], batch_size=2)
            times.append(time.perf_counter() - start)
        return times[0] - times[1]

    grad_cam, score_cam = overhead("grad_cam"), overhead("score_cam")
    assert score_cam <= 3.0 * grad_cam + 0.5, (score_cam, grad_cam)


# ---------------------------------------------------------------------- registry and typed results
def test_the_registry_refuses_a_taken_name_or_alias():
    from helpers.explainers import Explainer

    with pytest.raises(ValueError, match="'grad_cam'.*GradCAM"):
        class Impostor(Explainer):
            name = "grad_cam"
    with pytest.raises(ValueError, match="'ig'.*IntegratedGradients"):
        class Alias(Explainer):
            name = "my_ig"
            aliases = ("ig",)
    assert helpers.explainers.method_class("grad_cam").__name__ == "GradCAM"
    assert "my_ig" not in helpers.list_methods()


def test_forward_and_attribute_return_typed_results(tiny_gap_model, tiny_images):
    from helpers.explainers import Attribution, Forward

    explainer = get_explainer(tiny_gap_model, "grad_cam")
    forward = explainer.forward(tf.constant(tiny_images), tf.constant([-1] * 4), gradients=True)
    assert isinstance(forward, Forward) and forward.gradients.shape == forward.activations.shape
    assert forward["scores"] is forward.scores  # the dict-style lookup of older methods still works
    result = explainer.attribute(tf.constant(tiny_images), tf.constant([1] * 4))
    assert isinstance(result, Attribution) and result.maps.shape == (4, 16, 16)
    assert result.get("weights") is not None
