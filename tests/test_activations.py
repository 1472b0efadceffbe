"""Tests of helpers.activations: feature maps, receptive fields, detectors, decoders, probes, sparsity."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from helpers import activations as act
from helpers import layers as layers_module
from helpers._backend import keras

SIZE = 32


# --------------------------------------------------------------------------- models built here
def _hand_conv(kernels: list[np.ndarray], size: int = SIZE, padding: str = "valid") -> keras.Model:
    """One Conv2D(relu) layer whose 3×3 kernels act on the grey image in 0..1 (no bias)."""
    grey = np.array([0.299, 0.587, 0.114], np.float32)
    weights = np.stack([k[:, :, None] * grey[None, None, :] / 255.0 for k in kernels], axis=-1)
    inputs = keras.Input((size, size, 3))
    layer = keras.layers.Conv2D(len(kernels), 3, padding=padding, activation="relu", use_bias=False, name="conv")
    model = keras.Model(inputs, layer(inputs), name="hand_conv")
    layer.set_weights([weights.astype(np.float32)])
    return model


def _identity_conv(size: int = SIZE) -> keras.Model:
    """Copies the centre pixel's R, G, B (0..255) into three ReLU channels, then pools."""
    kernel = np.zeros((3, 3, 3, 3), np.float32)
    for c in range(3):
        kernel[1, 1, c, c] = 1.0
    inputs = keras.Input((size, size, 3))
    conv = keras.layers.Conv2D(3, 3, activation="relu", use_bias=False, name="copy")
    x = conv(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    model = keras.Model(inputs, x, name="identity_conv")
    conv.set_weights([kernel])
    return model


# --------------------------------------------------------------------------- feature_maps
def test_default_layers_are_conv_and_pooling_in_model_order(tiny_sequential):
    assert act.feature_map_layers(tiny_sequential) == ["conv2d_1", "max_pooling2d_1", "conv2d_2"]


def test_feature_maps_shapes_and_values_match_a_manual_forward_pass(tiny_sequential, tiny_images):
    maps = act.feature_maps(tiny_sequential, tiny_images[0])
    assert list(maps) == ["conv2d_1", "max_pooling2d_1", "conv2d_2"]
    assert [m.shape for m in maps.values()] == [(30, 30, 8), (15, 15, 8), (13, 13, 8)]
    x = tiny_images[:1]
    for layer in tiny_sequential.layers:
        x = layer(x)
        if layer.name in maps:
            np.testing.assert_allclose(maps[layer.name], np.asarray(x)[0], rtol=1e-5, atol=1e-5)


def test_batch_gives_4d_maps_equal_to_single_images(tiny_sequential, tiny_images):
    batch = act.feature_maps(tiny_sequential, tiny_images, batch_size=3)  # 2 chunks
    assert batch["conv2d_1"].shape == (4, 30, 30, 8)
    for i in range(4):
        single = act.feature_maps(tiny_sequential, tiny_images[i])
        np.testing.assert_allclose(batch["conv2d_2"][i], single["conv2d_2"], rtol=1e-5, atol=1e-5)
    as_list = act.feature_maps(tiny_sequential, list(tiny_images[:2]))
    assert as_list["conv2d_2"].shape == (2, 13, 13, 8)


def test_never_called_loaded_sequential(tiny_sequential, loaded_sequential, tiny_images):
    expected = act.feature_maps(tiny_sequential, tiny_images[1], ["conv2d_2"])
    got = act.feature_maps(loaded_sequential, tiny_images[1], ["conv2d_2"])
    np.testing.assert_allclose(got["conv2d_2"], expected["conv2d_2"], rtol=1e-5, atol=1e-5)


def test_sequential_built_without_input_and_never_called(tiny_images):
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.layers.Conv2D(4, 3, activation="relu", name="c"),
                              keras.layers.MaxPooling2D(2, name="p"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
    model.build((None, SIZE, SIZE, 3))
    maps = act.feature_maps(model, tiny_images[0])
    assert {k: v.shape for k, v in maps.items()} == {"c": (30, 30, 4), "p": (15, 15, 4)}


def test_functional_model(tiny_gap_model, tiny_images):
    maps = act.feature_maps(tiny_gap_model, tiny_images[0])
    assert list(maps) == ["block1_conv1", "block1_pool", "block2_conv1"]
    sub = keras.Model(tiny_gap_model.inputs[0], tiny_gap_model.get_layer("block2_conv1").output)
    np.testing.assert_allclose(maps["block2_conv1"], np.asarray(sub(tiny_images[:1]))[0], rtol=1e-5, atol=1e-5)


def test_nested_model_by_path_and_by_plain_name(tiny_nested, tiny_gap_model, tiny_images):
    assert act.feature_map_layers(tiny_nested) == ["backbone/block1_conv1", "backbone/block1_pool",
                                                   "backbone/block2_conv1"]
    maps = act.feature_maps(tiny_nested, tiny_images[2], ["backbone/block2_conv1", "block1_conv1"])
    assert list(maps) == ["block1_conv1", "backbone/block2_conv1"]  # model order, names as given
    backbone = tiny_nested.get_layer("backbone")
    np.testing.assert_allclose(maps["backbone/block2_conv1"], np.asarray(backbone([tiny_images[2:3]]))[0],
                               rtol=1e-5, atol=1e-5)


def test_greyscale_and_uint8_images(tiny_sequential, tiny_images):
    grey = tiny_images[0].mean(axis=-1)
    from_grey = act.feature_maps(tiny_sequential, grey, "conv2d_1")["conv2d_1"]
    from_rgb = act.feature_maps(tiny_sequential, np.repeat(grey[..., None], 3, -1), "conv2d_1")["conv2d_1"]
    np.testing.assert_allclose(from_grey, from_rgb, rtol=1e-5, atol=1e-5)
    as_uint8 = tiny_images[0].astype(np.uint8)
    np.testing.assert_allclose(act.feature_maps(tiny_sequential, as_uint8, "conv2d_1")["conv2d_1"],
                               act.feature_maps(tiny_sequential, as_uint8.astype(np.float32), "conv2d_1")["conv2d_1"],
                               rtol=1e-5, atol=1e-5)
    batch_grey = tiny_images[:2].mean(axis=-1, keepdims=True)
    assert act.feature_maps(tiny_sequential, batch_grey, "conv2d_1")["conv2d_1"].shape == (2, 30, 30, 8)


def test_images_of_another_size_are_refused_with_the_fix(tiny_sequential):
    image = np.random.default_rng(1).uniform(0, 255, (50, 40, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"takes 32×32 images; got 50×40.*resize_image"):
        act.feature_maps(tiny_sequential, image, "conv2d_1")


@pytest.mark.parametrize("shape", [(5,), (4, SIZE, SIZE), (2, 3, SIZE, SIZE, 3), (SIZE, SIZE, 7)])
def test_bad_image_shapes_raise(tiny_sequential, shape):
    with pytest.raises(ValueError, match="Expected one image"):
        act.feature_maps(tiny_sequential, np.zeros(shape, np.float32))


def test_wrong_layer_name_lists_valid_names(tiny_sequential, tiny_images):
    with pytest.raises(ValueError, match="No layer named 'conv9'") as err:
        act.feature_maps(tiny_sequential, tiny_images[0], ["conv2d_1", "conv9"])
    assert "conv2d_1" in str(err.value) and "max_pooling2d_1" in str(err.value)


@pytest.mark.parametrize("layer", ["flatten", "dense"])
def test_non_spatial_layer_is_refused_clearly(tiny_sequential, tiny_images, layer):
    with pytest.raises(ValueError, match=f"'{layer}' is not a feature-map layer") as err:
        act.feature_maps(tiny_sequential, tiny_images[0], layer)
    assert "conv2d_2" in str(err.value)


def test_empty_layer_list_is_refused(tiny_sequential, tiny_images):
    with pytest.raises(ValueError, match="layers is empty"):
        act.feature_maps(tiny_sequential, tiny_images[0], [])


def test_extractor_is_built_once_and_dropped_with_the_model(tiny_images, monkeypatch):
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((SIZE, SIZE, 3)), keras.layers.Conv2D(2, 3, name="c")])
    calls = []
    original = layers_module.intermediate_model
    monkeypatch.setattr(layers_module, "intermediate_model", lambda *a, **k: calls.append(1) or original(*a, **k))
    traces = layers_module.TRACE_COUNTS["_run_extractor"]
    first = act.activation_extractor(model, ["c"])
    act.feature_maps(model, tiny_images[0])
    act.feature_maps(model, tiny_images[:2])
    act.summarize_activations(model, tiny_images[:2], progress=False)  # the same extractor, summarized
    assert act.activation_extractor(model, ["c"]) is first
    assert len(calls) == 1
    assert layers_module.TRACE_COUNTS["_run_extractor"] == traces + 1, "one trace for every batch size"
    assert act.activation_extractor(model, ["c"]) is first, "cached per model (helpers.layers.model_cache)"
    alive = weakref.ref(model)
    del model, first
    gc.collect()
    assert alive() is None  # the cache did not keep the model alive


# --------------------------------------------------------------------------- summaries and sparsity
def test_sparsity_counts_zeros_and_dead_channels():
    maps = np.ones((4, 4, 4), np.float32)
    maps[..., 0] = 0.0  # dead channel
    maps[:2, :, 1] = 0.0  # half zero
    result = act.sparsity({"layer": maps})["layer"]
    assert result == {"zero_fraction": pytest.approx((16 + 8) / 64), "dead_channels": 0.25, "channels": 4}
    batch = np.stack([maps, np.ones_like(maps)])
    assert act.sparsity({"layer": batch})["layer"]["dead_channels"] == pytest.approx(0.125)
    with pytest.raises(ValueError, match="expected"):
        act.sparsity({"flat": np.zeros((3, 4))})


def test_summaries_match_full_feature_maps(tiny_sequential, tiny_images):
    summary = act.summarize_activations(tiny_sequential, tiny_images, batch_size=3, progress=False)
    maps = act.feature_maps(tiny_sequential, tiny_images)
    for name, value in maps.items():
        np.testing.assert_allclose(summary[name]["mean"], value.mean(axis=(1, 2)), rtol=1e-4, atol=1e-6)
        for i in range(len(value)):
            stats = act.sparsity({name: value[i]})[name]
            assert summary[name]["zero_fraction"][i] == pytest.approx(stats["zero_fraction"], abs=1e-6)
            assert summary[name]["dead_channels"][i] == pytest.approx(stats["dead_channels"], abs=1e-6)


# --------------------------------------------------------------------------- geometry
def test_receptive_field_of_the_chapter_model():
    from helpers.models import build_small_convnet

    model = build_small_convnet()
    fields = {name: act.receptive_field(model, name) for name in act.feature_map_layers(model)}
    assert fields["conv2d_1"] == act.ReceptiveField(size=3, jump=1, start=1.0)
    assert fields["max_pooling2d_1"] == act.ReceptiveField(size=4, jump=2, start=1.5)
    assert fields["max_pooling2d_4"] == act.ReceptiveField(size=46, jump=16, start=22.5)


def test_layer_table_lists_every_layer(tiny_nested):
    table = act.layer_table(tiny_nested).splitlines()
    assert table[0].split() == ["Layer", "(type)", "Output", "shape", "Params", "Receptive", "field"]
    rows = {line.split()[0]: line for line in table[2:-2]}
    assert list(rows)[-2:] == ["gap", "head"]
    assert "backbone/block1_conv1" in rows and rows["backbone/block1_conv1"].rstrip().endswith("3×3")
    assert "(None, 32, 32, 8)" in rows["backbone/block1_conv1"] and " 224 " in rows["backbone/block1_conv1"]
    assert table[-1] == f"Total params: {tiny_nested.count_params():,}"


def test_receptive_field_matches_where_a_pixel_change_shows(tiny_sequential, tiny_gap_model):
    rng = np.random.default_rng(2)
    for model, layer in ((tiny_sequential, "conv2d_2"), (tiny_gap_model, "block2_conv1")):
        field = act.receptive_field(model, layer)
        image = rng.uniform(0, 255, (SIZE, SIZE, 3)).astype(np.float32)
        before = act.feature_maps(model, image, layer)[layer]
        r, c = 17, 9
        changed_image = image.copy()
        changed_image[r, c] = 255.0 - changed_image[r, c]
        after = act.feature_maps(model, changed_image, layer)[layer]
        changed = np.argwhere(np.abs(after - before).max(axis=-1) > 1e-6)
        assert len(changed) > 0
        half = (field.size - 1) / 2
        for i, j in changed:  # every changed position's window contains the changed pixel
            assert abs(field.start + field.jump * i - r) <= half + 1e-9
            assert abs(field.start + field.jump * j - c) <= half + 1e-9


def test_receptive_field_refuses_unknown_grid_changes():
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(2, 3, name="c1")(inputs)
    x = keras.layers.UpSampling2D(name="up")(x)
    x = keras.layers.Conv2D(2, 3, name="c2")(x)
    model = keras.Model(inputs, x)
    assert act.receptive_field(model, "c1").size == 3
    with pytest.raises(ValueError, match="UpSampling2D"):
        act.receptive_field(model, "c2")


def test_map_to_input_paints_each_position_on_its_block():
    field = act.ReceptiveField(size=4, jump=2, start=1.5)  # max_pooling2d_1 of small_convnet
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = act.map_to_input(values, field, (8, 10))
    assert out.shape == (8, 10)
    for i in range(3):
        for j in range(4):
            assert np.all(out[1 + 2 * i:3 + 2 * i, 1 + 2 * j:3 + 2 * j] == values[i, j])
    assert np.isnan(out[0]).all() and np.isnan(out[:, 0]).all() and np.isnan(out[7]).all()
    assert np.isnan(out[:, 9]).all() and not np.isnan(out[1:7, 1:9]).any()


# --------------------------------------------------------------------------- what layer 1 detects
def test_probe_responses_find_an_edge_and_a_dot():
    image = np.zeros((20, 20, 3), np.float32)
    image[:, 10:] = 255.0  # light on the right of x = 9.5
    probes = act.probe_responses(image)
    assert probes["vertical edge, light on the right"].shape == (18, 18)
    assert probes["vertical edge, light on the right"][:, 8:10].min() > 0.5  # columns 9, 10 of the image
    assert probes["vertical edge, light on the left"].max() == 0.0
    assert probes["horizontal edge, light below"].max() == 0.0
    dot = np.zeros((20, 20, 3), np.float32)
    dot[7, 12] = 255.0
    response = act.probe_responses(dot)["bright dot"]
    assert np.unravel_index(response.argmax(), response.shape) == (6, 11)
    with pytest.raises(ValueError, match="margin"):
        act.probe_responses(image, margin=0)


def test_channel_detectors_recognize_known_kernels():
    bank = act.PROBE_FILTERS
    model = _hand_conv([bank["vertical edge, light on the right"], bank["bright dot"],
                        bank["diagonal edge /, light below right"]])
    images = np.random.default_rng(3).uniform(0, 255, (3, SIZE, SIZE, 3)).astype(np.float32)
    images[:, :, :, :] = np.repeat(images.mean(-1, keepdims=True), 3, -1)  # grey, as the probes see
    maps = act.feature_maps(model, images, "conv")["conv"]
    correlations = act.channel_detectors(images, maps)
    best = act.best_detectors(correlations)
    assert [name for name, _ in best] == ["vertical edge, light on the right", "bright dot",
                                          "diagonal edge /, light below right"]
    assert min(r for _, r in best) > 0.99
    assert correlations["vertical edge, light on the left"][0] < 0.2
    single = act.channel_detectors(images[0], maps[0])
    assert single["bright dot"].shape == (3,)


def test_channel_detectors_refuse_misaligned_maps():
    with pytest.raises(ValueError, match="line up"):
        act.channel_detectors(np.zeros((1, 10, 10, 3)), np.zeros((1, 5, 5, 2)))
    with pytest.raises(ValueError, match="one map stack per image"):
        act.channel_detectors(np.zeros((2, 10, 10, 3)), np.zeros((1, 8, 8, 2)))


# --------------------------------------------------------------------------- information about the image
def test_decoder_recovers_an_identity_layer_and_its_pooled_version():
    model = _identity_conv()
    images = np.random.default_rng(4).uniform(0, 255, (8, SIZE, SIZE, 3)).astype(np.float32)
    decoders = act.fit_decoders(model, images, positions_per_image=200, progress=False)
    assert list(decoders) == ["copy", "pool"]
    assert decoders["copy"].r2 > 0.999
    assert decoders["pool"].r2 < 0.6  # 3 maxima cannot give back 12 independent pixel values
    image = images[-1]
    maps = act.feature_maps(model, image)
    rebuilt = decoders["copy"].reconstruct(maps["copy"], (SIZE, SIZE))
    assert np.isnan(rebuilt[0]).all() and np.isnan(rebuilt[:, -1]).all()
    np.testing.assert_allclose(rebuilt[1:-1, 1:-1], image[1:-1, 1:-1], atol=0.5)


def test_decoder_of_a_blind_layer_scores_zero():
    inputs = keras.Input((SIZE, SIZE, 3))
    conv = keras.layers.Conv2D(4, 3, name="blind", kernel_initializer="zeros", bias_initializer="ones")
    model = keras.Model(inputs, conv(inputs))
    images = np.random.default_rng(5).uniform(0, 255, (6, SIZE, SIZE, 3)).astype(np.float32)
    decoder = act.fit_decoders(model, images, progress=False)["blind"]
    assert abs(decoder.r2) < 0.02


def test_fit_decoders_checks_its_arguments(tiny_sequential, tiny_images):
    with pytest.raises(ValueError, match="at least two images"):
        act.fit_decoders(tiny_sequential, tiny_images[:1], progress=False)
    with pytest.raises(ValueError, match="test_fraction"):
        act.fit_decoders(tiny_sequential, tiny_images, test_fraction=1.0, progress=False)


# --------------------------------------------------------------------------- information about the class
def test_linear_probe_separable_versus_random():
    rng = np.random.default_rng(6)
    labels = np.repeat(np.arange(6), 30)
    centres = rng.normal(0, 5, (6, 10))
    separable = centres[labels] + rng.normal(0, 0.5, (len(labels), 10))
    assert act.linear_probe(separable, labels)["accuracy"] == 1.0
    noise = rng.normal(0, 1, (len(labels), 10))
    result = act.linear_probe(noise, labels)
    assert result["accuracy"] < 0.3 and result["accuracy"] < result["train_accuracy"]  # chance is 1/6
    assert act.linear_probe(separable, labels) == act.linear_probe(separable, labels)  # deterministic


def test_linear_probe_checks_shapes():
    with pytest.raises(ValueError, match="features must be"):
        act.linear_probe(np.zeros(10), np.zeros(10))
    with pytest.raises(ValueError, match="folds"):
        act.linear_probe(np.zeros((3, 2)), np.arange(3), folds=5)


# --------------------------------------------------------------------------- plotting section
def test_channel_grid_plots(tiny_sequential, tiny_images):
    import matplotlib.pyplot as plt

    from helpers import plotting

    maps = act.feature_maps(tiny_sequential, tiny_images[0])
    dead = maps["conv2d_2"].copy()
    dead[..., 3] = 0.0
    mosaic = plotting.channel_mosaic(dead, ncols=4)
    assert mosaic.shape == (2 * 14 - 1, 4 * 14 - 1, 3)
    np.testing.assert_allclose(mosaic[0, 3 * 14], plotting.DEAD_CHANNEL_GREY)  # channel 3: row 0, col 3
    assert mosaic[13, 0].tolist() == [1.0, 1.0, 1.0]  # padding is white
    ax = plotting.plot_channel_grid(maps["conv2d_1"], ncols=4)
    assert ax.get_title(loc="left") == "30×30×8" and [t.get_text() for t in ax.get_yticklabels()] == ["0", "4"]
    fig = plotting.plot_layer_grids(maps, ncols=4, suptitle="test")
    assert len(fig.axes) == 3 and fig.axes[2].get_title(loc="left").startswith("conv2d_2  ·  13×13 maps")
    fig2 = plotting.show_image_and_map(tiny_images[0], {"a": maps["conv2d_1"][..., 0], "b": maps["conv2d_1"][..., 1]})
    assert len([a for a in fig2.axes if a.get_images()]) == 3
    with pytest.raises(ValueError, match="one channel"):
        plotting.show_channel(maps["conv2d_1"])
    ax = plotting.plot_layer_profile({"a": [0.1, 0.5, 0.9]}, ["l1", "l2", "l3"], reference={"chance": 0.2})
    assert len(ax.lines) == 2
    with pytest.raises(ValueError, match="3 layers"):
        plotting.plot_layer_profile({"a": [0.1]}, ["l1", "l2", "l3"])
    plt.close("all")


# --------------------------------------------------------------------------- the bundled model
@pytest.mark.bundled
def test_bundled_small_convnet_has_the_chapters_eight_feature_map_layers():
    from helpers.models import load_model, model_path

    if not model_path("small_convnet").is_file():
        pytest.skip("data/models/small_convnet.weights.npz is missing: the bundled models are made by "
                    "`python -m helpers.train`")
    model = load_model("small_convnet")
    maps = act.feature_maps(model, np.zeros((150, 150), np.float32))  # a greyscale image
    assert list(maps) == ["conv2d_1", "max_pooling2d_1", "conv2d_2", "max_pooling2d_2",
                          "conv2d_3", "max_pooling2d_3", "conv2d_4", "max_pooling2d_4"]
    assert maps["conv2d_1"].shape == (148, 148, 32) and maps["max_pooling2d_4"].shape == (7, 7, 128)
    with pytest.raises(ValueError, match="'flatten_1' is not a feature-map layer"):
        act.feature_maps(model, np.zeros((150, 150, 3)), ["conv2d_1", "flatten_1"])


def test_linear_probe_does_not_amplify_rounding():
    """Features that differ by float32 rounding (as between CPUs) give the same accuracy: a closed form, no
    iterations to amplify the difference, and a near-constant channel is not blown up by standardization."""
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(6), 40)
    features = rng.normal(0, 1, (240, 32)) + 0.4 * rng.normal(0, 1, (6, 32))[labels]  # overlapping classes
    features[:, 0] = 0.0
    features[3, 0] = 1e-7  # a channel that is almost always zero
    reference = act.linear_probe(features, labels)["accuracy"]
    assert 0.2 < reference < 1.0
    for _ in range(10):
        noisy = features * (1 + 1e-6 * rng.standard_normal(features.shape))
        assert act.linear_probe(noisy, labels)["accuracy"] == reference


def test_linear_probe_rejects_a_zero_penalty():
    with pytest.raises(ValueError, match="l2 must be positive"):
        act.linear_probe(np.zeros((10, 2)), np.arange(10) % 2, l2=0)
