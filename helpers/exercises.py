"""Checked exercises: one checker per exercise of the chapters.

Each exercise asks the student to write a small function. Its checker calls that function on
inputs of its own (seeded, so the feedback is reproducible), compares the result with the
course's reference computation and returns a :class:`Feedback`: *correct*, or *not yet* with a
hint. Common mistakes (a missing bias, a sum instead of a mean, a descent instead of an ascent,
...) are recognised and named; the expected values are never printed, so a checker cannot be
used to read the answer off.

The solutions live apart, in ``notebooks/solutions/`` (the tests run the checkers on them).

Taught in: ``01_intermediate_activations`` (:func:`check_conv_params`,
:func:`check_feature_map_side`, :func:`check_layer_sparsity`), ``02_filter_visualization``
(:func:`check_filter_loss`, :func:`check_ascent_step`, :func:`check_silent_filters`),
``03_class_activation_maps`` (:func:`check_class_score`, :func:`check_cam_map`,
:func:`check_grad_cam_weights`), ``04_beyond_grad_cam`` (:func:`check_energy_share`,
:func:`check_smooth_grad_map`, :func:`check_ig_attributions`) and ``05_shortcut_lab`` (:func:`check_cell_ceiling`,
:func:`check_uninformative_agreement`, :func:`check_model_contrast`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

import numpy as np

__all__ = [
    "EXERCISES",
    "Feedback",
    "check_ascent_step",
    "check_cam_map",
    "check_cell_ceiling",
    "check_class_score",
    "check_conv_params",
    "check_energy_share",
    "check_feature_map_side",
    "check_filter_loss",
    "check_grad_cam_weights",
    "check_ig_attributions",
    "check_layer_sparsity",
    "check_model_contrast",
    "check_silent_filters",
    "check_uninformative_agreement",
    "check_smooth_grad_map",
]


@dataclasses.dataclass(frozen=True)
class Feedback:
    """A checker's verdict.

    Attributes:
        passed: ``True`` when the function gave the right result on every test case.
        message: what to do next (a hint), or how many cases were checked. Never the answer.

    ``bool(feedback)`` is ``passed``; in a notebook the feedback shows as one line.

    Taught in: all three chapters (their exercises).
    """

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return ("✅ Correct. " if self.passed else "❌ Not yet. ") + self.message

    __str__ = __repr__


_NOT_STARTED = "Replace `raise NotImplementedError` with your code, then run this cell again."


def _call(fn: Callable, *args: Any) -> tuple[Any, Feedback | None]:
    """Call the student's function; turn an exception or a missing return into feedback."""
    if not callable(fn):
        return None, Feedback(False, f"Pass your function itself (its name, without parentheses), "
                                     f"not a {type(fn).__name__}.")
    try:
        result = fn(*args)
    except NotImplementedError:
        return None, Feedback(False, _NOT_STARTED)
    except Exception as error:  # the student's code: report, do not crash the notebook
        return None, Feedback(False, f"Your function raised {type(error).__name__}: {error}")
    if result is None:
        return None, Feedback(False, "Your function returned None: did you forget `return`?")
    return result, None


def _close(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    try:
        a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _judge(cases: Iterable[tuple[tuple, Any, dict[str, Any]]], fn: Callable, generic_hint: str,
           compare: Callable[[Any, Any], bool] = _close) -> Feedback:
    """Run every case; the first wrong answer decides the hint (a known mistake, or the generic one).

    Each case is ``(arguments, expected, mistakes)`` where ``mistakes`` maps a hint to what that
    mistake would have returned.
    """
    cases = list(cases)
    for args, expected, mistakes in cases:
        result, problem = _call(fn, *(np.copy(a) if isinstance(a, np.ndarray) else a for a in args))
        if problem is not None:
            return problem
        if compare(result, expected):
            continue
        for hint, wrong in mistakes.items():
            if compare(result, wrong):
                return Feedback(False, hint)
        expected_shape = np.shape(expected)
        if np.shape(result) != expected_shape:
            return Feedback(False, f"Your result has shape {np.shape(result)}; the expected result has shape "
                                   f"{expected_shape}. {generic_hint}")
        return Feedback(False, generic_hint)
    return Feedback(True, f"Your function gives the right result on all {len(cases)} test cases.")


# --------------------------------------------------------------------------- chapter 1
def check_conv_params(conv_params: Callable[[int, int, int], int]) -> Feedback:
    """Exercise 1.1: the number of parameters of a ``Conv2D`` layer.

    Args:
        conv_params: the student's ``conv_params(kernel_size, in_channels, filters)``, returning
            the number of trainable parameters of a ``Conv2D(filters, kernel_size)`` layer (square
            kernel, with bias) applied to maps with ``in_channels`` channels.

    Returns:
        :class:`Feedback`.

    Taught in: ``01_intermediate_activations``.
    """
    cases = []
    for k, c, f in [(5, 64, 16), (3, 3, 32), (1, 7, 10), (3, 128, 128)]:
        expected = f * (k * k * c + 1)
        cases.append(((k, c, f), expected, {
            "Each filter also has one bias: count it.": f * k * k * c,
            "A filter looks at all the input channels at once: its kernel is k × k × in_channels.": f * (k * k + 1),
            "One bias per filter, not one for the whole layer.": f * k * k * c + 1,
            "A kernel_size of k means a k × k window: square it.": f * (k * c + 1),
        }))
    return _judge(cases, conv_params, "Count, for one filter, its kernel's weights (window × input channels) and its "
                                      "bias; then multiply by the number of filters.",
                  compare=lambda a, b: _close(a, b, rtol=0, atol=0))


def check_feature_map_side(feature_map_side: Callable[[int, int], int]) -> Feedback:
    """Exercise 1.2: the side of the maps after ``n`` blocks of ``small_convnet``.

    Args:
        feature_map_side: the student's ``feature_map_side(input_side, n_blocks)``: the side of
            the feature maps after ``n_blocks`` blocks of (3 × 3 'valid' convolution, then 2 × 2
            max pooling), starting from a square image of ``input_side`` pixels.

    Returns:
        :class:`Feedback`.

    Taught in: ``01_intermediate_activations``.
    """
    def reference(side: int, n: int, shrink: int = 2, floor: bool = True, pool: bool = True) -> float:
        for _ in range(n):
            side = side - shrink
            if pool:
                side = side // 2 if floor else side / 2
        return side

    cases = []
    for side, n in [(150, 1), (150, 4), (64, 2), (101, 3), (33, 2)]:
        cases.append(((side, n), reference(side, n), {
            "A 3 × 3 'valid' convolution has no position for the outermost pixel row and column on each side: "
            "it shrinks the map before the pooling halves it.": reference(side, n, shrink=0),
            "Pooling 2 × 2 drops a last odd row or column: round down after every halving.":
                reference(side, n, floor=False),
            "A 3 × 3 'valid' convolution loses one pixel on *each* side.": reference(side, n, shrink=1),
            "Each block ends with a 2 × 2 max pooling, which halves the side.": reference(side, n, pool=False),
        }))
    return _judge(cases, feature_map_side, "Follow one block at a time: first the convolution, then the pooling.",
                  compare=lambda a, b: _close(a, b, rtol=0, atol=0))


def check_layer_sparsity(layer_sparsity: Callable[[np.ndarray], tuple[float, float]]) -> Feedback:
    """Exercise 1.3: a layer's sparsity, by hand, with NumPy.

    Args:
        layer_sparsity: the student's ``layer_sparsity(maps)`` taking one image's feature maps
            ``(height, width, channels)`` and returning ``(zero_fraction, blank_fraction)``: the
            share of activations that are exactly 0, and the share of channels that are 0 at
            every position (both between 0 and 1), as :func:`helpers.sparsity` defines them.

    Returns:
        :class:`Feedback`.

    Taught in: ``01_intermediate_activations``.
    """
    rng = np.random.default_rng(7)
    cases = []
    for h, w, c, p_zero, p_blank in [(6, 5, 8, 0.6, 0.25), (9, 9, 16, 0.85, 0.3), (4, 7, 5, 0.3, 0.2)]:
        maps = np.maximum(rng.normal(0, 1, (h, w, c)), 0) * (rng.random((h, w, c)) > p_zero - 0.5)
        maps[..., rng.permutation(c)[:max(1, int(p_blank * c))]] = 0
        maps[0, 0, np.flatnonzero(maps.any(axis=(0, 1)))[:1]] = -0.0  # a negative zero is a zero too
        zero = maps == 0
        expected = (zero.mean(), zero.all(axis=(0, 1)).mean())
        cases.append(((maps.astype("float32"),), expected, {
            "You measured the share of *non-zero* activations: count the zeros.": (1 - expected[0], 1 - expected[1]),
            "Give shares between 0 and 1, not percentages.": (100 * expected[0], 100 * expected[1]),
            "A blank channel is zero at *every* position of its map: reduce over height and width, "
            "then average over the channels.": (expected[0], zero.all(axis=-1).mean()),
            "A blank channel is zero at every position, not somewhere: use `.all`, not `.any`.":
                (expected[0], zero.any(axis=(0, 1)).mean()),
            "Return the zero share first, then the blank-channel share.": (expected[1], expected[0]),
        }))
    return _judge(cases, layer_sparsity, "Compare the maps with 0 (`maps == 0`); the mean of a boolean array is the "
                                         "share of True values.")


# --------------------------------------------------------------------------- chapter 2
def check_filter_loss(filter_loss: Callable[[np.ndarray, int, int], float]) -> Feedback:
    """Exercise 2.1: the chapter's loss, the mean activation of one filter, border left out.

    Args:
        filter_loss: the student's ``filter_loss(activation, filter_index, border)`` taking one
            image's layer output ``(height, width, filters)`` and returning the mean of channel
            ``filter_index`` over the map, the ``border`` outer rows and columns on every side
            left out (``border=0``: the whole map).

    Returns:
        :class:`Feedback`.

    Taught in: ``02_filter_visualization``.
    """
    rng = np.random.default_rng(11)
    cases = []
    for h, c, f, border in [(16, 8, 3, 2), (12, 5, 0, 1), (9, 4, 2, 0), (20, 6, 5, 3)]:
        a = rng.normal(0.5, 1.0, (h, h, c)).astype("float32")
        a[0, :, f] += 5  # the edge differs, as with zero padding
        inner = a[border:h - border, border:h - border]
        cases.append(((a, f, border), float(inner[..., f].mean()), {
            "Leave the border out: drop `border` rows and columns on *every* side before averaging.":
                float(a[..., f].mean()),
            "Average one channel only, the filter's own (`[..., filter_index]`).": float(inner.mean()),
            "With border=0, `a[0:-0]` is empty: slice with `a[border:height - border]` instead.": float("nan"),
            "The loss is the mean, not the sum: the sum grows with the size of the image.": float(inner[..., f].sum()),
        }))
    return _judge(cases, filter_loss, "Slice the map to its interior, pick the filter's channel, take the mean.",
                  compare=lambda a, b: _close(a, b) or (np.ndim(a) == 0 and np.isnan(b) and np.isnan(float(a))))


def check_ascent_step(ascent_step: Callable[[np.ndarray, np.ndarray, float], np.ndarray]) -> Feedback:
    """Exercise 2.2: one step of gradient ascent, I ← I + η · g / RMS(g).

    Args:
        ascent_step: the student's ``ascent_step(image, gradient, step_size)`` returning the new
            image: the gradient divided by its root mean square (plus ``1e-8``, for a zero
            gradient), times ``step_size``, *added* to the image.

    Returns:
        :class:`Feedback`.

    Taught in: ``02_filter_visualization``.
    """
    rng = np.random.default_rng(5)
    cases = []
    for shape, eta, scale in [((8, 8, 3), 2.0, 1e-5), ((5, 7, 3), 0.5, 3.0), ((4, 4, 3), 1.0, 0.0)]:
        image = rng.uniform(100, 150, shape).astype("float32")
        g = (rng.normal(0, 1, shape) * scale).astype("float32")
        rms = np.sqrt(np.mean(g**2))
        expected = image + eta * g / (rms + 1e-8)
        mistakes = {
            "Gradient *ascent*: add the step, do not subtract it.": image - eta * g / (rms + 1e-8),
            "Normalize the gradient first (divide it by its root mean square): its raw size changes by orders "
            "of magnitude during the ascent.": image + eta * g,
            "Divide by the root *mean* square, not the square root of the sum (the L2 norm): then a step of "
            "step_size changes the pixels by about step_size grey levels, whatever the image size.":
                image + eta * g / (np.sqrt(np.sum(g**2)) + 1e-8),
        }
        if scale == 0.0:
            mistakes = {"A zero gradient must not give NaN: add 1e-8 to the root mean square before dividing.":
                        np.full(shape, np.nan)}
        cases.append(((image, g, eta), expected, mistakes))
    return _judge(cases, ascent_step, "new image = image + step_size × gradient / (RMS of the gradient + 1e-8).",
                  compare=lambda a, b: _close(a, b, rtol=1e-4, atol=1e-3) or (
                      np.shape(a) == np.shape(b) and bool(np.all(np.isnan(b))) and bool(np.any(np.isnan(a)))))


def check_silent_filters(silent_filters: Callable[[np.ndarray, int], np.ndarray]) -> Feedback:
    """Exercise 2.3: which filters are silent on the starting image (and would stay blank).

    Args:
        silent_filters: the student's ``silent_filters(activation, border)`` taking one image's
            layer output ``(height, width, filters)`` (after the ReLU) and returning the sorted
            indices of the filters that are 0 at every position of the interior (``border``
            outer rows and columns left out on every side): those whose gradient is zero.

    Returns:
        :class:`Feedback`.

    Taught in: ``02_filter_visualization``.
    """
    rng = np.random.default_rng(3)
    cases = []
    for h, c, border in [(12, 10, 2), (10, 16, 1), (8, 6, 0)]:
        a = np.maximum(rng.normal(-0.3, 1.0, (h, h, c)), 0).astype("float32")
        silent = rng.permutation(c)[: c // 3]
        a[..., silent] = 0
        edge_only = [i for i in range(c) if i not in silent][:1]
        if border:
            a[border:h - border, border:h - border, edge_only] = 0
            a[0, 0, edge_only] = 1.0  # fires at the edge only: silent for the loss
        inner = a[border:h - border, border:h - border]
        expected = np.flatnonzero(~inner.any(axis=(0, 1)))
        mistakes = {
            "Judge the interior only, the part the loss measures: a filter that fires only in the border has "
            "zero gradient too.": np.flatnonzero(~a.any(axis=(0, 1))),
            "Return the *silent* filters (all zeros), not the ones that fire.": np.flatnonzero(inner.any(axis=(0, 1))),
            "A filter is silent when it is zero at *every* position, not at some position.":
                np.flatnonzero((inner == 0).any(axis=(0, 1))),
        }
        cases.append(((a, border), expected, mistakes))

    def same_indices(a: Any, b: Any) -> bool:
        try:
            return np.array_equal(np.sort(np.asarray(a, dtype=int).ravel()), np.asarray(b))
        except (TypeError, ValueError):
            return False

    return _judge(cases, silent_filters, "A filter is silent when its interior map is all zeros; "
                                         "`np.flatnonzero` turns a boolean per filter into indices.",
                  compare=same_indices)


# --------------------------------------------------------------------------- chapter 3
def _cam_inputs(seed: int, h: int, k: int, classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    maps = np.maximum(rng.normal(0.2, 1.0, (h, h, k)), 0).astype("float32")
    weights = rng.normal(0, 0.5, (k, classes)).astype("float32")
    bias = rng.normal(0, 1, classes).astype("float32")
    return maps, weights, bias


def check_class_score(class_score: Callable[[np.ndarray, np.ndarray, np.ndarray, int], float]) -> Feedback:
    """Exercise 3.1: the logit of a GAP model, from the last feature maps and the Dense layer.

    Args:
        class_score: the student's ``class_score(maps, weights, bias, class_index)`` taking the
            last convolution's maps ``A`` ``(height, width, K)``, the Dense layer's kernel
            ``(K, classes)`` and bias ``(classes,)``, and returning ``y^c``, the score of class
            ``class_index`` before the softmax.

    Returns:
        :class:`Feedback`.

    Taught in: ``03_class_activation_maps``.
    """
    cases = []
    for seed, h, k, classes, c in [(0, 9, 16, 6, 3), (1, 5, 8, 3, 0), (2, 7, 32, 10, 9)]:
        maps, weights, bias = _cam_inputs(seed, h, k, classes)
        gap = maps.mean(axis=(0, 1))
        expected = float(gap @ weights[:, c] + bias[c])
        logits = gap @ weights + bias
        cases.append(((maps, weights, bias, c), expected, {
            "Global *average* pooling: the mean of each map, not its sum.": float(maps.sum(axis=(0, 1)) @ weights[:, c] + bias[c]),
            "Add the class's bias.": float(gap @ weights[:, c]),
            "The score is before the softmax (the logit), not a probability.":
                float(np.exp(logits - logits.max())[c] / np.exp(logits - logits.max()).sum()),
            "Global average pooling, not global max pooling.": float(maps.max(axis=(0, 1)) @ weights[:, c] + bias[c]),
        }))
    return _judge(cases, class_score, "Average each map over its positions (one number per map), weigh those numbers "
                                      "with the class's column of weights, add the class's bias.")


def check_cam_map(cam_map: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> Feedback:
    """Exercise 3.2: the class activation map of one class, with NumPy.

    Args:
        cam_map: the student's ``cam_map(maps, weights, class_index)`` taking the maps
            ``(height, width, K)`` and the Dense kernel ``(K, classes)`` and returning the
            ``(height, width)`` CAM as ``helpers.cam(..., upsample=False)`` does: the weighted
            sum of the maps, its positive part, divided by its maximum.

    Returns:
        :class:`Feedback`.

    Taught in: ``03_class_activation_maps``.
    """
    cases = []
    for seed, h, k, classes, c in [(3, 9, 16, 6, 2), (4, 6, 8, 4, 1), (5, 7, 24, 5, 4)]:
        maps, weights, _ = _cam_inputs(seed, h, k, classes)
        raw = maps @ weights[:, c]
        positive = np.maximum(raw, 0)
        expected = positive / positive.max()
        other = (c + 1) % classes
        cases.append(((maps, weights, c), expected, {
            "Keep only the positive part (a ReLU) before normalizing.": raw / raw.max(),
            "Divide by the maximum, so that the map ends at 1.": positive,
            "Use the weights of the asked class: the column `weights[:, class_index]`.":
                np.maximum(maps @ weights[:, other], 0) / max(np.maximum(maps @ weights[:, other], 0).max(), 1e-12),
            "Weigh the maps, do not just average them: every map k has its own weight for the class.":
                maps.mean(axis=-1) / maps.mean(axis=-1).max(),
        }))
    return _judge(cases, cam_map, "Weighted sum over the maps (`maps @ weights[:, class_index]`), then the ReLU, "
                                  "then divide by the maximum.", compare=lambda a, b: _close(a, b, atol=1e-4))


def check_grad_cam_weights(grad_cam_weights: Callable[[np.ndarray], np.ndarray]) -> Feedback:
    """Exercise 3.3: Grad-CAM's weights α_k^c from the gradients of the class score.

    Args:
        grad_cam_weights: the student's ``grad_cam_weights(grads)`` taking ∂y^c/∂A, shape
            ``(height, width, K)``, and returning the ``(K,)`` weights
            α_k^c = (1/Z) Σ_ij ∂y^c/∂A_ij^k.

    Returns:
        :class:`Feedback`.

    Taught in: ``03_class_activation_maps``.
    """
    rng = np.random.default_rng(9)
    cases = []
    for h, w, k in [(9, 9, 16), (7, 5, 8), (14, 14, 4)]:
        grads = rng.normal(0, 1, (h, w, k)).astype("float32")
        expected = grads.mean(axis=(0, 1))
        cases.append(((grads,), expected, {
            "Average over the positions (1/Z Σ), do not only sum: Z = height × width.": grads.sum(axis=(0, 1)),
            "Keep the sign of the gradients: a negative weight means the map argues against the class.":
                np.abs(grads).mean(axis=(0, 1)),
            "The ReLU comes later, on the weighted sum of the maps, not on the weights.":
                np.maximum(expected, 0),
        }))
    return _judge(cases, grad_cam_weights, "One weight per map: average that map's gradients over its height and width.")


# --------------------------------------------------------------------------- chapter 4
def check_energy_share(energy_share: Callable[[np.ndarray, np.ndarray], float]) -> Feedback:
    """Exercise 4.1: the share of a heatmap's mass that lies on the object (energy in mask).

    Args:
        energy_share: the student's ``energy_share(heatmap, mask)`` taking a ``(H, W)`` map of
            non-negative values and a ``(H, W)`` boolean mask, returning ``Σ map·mask / Σ map``.

    Returns:
        :class:`Feedback`.

    Taught in: ``04_beyond_grad_cam``.
    """
    rng = np.random.default_rng(41)
    cases = []
    for h, w in [(10, 10), (12, 7), (20, 20)]:
        heatmap = rng.uniform(0, 1, (h, w)) ** 3
        mask = np.zeros((h, w), bool)
        mask[h // 4:h // 2 + 2, w // 5:w // 2 + 1] = True
        expected = float((heatmap * mask).sum() / heatmap.sum())
        cases.append(((heatmap, mask), expected, {
            "Divide by the mass of the whole map, not by the number of pixels inside the mask.":
                float((heatmap * mask).sum() / mask.sum()),
            "That is the share of the *image* the object covers: weigh each pixel by the heatmap.": float(mask.mean()),
            "Divide by the whole map's mass, not by the mass outside the object.":
                float((heatmap * mask).sum() / (heatmap * ~mask).sum()),
        }))
    return _judge(cases, energy_share, "Sum the heatmap over the mask's pixels, divide by the sum over all pixels.")


def check_smooth_grad_map(smooth_grad_map: Callable[[np.ndarray], np.ndarray]) -> Feedback:
    """Exercise 4.2: SmoothGrad's map from the gradients of the noisy copies.

    Args:
        smooth_grad_map: the student's ``smooth_grad_map(gradients)`` taking the gradients of
            ``S`` noisy copies, shape ``(S, H, W, 3)``, and returning the ``(H, W)`` map: the mean
            over the copies, then its absolute value, then the maximum over the colours.

    Returns:
        :class:`Feedback`.

    Taught in: ``04_beyond_grad_cam``.
    """
    rng = np.random.default_rng(42)
    cases = []
    for s, h, w in [(8, 6, 6), (3, 9, 5), (16, 4, 4)]:
        gradients = rng.normal(0, 1, (s, h, w, 3))
        expected = np.abs(gradients.mean(axis=0)).max(axis=-1)
        cases.append(((gradients,), expected, {
            "Average the signed gradients first, then take the absolute value (|·| first is another, "
            "larger map; it is what tf-keras-vis computes).": np.abs(gradients).mean(axis=0).max(axis=-1),
            "Average over the copies (axis 0), do not sum them.": np.abs(gradients.sum(axis=0)).max(axis=-1),
            "Take the largest of the three colours, not their sum.": np.abs(gradients.mean(axis=0)).sum(axis=-1),
            "Keep the magnitude: take the absolute value of the mean gradient.": gradients.mean(axis=0).max(axis=-1),
        }))
    return _judge(cases, smooth_grad_map, "Mean over the copies (axis 0), absolute value, then max over the colours.")


def check_ig_attributions(ig_attributions: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> Feedback:
    """Exercise 4.3: Integrated Gradients from the mean gradient along the path.

    Args:
        ig_attributions: the student's ``ig_attributions(image, baseline, mean_gradients)``,
            each ``(H, W, 3)``, returning the ``(H, W)`` map ``Σ_colours (x − x') · ḡ``.

    Returns:
        :class:`Feedback`.

    Taught in: ``04_beyond_grad_cam``.
    """
    rng = np.random.default_rng(43)
    cases = []
    for h, w in [(5, 5), (8, 3), (12, 12)]:
        image = rng.uniform(0, 255, (h, w, 3))
        baseline = np.full((h, w, 3), 127.5) if h == 8 else np.zeros((h, w, 3))
        gradients = rng.normal(0, 0.01, (h, w, 3))
        expected = ((image - baseline) * gradients).sum(axis=-1)
        cases.append(((image, baseline, gradients), expected, {
            "Multiply by the path's length (image − baseline), not by the image alone.":
                (image * gradients).sum(axis=-1),
            "Multiply the gradients by (image − baseline): the gradients alone are saliency.": gradients.sum(axis=-1),
            "Sum over the colours, keeping the signs: completeness needs the signed attributions.":
                np.abs((image - baseline) * gradients).sum(axis=-1),
            "Sum the three colours, do not average them (the sum over all pixels must give the score difference).":
                ((image - baseline) * gradients).mean(axis=-1),
        }))
    return _judge(cases, ig_attributions, "(image − baseline) × mean gradient, summed over the colours.",
                  compare=lambda a, b: _close(a, b, atol=1e-5))


# --------------------------------------------------------------------------- chapter 5
def _heatmaps_and_masks(seed: int, n: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded heatmaps in [0, 1] (each with its maximum at 1) and bool masks covering 10-40 %."""
    rng = np.random.default_rng(seed)
    maps = rng.random((n, side, side)) ** 2
    maps /= maps.max(axis=(1, 2), keepdims=True)
    masks = rng.random((n, side, side)) < rng.uniform(0.1, 0.4, (n, 1, 1))
    masks[:, 0, 0] = True  # never empty
    return maps.astype("float32"), masks


def _share(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    return (maps * masks).reshape(len(maps), -1).sum(axis=1) / maps.reshape(len(maps), -1).sum(axis=1)


def _cell_shares(mask: np.ndarray, cell: int) -> np.ndarray:
    """The share of each ``cell``×``cell`` block of ``mask`` that is True."""
    h, w = mask.shape
    return mask.reshape(h // cell, cell, w // cell, cell).mean(axis=(1, 3))


def _ceiling_cases() -> list[tuple[np.ndarray, int]]:
    """Cue masks (tags, frames, a random blob) and cell sizes, the sizes multiples of the cells."""
    cases = []
    for size, cell, top, left, side in [(64, 8, 2, 2, 8), (64, 8, 54, 54, 8), (16, 4, 1, 1, 4), (16, 4, 4, 8, 4),
                                        (24, 6, 3, 14, 5)]:
        tag = np.zeros((size, size), bool)
        tag[top:top + side, left:left + side] = True
        cases.append((tag, cell))
    for size, cell, width in [(64, 8, 1), (32, 4, 2), (24, 8, 3)]:
        frame = np.ones((size, size), bool)
        frame[width:size - width, width:size - width] = False
        cases.append((frame, cell))
    blob = np.random.default_rng(31).random((20, 20)) < 0.2
    cases.append((blob, 5))
    return cases


def check_cell_ceiling(cell_ceiling: Callable[[np.ndarray, int], float]) -> Feedback:
    """Exercise 5.1: the largest share of a coarse map's mass that can lie on a cue.

    Args:
        cell_ceiling: the student's ``cell_ceiling(cue_mask, cell)`` taking one ``(H, W)`` bool
            mask of a cue and the side ``cell`` of the square cells a map is constant on (``H``
            and ``W`` multiples of ``cell``), and returning the largest share of such a map's
            mass that can lie on the cue (a number in [0, 1]).

    Returns:
        :class:`Feedback`.

    Taught in: ``05_shortcut_lab``.
    """
    cases = []
    for mask, cell in _ceiling_cases():
        blocks = _cell_shares(mask, cell)
        counts = blocks * cell * cell
        expected = float(blocks.max())
        cases.append(((mask, cell), expected, {
            "That is the cue's share of the whole image: what a map spread evenly over every pixel would give. "
            "A coarse map can do better: where would you pour all of its mass?": float(mask.mean()),
            "That is a number of pixels, not a share: a share lies between 0 and 1.": float(counts.max()),
            "That averages over the cells that touch the cue; the best map puts all of its mass into a single "
            "cell. Which one?": float(blocks[blocks > 0].mean()),
            "That is the share of the cue that one cell covers; the question is the other way round: what share "
            "of one cell's mass lands on the cue?": float(counts.max() / mask.sum()),
        }))
    return _judge(cases, cell_ceiling,
                  "Imagine a map that puts all of its mass into one cell, spread evenly over that cell's pixels: "
                  "what share of it lands on the cue, and which cell makes that share largest? Section 2's "
                  "paragraph on Grad-CAM's cells may help.")


def check_uninformative_agreement(uninformative_agreement: Callable[[int], float]) -> Feedback:
    """Exercise 5.2: design a tag the model cannot exploit.

    Args:
        uninformative_agreement: the student's ``uninformative_agreement(num_classes)``
            returning the ``agreement`` of ``helpers.make_tagged_shapes`` (the share of tags in
            their label's colour, the others in one of the other colours at random) at which a
            tag's colour tells nothing about the label, for ``num_classes`` classes.

    Returns:
        :class:`Feedback`.

    Taught in: ``05_shortcut_lab``.
    """
    cases = []
    for n in (6, 2, 10, 3):
        cases.append(((n,), 1.0 / n, {
            "A tag that is never right still informs: its colour rules one class out. Which agreement makes every "
            "colour as likely as every other, whatever the shape?": 0.0,
            "Half right is far from useless: a model that trusts the tag wins half the time, more than by guessing.": 0.5,
            "That is where the tag gives the answer away.": 1.0,
            "Close: count the label's own colour among the colours too.": 1.0 / (n - 1),
        }))
    return _judge(cases, uninformative_agreement,
                  "The tag is useless when, for every shape, every colour is equally likely. "
                  "`helpers.tag_information(agreement)` measures how many bits a tag still carries.",
                  compare=lambda a, b: _close(a, b, rtol=1e-3, atol=1e-4))


def check_model_contrast(model_contrast: Callable[[np.ndarray, np.ndarray, np.ndarray], float]) -> Feedback:
    """Exercise 5.3: the model-contrast score of Yang & Kim (2019) on shape masks.

    Args:
        model_contrast: the student's ``model_contrast(shape_maps, background_maps, masks)``
            taking the heatmaps ``(N, H, W)`` of a model that uses the shape, those of a model
            that uses the background, on the same images, and the shapes' masks ``(N, H, W)``;
            returning the mean over images of the share of heatmap mass on the shape for the
            shape model, minus the same mean for the background model.

    Returns:
        :class:`Feedback`.

    Taught in: ``05_shortcut_lab``.
    """
    cases = []
    for seed, n, side in [(21, 4, 12), (22, 6, 8), (23, 3, 16)]:
        shape_maps, masks = _heatmaps_and_masks(seed, n, side)
        background_maps, _ = _heatmaps_and_masks(seed + 100, n, side)
        shape_maps = shape_maps * np.where(masks, 1.0, 0.3).astype("float32")  # the shape model looks at the shape
        background_maps = background_maps * np.where(masks, 0.3, 1.0).astype("float32")
        a, b = _share(shape_maps, masks), _share(background_maps, masks)
        expected = float(a.mean() - b.mean())
        pooled = float((shape_maps * masks).sum() / shape_maps.sum() - (background_maps * masks).sum() / background_maps.sum())
        cases.append(((shape_maps, background_maps, masks), expected, {
            "The sign is reversed: the shape model's share comes first.": -expected,
            "Use each heatmap's share of mass on the shape, not its mean value on the shape.":
                float(np.mean([s[m].mean() for s, m in zip(shape_maps, masks)])
                      - np.mean([g[m].mean() for g, m in zip(background_maps, masks)])),
            "Take the share per image, then average over the images: every image counts the same.": pooled,
            "The score is a difference of the two models' shares, not a ratio.": float(a.mean() / b.mean()),
        }))
    return _judge(cases, model_contrast, "Re-read the definition of the contrast above the table of every method: which "
                                         "two numbers does it subtract, and what is each one averaged over?")


EXERCISES: dict[str, tuple[int, Callable[[Callable], Feedback]]] = {
    "conv_params": (1, check_conv_params),
    "feature_map_side": (1, check_feature_map_side),
    "layer_sparsity": (1, check_layer_sparsity),
    "filter_loss": (2, check_filter_loss),
    "ascent_step": (2, check_ascent_step),
    "silent_filters": (2, check_silent_filters),
    "class_score": (3, check_class_score),
    "cam_map": (3, check_cam_map),
    "grad_cam_weights": (3, check_grad_cam_weights),
    "energy_share": (4, check_energy_share),
    "smooth_grad_map": (4, check_smooth_grad_map),
    "ig_attributions": (4, check_ig_attributions),
    "cell_ceiling": (5, check_cell_ceiling),
    "uninformative_agreement": (5, check_uninformative_agreement),
    "model_contrast": (5, check_model_contrast),
}
"""Every exercise: the name of the function the student writes -> (chapter, its checker)."""
