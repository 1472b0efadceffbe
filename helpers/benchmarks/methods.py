"""Benchmark: the chapter-4 methods against the passes they cost, and against tf-keras-vis.

Run with the other benchmarks: ``python -m helpers.benchmarks`` (``make benchmark``), which
calls :func:`run`. Everything is timed in one process, round-robin, on the same model
(``vgg_gap``) and images:

* **Score-CAM** (every channel) against its own ``C + 1`` forward passes run in the same
  batches (the image, then the ``C`` masked copies in chunks of ``chunk``), and against
  tf-keras-vis ``Scorecam`` (``ReplaceToLinear``), all on one image per call;
* **SmoothGrad** with ``N`` samples and **Integrated Gradients** with ``N`` steps against ``N``
  gradient passes run as one batch (the same shapes, no method around them);
* **Grad-CAM++** and **LayerCAM** (and Grad-CAM) against one compiled forward pass, one image.

Times are medians of per-round times (ms per image); ratios are medians of per-round ratios.

Taught in: ``04_beyond_grad_cam`` (the cost of the methods).
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Callable

import numpy as np

from helpers._backend import keras, tf
from helpers.benchmarks.cams import functional_twin
from helpers.data import make_shapes
from helpers.explainers import EmptyHeatmapWarning, get_explainer
from helpers.models import BUILDERS, load_model, model_path

TARGETS = {"score_cam_vs_passes": 1.2, "score_cam_speedup_vs_tf_keras_vis": 1.5, "smooth_grad_vs_passes": 1.2,
           "integrated_gradients_vs_passes": 1.2, "grad_cam_pp_vs_forward": 1.2, "layer_cam_vs_forward": 1.2}


def _round_robin(methods: dict[str, Callable[[], object]], repeats: int) -> dict[str, np.ndarray]:
    """Milliseconds of each call, timed round-robin after one warm-up call each."""
    for function in methods.values():
        function()
    times = {name: [] for name in methods}
    for _ in range(repeats):
        for name, function in methods.items():
            start = time.perf_counter()
            function()
            times[name].append((time.perf_counter() - start) * 1000.0)
    return {name: np.asarray(values) for name, values in times.items()}


def measure(model, image: np.ndarray, samples: int = 16, repeats: int = 5, tkv: bool = True) -> dict:
    """Time the methods and their reference passes on one image; return times and ratios.

    Args:
        model: the classifier (``vgg_gap`` in :func:`run`).
        image: one ``(H, W, 3)`` image.
        samples: SmoothGrad's samples and Integrated Gradients' steps (``N``).
        repeats: timed rounds.
        tkv: also time tf-keras-vis ``Scorecam`` (if installed).

    Returns:
        ``{"times": {label: ms per image (median)}, "ratios": {check: median ratio}}``.
    """
    one = image[None].astype(np.float32)
    score_cam = get_explainer(model, "score_cam")
    extractor = score_cam.extractor
    forward = tf.function(lambda x: extractor(x, training=False), reduce_retracing=True)
    channels, chunk = score_cam.channels, score_cam.chunk or 64  # the batch_size of explain()
    chunks = [tf.constant(np.repeat(one, min(chunk, channels - start), axis=0)) for start in range(0, channels, chunk)]
    x_one = tf.constant(one)

    def score_cam_passes():
        np.asarray(forward(x_one)[-1])
        for batch in chunks:
            np.asarray(forward(batch)[-1])

    logits_only = get_explainer(model, "saliency").extractor

    @tf.function(reduce_retracing=True)
    def gradient_passes(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = logits_only(x, training=False)
            outputs = outputs[-1] if isinstance(outputs, (list, tuple)) else outputs
            score = tf.reduce_sum(outputs[:, 0])
        return tape.gradient(score, x)

    copies = tf.constant(np.repeat(one, samples, axis=0))
    smooth = get_explainer(model, "smooth_grad", samples=samples)
    integrated = get_explainer(model, "integrated_gradients", steps=samples)
    methods: dict[str, Callable[[], object]] = {
        "forward pass, compiled (1 image)": lambda: np.asarray(forward(x_one)[-1]),
        "Grad-CAM (1 image)": lambda: get_explainer(model, "grad_cam").explain(one),
        "Grad-CAM++ (1 image)": lambda: get_explainer(model, "grad_cam_pp").explain(one),
        "LayerCAM (1 image)": lambda: get_explainer(model, "layer_cam").explain(one),
        f"{channels} + 1 forward passes in Score-CAM's batches": score_cam_passes,
        f"Score-CAM, all {channels} channels (1 image)": lambda: score_cam.explain(one, progress=False),
        f"{samples} gradient passes as one batch": lambda: np.asarray(gradient_passes(copies)),
        f"SmoothGrad, {samples} samples (1 image)": lambda: smooth.explain(one),
        f"Integrated Gradients, {samples} steps (1 image)": lambda: integrated.explain(one),
    }
    has_tkv = False
    if tkv:
        try:
            from tf_keras_vis.scorecam import Scorecam
            from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
            from tf_keras_vis.utils.scores import CategoricalScore
        except ImportError:  # pragma: no cover - optional dependency
            pass
        else:
            has_tkv = True
            visualizer = Scorecam(functional_twin(model), model_modifier=ReplaceToLinear(), clone=True)
            top = int(score_cam.explain(one, progress=False).class_indices[0])
            methods["tf-keras-vis `Scorecam` (1 image)"] = lambda: visualizer(
                CategoricalScore([top]), one, penultimate_layer=score_cam.layer, seek_penultimate_conv_layer=False,
                batch_size=chunk)
    interactive = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()  # tf-keras-vis calls predict() with its progress bar
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmptyHeatmapWarning)
            warnings.simplefilter("ignore", UserWarning)  # Keras input-structure notes from tf-keras-vis
            times = _round_robin(methods, repeats)
    finally:
        if interactive:
            keras.config.enable_interactive_logging()

    def paired(numerator: str, denominator: str) -> float:
        if numerator not in times or denominator not in times:
            return float("nan")
        return float(np.median(times[numerator] / times[denominator]))

    labels = list(methods)
    forward_label, passes_label, score_label = labels[0], labels[4], labels[5]
    gradients_label, smooth_label, ig_label = labels[6], labels[7], labels[8]
    ratios = {
        "score_cam_vs_passes": paired(score_label, passes_label),
        "score_cam_speedup_vs_tf_keras_vis": paired("tf-keras-vis `Scorecam` (1 image)", score_label)
        if has_tkv else float("nan"),
        "smooth_grad_vs_passes": paired(smooth_label, gradients_label),
        "integrated_gradients_vs_passes": paired(ig_label, gradients_label),
        "grad_cam_pp_vs_forward": paired("Grad-CAM++ (1 image)", forward_label),
        "layer_cam_vs_forward": paired("LayerCAM (1 image)", forward_label),
        "grad_cam_vs_forward": paired("Grad-CAM (1 image)", forward_label),
    }
    return {"times": {label: float(np.median(values)) for label, values in times.items()}, "ratios": ratios}


def run(quick: bool = False) -> str:
    """Time the chapter-4 methods on ``vgg_gap``; return a Markdown report with the targets.

    Args:
        quick: fewer rounds (noisier).

    Returns:
        Markdown: ms per image of each method and reference, then each ratio against its target.

    Taught in: ``04_beyond_grad_cam``.
    """
    repeats = 3 if quick else 9
    name = "vgg_gap"
    if model_path(name).is_file():
        model, weights = load_model(name), "trained"
    else:  # pragma: no cover
        model, weights = BUILDERS[name](), "random weights (bundled file missing)"
    image = make_shapes(1, seed=0)[0][0]
    result = measure(model, image, repeats=repeats)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    forward = next(iter(result["times"].values()))
    out = [f"## Chapter-4 methods: cost ({cores} CPU cores, TensorFlow {tf.__version__}; `{name}`, {weights}; "
           f"median of {repeats} round-robin runs)", "",
           "| method or reference | ms per image | × forward pass |", "|---|---:|---:|"]
    out += [f"| {label} | {ms:.1f} | {ms / forward:.2f} |" for label, ms in result["times"].items()]
    checks = [
        ("Score-CAM / its C + 1 forward passes, same batches", "score_cam_vs_passes", "≤ 1.2", False),
        ("tf-keras-vis `Scorecam` / ours", "score_cam_speedup_vs_tf_keras_vis", "≥ 1.5", True),
        ("SmoothGrad (N = 16) / N batched gradient passes", "smooth_grad_vs_passes", "≤ 1.2", False),
        ("Integrated Gradients (N = 16) / N batched gradient passes", "integrated_gradients_vs_passes", "≤ 1.2", False),
        ("Grad-CAM++ / one forward pass", "grad_cam_pp_vs_forward", "≤ 1.2", False),
        ("LayerCAM / one forward pass", "layer_cam_vs_forward", "≤ 1.2", False),
        ("Grad-CAM / one forward pass", "grad_cam_vs_forward", "≤ 1.2", False),
    ]
    out += ["", "| check | measured | target | met |", "|---|---:|---:|:-:|"]
    for label, key, target, at_least in checks:
        value = result["ratios"][key]
        bound = TARGETS.get(key, 1.2)
        met = "—" if np.isnan(value) else ("yes" if (value >= bound if at_least else value <= bound) else "**no**")
        out.append(f"| {label} | {value:.2f} | {target} | {met} |")
    return "\n".join(out) + "\n"
