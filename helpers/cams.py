"""Class activation maps: CAM and Grad-CAM as one pipeline, batched, on any Keras model.

Every method in the CAM family computes a heatmap the same way:

1. run the model once and take the feature maps ``A`` (``(h, w, C)``) of one layer and the class
   scores (the logits, before the softmax, unless asked otherwise);
2. give every channel ``k`` a weight for the class ``c`` to explain — **this is the only step
   in which the methods differ**;
3. sum the weighted feature maps, ``Σ_k weight_k^c · A^k``, keep the positive evidence (ReLU),
   upsample to the input's height and width and divide by the maximum (+ epsilon).

Upsampling is *receptive-field aware* when the layer's geometry is known (chains of
convolutions and poolings, see :func:`helpers.layers.receptive_field`): the value of
position ``(i, j)`` is placed at the centre of the input window it looks at, ``start + jump·i``,
and interpolated bilinearly in between. Stretching the map over the image instead (what other
libraries do) shifts it whenever pooling drops border pixels: ``vgg_gap``'s 9×9 map covers
144 of the 150 input pixels, so a stretched map drifts by up to 6 pixels towards the
bottom right. ``align=False`` gives the stretched map.

:class:`BaseCAM` is an :class:`helpers.explainers.Explainer` (the core every method runs through:
checks, scores, batching, upsampling, normalization). It does steps 1 and 3; a method of the family
is a small subclass that implements :meth:`BaseCAM.channel_weights` (step 2):

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

import numpy as np

from helpers._backend import keras, tf
from helpers.explainers import Explainer, Explanation, get_explainer
from helpers.layers import get_layer, output_layer_path

__all__ = ["BaseCAM", "CAM", "CAMResult", "GradCAM", "cam", "grad_cam"]

CAMResult = Explanation
"""The result type of the CAM family: :class:`helpers.explainers.Explanation` (``weights`` filled in)."""


class BaseCAM(Explainer):
    """The CAM pipeline: weighted sum of one layer's feature maps; subclasses give the weights.

    Subclasses set :attr:`needs_gradients` and implement :meth:`channel_weights`; everything
    else (checks, score, batching, ReLU, upsampling, normalization) is :class:`Explainer`'s.

    Taught in: ``03_class_activation_maps``.
    """

    needs_gradients = False

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
        raise NotImplementedError(f"{type(self).__name__} must implement channel_weights().")

    def attribute(self, images, requested):
        forward = self.forward(images, requested, gradients=self.needs_gradients)
        activations = forward["activations"]
        weights = tf.cast(self.channel_weights(activations, forward["gradients"], forward["class_indices"]),
                          activations.dtype)
        if weights.shape.rank == 2:
            maps = tf.einsum("nhwc,nc->nhw", activations, weights)
        else:
            maps = tf.reduce_sum(weights * activations, axis=-1)
        return {"maps": maps, "class_indices": forward["class_indices"], "scores": forward["scores"],
                "weights": weights}


class GradCAM(BaseCAM):
    """Grad-CAM (Selvaraju et al., 2017): weight of channel k = mean over positions of ∂y^c/∂A^k.

    ``y^c`` is the class score before the softmax by default. Works on any architecture, with
    any spatial layer.

    Taught in: ``03_class_activation_maps``.
    """

    name = "grad_cam"
    title = "Grad-CAM"
    reference = ("Selvaraju et al., 2017, Grad-CAM: Visual Explanations from Deep Networks via "
                 "Gradient-based Localization")
    aliases = ("gradcam",)
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

    name = "cam"
    title = "CAM"
    reference = "Zhou et al., 2016, Learning Deep Features for Discriminative Localization"
    needs_gradients = False

    def __init__(self, model: keras.Model, layer: str | None = None, pre_softmax: bool = True,
                 output: int | str | None = None):
        if not pre_softmax:
            raise ValueError("CAM has no post-softmax variant: its weights come from the layer before the softmax.")
        super().__init__(model, layer, pre_softmax=True, output=output)
        head_path = output_layer_path(model, self.output)
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
    explainer = get_explainer(model, GradCAM, layer, pre_softmax=pre_softmax)
    return explainer(images, class_index, upsample=upsample, relu=relu, batch_size=batch_size, progress=progress,
                     align=align)


