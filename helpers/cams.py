"""Class activation maps: CAM and Grad-CAM as one pipeline, batched, on any Keras model.

Every method in the CAM family computes a heatmap the same way:

1. run the model once and take the feature maps ``A`` (``(h, w, C)``) of one layer and the class
   scores (the logits, before the softmax, unless asked otherwise);
2. give every channel ``k`` a weight for the class ``c`` to explain — **this is the only step
   in which the methods differ**;
3. sum the weighted feature maps, ``Σ_k weight_k^c · A^k``, keep the positive evidence (ReLU),
   upsample to the input's height and width and divide by the maximum (+ epsilon).

Upsampling is *receptive-field aware* when the layer's geometry is known (chains of
convolutions and poolings, see :func:`helpers.activations.receptive_field`): the value of
position ``(i, j)`` is placed at the centre of the input window it looks at, ``start + jump·i``,
and interpolated bilinearly in between. Stretching the map over the image instead (what other
libraries do) shifts it whenever pooling drops border pixels: ``vgg_gap``'s 9×9 map covers
144 of the 150 input pixels, so a stretched map drifts by up to 6 pixels towards the
bottom right. ``align=False`` gives the stretched map.

:class:`BaseCAM` runs steps 1 and 3 inside one compiled ``tf.function`` for a whole batch; a
method is a small subclass that implements :meth:`BaseCAM.channel_weights` (step 2):

* :class:`CAM` (Zhou et al., 2016, "Learning Deep Features for Discriminative Localization"):
  the weights of the Dense layer that follows Global Average Pooling. Needs that architecture.
* :class:`GradCAM` (Selvaraju et al., 2017, "Grad-CAM: Visual Explanations from Deep Networks
  via Gradient-based Localization"): the spatial mean of the gradient of the class score with
  respect to each feature map. Works on any architecture; on a GAP→Dense model its weights are
  CAM's divided by the number of positions ``Z = h·w``, so both give the same normalized map.

Grad-CAM++, Score-CAM or LayerCAM fit the same mould: their weights are other functions of the
activations and gradients (LayerCAM's are per position, which :meth:`channel_weights` allows).

Taught in: ``03_class_activation_maps``.
"""

from __future__ import annotations

import functools
import warnings
import weakref
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from helpers._backend import EPSILON, keras, tf
from helpers.data import CLASS_NAMES
from helpers.layers import (
    default_explanation_layer,
    get_layer,
    input_shape,
    intermediate_model,
    output_layer_path,
    resolve_layer_path,
)

__all__ = [
    "BaseCAM", "CAM", "GradCAM", "CAMResult", "EmptyHeatmapWarning", "get_explainer", "cam", "grad_cam",
    "overlay", "decode_predictions", "pointing_game", "center_baseline", "heatmap_peaks", "heatmap_centroids",
    "mass_inside",
]


class EmptyHeatmapWarning(UserWarning):
    """A heatmap had no positive evidence at all; it is returned as zeros (never NaN)."""


@dataclass
class CAMResult:
    """Everything one run of a CAM method computed, as numpy arrays (``N`` images).

    Attributes:
        heatmaps: ``(N, H, W)`` normalized maps (``[0, 1]``; ``[-1, 1]`` when ``relu=False``),
            at the input's resolution, or the layer's own ``(N, h, w)`` without upsampling.
        raw: ``(N, h, w)`` weighted sums ``Σ_k weight_k^c A^k`` before ReLU and normalization.
        weights: channel weights, ``(N, C)`` (or ``(N, h, w, C)`` for per-position methods).
        class_indices: ``(N,)`` the class explained for each image.
        scores: ``(N, n_classes)`` the scores the method explains: logits by default,
            probabilities with ``pre_softmax=False`` (a one-unit sigmoid model gives two columns:
            ``[-z, z]``, or ``[1 - p, p]``).
        layer: the path of the explained layer.
    """

    heatmaps: np.ndarray
    raw: np.ndarray
    weights: np.ndarray
    class_indices: np.ndarray
    scores: np.ndarray
    layer: str


def _as_batch(images) -> tuple[np.ndarray, bool]:
    """``(H, W, C)`` or ``(N, H, W, C)`` -> float32 batch, and whether a single image came in."""
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 3:
        return array[None], True
    if array.ndim == 4:
        return array, False
    raise ValueError(
        f"Expected one image (H, W, C) or a batch (N, H, W, C); got an array of shape {array.shape}."
    )


class BaseCAM:
    """The CAM pipeline: one extractor model, one compiled function, batched; see the module doc.

    Subclasses set :attr:`needs_gradients` and implement :meth:`channel_weights`.

    Args:
        model: any single-input Keras classifier (Sequential, Functional or nested).
        layer: the layer to explain, by name or ``"outer/inner"`` path. ``None``: the last layer
            with a spatial ``(h, w, C)`` output (on a GAP model, the one that feeds the GAP).
        pre_softmax: explain the class score before the final softmax/sigmoid (the logit; the
            default and the right choice). ``False`` explains the probability, whose gradient
            vanishes when the model is confident.

    Taught in: ``03_class_activation_maps``.
    """

    name = "base"
    needs_gradients = False

    def __init__(self, model: keras.Model, layer: str | None = None, pre_softmax: bool = True):
        self.model = model
        self.layer = resolve_layer_path(model, layer) if layer is not None else default_explanation_layer(model)
        self.pre_softmax = bool(pre_softmax)
        self.input_shape = input_shape(model)
        self.extractor = intermediate_model(model, [self.layer], pre_softmax=self.pre_softmax)
        feature_shape = tuple(self.extractor.outputs[0].shape)
        if len(feature_shape) != 4:
            raise ValueError(
                f"Layer {self.layer!r} outputs shape {feature_shape}, not a spatial (h, w, C) map. "
                f"Explain a convolutional layer, e.g. {default_explanation_layer(model)!r}."
            )
        output_units = self.extractor.outputs[1].shape[-1]
        self.binary = output_units == 1
        self.num_classes = 2 if self.binary else int(output_units)
        self._functions: dict[tuple[bool, bool, bool], tf.types.experimental.PolymorphicFunction] = {}
        self.field = _receptive_field(model, self.layer)

    # ------------------------------------------------------------------ the method's part
    def channel_weights(self, activations: tf.Tensor, gradients: tf.Tensor | None,
                        class_indices: tf.Tensor) -> tf.Tensor:
        """The weight of every channel for each image's class (runs inside ``tf.function``).

        Args:
            activations: ``(N, h, w, C)`` feature maps of the explained layer.
            gradients: ``(N, h, w, C)`` gradients of each image's class score with respect to
                ``activations`` (``None`` unless :attr:`needs_gradients`).
            class_indices: ``(N,)`` int32 classes to explain.

        Returns:
            ``(N, C)`` weights, or ``(N, h, w, C)`` for per-position weights.
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ the shared pipeline
    def _scores(self, outputs: tf.Tensor) -> tf.Tensor:
        """Class scores ``(N, num_classes)``; a one-unit output becomes two columns."""
        if not self.binary:
            return outputs
        if self.pre_softmax:
            return tf.concat([-outputs, outputs], axis=-1)  # class 0 is explained by -logit
        return tf.concat([1.0 - outputs, outputs], axis=-1)

    def _forward(self, images: tf.Tensor, requested: tf.Tensor):
        """Feature maps, gradients, scores and chosen classes for one batch (graph code)."""
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(images)  # records the whole graph, so frozen models work too
            activations, outputs = self.extractor(images, training=False)
            scores = self._scores(outputs)
            top = tf.argmax(scores, axis=-1, output_type=tf.int32)
            class_indices = tf.where(requested < 0, top, requested)
            target = tf.gather(scores, class_indices, axis=1, batch_dims=1)
        # Only the backward from the score to the layer is built: weight gradients are pruned.
        gradients = (tape.gradient(target, activations, unconnected_gradients=tf.UnconnectedGradients.ZERO)
                     if self.needs_gradients else None)
        return activations, gradients, scores, class_indices

    def _pipeline(self, images: tf.Tensor, requested: tf.Tensor, upsample: bool, relu: bool, align: bool):
        activations, gradients, scores, class_indices = self._forward(images, requested)
        weights = self.channel_weights(activations, gradients, class_indices)
        weights = tf.cast(weights, activations.dtype)
        if weights.shape.rank == 2:
            raw = tf.einsum("nhwc,nc->nhw", activations, weights)
        else:
            raw = tf.reduce_sum(weights * activations, axis=-1)
        maps = tf.nn.relu(raw) if relu else raw
        if upsample:
            size = tf.shape(images)[1:3]  # (height, width) of the input: never swapped
            if align and self.field is not None:
                maps = _aligned_resize(maps, size, float(self.field.start), float(self.field.jump))
            else:
                maps = tf.image.resize(maps[..., None], size, method="bilinear")[..., 0]
        peak = tf.reduce_max(tf.abs(maps), axis=[1, 2], keepdims=True)
        empty = peak <= EPSILON
        heatmaps = tf.where(empty, tf.zeros_like(maps), maps / (peak + EPSILON))
        return heatmaps, raw, weights, class_indices, scores, tf.reshape(empty, [-1])

    def _function(self, upsample: bool, relu: bool, align: bool):
        key = (bool(upsample), bool(relu), bool(align))
        if key not in self._functions:
            spec = (tf.TensorSpec((None, *self.input_shape), tf.float32),
                    tf.TensorSpec((None,), tf.int32))
            # A partial (not a lambda): TensorFlow counts traces per code object, and every
            # explainer traces once, which would otherwise trip its "frequent retracing" warning.
            self._functions[key] = tf.function(
                functools.partial(self._pipeline, upsample=key[0], relu=key[1], align=key[2]),
                input_signature=spec,
            )
        return self._functions[key]

    def _requested(self, class_index, n: int) -> np.ndarray:
        """``class_index`` (None, int, or one per image) -> int32 ``(n,)``; -1 means top class."""
        if class_index is None:
            return np.full(n, -1, dtype=np.int32)
        array = np.asarray(class_index)
        if array.ndim == 0:
            array = np.full(n, int(array))
        if array.ndim != 1 or len(array) != n:
            raise ValueError(f"class_index must be None, one int, or one int per image ({n}); got {class_index!r}.")
        if not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"class_index must hold integers; got {class_index!r}.")
        bad = array[(array < 0) | (array >= self.num_classes)]
        if bad.size:
            raise ValueError(
                f"class_index {int(bad[0])} is out of range: valid classes are 0..{self.num_classes - 1}."
            )
        return array.astype(np.int32)

    def _check_images(self, batch: np.ndarray) -> None:
        expected = self.input_shape
        got = batch.shape[1:]
        if len(got) != len(expected) or any(e is not None and e != g for e, g in zip(expected, got)):
            raise ValueError(
                f"Model {self.model.name!r} takes images of shape {tuple(expected)}; got {tuple(got)}. "
                f"Resize first, e.g. helpers.load_image(path, size={expected[0]})."
            )

    def explain(self, images, class_index=None, upsample: bool = True, relu: bool = True,
                batch_size: int = 64, progress: bool = False, align: bool = True) -> CAMResult:
        """Run the method on a batch and return every intermediate result (see :class:`CAMResult`).

        Args:
            images: one image ``(H, W, 3)`` or a batch ``(N, H, W, 3)`` in the model's input range.
            class_index: ``None`` (each image's top class), one int, or one int per image.
            upsample: resize the maps to the input's ``(H, W)`` (bilinear); otherwise keep the
                layer's own ``(h, w)``.
            align: upsample along the receptive fields when the layer's geometry is known
                (see the module doc); ``False`` stretches the map over the image.
            relu: keep only positive evidence (``[0, 1]``); ``False`` keeps the sign (``[-1, 1]``).
            batch_size: images per compiled call.
            progress: show a progress bar over the batches.

        Returns:
            A :class:`CAMResult` (batch axis kept even for one image).

        Warns:
            EmptyHeatmapWarning: a map has no positive evidence; it is all zeros.
        """
        batch, _ = _as_batch(images)
        if len(batch) == 0:
            raise ValueError("Got an empty batch of images.")
        self._check_images(batch)
        requested = self._requested(class_index, len(batch))
        function = self._function(upsample, relu, align)
        starts = range(0, len(batch), max(1, int(batch_size)))
        if progress and len(starts) > 1:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc=f"{self.name} ({self.layer})", unit="batch")
        parts = [function(tf.constant(batch[s:s + batch_size]), tf.constant(requested[s:s + batch_size]))
                 for s in starts]
        heatmaps, raw, weights, classes, scores, empty = (
            np.concatenate([np.asarray(part[i]) for part in parts]) for i in range(6))
        if np.any(empty):
            which = np.flatnonzero(empty).tolist()
            warnings.warn(
                f"{self.name}: no positive evidence for the explained class in image(s) {which[:10]}"
                f"{' …' if len(which) > 10 else ''} at layer {self.layer!r}; those heatmaps are all "
                "zeros. Try another class, another layer, or relu=False to see the negative evidence.",
                EmptyHeatmapWarning, stacklevel=3,
            )
        return CAMResult(heatmaps=heatmaps, raw=raw, weights=weights, class_indices=classes.astype(int),
                         scores=scores, layer=self.layer)

    def __call__(self, images, class_index=None, upsample: bool = True, relu: bool = True,
                 batch_size: int = 64, progress: bool = False, align: bool = True) -> np.ndarray:
        """Heatmaps only: ``(H, W)`` for one image, ``(N, H, W)`` for a batch (see :meth:`explain`)."""
        single = np.asarray(images).ndim == 3
        result = self.explain(images, class_index, upsample=upsample, relu=relu,
                              batch_size=batch_size, progress=progress, align=align)
        return result.heatmaps[0] if single else result.heatmaps

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model.name!r}, layer={self.layer!r}, pre_softmax={self.pre_softmax})"


class GradCAM(BaseCAM):
    """Grad-CAM (Selvaraju et al., 2017): weight of channel k = mean over positions of ∂y^c/∂A^k.

    ``y^c`` is the class score before the softmax by default. Works on any architecture, with
    any spatial layer.

    Taught in: ``03_class_activation_maps``.
    """

    name = "Grad-CAM"
    needs_gradients = True

    def channel_weights(self, activations, gradients, class_indices):
        return tf.reduce_mean(gradients, axis=[1, 2])  # α_k^c = (1/Z) Σ_ij ∂y^c/∂A^k_ij


class CAM(BaseCAM):
    """CAM (Zhou et al., 2016): weight of channel k = the Dense weight w_k^c after Global Average Pooling.

    Only defined for models whose explained layer feeds ``GlobalAveragePooling2D`` and then the
    final ``Dense`` layer (optionally with dropout between). The constructor checks this
    numerically on a test input — ``mean(A) · W + b`` must equal the logits — and otherwise
    raises a ``ValueError`` that points to Grad-CAM.

    Taught in: ``03_class_activation_maps``.
    """

    name = "CAM"
    needs_gradients = False

    def __init__(self, model: keras.Model, layer: str | None = None, pre_softmax: bool = True):
        if not pre_softmax:
            raise ValueError("CAM has no post-softmax variant: its weights come from the layer before the softmax.")
        super().__init__(model, layer, pre_softmax=True)
        head_path = output_layer_path(model)
        self.head = get_layer(model, head_path)
        advice = "Use helpers.grad_cam, which works on any architecture."
        if not isinstance(self.head, keras.layers.Dense):
            raise ValueError(
                f"CAM needs a model that ends in GlobalAveragePooling2D → Dense; model {model.name!r} ends "
                f"in {type(self.head).__name__} {head_path!r}. {advice}"
            )
        channels = self.extractor.outputs[0].shape[-1]
        kernel_shape = tuple(self.head.kernel.shape)
        if kernel_shape[0] != channels:
            raise ValueError(
                f"CAM needs the explained layer to feed GlobalAveragePooling2D → Dense directly; layer "
                f"{self.layer!r} has {channels} channels but the Dense layer {head_path!r} takes "
                f"{kernel_shape[0]} inputs. {advice}"
            )
        self._check_gap_head(advice)

    def _check_gap_head(self, advice: str) -> None:
        """Verify mean(A)·W + b == logits on two seeded random images."""
        shape = [s if s is not None else 64 for s in self.input_shape]
        probe = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
        activations, logits = self.extractor(probe, training=False)
        predicted = np.asarray(tf.reduce_mean(activations, axis=[1, 2])) @ np.asarray(self.head.kernel)
        if self.head.use_bias:
            predicted = predicted + np.asarray(self.head.bias)
        logits = np.asarray(logits)
        error = float(np.max(np.abs(predicted - logits)))
        if error > 1e-3 * (1.0 + float(np.max(np.abs(logits)))):
            raise ValueError(
                f"CAM needs layer {self.layer!r} to feed GlobalAveragePooling2D → the final Dense layer "
                f"directly, and in model {self.model.name!r} it does not (mean of its feature maps times "
                f"the Dense weights misses the logits by {error:.3g}). {advice}"
            )

    def channel_weights(self, activations, gradients, class_indices):
        kernel = tf.transpose(tf.convert_to_tensor(self.head.kernel))  # (classes, C)
        if self.binary:
            kernel = tf.concat([-kernel, kernel], axis=0)  # class 0 = negative logit
        return tf.gather(kernel, class_indices)  # w_k^c for each image's class


def _receptive_field(model: keras.Model, layer: str):
    """The layer's receptive field (start, jump), or None where it cannot be computed (branches)."""
    try:
        from helpers.activations import receptive_field

        field = receptive_field(model, layer)
    except (ImportError, ValueError, TypeError, AttributeError):
        return None
    return field if getattr(field, "jump", 0) >= 1 else None


def _aligned_resize(maps: tf.Tensor, size: tf.Tensor, start: float, jump: float) -> tf.Tensor:
    """Bilinear upsampling of ``(N, h, w)`` maps that puts position ``i`` at pixel ``start + jump·i``.

    Pixels beyond the first or last position's centre take that position's value (as
    ``tf.image.resize`` does at the borders). Separable: one gather per axis.
    """
    def axis(positions, pixels):
        u = (tf.range(pixels, dtype=maps.dtype) - start) / jump
        u = tf.clip_by_value(u, 0.0, tf.cast(positions - 1, maps.dtype))
        low = tf.floor(u)
        weight = u - low
        low = tf.cast(low, tf.int32)
        return low, tf.minimum(low + 1, positions - 1), weight

    shape = tf.shape(maps)
    r0, r1, rw = axis(shape[1], size[0])
    c0, c1, cw = axis(shape[2], size[1])
    rows = tf.gather(maps, r0, axis=1) * (1.0 - rw)[None, :, None] + tf.gather(maps, r1, axis=1) * rw[None, :, None]
    return tf.gather(rows, c0, axis=2) * (1.0 - cw)[None, None, :] + tf.gather(rows, c1, axis=2) * cw[None, None, :]


# ---------------------------------------------------------------------- cached function API
_EXPLAINERS: "weakref.WeakKeyDictionary[keras.Model, dict]" = weakref.WeakKeyDictionary()


def get_explainer(model: keras.Model, method: type[BaseCAM] | str = GradCAM, layer: str | None = None,
                  pre_softmax: bool = True) -> BaseCAM:
    """A cached explainer (one extractor and one compiled function per model, method and layer).

    Args:
        model: the Keras model.
        method: a :class:`BaseCAM` subclass or its name (``"cam"``, ``"grad_cam"``).
        layer: layer path or ``None`` for the default.
        pre_softmax: explain logits (``True``) or probabilities.

    Taught in: ``03_class_activation_maps``.
    """
    if isinstance(method, str):
        methods = {"cam": CAM, "grad_cam": GradCAM, "gradcam": GradCAM, "grad-cam": GradCAM}
        if method.lower() not in methods:
            raise ValueError(f"Unknown method {method!r}. Valid methods: 'cam', 'grad_cam'.")
        method = methods[method.lower()]
    cache = _EXPLAINERS.setdefault(model, {})
    if layer is None:
        if "default_layer" not in cache:
            cache["default_layer"] = default_explanation_layer(model)
        resolved = cache["default_layer"]
    else:
        resolved = resolve_layer_path(model, layer)
    key = (method, resolved, bool(pre_softmax))
    if key not in cache:
        cache[key] = method(model, resolved, pre_softmax=pre_softmax)
    return cache[key]


def cam(model: keras.Model, image, class_index=None, upsample: bool = True, layer: str | None = None,
        align: bool = True) -> np.ndarray:
    """Class activation map (Zhou et al., 2016) of a GAP → Dense model.

    The map is ``Σ_k w_k^c A^k`` over the feature maps ``A^k`` that feed Global Average
    Pooling, with the Dense weights ``w_k^c`` of class ``c``; positive part, divided by its max.

    Args:
        model: a model whose last spatial layer feeds GlobalAveragePooling2D → Dense.
        image: one image ``(H, W, 3)`` (or a batch ``(N, H, W, 3)``), in the model's input range.
        class_index: ``None`` (top class), an int, or one int per image.
        upsample: return the map at the input's ``(H, W)``; ``False``: at the feature map's ``(h, w)``.
        layer: the layer feeding the GAP (found automatically).
        align: receptive-field-aware upsampling (see the module doc); ``False`` stretches.

    Returns:
        float32 ``(H, W)`` in ``[0, 1]`` (``(N, H, W)`` for a batch).

    Raises:
        ValueError: the model has no GAP → Dense head (use :func:`grad_cam`), or bad arguments.

    Taught in: ``03_class_activation_maps``.
    """
    return get_explainer(model, CAM, layer)(image, class_index, upsample=upsample, align=align)


def grad_cam(model: keras.Model, images, layer: str | None = None, class_index=None, upsample: bool = True,
             pre_softmax: bool = True, relu: bool = True, batch_size: int = 64,
             progress: bool = False, align: bool = True) -> np.ndarray:
    """Grad-CAM (Selvaraju et al., 2017) heatmaps for one image or a batch, on any Keras model.

    Weights ``α_k^c`` = spatial mean of ``∂y^c/∂A^k``; heatmap = ``ReLU(Σ_k α_k^c A^k)``,
    upsampled (bilinear) to the input's height and width and divided by its maximum + epsilon.

    Args:
        model: any single-input classifier: Sequential, Functional, nested, or a one-unit
            sigmoid binary model (class 0 is explained by the negative logit).
        images: ``(H, W, 3)`` or ``(N, H, W, 3)``, in the model's input range (0..255 here).
        layer: layer name or ``"outer/inner"`` path; ``None``: the last spatial layer before the
            head (on a GAP model, the one feeding the GAP, so it compares with :func:`cam`).
        class_index: ``None`` (each image's top class), an int, or one int per image.
        upsample: ``True``: maps at the input's ``(H, W)``; ``False``: at the layer's ``(h, w)``.
        pre_softmax: explain the logit (default). ``False`` explains the probability, which
            saturates: a confident prediction has almost no gradient.
        relu: keep positive evidence only (``[0, 1]``). ``False`` returns the signed map in
            ``[-1, 1]``, which also shows the evidence *against* the class.
        batch_size: images per compiled call.
        progress: show a progress bar for large batches.
        align: upsample along the layer's receptive fields (each position's value at the
            centre of the input window it sees) when its geometry is known; ``False``
            stretches the map over the image, as other libraries do.

    Returns:
        float32 ``(H, W)`` for one image, ``(N, H, W)`` for a batch. Never NaN: a map with no
        positive evidence is all zeros, with an :class:`EmptyHeatmapWarning`.

    Taught in: ``03_class_activation_maps``.
    """
    explainer = get_explainer(model, GradCAM, layer, pre_softmax)
    return explainer(images, class_index, upsample=upsample, relu=relu, batch_size=batch_size, progress=progress,
                     align=align)


# ---------------------------------------------------------------------- display and scoring
def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.4, cmap: str = "jet") -> np.ndarray:
    """Lay a heatmap, coloured with ``cmap``, over an image: ``(1 - alpha)·image + alpha·colour``.

    The heatmap is resized (bilinear) to the image's own height and width if it differs, so
    non-square images come out right; values are clipped to ``[0, 1]``.

    Args:
        image: ``(H, W, 3)`` RGB in 0..255 (float or uint8).
        heatmap: ``(h, w)`` map in ``[0, 1]``.
        alpha: opacity of the heatmap, 0..1.
        cmap: a Matplotlib colour map name (``"jet"``, ``"viridis"``, ``"magma"``…).

    Returns:
        uint8 ``(H, W, 3)`` RGB (not BGR).

    Taught in: ``03_class_activation_maps``.
    """
    import matplotlib

    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"overlay expects one RGB image (H, W, 3); got shape {image.shape}.")
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.ndim == 3 and heatmap.shape[0] == 1:
        heatmap = heatmap[0]
    if heatmap.ndim != 2:
        raise ValueError(f"overlay expects one 2-D heatmap (h, w); got shape {heatmap.shape}.")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1]; got {alpha}.")
    if cmap not in matplotlib.colormaps:
        raise ValueError(f"Unknown colour map {cmap!r}; try 'jet', 'viridis', 'magma' or 'inferno'.")
    height, width = image.shape[:2]
    if heatmap.shape != (height, width):
        heatmap = np.asarray(tf.image.resize(heatmap[..., None], (height, width), method="bilinear"))[..., 0]
    heatmap = np.clip(np.nan_to_num(heatmap), 0.0, 1.0)
    colours = matplotlib.colormaps[cmap](heatmap)[..., :3] * 255.0
    blended = (1.0 - alpha) * image + alpha * colours
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)


def decode_predictions(probabilities, top: int = 3,
                       class_names: Sequence[str] = CLASS_NAMES) -> list:
    """The ``top`` classes of each prediction as ``(name, probability)``, most likely first.

    The course's version of ``keras.applications.vgg16.decode_predictions`` (which knows the
    1000 ImageNet classes and returns ``(wordnet_id, name, probability)``).

    Args:
        probabilities: ``(N, n_classes)`` model outputs, or ``(n_classes,)`` for one image. A
            one-unit sigmoid output ``(N, 1)`` is read as ``[1 - p, p]``.
        top: how many classes to return per image.
        class_names: one name per class.

    Returns:
        For ``(N, n_classes)``: a list (one per image) of lists of ``(name, probability)``;
        for a 1-D input: one list of ``(name, probability)``.

    Taught in: ``03_class_activation_maps``.
    """
    array = np.asarray(probabilities, dtype=np.float64)
    single = array.ndim == 1
    if single:
        array = array[None]
    if array.ndim != 2:
        raise ValueError(f"Expected probabilities of shape (N, n_classes) or (n_classes,); got {array.shape}.")
    if array.shape[1] == 1:
        array = np.concatenate([1.0 - array, array], axis=1)
    if array.shape[1] != len(class_names):
        raise ValueError(
            f"Got {array.shape[1]} probabilities per image but {len(class_names)} class names; "
            "pass class_names= with one name per class."
        )
    if not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"top must be a positive integer; got {top!r}.")
    decoded = []
    for row in array:
        order = np.argsort(-row, kind="stable")[:top]
        decoded.append([(class_names[i], float(row[i])) for i in order])
    return decoded[0] if single else decoded


def heatmap_peaks(heatmaps: np.ndarray) -> np.ndarray:
    """``(N, 2)`` (row, column) of each map's maximum (``(2,)`` for one map); -1 for an all-zero map.

    Taught in: ``03_class_activation_maps``.
    """
    maps = np.asarray(heatmaps)
    single = maps.ndim == 2
    maps = maps[None] if single else maps
    flat = maps.reshape(len(maps), -1)
    index = np.argmax(flat, axis=1)
    peaks = np.stack(np.unravel_index(index, maps.shape[1:]), axis=1)
    peaks[flat.max(axis=1, initial=0.0) <= 0] = -1
    return peaks[0] if single else peaks


def heatmap_centroids(heatmaps: np.ndarray) -> np.ndarray:
    """``(N, 2)`` (row, column) centre of mass of each map, in pixels (``(2,)`` for one map).

    Negative values count as zero; an all-zero map gives ``nan``. Boolean masks work too (the
    centre of the object), so ``heatmap_centroids(maps) - heatmap_centroids(masks)`` measures how
    far, and in which direction, explanations sit from their objects.

    Taught in: ``03_class_activation_maps``.
    """
    maps = np.asarray(heatmaps, dtype=np.float64)
    single = maps.ndim == 2
    maps = np.maximum(maps[None] if single else maps, 0.0)
    if maps.ndim != 3:
        raise ValueError(f"heatmaps must be (H, W) or (N, H, W); got shape {np.asarray(heatmaps).shape}.")
    rows, columns = np.indices(maps.shape[1:])
    total = maps.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        centroids = np.stack([(maps * rows).sum(axis=(1, 2)) / total,
                              (maps * columns).sum(axis=(1, 2)) / total], axis=1)
    centroids[total <= 0] = np.nan
    return centroids[0] if single else centroids


def pointing_game(heatmaps: np.ndarray, masks: np.ndarray, tolerance: int = 0) -> np.ndarray:
    """Pointing game (Zhang et al., 2016): does each heatmap's maximum fall on the object?

    Args:
        heatmaps: ``(N, H, W)`` maps at the masks' resolution.
        masks: ``(N, H, W)`` boolean ground-truth masks.
        tolerance: count a hit when the peak is within this many pixels of the mask.

    Returns:
        ``(N,)`` bool hits. An all-zero map points nowhere and misses.

    Taught in: ``03_class_activation_maps``.
    """
    maps, masks = np.asarray(heatmaps), np.asarray(masks, dtype=bool)
    if maps.ndim == 2:
        maps, masks = maps[None], masks[None]
    if maps.shape != masks.shape:
        raise ValueError(f"heatmaps {maps.shape} and masks {masks.shape} must have the same shape; "
                         "compute the heatmaps with upsample=True.")
    peaks = heatmap_peaks(maps)
    hits = np.zeros(len(maps), dtype=bool)
    for i, (row, col) in enumerate(peaks):
        if row < 0:
            continue
        r0, r1 = max(row - tolerance, 0), row + tolerance + 1
        c0, c1 = max(col - tolerance, 0), col + tolerance + 1
        window = masks[i, r0:r1, c0:c1]
        if tolerance:
            rr, cc = np.mgrid[r0:r0 + window.shape[0], c0:c0 + window.shape[1]]
            window = window & ((rr - row) ** 2 + (cc - col) ** 2 <= tolerance ** 2)
        hits[i] = bool(window.any())
    return hits


def center_baseline(n: int, height: int, width: int) -> np.ndarray:
    """``(n, height, width)`` maps peaked at the image centre: the pointing game's naive baseline.

    Taught in: ``03_class_activation_maps``.
    """
    rows = (np.arange(height) - (height - 1) / 2) / max(height, 1)
    cols = (np.arange(width) - (width - 1) / 2) / max(width, 1)
    bump = 1.0 - np.sqrt(rows[:, None] ** 2 + cols[None, :] ** 2)
    bump = (bump - bump.min()) / (bump.max() - bump.min() + EPSILON)
    return np.broadcast_to(bump.astype(np.float32), (n, height, width)).copy()


def mass_inside(heatmaps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Fraction of each heatmap's total mass that lies inside the mask, ``(N,)`` in ``[0, 1]``.

    Taught in: ``03_class_activation_maps``.
    """
    maps, masks = np.asarray(heatmaps, dtype=np.float64), np.asarray(masks, dtype=bool)
    if maps.ndim == 2:
        maps, masks = maps[None], masks[None]
    if maps.shape != masks.shape:
        raise ValueError(f"heatmaps {maps.shape} and masks {masks.shape} must have the same shape.")
    total = maps.reshape(len(maps), -1).sum(axis=1)
    inside = (maps * masks).reshape(len(maps), -1).sum(axis=1)
    return inside / (total + EPSILON)
