"""helpers.attributions: pixel methods against their definitions, brute force and tf-keras-vis."""

from __future__ import annotations

import numpy as np
import pytest

import helpers
from helpers._backend import tf
from helpers.explainers import estimate_cost, get_explainer
from helpers.layers import logits_model
from helpers.models import model_path


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def _input_gradients(model, images, class_index) -> np.ndarray:
    logits = logits_model(model)
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.reduce_sum(logits(x)[:, class_index])
    return np.asarray(tape.gradient(score, x))


def test_saliency_is_the_largest_absolute_gradient_over_colours(tiny_gap_model, tiny_images):
    result = get_explainer(tiny_gap_model, "saliency").explain(tiny_images, class_index=2, relu=False)
    expected = np.abs(_input_gradients(tiny_gap_model, tiny_images, 2)).max(axis=-1)
    np.testing.assert_allclose(result.raw, expected, rtol=1e-4, atol=1e-7)
    assert result.layer is None and result.heatmaps.shape == (4, 32, 32)


def test_smooth_grad_with_zero_noise_is_saliency(tiny_gap_model, tiny_sequential, tiny_images):
    for model in (tiny_gap_model, tiny_sequential):
        smooth = get_explainer(model, "smooth_grad", noise=0.0, samples=3).explain(tiny_images, class_index=1)
        plain = get_explainer(model, "saliency").explain(tiny_images, class_index=1)
        np.testing.assert_allclose(smooth.raw, plain.raw, rtol=1e-5, atol=1e-8)


def test_smooth_grad_averages_gradients_of_noisy_copies(tiny_gap_model, tiny_images):
    explainer = get_explainer(tiny_gap_model, "smooth_grad", samples=4, noise=0.1, seed=3)
    result = explainer.explain(tiny_images[:2], class_index=0, relu=False)
    noise = np.asarray(tf.random.stateless_normal((4, 32, 32, 3), seed=[3, 0], stddev=0.1 * 255.0))
    for i in range(2):
        gradients = _input_gradients(tiny_gap_model, (tiny_images[i][None] + noise).astype("float32"), 0)
        np.testing.assert_allclose(result.raw[i], np.abs(gradients.mean(axis=0)).max(axis=-1), rtol=1e-4, atol=1e-7)
    other = get_explainer(tiny_gap_model, "smooth_grad", samples=4, noise=0.3, seed=3).explain(tiny_images[:2])
    assert not np.allclose(other.raw, result.raw)
    with pytest.raises(ValueError, match="noise"):
        get_explainer(tiny_gap_model, "smooth_grad", noise=2.0)
    with pytest.raises(ValueError, match="samples"):
        get_explainer(tiny_gap_model, "smooth_grad", samples=0)


@pytest.mark.parametrize("baseline", ["black", "grey", 200.0, "image"])
def test_integrated_gradients_completeness(tiny_gap_model, tiny_images, baseline):
    """Σ attributions = score(x) − score(baseline), within 1 % of the score range with 128 steps."""
    if baseline == "image":
        baseline = np.random.default_rng(5).uniform(0, 255, (32, 32, 3)).astype("float32")
    explainer = get_explainer(tiny_gap_model, "integrated_gradients", steps=128, baseline=baseline)
    result = explainer.explain(tiny_images, class_index=1, relu=False)
    reference = np.broadcast_to(np.asarray(helpers.attributions.BASELINES.get(baseline, baseline)
                                           if isinstance(baseline, str) else baseline, "float32"), tiny_images.shape)
    logits = logits_model(tiny_gap_model).predict(np.concatenate([tiny_images, reference]), verbose=0)[:, 1]
    difference = logits[:4] - logits[4:]
    totals = result.raw.sum(axis=(1, 2))
    scale = np.abs(logits).max()
    np.testing.assert_allclose(totals, difference, atol=0.01 * scale)
    coarse = get_explainer(tiny_gap_model, "integrated_gradients", steps=2, baseline=baseline)
    coarse_error = np.abs(coarse.explain(tiny_images, class_index=1, relu=False).raw.sum(axis=(1, 2)) - difference)
    assert np.abs(totals - difference).mean() <= coarse_error.mean() + 1e-6  # more steps, smaller error


def test_integrated_gradients_checks_its_baseline(tiny_gap_model):
    with pytest.raises(ValueError, match="Unknown baseline"):
        get_explainer(tiny_gap_model, "integrated_gradients", baseline="purple")
    with pytest.raises(ValueError, match="0..255"):
        get_explainer(tiny_gap_model, "integrated_gradients", baseline=-1.0)


def _occlusion_by_hand(model, image, class_index, patch, stride, fill):
    logits = logits_model(model)
    def starts(n):
        return sorted(set(list(range(0, n - patch + 1, stride)) + [n - patch]))

    windows, hidden = [], [image]
    for r in starts(image.shape[0]):
        for c in starts(image.shape[1]):
            copy = image.copy()
            copy[r:r + patch, c:c + patch] = fill
            windows.append((r, c))
            hidden.append(copy)
    scores = logits.predict(np.stack(hidden), verbose=0)[:, class_index]  # one call; the loop is the point
    total = np.zeros(image.shape[:2])
    count = np.zeros(image.shape[:2])
    for (r, c), score in zip(windows, scores[1:]):
        total[r:r + patch, c:c + patch] += scores[0] - score
        count[r:r + patch, c:c + patch] += 1
    return total / count


def test_occlusion_equals_a_brute_force_loop(tiny_gap_model, tiny_sequential, tiny_images):
    for model, patch, stride, fill in ((tiny_gap_model, 10, 7, "grey"), (tiny_sequential, 8, 8, 0.0)):
        explainer = get_explainer(model, "occlusion", patch=patch, stride=stride, fill=fill)
        result = explainer.explain(tiny_images[:2], class_index=2, relu=False)
        value = 127.5 if fill == "grey" else fill
        for i in range(2):
            expected = _occlusion_by_hand(model, tiny_images[i], 2, patch, stride, value)
            np.testing.assert_allclose(result.raw[i], expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
    assert get_explainer(tiny_gap_model, "occlusion", patch=10, stride=7).passes(32, 32) == 5 * 5 + 1
    with pytest.raises(ValueError, match="patch"):
        get_explainer(tiny_gap_model, "occlusion", patch=0)


def test_many_pass_methods_batch_their_passes_and_tell_their_cost(tiny_gap_model, tiny_images):
    passes = {"grad_cam": ({}, 1), "saliency": ({}, 1), "smooth_grad": ({"samples": 5}, 6),
              "integrated_gradients": ({"steps": 7}, 8), "occlusion": ({"patch": 16, "stride": 16}, 5),
              "score_cam": ({}, 17)}
    for method, (options, expected) in passes.items():
        cost = estimate_cost(tiny_gap_model, method, tiny_images, batch_size=3, **options)
        assert cost["passes_per_image"] == expected and cost["passes"] == 4 * expected, method
        assert cost["seconds"] > 0 and cost["ms_per_pass"] > 0
        explainer = get_explainer(tiny_gap_model, method, **options)
        small = explainer.explain(tiny_images, batch_size=1)  # one image per call
        large = explainer.explain(tiny_images, batch_size=1000)  # all images in one call
        np.testing.assert_allclose(small.heatmaps, large.heatmaps, atol=1e-5)


@pytest.mark.bundled
def test_saliency_agrees_with_tf_keras_vis():
    pytest.importorskip("tf_keras_vis", reason="tf-keras-vis is not installed")
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    from helpers.benchmarks.cams import functional_twin

    images = helpers.make_shapes(3, seed=3)[0]
    for name in ("vgg_gap", "small_convnet"):
        if not model_path(name).is_file():
            pytest.skip(f"bundled model {name} not trained yet")
        model = helpers.load_model(name)
        ours = get_explainer(model, "saliency").explain(images)
        theirs = Saliency(functional_twin(model), model_modifier=ReplaceToLinear(), clone=True)(
            CategoricalScore(list(ours.class_indices)), images)
        for a, b in zip(ours.heatmaps, np.asarray(theirs)):
            assert _corr(a, b) >= 0.99


def test_methods_benchmark_smoke(tiny_gap_model, tiny_images):
    """The chapter-4 benchmark runs end to end on a tiny model (one round; its numbers mean nothing here)."""
    from helpers.benchmarks.methods import measure

    result = measure(tiny_gap_model, tiny_images[0], samples=4, repeats=1, tkv=False)
    assert all(ms > 0 for ms in result["times"].values())
    assert result["ratios"]["score_cam_vs_passes"] > 0
    assert np.isnan(result["ratios"]["score_cam_speedup_vs_tf_keras_vis"])
