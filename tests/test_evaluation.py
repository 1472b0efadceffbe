"""helpers.evaluation: every measurement checked on hand-made maps and models with known answers."""

from __future__ import annotations

import numpy as np
import pytest

import helpers
from helpers._backend import keras
from helpers.evaluation import (
    blur, center_baseline, deletion_curve, edge_baseline, energy_in_mask, insertion_curve, mass_inside, pointing_game,
    random_baseline, randomization_check, rank_correlation,
)

SIZE = 16


def _red_model(gain: float = 8.0) -> keras.Model:
    """p(class 1) = sigmoid(gain · mean red / 255), p(class 0) = 1 - that: a model with a known answer."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(2, activation="softmax", name="head")
    model = keras.Model(inputs, dense(x))
    kernel = np.zeros((3, 2), "float32")
    kernel[0, 1] = gain / 2
    kernel[0, 0] = -gain / 2  # logit difference = gain · mean red
    dense.set_weights([kernel, np.zeros(2, "float32")])
    return model


def _red_square() -> tuple[np.ndarray, np.ndarray]:
    image = np.zeros((SIZE, SIZE, 3), "float32")
    image[4:8, 4:12, 0] = 255.0  # 32 red pixels
    mask = image[..., 0] > 0
    return image, mask


# ----------------------------------------------------------------------------- localization
def test_pointing_game_and_energy_on_hand_made_maps():
    masks = np.zeros((3, 10, 10), bool)
    masks[:, 2:5, 2:5] = True
    maps = np.zeros((3, 10, 10))
    maps[0, 3, 3] = 1.0  # peak on the object
    maps[1, 8, 8] = 1.0  # peak off the object
    maps[2, 2:5, 2:5] = 0.5  # 4.5 on the object ...
    maps[2, 9, 0:9] = 0.5  # ... 4.5 + 0.75 off it,
    maps[2, 9, 9] = 0.75  # and the peak off it, √50 ≈ 7.07 px from the nearest object pixel (4, 4)
    np.testing.assert_array_equal(pointing_game(maps, masks), [True, False, False])
    assert pointing_game(maps, masks, tolerance=8)[2] and not pointing_game(maps, masks, tolerance=7)[2]
    np.testing.assert_allclose(energy_in_mask(maps, masks), [1.0, 0.0, 4.5 / (4.5 + 4.5 + 0.75)], atol=1e-6)
    np.testing.assert_allclose(mass_inside(maps, masks), energy_in_mask(maps, masks))


def test_baselines():
    step = np.zeros((12, 12, 3), "float32")
    step[:, 6:] = 200.0  # a vertical edge between columns 5 and 6
    edges = edge_baseline(step)
    assert edges.shape == (1, 12, 12) and edges.max() == pytest.approx(1.0)
    assert np.all(edges[0, :, [5, 6]] == 1.0) and np.all(edges[0, :, :4] == 0) and np.all(edges[0, :, 8:] == 0)
    noise = random_baseline(3, 8, 9, seed=1)
    assert noise.shape == (3, 8, 9) and 0 <= noise.min() and noise.max() <= 1
    np.testing.assert_array_equal(noise, random_baseline(3, 8, 9, seed=1))
    assert tuple(helpers.heatmap_peaks(center_baseline(1, 9, 9)[0])) == (4, 4)
    flat = np.full((2, 10, 10, 3), 80.0, "float32")
    np.testing.assert_allclose(blur(flat, 2.0), flat, atol=1e-3)  # blur keeps a flat image
    spot = np.zeros((1, 21, 21, 3), "float32")
    spot[0, 10, 10] = 255.0
    blurred = blur(spot, 2.0)
    assert blurred.sum() == pytest.approx(255.0 * 3, rel=1e-4) and blurred[0, 10, 10, 0] < 30  # spread, not lost


# ----------------------------------------------------------------------------- deletion and insertion
def _expected(image: np.ndarray, order: np.ndarray, steps: int, start: np.ndarray, end: np.ndarray, gain=8.0):
    """Brute force: replace the first k pixels of ``order`` one step at a time, compute p(class 1) by hand."""
    pixels = SIZE * SIZE
    out = []
    for count in np.round(np.linspace(0, pixels, steps + 1)).astype(int):
        current = start.copy().reshape(pixels, 3)
        current[order[:count]] = end.reshape(pixels, 3)[order[:count]]
        out.append(1 / (1 + np.exp(-gain * current[:, 0].mean() / 255.0)))
    return np.asarray(out)


def test_deletion_curve_matches_the_model_by_hand():
    model = _red_model()
    image, mask = _red_square()
    good = mask.astype("float32")  # the object first
    ramp = np.arange(SIZE * SIZE, dtype="float32").reshape(SIZE, SIZE) / 256.0  # a known order (reading order reversed)
    for heatmap in (good, ramp):
        curves, areas = deletion_curve(model, image, heatmap, class_index=1, steps=8, baseline="black")
        order = np.argsort(-heatmap.ravel(), kind="stable")
        expected = _expected(image, order, 8, image, np.zeros_like(image))
        np.testing.assert_allclose(curves[0], expected, atol=1e-5)
        assert areas[0] == pytest.approx(np.trapezoid(expected, dx=1 / 8), abs=1e-5)
    good_area = deletion_curve(model, image, good, class_index=1, steps=8, baseline="black")[1][0]
    bad_area = deletion_curve(model, image, 1.0 - good, class_index=1, steps=8, baseline="black")[1][0]
    assert good_area < bad_area  # removing the object first makes the probability fall first


def test_insertion_curve_starts_at_the_baseline_and_ends_at_the_image():
    model = _red_model()
    image, mask = _red_square()
    curves, areas = insertion_curve(model, image, mask.astype("float32"), class_index=1, steps=4, baseline="grey")
    grey = np.full_like(image, 127.5)
    expected = _expected(image, np.argsort(-mask.ravel().astype(float), kind="stable"), 4, grey, image)
    np.testing.assert_allclose(curves[0], expected, atol=1e-5)
    probability = model.predict(image[None], verbose=0)[0, 1]
    assert curves[0, -1] == pytest.approx(probability, abs=1e-5)
    worse = insertion_curve(model, image, 1.0 - mask, class_index=1, steps=4, baseline="grey")[1]
    assert areas[0] > worse[0]
    blurred, _ = insertion_curve(model, image, mask.astype("float32"), steps=4)  # default: blur, top class
    assert blurred.shape == (1, 5)


def test_curves_check_their_inputs():
    model = _red_model()
    image, mask = _red_square()
    with pytest.raises(ValueError, match="upsample=True"):
        deletion_curve(model, image, mask[:8])
    with pytest.raises(ValueError, match="baseline"):
        deletion_curve(model, image, mask.astype(float), baseline="noise")
    with pytest.raises(ValueError, match="steps"):
        insertion_curve(model, image, mask.astype(float), steps=0)


# ----------------------------------------------------------------------------- randomization
def test_rank_correlation_known_answers():
    a = np.arange(16, dtype=float).reshape(1, 4, 4)
    assert rank_correlation(a, a)[0] == pytest.approx(1.0)
    assert rank_correlation(a, -a)[0] == pytest.approx(-1.0)
    assert rank_correlation(a, np.exp(a))[0] == pytest.approx(1.0)  # ranks, not values
    assert rank_correlation(a, np.zeros_like(a))[0] == 0.0  # a constant map has no order
    x = np.array([[1.0, 2.0], [2.0, 3.0]])  # ties: average ranks 1, 2.5, 2.5, 4
    y = np.array([[1.0, 2.0], [3.0, 4.0]])
    rx, ry = np.array([1, 2.5, 2.5, 4]), np.array([1, 2, 3, 4.0])
    expected = np.corrcoef(rx, ry)[0, 1]
    assert rank_correlation(x, y)[0] == pytest.approx(expected)


def test_randomization_check_cascade(tiny_gap_model, tiny_images):
    before = [w.copy() for w in tiny_gap_model.get_weights()]
    result = randomization_check(tiny_gap_model, tiny_images, "grad_cam")
    assert list(result) == ["predictions", "block2_conv1", "block1_conv1"]  # top first
    assert all(-1.0 <= v <= 1.0 for v in result.values())
    assert min(result.values()) < 0.9  # destroying the weights changes Grad-CAM's maps
    for a, b in zip(before, tiny_gap_model.get_weights()):
        np.testing.assert_array_equal(a, b)  # the user's model is never modified
    edges = randomization_check(tiny_gap_model, tiny_images, lambda model, images: edge_baseline(images))
    assert edges == pytest.approx({name: 1.0 for name in result})  # blind to the model: fails the check
    only = randomization_check(tiny_gap_model, tiny_images, "grad_cam", layers=["block2_conv1"])
    assert list(only) == ["block2_conv1"] and only["block2_conv1"] == pytest.approx(result["block2_conv1"])
    with pytest.raises(ValueError, match="cascade is"):
        randomization_check(tiny_gap_model, tiny_images, "grad_cam", layers=["gap"])


@pytest.mark.parametrize("structure", ["tiny_sequential", "loaded_sequential", "tiny_nested", "tiny_binary"])
def test_randomization_check_on_every_structure_leaves_the_model_alone(request, structure, tiny_images):
    model = request.getfixturevalue(structure)
    before = [w.copy() for w in model.get_weights()]
    result = randomization_check(model, tiny_images[:2], "grad_cam")
    names = [path for path, layer in helpers.iter_layers(model) if not isinstance(layer, keras.Model) and layer.weights]
    assert list(result) == names[::-1]  # every layer with weights, from the output down
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
