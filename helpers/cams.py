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

The methods chapter 4 adds fit the same mould: their weights are other functions of the
activations and gradients.

* :class:`GradCAMPlusPlus` (Chattopadhay et al., 2018): positive gradients weighted by the
  closed-form ``α`` of the paper (better with several objects of the class).
* :class:`LayerCAM` (Jiang et al., 2021): per-position weights, the positive gradient at each
  position; works on early, high-resolution layers too.
* :class:`ScoreCAM` (Wang et al., 2020): gradient-free; each channel is weighted by the class
  probability of the image masked by that (upsampled, normalized) channel: ``C`` extra forward
  passes per image, batched.
* :class:`EigenCAM` (Muhammad & Yeasin, 2020): the projection of the feature maps on their first
  principal component: **class-agnostic** (the same map for every class).

Taught in: ``03_class_activation_maps`` and ``04_beyond_grad_cam``.
"""

from __future__ import annotations

import numpy as np

from helpers._backend import EPSILON, keras, tf
from helpers.explainers import Attribution, Explainer, Explanation, get_explainer
from helpers.inputs import positive_int
from helpers.layers import get_layer, output_layer_path

__all__ = ["BaseCAM", "CAM", "CAMResult", "EigenCAM", "GradCAM", "GradCAMPlusPlus", "LayerCAM", "ScoreCAM", "cam",
           "grad_cam"]

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
        return Attribution(maps=maps, class_indices=forward.class_indices, scores=forward.scores, weights=weights)


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
                 output: int | str | None = None, input_range: tuple[float, float] | None = None):
        if not pre_softmax:
            raise ValueError("CAM has no post-softmax variant: its weights come from the layer before the softmax.")
        super().__init__(model, layer, pre_softmax=True, output=output, input_range=input_range)
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
        activations, logits = (np.asarray(tf.cast(t, tf.float32), np.float64) for t in self.run_model(probe))
        predicted = activations.mean(axis=(1, 2)) @ np.asarray(self.head.kernel, np.float64)
        if self.head.use_bias:
            predicted = predicted + np.asarray(self.head.bias, np.float64)
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


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++ (Chattopadhay et al., 2018): positive gradients weighted by a closed-form ``α``.

    With ``g = ∂y^c/∂A^k_ij`` and the exponential-score assumption of the paper (eq. 19), the
    weight of channel ``k`` is ``Σ_ij α^k_ij · ReLU(g_ij)`` with
    ``α^k_ij = g² / (2 g² + Σ_ab A^k_ab · g³)`` (``0`` where ``g = 0``). The authors' code (and
    tf-keras-vis ``GradcamPlusPlus``) also divides each channel's ``α`` by its sum over positions:
    ``normalize_alphas=True`` does that.

    Args:
        model, layer, pre_softmax, output: as for :class:`helpers.explainers.Explainer`.
        normalize_alphas: divide each channel's ``α`` by its spatial sum (the authors' code).

    Taught in: ``04_beyond_grad_cam``.
    """

    name = "grad_cam_pp"
    title = "Grad-CAM++"
    reference = ("Chattopadhay et al., 2018, Grad-CAM++: Generalized Gradient-Based Visual Explanations "
                 "for Deep Convolutional Networks")
    aliases = ("gradcam++", "grad_cam++", "gradcampp", "grad_cam_plus_plus")
    needs_gradients = True

    def __init__(self, model: keras.Model, layer: str | None = None, pre_softmax: bool = True,
                 output: int | str | None = None, input_range: tuple[float, float] | None = None,
                 *, normalize_alphas: bool = False):
        super().__init__(model, layer, pre_softmax=pre_softmax, output=output, input_range=input_range)
        self.normalize_alphas = bool(normalize_alphas)

    def channel_weights(self, activations, gradients, class_indices):
        g2 = tf.square(gradients)
        g3 = g2 * gradients
        total = tf.reduce_sum(activations, axis=[1, 2], keepdims=True)  # Σ_ab A^k_ab
        alphas = tf.math.divide_no_nan(g2, 2.0 * g2 + total * g3)
        if self.normalize_alphas:
            alphas = tf.math.divide_no_nan(alphas, tf.reduce_sum(alphas, axis=[1, 2], keepdims=True))
        return tf.reduce_sum(alphas * tf.nn.relu(gradients), axis=[1, 2])


class LayerCAM(BaseCAM):
    """LayerCAM (Jiang et al., 2021): each position weighted by its own positive gradient.

    ``map_ij = Σ_k ReLU(∂y^c/∂A^k_ij) · A^k_ij``: no spatial averaging, so fine detail survives
    and early, high-resolution layers give usable maps (where Grad-CAM's one weight per channel
    washes out).

    Taught in: ``04_beyond_grad_cam``.
    """

    name = "layer_cam"
    title = "LayerCAM"
    reference = ("Jiang et al., 2021, LayerCAM: Exploring Hierarchical Class Activation Maps for "
                 "Localization")
    aliases = ("layercam",)
    needs_gradients = True

    def channel_weights(self, activations, gradients, class_indices):
        return tf.nn.relu(gradients)  # (N, h, w, C): one weight per position and channel


class EigenCAM(BaseCAM):
    """Eigen-CAM (Muhammad & Yeasin, 2020): the feature maps projected on their first principal component.

    The ``(h·w, C)`` matrix of activations is decomposed (SVD, not centred, as in the paper) and
    each position is projected on the first right singular vector, whose sign is chosen so
    the projection sums to a positive number. **Class-agnostic**: it shows what the layer
    finds most salient, whatever class is asked for (the class is only recorded).

    Taught in: ``04_beyond_grad_cam``.
    """

    name = "eigen_cam"
    title = "Eigen-CAM"
    reference = ("Muhammad & Yeasin, 2020, Eigen-CAM: Class Activation Map using Principal Components")
    aliases = ("eigencam",)
    needs_gradients = False
    class_agnostic = True
    gradient_passes = False

    def channel_weights(self, activations, gradients, class_indices):
        shape = tf.shape(activations)
        matrix = tf.reshape(activations, [shape[0], shape[1] * shape[2], shape[3]])
        _, _, v = tf.linalg.svd(matrix, full_matrices=False)  # v: (N, C, C), columns = right vectors
        first = v[:, :, 0]
        projection = tf.einsum("npc,nc->np", matrix, first)
        sign = tf.where(tf.reduce_sum(projection, axis=1, keepdims=True) < 0.0, -1.0, 1.0)
        return first * sign


class ScoreCAM(BaseCAM):
    """Score-CAM (Wang et al., 2020): each channel weighted by the class probability of the image it masks.

    For each channel ``k``: upsample ``A^k`` to the image (bilinear), scale it to ``[0, 1]``
    (min-max, + epsilon), multiply the image by it and run the model: the weight is the class's
    probability on that masked image (softmax over classes, as in the authors' code and
    tf-keras-vis ``Scorecam``). Gradient-free, ``C`` extra forward passes per image, run by
    the core in chunks of at most ``batch_size`` masked images (one trace of the model, so the
    first call compiles it once); ``max_channels`` keeps only the channels of highest
    variance (the "Faster Score-CAM" of tf-keras-vis: cheaper, approximate).

    Args:
        model, layer, pre_softmax, output: as for :class:`helpers.explainers.Explainer`.
        chunk: an extra cap on the masked images per forward pass, below the call's
            ``batch_size`` (kept for old code; ``batch_size`` alone bounds memory now). ``None``:
            ``batch_size`` alone.
        max_channels: use only this many channels (highest spatial variance); ``None``: all.
        align_corners: upsample the masks with the corner cells on the corner pixels, as
            tf-keras-vis (scipy's ``zoom``) does; the default puts cells at half-pixel centres,
            as the authors' PyTorch code (``F.interpolate``) does.

    Taught in: ``04_beyond_grad_cam``.
    """

    name = "score_cam"
    title = "Score-CAM"
    reference = ("Wang et al., 2020, Score-CAM: Score-Weighted Visual Explanations for Convolutional "
                 "Neural Networks")
    aliases = ("scorecam",)
    needs_gradients = False
    gradient_passes = False

    def __init__(self, model: keras.Model, layer: str | None = None, pre_softmax: bool = True,
                 output: int | str | None = None, input_range: tuple[float, float] | None = None,
                 *, chunk: int | None = None, max_channels: int | None = None,
                 align_corners: bool = False):
        super().__init__(model, layer, pre_softmax=pre_softmax, output=output, input_range=input_range)
        self.chunk = None if chunk is None else positive_int(chunk, "chunk", "masked images per pass, or None")
        channels = int(self.extractor.outputs[0].shape[-1])
        if max_channels is not None:
            max_channels = positive_int(max_channels, "max_channels", "or None")
        self.max_copies = self.chunk  # the old option: a cap below batch_size on the masked images per pass
        self.align_corners = bool(align_corners)
        self.channels = channels if max_channels is None else min(int(max_channels), channels)

    def passes(self, height: int, width: int) -> int:
        return self.channels + 1

    def attribute(self, images, requested):
        forward = self.forward(images, requested)
        activations, classes = forward["activations"], forward["class_indices"]
        n, size = tf.shape(images)[0], tf.shape(images)[1:3]
        if self.channels < activations.shape[-1]:  # keep the channels of highest variance
            variance = tf.math.reduce_variance(activations, axis=[1, 2])
            keep = tf.math.top_k(variance, k=self.channels).indices  # (N, K)
            activations = tf.gather(activations, keep, axis=3, batch_dims=1)
        if self.align_corners:
            masks = tf.compat.v1.image.resize_bilinear(activations, size, align_corners=True)  # (N, H, W, K)
        else:
            masks = tf.image.resize(activations, size, method="bilinear")
        low = tf.reduce_min(masks, axis=[1, 2], keepdims=True)
        high = tf.reduce_max(masks, axis=[1, 2], keepdims=True)
        masks = (masks - low) / (high - low + EPSILON)
        channels = tf.shape(masks)[3]
        by_channel = tf.transpose(masks, [0, 3, 1, 2])  # (N, K, H, W)

        def body(indices, weights):  # copy i: image i // K masked by its channel i % K
            owner, channel = indices // channels, indices % channels
            mask = tf.gather_nd(by_channel, tf.stack([owner, channel], axis=1))  # (k, H, W)
            probabilities = self.probabilities(self.scores_for(tf.gather(images, owner) * mask[..., None]))
            chosen = tf.gather(probabilities, tf.gather(classes, owner), axis=1, batch_dims=1)
            return tf.tensor_scatter_nd_add(weights, indices[:, None], chosen)

        weights = self.over_copies(n * channels, body, tf.zeros([n * channels], images.dtype))
        weights = tf.reshape(weights, [n, channels])
        maps = tf.einsum("nhwc,nc->nhw", activations, weights)
        return Attribution(maps=maps, class_indices=classes, scores=forward.scores, weights=weights)


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


