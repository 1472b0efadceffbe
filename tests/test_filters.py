"""Tests for helpers.filters (gradient-ascent filter visualization), the modules it re-exports
(filter_surgery, filter_params, filter_engine, filter_patterns) and its benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from helpers._backend import tf
from helpers.filters import (
    METHODS,
    deprocess_image,
    feature_extractor,
    filter_ascent,
    filter_loss,
    grey_noise_images,
    normalize_gradient,
    pattern_statistics,
    randomized_copy,
    spectral_statistics,
    visualize_filters,
)

SIZE = 32


# --------------------------------------------------------------------------- building blocks
def test_filter_loss_scores_each_image_on_its_own_filter_without_the_border():
    features = np.zeros((2, 8, 8, 3), "float32")
    features[0, :, :, 1] = 100.0  # border of channel 1 is large ...
    features[0, 2:-2, 2:-2, 1] = 1.0  # ... the interior is 1
    features[1, 2:-2, 2:-2, 2] = np.arange(16, dtype="float32").reshape(4, 4)
    features[1, :, :, 0] = 50.0  # another channel: must be ignored
    loss = filter_loss(tf.constant(features), tf.constant([1, 2]), border=2).numpy()
    np.testing.assert_allclose(loss, [1.0, 7.5])
    whole = filter_loss(tf.constant(features), tf.constant([1, 2]), border=0).numpy()
    assert whole[0] == pytest.approx((16 * 1 + 48 * 100) / 64)


def test_filter_loss_on_a_map_with_no_interior_is_a_clear_error():
    features = tf.constant(np.ones((1, 4, 4, 3), "float32"))
    with pytest.raises(ValueError, match="4x4 positions.*border=2"):
        filter_loss(features, tf.constant([0]), border=2)
    assert filter_loss(features, tf.constant([0]), border=1).numpy()[0] == pytest.approx(1.0)


def test_normalize_gradient_gives_unit_rms_per_image_and_survives_zeros():
    grads = tf.constant(np.stack([np.full((4, 4, 3), 7.0), np.zeros((4, 4, 3))]).astype("float32"))
    out = normalize_gradient(grads).numpy()
    assert np.sqrt(np.mean(out[0] ** 2)) == pytest.approx(1.0, rel=1e-5)
    assert np.all(np.isfinite(out)) and np.all(out[1] == 0)


def test_grey_noise_images_are_grey_with_twenty_levels_of_noise():
    images = grey_noise_images(3, (10, 12), seed=0)
    assert images.shape == (3, 10, 12, 3) and images.dtype == np.float32
    assert 128.0 <= images.min() and images.max() < 148.0
    np.testing.assert_array_equal(images, grey_noise_images(3, (10, 12), seed=0))


def test_deprocess_image_centres_each_image_and_handles_constant_ones():
    rng = np.random.default_rng(0)
    batch = np.stack([rng.normal(1000, 300, (16, 16, 3)), np.full((16, 16, 3), -5.0)])
    out = deprocess_image(batch)
    assert out.dtype == np.uint8 and out.shape == batch.shape
    assert abs(out[0].mean() - 127.5) < 2.0 and 20 < out[0].std() < 30
    assert np.all(out[1] == 128)  # constant image: mid-grey, no NaN
    assert deprocess_image(batch[0]).shape == (16, 16, 3)


# --------------------------------------------------------------------------- the ascent
def test_visualize_filters_returns_uint8_images_and_raises_activations(tiny_gap_model):
    filters = range(8)
    images, activations = visualize_filters(tiny_gap_model, "block2_conv1", filters, steps=10,
                                            return_activations=True, progress=False)
    assert images.shape == (8, SIZE, SIZE, 3) and images.dtype == np.uint8
    assert activations.shape == (8,)
    result = filter_ascent(tiny_gap_model, "block2_conv1", filters, steps=10, progress=False)
    np.testing.assert_allclose(result.activations, activations, rtol=1e-5, atol=1e-6)
    alive = result.start_activations > 1e-3
    assert alive.sum() >= 2
    assert np.all(result.gains[alive] > 1.5)
    assert result.history.shape == (10, 8)
    assert np.all(result.history[-1, alive] > result.history[0, alive])


def test_plain_ascent_matches_the_eager_textbook_loop(tiny_gap_model):
    """The batched, compiled ascent computes exactly the chapter's per-filter eager loop."""
    steps, size, filters = 5, (SIZE, SIZE), [3, 5]
    result = filter_ascent(tiny_gap_model, "block1_conv1", filters, steps=steps, step_size=3.0,
                           pre_activation=False, progress=False)
    extractor = feature_extractor(tiny_gap_model, "block1_conv1")
    for i, f in enumerate(filters):
        image = tf.constant(grey_noise_images(len(filters), size, seed=0)[i:i + 1])
        for _ in range(steps):
            with tf.GradientTape() as tape:
                tape.watch(image)
                loss = tf.reduce_mean(extractor(image)[:, 2:-2, 2:-2, f])
            grads = tape.gradient(loss, image)
            image = image + 3.0 * grads / (tf.sqrt(tf.reduce_mean(grads**2)) + 1e-8)
        np.testing.assert_allclose(result.pixels[i], image[0].numpy(), atol=1e-2)


def test_batching_does_not_change_plain_results(tiny_gap_model):
    args = (tiny_gap_model, "block2_conv1", [0, 4, 9, 15])
    together = filter_ascent(*args, steps=4, batch_size=None, progress=False)
    apart = filter_ascent(*args, steps=4, batch_size=1, progress=False)
    np.testing.assert_allclose(together.pixels, apart.pixels, atol=1e-3)
    np.testing.assert_allclose(together.activations, apart.activations, rtol=1e-4, atol=1e-5)


def test_computing_only_the_requested_channels_changes_nothing(tiny_gap_model):
    """Fewer filters than the layer has: only their kernels are applied. All: the full layer."""
    full_layer = filter_ascent(tiny_gap_model, "block2_conv1", range(16), steps=4, progress=False)
    selected = filter_ascent(tiny_gap_model, "block2_conv1", range(16), steps=4, batch_size=4, progress=False)
    assert np.abs(full_layer.history).max() > 0.01
    np.testing.assert_allclose(selected.history, full_layer.history, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(selected.pixels, full_layer.pixels, atol=1e-3)


@pytest.mark.parametrize("fixture, layer", [
    ("loaded_sequential", "conv2d_2"),
    ("tiny_nested", "backbone/block2_conv1"),
    ("tiny_nested", "block1_conv1"),
])
def test_works_on_never_called_sequential_and_nested_models(request, fixture, layer):
    model = request.getfixturevalue(fixture)
    result = filter_ascent(model, layer, [0, 1, 2], steps=3, progress=False)
    assert result.images.shape == (3, SIZE, SIZE, 3)
    assert np.all(np.isfinite(result.activations))


def test_size_other_than_the_model_input_works_for_the_convolutional_part(tiny_sequential):
    """The Dense head would reject 48x48 images; the truncated model does not need it."""
    result = filter_ascent(tiny_sequential, "conv2d_2", [0, 1], steps=2, size=48, progress=False)
    assert result.images.shape == (2, 48, 48, 3)
    square = feature_extractor(tiny_sequential, "conv2d_2", 48)
    assert square is feature_extractor(tiny_sequential, "conv2d_2", (48, 48))


def test_dead_filter_stays_put_but_moves_with_pre_activation(tiny_gap_model):
    conv = tiny_gap_model.get_layer("block1_conv1")
    kernel, bias = conv.get_weights()
    bias[2] = -1000.0  # filter 2 is zero on every image: ReLU passes no gradient
    conv.set_weights([kernel, bias])
    plain = filter_ascent(tiny_gap_model, "block1_conv1", [2], steps=3, pre_activation=False, progress=False)
    start = grey_noise_images(1, (SIZE, SIZE), seed=0)
    np.testing.assert_array_equal(plain.pixels, start)
    assert plain.activations[0] == 0.0
    pre = filter_ascent(tiny_gap_model, "block1_conv1", [2], steps=3, pre_activation=True, progress=False)
    assert np.abs(pre.pixels - start).mean() > 1.0
    assert pre.history[-1, 0] > pre.history[0, 0]  # the pre-activation rises


def _silence_on_grey(model, layer: str, channel: int) -> None:
    """Lower one filter's bias until it is zero everywhere on the grey starting image."""
    conv = model.get_layer(layer)
    kernel, bias = conv.get_weights()
    pre = feature_extractor(model, layer, pre_activation=True)(grey_noise_images(1, (SIZE, SIZE), seed=0))
    bias[channel] -= float(np.max(pre[..., channel])) + 0.05
    conv.set_weights([kernel, bias])


def test_auto_wakes_a_filter_that_is_silent_on_grey_but_fires_on_real_images(tiny_gap_model, tiny_images):
    _silence_on_grey(tiny_gap_model, "block1_conv1", 2)
    real = feature_extractor(tiny_gap_model, "block1_conv1")(tiny_images).numpy()[:, 2:-2, 2:-2, 2]
    assert real.max() > 0  # it fires on some real image
    start = grey_noise_images(1, (SIZE, SIZE), seed=0)
    plain = filter_ascent(tiny_gap_model, "block1_conv1", [2], steps=5, pre_activation=False, progress=False)
    np.testing.assert_array_equal(plain.pixels, start)  # the chapter's objective: stuck, a blank pattern
    auto = filter_ascent(tiny_gap_model, "block1_conv1", [2], steps=5, progress=False)  # the default
    assert auto.pre_activation == "auto"
    assert auto.start_activations[0] == 0 and auto.activations[0] > 0
    assert 1 <= auto.silent_steps[0] < 5  # climbed the pre-activation first, then the real output
    assert np.all(plain.silent_steps == 5)


def test_auto_leaves_firing_filters_on_the_chapters_objective(tiny_gap_model):
    live = filter_ascent(tiny_gap_model, "block2_conv1", range(16), steps=4, pre_activation=False, progress=False)
    firing = np.flatnonzero(live.start_activations > 0)
    assert len(firing) >= 2
    auto = filter_ascent(tiny_gap_model, "block2_conv1", firing, steps=4, progress=False)
    plain = filter_ascent(tiny_gap_model, "block2_conv1", firing, steps=4, pre_activation=False, progress=False)
    np.testing.assert_allclose(auto.pixels, plain.pixels, atol=1e-3)
    assert np.all(auto.silent_steps == 0)


def test_pre_activation_modes_are_checked(tiny_gap_model):
    with pytest.raises(ValueError, match="auto"):
        filter_ascent(tiny_gap_model, "block1_conv1", [0], steps=1, pre_activation="yes", progress=False)
    always = filter_ascent(tiny_gap_model, "block1_conv1", [0], steps=2, pre_activation=True, progress=False)
    with pytest.raises(ValueError, match="silent_steps"):
        always.silent_steps


@pytest.mark.bundled
def test_no_blank_pattern_for_vgg_gap_block2_filters_that_fire_on_shapes():
    """The issue's case: visualize_filters(vgg_gap, "block2_conv1", range(8), steps=20)."""
    from helpers.data import make_shapes
    from helpers.models import load_model, model_path

    if not model_path("vgg_gap").is_file():
        pytest.skip("data/models/vgg_gap.keras is missing: the bundled models are made by `python -m helpers.train`")
    model = load_model("vgg_gap")
    images, reached = visualize_filters(model, "block2_conv1", range(8), steps=20, return_activations=True,
                                        progress=False)
    shapes, _, _ = make_shapes(64, seed=5)
    maps = feature_extractor(model, "block2_conv1")(shapes).numpy()[:, 2:-2, 2:-2, :8]
    fires = maps.max(axis=(0, 1, 2)) > 0
    assert fires.sum() >= 6
    assert np.all(reached[fires] > 0)
    assert np.all(images[fires].std(axis=(1, 2, 3)) > 5)  # not flat grey
    plain = filter_ascent(model, "block2_conv1", range(8), steps=20, pre_activation=False, progress=False)
    assert np.sum(plain.activations[fires] == 0) >= 2  # the chapter's objective leaves some blank


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_valid_images_and_raises_live_filters(tiny_gap_model, method):
    result = filter_ascent(tiny_gap_model, "block2_conv1", range(6), steps=25, method=method,
                           pre_activation=True, seed=1, progress=False)
    assert result.method == method and result.images.dtype == np.uint8
    assert np.all(np.isfinite(result.pixels))
    if method == "fourier":
        assert 0.0 <= result.pixels.min() and result.pixels.max() <= 255.0
    assert np.median(result.activations - result.start_activations) > 0


def test_robust_results_are_reproducible_with_the_same_seed(tiny_gap_model):
    a = filter_ascent(tiny_gap_model, "block1_conv1", [0, 1], steps=3, method="robust", seed=4, progress=False)
    b = filter_ascent(tiny_gap_model, "block1_conv1", [0, 1], steps=3, method="robust", seed=4, progress=False)
    c = filter_ascent(tiny_gap_model, "block1_conv1", [0, 1], steps=3, method="robust", seed=5, progress=False)
    np.testing.assert_array_equal(a.pixels, b.pixels)
    assert not np.array_equal(a.pixels, c.pixels)


def test_progress_bar_shows_the_steps_and_only_when_asked(tiny_gap_model, capsys):
    filter_ascent(tiny_gap_model, "block1_conv1", [0], steps=2, progress=True)
    shown = capsys.readouterr().err
    assert "block1_conv1" in shown and "/2 [" in shown, shown[-300:]  # the layer and the count of steps
    filter_ascent(tiny_gap_model, "block1_conv1", [0], steps=2, progress=False)
    assert "/2 [" not in capsys.readouterr().err


# --------------------------------------------------------------------------- clear errors
def test_non_conv_layer_is_a_clear_error(tiny_gap_model):
    with pytest.raises(ValueError, match=r"not a 2-D convolution.*block1_conv1, block2_conv1"):
        visualize_filters(tiny_gap_model, "block1_pool", [0], steps=1)
    with pytest.raises(ValueError, match="No layer named 'nope'"):
        visualize_filters(tiny_gap_model, "nope", [0], steps=1)


def test_filter_index_out_of_range_is_a_clear_error(tiny_gap_model):
    with pytest.raises(ValueError, match=r"Filter index 8 is out of range.*8 filters \(valid indices 0\.\.7\)"):
        visualize_filters(tiny_gap_model, "block1_conv1", [0, 8], steps=1)
    with pytest.raises(ValueError, match="Filter index -1"):
        visualize_filters(tiny_gap_model, "block1_conv1", -1, steps=1)


def test_other_bad_arguments_are_clear_errors(tiny_gap_model):
    with pytest.raises(ValueError, match="Valid methods: plain, robust, fourier"):
        filter_ascent(tiny_gap_model, "block1_conv1", [0], method="lucid")
    with pytest.raises(ValueError, match="leaves nothing to measure"):
        filter_ascent(tiny_gap_model, "block2_conv1", [0], size=8, steps=1)
    with pytest.raises(ValueError, match="filters is empty"):
        filter_ascent(tiny_gap_model, "block1_conv1", [])


# --------------------------------------------------------------------------- measuring patterns
def test_randomized_copy_shuffles_weights_and_leaves_the_model_alone(tiny_gap_model):
    before = [w.copy() for w in tiny_gap_model.get_weights()]
    copy = randomized_copy(tiny_gap_model, seed=0)
    for original, shuffled, kept in zip(before, copy.get_weights(), tiny_gap_model.get_weights()):
        np.testing.assert_array_equal(original, kept)
        np.testing.assert_allclose(np.sort(original.ravel()), np.sort(shuffled.ravel()))
    kernel = tiny_gap_model.get_layer("block2_conv1").get_weights()[0]
    assert not np.allclose(kernel, copy.get_layer("block2_conv1").get_weights()[0])
    x = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3)).astype("float32")
    assert copy.predict(x, verbose=0).shape == (2, 3)


def _stripes(period: float, size: int = 64) -> np.ndarray:
    x = np.arange(size)
    row = 128 + 100 * np.sin(2 * np.pi * x / period)
    return np.repeat(np.tile(row, (size, 1))[..., None], 3, axis=-1)


def test_spectral_statistics_measure_the_frequency_of_stripes():
    stats = spectral_statistics(np.stack([_stripes(16), _stripes(2.5)]))
    np.testing.assert_allclose(stats["mean_frequency"], [1 / 16, 1 / 2.5], rtol=0.05)
    np.testing.assert_allclose(stats["high_frequency_fraction"], [0.0, 1.0], atol=0.02)
    noise = np.random.default_rng(0).uniform(0, 255, (1, 64, 64, 3))
    assert spectral_statistics(noise)["spectral_entropy"][0] > stats["spectral_entropy"][0] + 5


def test_spectral_statistics_see_orientation():
    stripes = _stripes(8)
    stats = spectral_statistics(np.stack([stripes, stripes.transpose(1, 0, 2)]))
    np.testing.assert_allclose(stats["orientation_strength"], [1.0, 1.0], atol=0.02)
    noise = np.random.default_rng(0).uniform(0, 255, (1, 64, 64, 3))
    assert spectral_statistics(noise)["orientation_strength"][0] < 0.1


def test_pattern_statistics_separate_flat_colour_from_concentrated_structure():
    from helpers.filters import FilterVisualization

    start = np.full((3, 20, 20, 3), 128.0)
    end = start.copy()
    end[0] += np.array([40.0, -10.0, 5.0])  # a flat colour
    end[1, 5:7, 5:7] += 100.0  # a concentrated blob (1% of the pixels)
    result = FilterVisualization(images=np.clip(end, 0, 255).astype("uint8"), pixels=end,
                                 activations=np.zeros(3), start_activations=np.zeros(3),
                                 start_pixels=start, history=np.zeros((1, 3)), layer="x",
                                 filters=(0, 1, 2), method="plain", steps=1)
    stats = pattern_statistics(result)
    np.testing.assert_allclose(stats["moved"], [np.sqrt((1600 + 100 + 25) / 3), np.sqrt(4 * 3 * 1e4 / 1200), 0.0])
    assert stats["uniform_colour_share"][0] == pytest.approx(1.0)
    assert stats["uniform_colour_share"][1] < 0.02
    assert stats["concentration"][0] == pytest.approx(0.1, abs=0.01)
    assert stats["concentration"][1] == pytest.approx(1.0)
    assert np.all(np.isfinite(stats["concentration"]))  # the unchanged image divides by EPSILON


def test_moved_counts_grey_levels_and_dead_filters_stay_at_zero(tiny_gap_model):
    result = filter_ascent(tiny_gap_model, "block1_conv1", range(8), steps=10, pre_activation=False,
                           progress=False)
    stats = pattern_statistics(result)
    alive = result.start_activations > 0
    np.testing.assert_allclose(stats["moved"][alive], 10 * 2.0, rtol=0.05)  # 10 steps of 2 grey levels
    assert np.all(stats["moved"][~alive] == 0)


# --------------------------------------------------------------------------- plots
def test_filter_plots_draw_and_return_their_figure(tiny_gap_model):
    import matplotlib.pyplot as plt

    from helpers.plotting import plot_ascent_curves, plot_method_comparison

    results = {m: filter_ascent(tiny_gap_model, "block1_conv1", [0, 1, 2], steps=3, method=m, progress=False)
               for m in ("plain", "robust")}
    fig = plot_method_comparison(results)
    assert len([ax for ax in fig.axes if ax.images]) == 6
    ax = plot_ascent_curves({"block1_conv1": results["plain"].history})
    assert len(ax.lines) >= 1 and ax.get_xlabel()
    with pytest.raises(ValueError, match="at least one"):
        plot_method_comparison({})
    plt.close("all")


# --------------------------------------------------------------------------- the benchmark
def test_benchmark_smoke_with_tiny_sizes(tiny_gap_model):
    from helpers.benchmarks import filters as bench

    setting = bench.Setting("tiny", "block2_conv1", SIZE, 2, 2, 1, 1)
    report = bench.run(configurations=[("tiny model", lambda: tiny_gap_model, setting)])
    assert "### tiny model: layer `block2_conv1`" in report
    assert "**ours** `filter_ascent`" in report and "tf-keras-vis" in report
    assert "our compiled filter-step / forward pass to the layer" in report
    assert "nan" not in report.lower()


def test_benchmark_command_line_runs_the_chosen_modules(monkeypatch, capsys):
    import helpers.benchmarks.filters as bench
    from helpers.benchmarks.__main__ import main

    calls = []
    monkeypatch.setattr(bench, "run", lambda quick: calls.append(quick) or "## filters table")
    assert main(["--only", "filters", "--quick"]) == 0
    assert calls == [True] and "## filters table" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--only", "nonsense"])


# --------------------------------------------------------------------------- transformations
def test_identity_transformations_leave_activations_unchanged(tiny_gap_model):
    from helpers.filters import Robustness, transformed_activations

    result = filter_ascent(tiny_gap_model, "block2_conv1", [1, 2, 3], steps=3, progress=False)
    same = transformed_activations(tiny_gap_model, "block2_conv1", result.pixels, result.filters,
                                   Robustness(jitter=0, scale=0.0, degrees=0.0), samples=2)
    np.testing.assert_allclose(same, result.activations, rtol=1e-4, atol=1e-5)
    moved = transformed_activations(tiny_gap_model, "block2_conv1", result.pixels, result.filters,
                                    Robustness(jitter=4, scale=0.2, degrees=20.0), samples=2)
    assert not np.allclose(moved, result.activations)
    with pytest.raises(ValueError, match="Got 3 images for 2 filters"):
        transformed_activations(tiny_gap_model, "block2_conv1", result.pixels, [1, 2])


def test_jitter_shifts_each_image_by_whole_pixels():
    from helpers.filter_params import Robustness, random_affine

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (4, 20, 20, 3)).astype("float32")
    out = random_affine(tf.constant(images), tf.random.Generator.from_seed(1),
                         Robustness(jitter=3, scale=0.0, degrees=0.0), 3).numpy()
    for image, shifted in zip(images, out):
        matches = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4)
                   if np.allclose(np.roll(image, (dy, dx), axis=(0, 1))[4:-4, 4:-4], shifted[4:-4, 4:-4], atol=1e-3)]
        assert len(matches) == 1


def test_filter_grid_labels_each_tile_with_its_filter_number():
    import matplotlib.pyplot as plt

    from helpers.plotting import plot_filter_grid

    images = np.random.default_rng(0).integers(0, 255, (10, 8, 8, 3)).astype("uint8")
    ax = plot_filter_grid(images, ncols=4, labels=range(20, 30))
    assert [t.get_text() for t in ax.texts] == [str(i) for i in range(20, 30)]
    x, y = ax.texts[5].get_position()  # tile 5: row 1, column 1 of a 4-wide grid, 8 px tiles, 2 px apart
    assert (x, y) == (1 * 10 + 1, 1 * 10 + 1)
    assert not plot_filter_grid(images).texts
    with pytest.raises(ValueError, match="10 tiles"):
        plot_filter_grid(images, labels=[1, 2])
    plt.close("all")


def test_visualize_filters_warns_when_a_picture_leaves_its_filter_silent():
    """A filter that cannot fire (bias far below any input's reach) gets a picture, and a warning
    naming it; a filter that fires gets none."""
    from helpers._backend import keras
    from helpers.filters import SilentFilterWarning, visualize_filters

    inputs = keras.Input((16, 16, 3))
    conv = keras.layers.Conv2D(2, 3, activation="relu", name="conv")
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(conv(inputs)))
    kernel = np.full((3, 3, 3, 2), 0.01, np.float32)
    conv.set_weights([kernel, np.array([1.0, -1e6], np.float32)])  # filter 0 always fires, filter 1 never
    with pytest.warns(SilentFilterWarning, match=r"Filter\(s\) \[1\] of 'conv'.*steps=4\b"):
        images, reached = visualize_filters(model, "conv", [0, 1], steps=2, return_activations=True)
    assert images.shape == (2, 16, 16, 3) and reached[0] > 0 and reached[1] == 0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", SilentFilterWarning)
        visualize_filters(model, "conv", [0], steps=2)


def test_each_ascent_configuration_is_compiled_once_without_a_retracing_warning(tiny_gap_model):
    """One frozen AscentConfig per configuration; its steps are traced once, and many configurations
    trace without TensorFlow's "frequent retracing" warning (nothing silences it)."""
    import logging

    from helpers.filter_engine import AscentConfig
    from helpers.layers import TRACE_COUNTS

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    configurations = [(method, size) for method in METHODS for size in (24, 28, 32)]
    try:
        before = TRACE_COUNTS["_pixel_step"] + TRACE_COUNTS["_fourier_step"]
        for method, size in configurations:
            filter_ascent(tiny_gap_model, "block2_conv1", [0, 1], steps=2, size=size, method=method, progress=False)
        traced = TRACE_COUNTS["_pixel_step"] + TRACE_COUNTS["_fourier_step"]
        for method, size in configurations:  # the same configurations again: nothing new is traced
            filter_ascent(tiny_gap_model, "block2_conv1", [2, 3], steps=2, size=size, method=method, seed=1,
                          progress=False)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert traced - before <= len(configurations)
    assert TRACE_COUNTS["_pixel_step"] + TRACE_COUNTS["_fourier_step"] == traced
    assert not [r.getMessage() for r in records if "retracing" in r.getMessage()]
    config = AscentConfig("block2_conv1", [24, 24], "plain")
    assert config == AscentConfig("block2_conv1", (24, 24), "plain") and hash(config)
    with pytest.raises(ValueError, match="Unknown method 'sideways'"):
        AscentConfig("block2_conv1", (24, 24), "sideways")
