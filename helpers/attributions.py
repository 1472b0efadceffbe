"""Pixel attributions: which pixels, changed a little or hidden, change the class score?

The CAM family (:mod:`helpers.cams`) explains one layer, at that layer's resolution. The
methods here have no layer: they explain the input pixels directly, at the image's own
resolution (``uses_layer = False``), each as one :class:`helpers.explainers.Explainer`:

* :class:`Saliency` (Simonyan et al., 2014): ``max_colour |∂y^c/∂x|``, one backward pass.
* :class:`SmoothGrad` (Smilkov et al., 2017): the gradient averaged over ``samples`` noisy copies
  of the image (noise ``σ = noise × 255``), then ``max_colour |·|``. ``noise=0`` is saliency.
* :class:`IntegratedGradients` (Sundararajan et al., 2017): ``(x − x') · mean_α ∇y(x' + α(x − x'))``
  summed over colours, from a ``baseline`` image ``x'`` in ``steps`` steps (midpoint rule).
  *Completeness*: the attributions sum to ``y(x) − y(x')`` (up to the quadrature error).
* :class:`Occlusion` (Zeiler & Fergus, 2014): slide a ``patch``-pixel square of ``fill`` over the
  image with ``stride``; each pixel gets the mean drop of the class score over the patches
  that cover it. Forward passes only.

All explain the class score before the softmax (``pre_softmax=True``), batch their many passes
(noise samples, interpolation steps and occluded images of one image run as one batch;
``batch_size`` bounds the passes per compiled call) and report their cost in advance through
:func:`helpers.explainers.estimate_cost`.

Taught in: ``04_beyond_grad_cam``.
"""

from __future__ import annotations

import numpy as np

from helpers._backend import keras, tf
from helpers.explainers import Attribution, Explainer
from helpers.inputs import positive_int

__all__ = ["IntegratedGradients", "Occlusion", "Saliency", "SmoothGrad"]


class PixelExplainer(Explainer):
    """Shared part of the pixel methods: no layer, and the gradient of each image's class score."""

    uses_layer = False

    def input_gradients(self, images: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
        """``∂y^c/∂x`` for each image of ``images`` and its class in ``classes`` (graph code).

        The core's forward pass with gradients: without a layer they are taken with respect to the
        images, and classes given explicitly (never ``-1``) are used as they are.
        """
        return self.forward(images, classes, gradients=True)["gradients"]


class Saliency(PixelExplainer):
    """Vanilla gradient saliency (Simonyan et al., 2014): ``max over colours of |∂y^c/∂x|``.

    One backward pass. The map is a magnitude, so on a one-unit sigmoid model both classes give
    the same map.

    Taught in: ``04_beyond_grad_cam``.
    """

    name = "saliency"
    title = "Saliency"
    reference = ("Simonyan et al., 2014, Deep Inside Convolutional Networks: Visualising Image "
                 "Classification Models and Saliency Maps")
    aliases = ("vanilla_gradient", "gradient")
    magnitude = True

    def attribute(self, images, requested):
        forward = self.forward(images, requested, gradients=True)
        maps = tf.reduce_max(tf.abs(forward["gradients"]), axis=-1)
        return Attribution(maps=maps, class_indices=forward.class_indices, scores=forward.scores)


class SmoothGrad(PixelExplainer):
    """SmoothGrad (Smilkov et al., 2017): gradients averaged over noisy copies of the image.

    ``samples`` copies ``x + ε``, ``ε ~ N(0, (noise·255)²)`` (the same seeded noise for every
    image, so a batch equals one image at a time), run as one batch; the mean gradient is then
    shown as ``max over colours of |·|``, like :class:`Saliency` (``noise=0`` gives saliency).

    Args:
        model, pre_softmax, output: as for :class:`helpers.explainers.Explainer`.
        samples: noisy copies per image (``samples + 1`` passes per image).
        noise: the noise's standard deviation as a fraction of the pixel range (0..255); the
            paper finds 0.1–0.2 best.
        seed: seed of the noise.

    Taught in: ``04_beyond_grad_cam``.
    """

    name = "smooth_grad"
    title = "SmoothGrad"
    reference = "Smilkov et al., 2017, SmoothGrad: removing noise by adding noise"
    aliases = ("smoothgrad",)
    magnitude = True

    def __init__(self, model: keras.Model, layer: str | None = None, pre_softmax: bool = True,
                 output: int | str | None = None, input_range: tuple[float, float] | None = None,
                 *, samples: int = 16, noise: float = 0.15, seed: int = 0):
        super().__init__(model, layer, pre_softmax=pre_softmax, output=output, input_range=input_range)
        self.samples = positive_int(samples, "samples")
        if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating, np.integer)) or not \
                0.0 <= float(noise) <= 1.0:
            raise ValueError(f"noise must be a fraction of the pixel range in [0, 1] (e.g. 0.15); got {noise!r}.")
        self.noise = float(noise)
        self.seed = int(seed)

    def passes(self, height: int, width: int) -> int:
        return self.samples + 1

    def attribute(self, images, requested):
        forward = self.forward(images, requested)
        classes = forward["class_indices"]
        shape = tf.shape(images)
        noise = tf.random.stateless_normal(tf.concat([[self.samples], shape[1:]], axis=0), seed=[self.seed, 0],
                                           stddev=self.noise * 255.0, dtype=images.dtype)

        def body(indices, total):  # copies i: image i // samples plus noise sample i % samples
            owner = indices // self.samples
            noisy = tf.gather(images, owner) + tf.gather(noise, indices % self.samples)
            gradients = self.input_gradients(noisy, tf.gather(classes, owner))
            return total + tf.math.unsorted_segment_sum(gradients, owner, shape[0])

        total = self.over_copies(shape[0] * self.samples, body, tf.zeros_like(images))
        gradients = total / float(self.samples)
        return Attribution(maps=tf.reduce_max(tf.abs(gradients), axis=-1), class_indices=classes,
                           scores=forward.scores)


BASELINES = {"black": 0.0, "white": 255.0, "grey": 127.5, "gray": 127.5}
"""Named baselines of :class:`IntegratedGradients` (and pixel values of :class:`Occlusion`'s ``fill``)."""


def _pixel_value(value, what: str, allow_mean: bool = False):
    """A named grey level, a number in 0..255, ``"mean"`` (occlusion) or an image, checked."""
    if isinstance(value, str):
        if value in BASELINES:
            return float(BASELINES[value])
        if allow_mean and value == "mean":
            return "mean"
        names = sorted(BASELINES) + (["mean"] if allow_mean else [])
        raise ValueError(f"Unknown {what} {value!r}: use one of {names}, a pixel value in 0..255 or an image.")
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a name, a pixel value in 0..255 or an image; got {value!r}.")
    array = np.asarray(value, dtype=np.float32)
    if not np.all(np.isfinite(array)) or array.min() < 0.0 or array.max() > 255.0:
        raise ValueError(f"{what} must hold pixel values in 0..255.")
    return float(array) if array.ndim == 0 else array


class IntegratedGradients(PixelExplainer):
    """Integrated Gradients (Sundararajan et al., 2017): gradients along the path from a baseline.

    ``IG_i = (x_i − x'_i) · (1/m) Σ_k ∂y^c/∂x_i (x' + α_k (x − x'))`` with ``α_k = (k + ½)/m``
    (midpoint rule, ``m = steps``), summed over colours. The ``steps`` interpolated images of one
    image run as one batch. *Completeness*: ``Σ_i IG_i ≈ y^c(x) − y^c(x')``; the signed map is
    :attr:`Explanation.raw`, so ``raw.sum()`` can be checked against the score difference.

    Args:
        model, pre_softmax, output: as for :class:`helpers.explainers.Explainer`.
        steps: interpolation steps (``steps + 1`` passes per image); more steps, smaller error.
        baseline: ``"black"`` (default, the paper's), ``"grey"``, ``"white"``, a pixel value in
            0..255, or an image ``(H, W, 3)`` in 0..255.

    Taught in: ``04_beyond_grad_cam``.
    """

    name = "integrated_gradients"
    title = "Integrated Gradients"
    reference = "Sundararajan et al., 2017, Axiomatic Attribution for Deep Networks"
    aliases = ("ig", "integrated_gradient")

    def __init__(self, model: keras.Model, layer: str | None = None, pre_softmax: bool = True,
                 output: int | str | None = None, input_range: tuple[float, float] | None = None,
                 *, steps: int = 32, baseline="black"):
        super().__init__(model, layer, pre_softmax=pre_softmax, output=output, input_range=input_range)
        self.steps = positive_int(steps, "steps")
        self.baseline = _pixel_value(baseline, "baseline")
        if isinstance(self.baseline, np.ndarray):
            self.baseline = self._baseline_image(self.baseline)

    def _baseline_image(self, baseline: np.ndarray) -> np.ndarray:
        """An image baseline checked against the model up front: ``(H, W, C)`` in the model's channels."""
        channels = self.input_shape[2] or 3
        if baseline.ndim == 2:
            baseline = np.repeat(baseline[..., None], channels, axis=-1)
        if baseline.ndim != 3 or baseline.shape[-1] not in (1, 3):
            raise ValueError(
                f"An image baseline must be one image (H, W, 3) or greyscale (H, W); got shape {baseline.shape}."
                + (" RGBA is not a baseline: keep three channels, e.g. baseline[..., :3]."
                   if baseline.ndim == 3 and baseline.shape[-1] == 4 else "")
            )
        if baseline.shape[-1] != channels:  # the rule for images: grey repeated, RGB averaged for a 1-channel model
            baseline = (np.repeat(baseline, channels, axis=-1) if baseline.shape[-1] == 1
                        else baseline.mean(axis=-1, keepdims=True))
        height, width = self.input_shape[:2]
        if (height is not None and baseline.shape[0] != height) or (width is not None and baseline.shape[1] != width):
            raise ValueError(
                f"The baseline is {baseline.shape[0]}×{baseline.shape[1]} but model {self.model_name!r} takes "
                f"{height}×{width} images; resize it, e.g. helpers.resize_image(baseline, ({height}, {width}))."
            )
        return baseline.astype(np.float32)

    def check_batch(self, batch: np.ndarray) -> None:
        if isinstance(self.baseline, np.ndarray) and self.baseline.shape[:2] != batch.shape[1:3]:
            raise ValueError(
                f"The baseline is {self.baseline.shape[0]}×{self.baseline.shape[1]} and the images are "
                f"{batch.shape[1]}×{batch.shape[2]}: they must have the same size; resize one of them."
            )

    def empty_advice(self, batch: np.ndarray, which: list[int]) -> str | None:
        same = [i for i in which if np.allclose(batch[i], self.baseline, atol=0.5)]
        if same:
            return (f"Image(s) {same[:10]} equal the baseline, so every attribution is zero (the path from the "
                    "baseline to the image has length 0): choose another baseline, e.g. baseline='grey'.")
        return None

    def passes(self, height: int, width: int) -> int:
        return self.steps + 1

    def baseline_like(self, images: tf.Tensor) -> tf.Tensor:
        """The baseline image(s), broadcast to ``images`` (graph code)."""
        baseline = tf.constant(self.baseline, images.dtype)
        if baseline.shape.rank == 2:
            baseline = baseline[..., None]
        return tf.zeros_like(images) + baseline

    def attribute(self, images, requested):
        forward = self.forward(images, requested)
        classes = forward["class_indices"]
        shape = tf.shape(images)
        baseline = self.baseline_like(images)
        alphas = (tf.range(self.steps, dtype=images.dtype) + 0.5) / float(self.steps)

        def body(indices, total):  # path point i: image i // steps at alpha i % steps
            owner = indices // self.steps
            start = tf.gather(baseline, owner)
            alpha = tf.gather(alphas, indices % self.steps)[:, None, None, None]
            path = start + alpha * (tf.gather(images, owner) - start)
            gradients = self.input_gradients(path, tf.gather(classes, owner))
            return total + tf.math.unsorted_segment_sum(gradients, owner, shape[0])

        gradients = self.over_copies(shape[0] * self.steps, body, tf.zeros_like(images)) / float(self.steps)
        maps = tf.reduce_sum((images - baseline) * gradients, axis=-1)
        return Attribution(maps=maps, class_indices=classes, scores=forward.scores)


class Occlusion(PixelExplainer):
    """Occlusion (Zeiler & Fergus, 2014): how much the class score drops when a patch is hidden.

    A ``patch × patch`` square of ``fill`` slides over the image with ``stride`` (the last row
    and column of patches touch the border, so every pixel is covered). Pixel ``p`` gets the
    mean of ``y^c(x) − y^c(x with the patch hidden)`` over the patches that cover it: positive
    where hiding it hurts the class. Forward passes only: one per patch position, all the
    occluded copies of an image in one batch.

    Args:
        model, pre_softmax, output: as for :class:`helpers.explainers.Explainer`.
        patch: side of the square in pixels.
        stride: step between patches (default ``patch // 2``).
        fill: ``"grey"`` (default), ``"black"``, ``"white"``, ``"mean"`` (each image's mean
            colour) or a pixel value in 0..255.

    Taught in: ``04_beyond_grad_cam``.
    """

    name = "occlusion"
    title = "Occlusion"
    reference = "Zeiler & Fergus, 2014, Visualizing and Understanding Convolutional Networks"
    gradient_passes = False

    def __init__(self, model: keras.Model, layer: str | None = None, pre_softmax: bool = True,
                 output: int | str | None = None, input_range: tuple[float, float] | None = None,
                 *, patch: int = 20, stride: int | None = None, fill="grey"):
        super().__init__(model, layer, pre_softmax=pre_softmax, output=output, input_range=input_range)
        self.patch = positive_int(patch, "patch")
        self.stride = max(1, self.patch // 2) if stride is None else positive_int(stride, "stride")
        self.fill = _pixel_value(fill, "fill", allow_mean=True)
        if isinstance(self.fill, np.ndarray):
            raise ValueError("fill must be a name or one pixel value in 0..255, not an image.")

    def empty_advice(self, batch: np.ndarray, which: list[int]) -> str | None:
        same = [i for i in which
                if np.allclose(batch[i], batch[i].mean(axis=(0, 1)) if self.fill == "mean" else self.fill, atol=0.5)]
        if same:
            return (f"Image(s) {same[:10]} are uniformly the fill colour, so hiding a patch changes nothing: choose "
                    "another fill, e.g. fill='grey' or fill='white'.")
        return None

    @staticmethod
    def starts(length: int, patch: int, stride: int) -> list[int]:
        """Patch starts along one axis: every ``stride`` pixels, the last one touching the border."""
        last = max(length - patch, 0)
        starts = list(range(0, last + 1, stride))
        if starts[-1] != last:
            starts.append(last)
        return starts

    def passes(self, height: int, width: int) -> int:
        return len(self.starts(height, self.patch, self.stride)) * len(self.starts(width, self.patch, self.stride)) + 1

    def _axis_masks(self, length: tf.Tensor) -> tf.Tensor:
        """``(P, length)`` float masks of the patch positions along one axis (graph code)."""
        last = tf.maximum(length - self.patch, 0)
        starts = tf.range(0, last + 1, self.stride)
        starts = tf.cond(starts[-1] < last, lambda: tf.concat([starts, [last]], axis=0), lambda: starts)
        pixels = tf.range(length)
        inside = (pixels[None, :] >= starts[:, None]) & (pixels[None, :] < starts[:, None] + self.patch)
        return tf.cast(inside, tf.float32)

    def attribute(self, images, requested):
        forward = self.forward(images, requested)
        classes, scores = forward["class_indices"], forward["scores"]
        shape = tf.shape(images)
        rows, cols = self._axis_masks(shape[1]), self._axis_masks(shape[2])  # (R, H), (Q, W)
        per_row = tf.shape(cols)[0]
        count = tf.shape(rows)[0] * per_row  # patch p hides rows[p // Q] × cols[p % Q]
        if isinstance(self.fill, str):  # "mean": each image's mean colour
            fill = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
        else:
            fill = tf.zeros([shape[0], 1, 1, shape[3]], images.dtype) + tf.constant(self.fill, images.dtype)
        own = tf.gather(scores, classes, axis=1, batch_dims=1)

        def body(indices, total):  # copy i: image i // count with patch i % count hidden
            owner, patch = indices // count, indices % count
            m = tf.gather(rows, patch // per_row)[:, :, None] * tf.gather(cols, patch % per_row)[:, None, :]
            occluded = tf.gather(images, owner) * (1.0 - m[..., None]) + tf.gather(fill, owner) * m[..., None]
            hidden = tf.gather(self.scores_for(occluded), tf.gather(classes, owner), axis=1, batch_dims=1)
            drops = tf.gather(own, owner) - hidden
            return total + tf.math.unsorted_segment_sum(drops[:, None, None] * m, owner, shape[0])

        total = self.over_copies(shape[0] * count, body, tf.zeros(tf.shape(images)[:3], images.dtype))
        coverage = tf.reduce_sum(rows, axis=0)[:, None] * tf.reduce_sum(cols, axis=0)[None, :]  # patches per pixel
        maps = tf.math.divide_no_nan(total, coverage[None])
        return Attribution(maps=maps, class_indices=classes, scores=scores)
