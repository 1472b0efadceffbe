"""Benchmark: Grad-CAM cost against a forward pass, the keras.io example and tf-keras-vis.

Run with the other benchmarks: ``python -m helpers.benchmarks`` (``make benchmark``), which
calls :func:`run`. Everything is timed in one process on the same model and images:

* a forward pass of the model, compiled (``tf.function``), 1 image and 32 images (the
  batch row is the ceiling for any batched explanation: on a CPU, batching removes per-call
  overhead but not arithmetic);
* ours: :func:`helpers.grad_cam` on 1 image, on a batch of 32, and 32 single calls in a loop;
* the keras.io "Grad-CAM class activation visualization" code path, re-implemented: an eager
  ``GradientTape`` around a two-output model, one image per call;
* tf-keras-vis ``Gradcam`` with ``ReplaceToLinear`` (if installed), 1 image and 32 images;
* one Grad-CAM against one compiled forward pass on a ``keras.applications`` ResNet50 built
  with ``weights=None`` (224×224, no download): :func:`grad_cam_vs_forward`.

Every method returns a full-resolution heatmap (upsampled to the input), so the rows compare
like for like. Times are medians of repeated runs, in milliseconds per call.

Taught in: ``03_class_activation_maps`` (the note on speed).
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Callable

import numpy as np

from helpers._backend import keras, tf
from helpers.cams import grad_cam
from helpers.explainers import EmptyHeatmapWarning, get_explainer
from helpers.data import make_shapes
from helpers.layers import default_explanation_layer
from helpers.models import BUILDERS, load_model, model_path

TARGETS = {"grad_cam_vs_forward": 1.2, "speedup_vs_tf_keras_vis": 3.0, "batch_vs_loop": 2.0}


def _interleaved(methods: dict[str, tuple[Callable[[], object], int]], repeats: int) -> dict[str, np.ndarray]:
    """Milliseconds per image of each method, timed round-robin (one call of each per round).

    Round-robin timing spreads the load of a shared machine evenly over the methods, and
    ratios taken round by round (paired) are steadier than ratios of separate medians.
    """
    for function, _ in methods.values():
        function()  # warm-up: tracing, caches
    times = {name: [] for name in methods}
    for _ in range(repeats):
        for name, (function, per_call) in methods.items():
            start = time.perf_counter()
            function()
            times[name].append((time.perf_counter() - start) * 1000.0 / per_call)
    return {name: np.asarray(values) for name, values in times.items()}


def functional_twin(model: keras.Model) -> keras.Model:
    """A Functional copy (new layers, same weights) of a Sequential model.

    tf-keras-vis 0.8.7 reads ``model.output_names``, which a Keras 3 ``Sequential`` lacks, and
    the ``layer.output`` of layers shared between graphs; a fresh Functional twin avoids both.
    """
    if not isinstance(model, keras.Sequential):
        return model
    inputs = keras.Input(model.inputs[0].shape[1:], name="twin_input")
    x = inputs
    for layer in model.layers:
        twin = layer.__class__.from_config(layer.get_config())
        x = twin(x)
        twin.set_weights(layer.get_weights())
    return keras.Model(inputs, x, name=f"{model.name}_twin")


def keras_io_grad_cam(grad_model: keras.Model, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The keras.io example's code path (eager tape, batch of one, pooled over axes 0, 1, 2)."""
    batch = tf.convert_to_tensor(image[None])
    with tf.GradientTape() as tape:
        features, logits = grad_model(batch)
        index = tf.argmax(logits[0])
        score = logits[:, index]
    gradients = tape.gradient(score, features)
    pooled = tf.reduce_mean(gradients, axis=(0, 1, 2))
    heatmap = tf.squeeze(features[0] @ pooled[..., tf.newaxis])
    heatmap = tf.maximum(heatmap, 0) / (tf.reduce_max(heatmap) + 1e-8)
    return tf.image.resize(heatmap[..., None], size)[..., 0].numpy()


def grad_cam_vs_forward(model: keras.Model, image: np.ndarray, repeats: int = 15) -> dict[str, float]:
    """One :func:`helpers.grad_cam` call on one image against one compiled forward pass of ``model``.

    Both are timed round-robin; the ratio is the median of the per-round ratios (the issue's
    target: at most 1.2).

    Returns:
        ``{"forward_ms", "grad_cam_ms", "ratio"}``.
    """
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    one = tf.constant(np.asarray(image, np.float32)[None])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyHeatmapWarning)
        times = _interleaved({"forward": (lambda: np.asarray(forward(one)), 1),
                              "grad_cam": (lambda: grad_cam(model, image), 1)}, repeats)
    return {"forward_ms": float(np.median(times["forward"])), "grad_cam_ms": float(np.median(times["grad_cam"])),
            "ratio": float(np.median(times["grad_cam"] / times["forward"]))}


def _keras_applications_ratio(repeats: int) -> list[str]:
    """The ratio on a big foreign model: ResNet50, random weights (``weights=None``), one 224-px image."""
    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(weights=None)
    image = np.random.default_rng(0).uniform(0, 255, (224, 224, 3)).astype("float32")
    result = grad_cam_vs_forward(model, image, repeats)
    return [
        "### `keras.applications.ResNet50` (weights=None; default layer "
        f"`{get_explainer(model).layer}`, 224×224 input)", "",
        "| check | measured | target | met |", "|---|---:|---:|:-:|",
        f"| forward pass, compiled (1 image) | {result['forward_ms']:.1f} ms | — | — |",
        f"| **ours** `grad_cam` (1 image) | {result['grad_cam_ms']:.1f} ms | — | — |",
        _check("one Grad-CAM / one forward pass", result["ratio"], "≤ 1.2",
               result["ratio"] <= TARGETS["grad_cam_vs_forward"]), "",
    ]


def _model(name: str) -> tuple[keras.Model, str]:
    if model_path(name).is_file():
        return load_model(name), "trained"
    return BUILDERS[name](), "random weights (bundled file missing)"


def _benchmark_model(name: str, repeats: int) -> tuple[list[tuple[str, float]], dict[str, float], str]:
    model, weights = _model(name)
    images, _, _ = make_shapes(32, seed=0)
    one = images[:1]
    layer = default_explanation_layer(model)
    size = images.shape[1:3]
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    get_explainer(model)  # build the extractor once, as a user's second call would find it
    grad_model = keras.Model(*_two_outputs(model, layer))
    methods: dict[str, tuple[Callable[[], object], int]] = {
        "forward pass, compiled (1 image)": (lambda: np.asarray(forward(one)), 1),
        "forward pass, compiled (batch of 32, per image)": (lambda: np.asarray(forward(images)), 32),
        "**ours** `grad_cam` (1 image)": (lambda: grad_cam(model, one[0]), 1),
        "**ours** `grad_cam` (batch of 32, per image)": (lambda: grad_cam(model, images), 32),
        "**ours** `grad_cam`, loop of 32 single calls (per image)":
            (lambda: [grad_cam(model, image) for image in images], 32),
        "keras.io example code path, eager (1 image)": (lambda: keras_io_grad_cam(grad_model, one[0], size), 1),
    }
    try:
        from tf_keras_vis.gradcam import Gradcam
        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
        from tf_keras_vis.utils.scores import CategoricalScore
    except ImportError:  # pragma: no cover - optional dependency
        has_tkv = False
    else:
        has_tkv = True
        visualizer = Gradcam(functional_twin(model), model_modifier=ReplaceToLinear(), clone=True)
        classes = get_explainer(model).explain(images).class_indices

        def tkv(batch, targets):
            return visualizer(CategoricalScore(list(targets)), batch, penultimate_layer=layer,
                              seek_penultimate_conv_layer=False)

        methods["tf-keras-vis `Gradcam` (1 image)"] = (lambda: tkv(one, classes[:1]), 1)
        methods["tf-keras-vis `Gradcam` (batch of 32, per image)"] = (lambda: tkv(images, classes), 32)

    times = _interleaved(methods, repeats)
    rows = [(label, float(np.median(values))) for label, values in times.items()]
    if not has_tkv:  # pragma: no cover
        rows.append(("tf-keras-vis `Gradcam` (not installed)", float("nan")))

    def paired(numerator: str, denominator: str) -> float:
        if numerator not in times or denominator not in times:
            return float("nan")
        return float(np.median(times[numerator] / times[denominator]))

    ours, loop, batch = ("**ours** `grad_cam` (1 image)", "**ours** `grad_cam`, loop of 32 single calls (per image)",
                         "**ours** `grad_cam` (batch of 32, per image)")
    forward_one, forward_batch = "forward pass, compiled (1 image)", "forward pass, compiled (batch of 32, per image)"
    ratios = {
        "grad_cam_vs_forward": paired(ours, forward_one),
        "speedup_vs_tf_keras_vis": paired("tf-keras-vis `Gradcam` (1 image)", ours),
        "speedup_vs_keras_io": paired("keras.io example code path, eager (1 image)", ours),
        "batch_vs_loop": paired(loop, batch),
        "forward_batch_vs_single": paired(forward_one, forward_batch),
    }
    return rows, ratios, f"`{name}` ({weights}; layer `{layer}`, {size[0]}×{size[1]} input)"


def _two_outputs(model: keras.Model, layer: str):
    """Inputs and [feature map, logits] outputs, as the keras.io example builds its grad model."""
    from helpers.layers import intermediate_model

    extractor = intermediate_model(model, [layer], pre_softmax=True)
    return extractor.inputs, extractor.outputs


def run(quick: bool = False) -> str:
    """Time Grad-CAM on the bundled models; return a Markdown report with one table per model.

    Args:
        quick: fewer repetitions (for CI); the ratios are noisier.

    Returns:
        Markdown text: a table of milliseconds per image for each method, then the ratios
        against the targets (one Grad-CAM ≤ 1.2× a forward pass, ≥ 3× faster than tf-keras-vis,
        batch throughput ≥ 2× the one-at-a-time loop).

    Taught in: ``03_class_activation_maps``.
    """
    repeats = 5 if quick else 25
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    out = [f"## Grad-CAM cost ({cores} CPU cores, TensorFlow {tf.__version__}; median of {repeats} "
           "round-robin runs; ratios are medians of per-round ratios)", ""]
    for name in ("vgg_gap", "small_convnet"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmptyHeatmapWarning)  # timing only; maps are not shown
            rows, ratios, title = _benchmark_model(name, repeats)
        t_forward = rows[0][1]
        out += [f"### {title}", "", "| method | ms per image | × forward pass |", "|---|---:|---:|"]
        out += [f"| {label} | {ms:.1f} | {ms / t_forward:.2f} |" for label, ms in rows]
        out += [
            "",
            "| check | measured | target | met |",
            "|---|---:|---:|:-:|",
            _check("one Grad-CAM / one forward pass", ratios["grad_cam_vs_forward"], "≤ 1.2",
                   ratios["grad_cam_vs_forward"] <= TARGETS["grad_cam_vs_forward"]),
            _check("tf-keras-vis time / ours (1 image)", ratios["speedup_vs_tf_keras_vis"], "≥ 3",
                   ratios["speedup_vs_tf_keras_vis"] >= TARGETS["speedup_vs_tf_keras_vis"]),
            _check("keras.io path time / ours (1 image)", ratios["speedup_vs_keras_io"], "—", None),
            _check("batch-of-32 throughput / loop throughput", ratios["batch_vs_loop"], "≥ 2",
                   ratios["batch_vs_loop"] >= TARGETS["batch_vs_loop"]),
            _check("ceiling: forward batch-of-32 / single throughput", ratios["forward_batch_vs_single"], "—", None),
            "",
        ]
    out += _keras_applications_ratio(max(5, repeats // 2))
    return "\n".join(out)


def _check(label: str, value: float, target: str, met: bool | None) -> str:
    mark = "—" if met is None else ("yes" if met else "**no**")
    return f"| {label} | {value:.2f} | {target} | {mark} |"


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(run(quick="--quick" in sys.argv))
