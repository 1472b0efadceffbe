"""The explainer core: one base class every explanation method runs through, its registry, the input checks.

An explanation method answers one question — *which parts of this image made the model
choose class c?* — and every method needs the same scaffolding around its own idea:

* **checks** of what comes in: the model (a built Functional or Sequential Keras model,
  :func:`helpers.layers.check_model`), the images (:func:`check_images`, one pixel rule for the
  whole package, :data:`helpers.data.PIXEL_RULE`), the classes (:func:`check_class_index`);
* **the score** to explain: the class's logit, before the final softmax or sigmoid (a sigmoid
  model's one unit becomes two columns, ``[-z, z]``), for one chosen output of the model;
* **batching** (:func:`batch_slices`, with a progress bar on long work) inside one compiled
  ``tf.function`` per configuration;
* **post-processing**: ReLU (positive evidence), upsampling to the input's height and width
  (along the layer's receptive fields when they are known), normalization to ``[0, 1]`` by
  the map's own maximum, so a heatmap never depends on the scale of the scores, and one
  result type, :class:`Explanation`.

:class:`Explainer` owns all of that. A method is a subclass that sets ``name`` (its registry
key), cites its paper and implements :meth:`Explainer.attribute` (graph code that returns the
signed maps for a batch). Defining the class registers it: :func:`list_methods`,
:func:`get_explainer` and :func:`explain` find it by name, and nothing else has to change.
The CAM family lives in :mod:`helpers.cams`.

Many-pass methods (Score-CAM, SmoothGrad, Integrated Gradients, occlusion) say how many model
passes an image costs (:meth:`Explainer.passes`); the core batches by passes, and
:func:`estimate_cost` tells the cost before it is paid.

Taught in: ``03_class_activation_maps`` and ``04_beyond_grad_cam``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import time
import warnings
import weakref
from typing import Any, NamedTuple
from dataclasses import dataclass, field

import numpy as np

from helpers._backend import keras, tf
from helpers.data import user_stacklevel
from helpers.inputs import batch_slices, check_batch_size, check_class_index, check_images
from helpers.layers import (
    cache_per_size,
    check_model,
    choose_output,
    compiled_function,
    default_explanation_layer,
    final_activation,
    output_layer_path,
    input_shape,
    model_cache,
    receptive_field,
    resolve_layer_path,
    shared_extractor,
)
from helpers.models import class_names_of

__all__ = [
    "Attribution", "EmptyHeatmapWarning", "Explanation", "Explainer", "Forward",
    "batch_slices", "check_batch_size", "check_class_index",
    "check_images", "estimate_cost", "explain", "get_explainer", "list_methods", "method_class",
    "set_input_range",
]

EMPTY_RELATIVE = 1e-6
"""A map counts as having no positive evidence when its largest positive value is at most this
fraction of its largest absolute value (float32 rounding noise), or exactly zero. Relative, so a
map's emptiness never depends on the scale of the scores."""

CALL_OPTIONS = ("relu", "align", "batch_size", "progress")
"""Options of :meth:`Explainer.explain`; every other option of :func:`explain` configures the method."""

LONG_WORK_PASSES = 2000
"""``progress=None`` (the default) shows a progress bar when a call costs more model passes than this."""


class EmptyHeatmapWarning(UserWarning):
    """A heatmap had no positive evidence at all; it is returned as zeros (never NaN)."""


@dataclass
class Explanation:
    """Everything one run of an explanation method computed, as numpy arrays (``N`` images).

    Attributes:
        heatmaps: ``(N, H, W)`` normalized maps (``[0, 1]``; ``[-1, 1]`` when ``relu=False``),
            at the input's resolution, or the layer's own ``(N, h, w)`` without upsampling.
        raw: ``(N, h, w)`` the method's signed maps before ReLU, upsampling and normalization.
        class_indices: ``(N,)`` the class explained for each image.
        scores: ``(N, n_classes)`` the scores the method explains: logits by default,
            probabilities with ``pre_softmax=False`` (a one-unit sigmoid model gives two columns:
            ``[-z, z]``, or ``[1 - p, p]``).
        layer: the path of the explained layer (``None`` for methods without a layer).
        method: the method's registered name.
        weights: channel weights ``(N, C)`` (or ``(N, h, w, C)``) for the CAM family, else ``None``.
        empty: ``(N,)`` bool, the maps with no positive evidence (returned as zeros).
    """

    heatmaps: np.ndarray
    raw: np.ndarray
    class_indices: np.ndarray
    scores: np.ndarray
    layer: str | None
    method: str = ""
    weights: np.ndarray | None = None
    empty: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


_INPUT_RANGES: "weakref.WeakKeyDictionary[keras.Model, tuple[float, float]]" = weakref.WeakKeyDictionary()


def _check_input_range(input_range) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in input_range)
    except (TypeError, ValueError):
        raise ValueError(f"input_range must be (low, high), e.g. (0, 1) or (0, 255); got {input_range!r}.") from None
    if not (np.isfinite(low) and np.isfinite(high) and high > low):
        raise ValueError(f"input_range must be (low, high) with low < high, e.g. (0, 1); got {input_range!r}.")
    return low, high


def set_input_range(model: keras.Model, input_range: tuple[float, float] = (0, 255)) -> None:
    """Tell every explainer of ``model`` the pixel range it was trained on (e.g. ``(0, 1)``).

    The same as passing ``input_range=`` to each :func:`explain` call. Images are still given by
    the pixel rule; the model sees them in its range. Explainers built before keep their range.

    Taught in: ``03_class_activation_maps``.
    """
    _INPUT_RANGES[check_model(model, "set the input range of")] = _check_input_range(input_range)
    model_cache(model, "explainers").clear()


def _item(self, key):
    """``result["maps"]`` as well as ``result.maps`` and ``result[0]`` (the style of older methods)."""
    return getattr(self, key) if isinstance(key, str) else tuple.__getitem__(self, key)


def _get(self, key: str, default=None):
    """``result.get("weights")``, as on the dicts older methods returned."""
    return getattr(self, key, default)


class Forward(NamedTuple):
    """What :meth:`Explainer.forward` computed for a batch (graph tensors).

    Attributes:
        activations: ``(N, h, w, C)`` the layer's feature maps (float32), ``None`` without a layer.
        gradients: ``∂target/∂activations`` (or ``∂target/∂images`` without a layer), ``None``
            unless asked for.
        scores: ``(N, classes)`` the scores explained (:meth:`Explainer.scores_of`).
        class_indices: ``(N,)`` int32 the classes explained.
        target: ``(N,)`` each image's score of its class.
    """

    activations: Any
    gradients: Any
    scores: Any
    class_indices: Any
    target: Any


class Attribution(NamedTuple):
    """What a method's :meth:`Explainer.attribute` returns for a batch (graph tensors).

    Attributes:
        maps: ``(N, h, w)`` signed maps at the layer's resolution (``(N, H, W)`` without a layer).
        class_indices: ``(N,)`` int32 the classes explained.
        scores: ``(N, classes)`` the scores.
        weights: the CAM family's channel weights, else ``None``.
    """

    maps: Any
    class_indices: Any
    scores: Any
    weights: Any = None


for _typed in (Forward, Attribution):  # typed results that still answer the dict-style lookups
    _typed.__getitem__, _typed.get = _item, _get


# ---------------------------------------------------------------------- registry
_REGISTRY: dict[str, type["Explainer"]] = {}


def _register(cls: type["Explainer"]) -> None:
    """Add a method to the registry; a name or alias already taken by another method is refused."""
    taken = {}
    for other in _REGISTRY.values():
        if other.__qualname__ == cls.__qualname__ and other.__module__ == cls.__module__:
            continue  # the same class defined again (a re-run notebook cell, a reloaded module)
        for key in (other.name, *other.aliases):
            taken[key] = other
    clashes = [key for key in (cls.name, *cls.aliases) if key in taken]
    if clashes:
        key = clashes[0]
        raise ValueError(
            f"Method {cls.__name__} cannot be registered as {key!r}: that name belongs to "
            f"{taken[key].__name__} ({taken[key].__module__}). Choose another name or alias."
        )
    same = [c for c in _REGISTRY.values() if (c.__qualname__, c.__module__) == (cls.__qualname__, cls.__module__)]
    for other in same:
        del _REGISTRY[other.name]
    _REGISTRY[cls.name] = cls


def list_methods() -> list[str]:
    """The registered explanation methods' names, as :func:`explain` accepts them.

    Taught in: ``03_class_activation_maps``.
    """
    return sorted(_REGISTRY)


def method_class(method: "str | type[Explainer]") -> type["Explainer"]:
    """The :class:`Explainer` subclass registered as ``method`` (a name or the class itself).

    Names are case-insensitive and ``-`` counts as ``_`` (``"Grad-CAM"`` is ``"grad_cam"``); a
    class's ``aliases`` are accepted too.

    Raises:
        ValueError: an unknown name; the message lists the registered ones.
    """
    if isinstance(method, type) and issubclass(method, Explainer):
        return method
    if isinstance(method, str):
        key = method.strip().lower().replace("-", "_").replace(" ", "_")
        if key in _REGISTRY:
            return _REGISTRY[key]
        for cls in _REGISTRY.values():
            if key in cls.aliases:
                return cls
    raise ValueError(f"Unknown explanation method {method!r}. Registered methods: {', '.join(list_methods())}.")


# ---------------------------------------------------------------------- the base class
class Explainer:
    """The base of every explanation method: checks, score, batching, post-processing, result.

    A subclass sets :attr:`name` (which registers it), :attr:`title`, :attr:`reference` and
    :attr:`uses_layer`, and implements :meth:`attribute`. Methods that need extra forward
    passes (Score-CAM, occlusion) run them inside :meth:`attribute` with :meth:`scores_for`;
    methods without a layer (saliency) set ``uses_layer = False`` and return maps at the
    input's resolution.

    Args:
        model: a built, single-input Functional or Sequential Keras classifier.
        layer: the layer to explain (name or ``"outer/inner"`` path); ``None``: the last real
            spatial map before the head (:func:`helpers.layers.default_explanation_layer`).
            Ignored by methods without a layer.
        pre_softmax: explain the class score before the final softmax/sigmoid (the logit; the
            default). ``False`` explains the probability, whose gradient vanishes when the model
            is confident.
        output: for a model with several outputs, which one to explain (index or layer name).
        input_range: the pixel range the model was trained on: ``(0, 255)`` (the default, the
            course's models, with their own ``Rescaling``) or e.g. ``(0, 1)`` for a model trained
            on 0..1 inputs. Images are still given by the pixel rule (0..255, or 0..1 floats,
            which are then expected and not warned about); the model sees them in its range.
            ``None``: the range set with :func:`set_input_range` for the model, else ``(0, 255)``.

    A model whose output is one linear unit (a regression) is explained as that output itself
    (one class, index 0); a one-unit **sigmoid** output is a binary classifier (two classes).

    Taught in: ``03_class_activation_maps``.
    """

    name: str = ""
    """Registry key (``"grad_cam"``); a subclass that sets it is registered."""
    title: str = ""
    """Display name (``"Grad-CAM"``)."""
    reference: str = ""
    """The paper the method comes from."""
    aliases: tuple[str, ...] = ()
    """Other accepted names."""
    uses_layer: bool = True
    """Whether the method reads one layer's feature maps (and maps come at that layer's resolution)."""
    class_agnostic: bool = False
    """The map does not depend on the explained class (Eigen-CAM): the same map for every class."""
    magnitude: bool = False
    """The map is a magnitude (``|gradient|``: saliency, SmoothGrad). On a one-unit sigmoid model,
    whose two classes' scores are ``-z`` and ``z``, both classes then give the same map."""
    gradient_passes: bool = True
    """Whether the method's passes include a backward pass (for :func:`estimate_cost`)."""

    def passes(self, height: int, width: int) -> int:
        """Model passes per image for ``height × width`` inputs (1 for one-pass methods).

        Many-pass methods (Score-CAM, SmoothGrad, Integrated Gradients, occlusion) override it;
        :meth:`explain` then runs ``max(1, batch_size // passes)`` images per compiled call, so
        ``batch_size`` bounds the passes (and memory) of one call, and :func:`estimate_cost`
        tells the cost before it is paid.
        """
        return 1

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            _register(cls)

    def __init__(self, model: keras.Model, layer: str | None = None, pre_softmax: bool = True,
                 output: int | str | None = None, input_range: tuple[float, float] | None = None):
        check_model(model, f"explain with {self.title or type(self).__name__}")
        self._model = weakref.ref(model)  # the explainer must not keep the model alive
        self.model_name = model.name
        self.output = choose_output(model, output)
        self.pre_softmax = bool(pre_softmax)
        self.input_range = _check_input_range(input_range if input_range is not None
                                              else _INPUT_RANGES.get(model, (0.0, 255.0)))
        self.activation = final_activation(model, self.output)
        self.input_shape = input_shape(model)
        if self.uses_layer:
            self.layer = (resolve_layer_path(model, layer) if layer is not None
                          else default_explanation_layer(model, self.output))
        else:
            self.layer = None
        # Shared per (model, layer, output, pre_softmax): two methods on one layer re-trace the model once.
        self.extractor = shared_extractor(model, [self.layer] if self.layer else [], pre_softmax=self.pre_softmax,
                                          output=self.output)
        score_shape = tuple(self.extractor.outputs[-1].shape)
        if len(score_shape) != 2:
            raise ValueError(
                f"Model {model.name!r} outputs shape {score_shape}, not class scores (N, classes): an explanation "
                "needs one score per class. Add a classifier head (e.g. GlobalAveragePooling2D + Dense) or choose "
                "another output with output=."
            )
        if self.layer is not None:
            feature_shape = tuple(self.extractor.outputs[0].shape)
            if len(feature_shape) != 4:
                raise ValueError(
                    f"Layer {self.layer!r} outputs shape {feature_shape}, not a spatial (h, w, C) map. Explain a "
                    f"convolutional layer, e.g. {default_explanation_layer(model, self.output)!r}."
                )
        self.regression = score_shape[-1] == 1 and self.activation != "sigmoid"
        self.binary = score_shape[-1] == 1 and not self.regression
        self.num_classes = 2 if self.binary else int(score_shape[-1])
        self.class_names = class_names_of(model, self.num_classes) if not self.regression else None
        if self.pre_softmax and self.activation == "opaque":
            self._refuse_hidden_softmax(model)
        self._functions: dict = {}
        self._geometry: dict = {}
        self._constants: dict = {}

    def _refuse_hidden_softmax(self, model: keras.Model) -> None:
        """A ``Lambda`` output that gives probabilities: pre_softmax cannot remove what it cannot see."""
        shape = [d if d is not None else 64 for d in self.input_shape]
        probe = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
        outputs = self.extractor(self.model_input(tf.constant(probe)), training=False)
        scores = np.asarray(outputs[-1] if isinstance(outputs, (list, tuple)) else outputs, dtype=np.float64)
        if scores.shape[-1] > 1 and scores.min() >= 0.0 and np.allclose(scores.sum(axis=-1), 1.0, atol=1e-4):
            path = output_layer_path(model, self.output)
            raise ValueError(
                f"Model {model.name!r} ends in a Lambda layer {path!r} whose outputs are probabilities (each row "
                "sums to 1): the helpers cannot take a softmax hidden in a Lambda off, and explaining "
                "probabilities gives empty maps once the model is confident. Build the head with "
                "Dense(..., activation='softmax'), keras.layers.Softmax() or keras.ops.softmax, or pass "
                "pre_softmax=False to explain the probabilities on purpose."
            )

    @property
    def model(self) -> keras.Model:
        """The explained model (held weakly; an error once the user has deleted it)."""
        model = self._model()
        if model is None:
            raise ReferenceError(f"Model {self.model_name!r} was deleted; build a new explainer for the model you use.")
        return model

    # ------------------------------------------------------------------ the method's part
    def attribute(self, images: tf.Tensor, requested: tf.Tensor) -> Attribution:
        """The method's signed maps for one batch (graph code, runs inside ``tf.function``).

        Args:
            images: ``(N, H, W, C)`` float32 images.
            requested: ``(N,)`` int32 classes, ``-1`` for each image's top class.

        Returns:
            An :class:`Attribution`: ``maps`` (``(N, h, w)`` at the layer's resolution, or
            ``(N, H, W)`` for methods without a layer), ``class_indices`` (``(N,)`` int32, the
            classes explained), ``scores`` (``(N, classes)``) and optionally ``weights``. (A dict
            with those keys is accepted too.)
        """
        raise NotImplementedError(f"{type(self).__name__} must implement attribute().")

    # ------------------------------------------------------------------ helpers for methods
    def model_input(self, images: tf.Tensor) -> tf.Tensor:
        """``images`` (0..255, the pixel rule) in the model's own :attr:`input_range` (graph code)."""
        low, high = self.input_range
        if (low, high) == (0.0, 255.0):
            return images
        return images * ((high - low) / 255.0) + low

    def run_model(self, images: tf.Tensor) -> list:
        """The extractor's outputs on ``images`` (0..255), as a list; every method's forward goes here."""
        outputs = self.extractor(self.model_input(images), training=False)
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    def scores_of(self, outputs: tf.Tensor) -> tf.Tensor:
        """Class scores ``(N, num_classes)`` from the model's output; a one-unit sigmoid becomes two columns.

        Always float32 (a ``mixed_float16`` model's outputs are cast).
        """
        outputs = tf.cast(outputs, tf.float32)
        if not self.binary:
            return outputs
        if self.pre_softmax:
            return tf.concat([-outputs, outputs], axis=-1)  # class 0 is explained by -logit
        return tf.concat([1.0 - outputs, outputs], axis=-1)

    def scores_for(self, images: tf.Tensor) -> tf.Tensor:
        """Class scores ``(N, num_classes)`` of ``images``: one more forward pass (graph code).

        For methods that run extra passes on changed images (Score-CAM's masked copies,
        occlusion's hidden patches).
        """
        return self.scores_of(self.run_model(images)[-1])

    def probabilities(self, scores: tf.Tensor) -> tf.Tensor:
        """Class probabilities from :meth:`scores_of`'s scores: the package's one place for them.

        The model's own final activation decides: a softmax model's probabilities are the softmax
        of its logits, a multi-label sigmoid model's the sigmoid of each logit, a one-unit sigmoid
        model's ``[1 - p, p]``; a linear model with several classes is read as logits (softmax), a
        regression's output is returned as it is. Scores computed with ``pre_softmax=False`` are
        already probabilities.
        """
        if not self.pre_softmax or self.regression:
            return scores
        if self.activation == "sigmoid":  # one unit: [-z, z] -> [1 - p, p]; several: each label on its own
            return tf.nn.sigmoid(scores)
        return tf.nn.softmax(scores, axis=-1)

    def class_probabilities(self, batch: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """``(N, classes)`` class probabilities of a checked batch (0..255), as :meth:`probabilities` defines them.

        One compiled forward pass per ``batch_size`` images, through the explainer's own extractor
        (the evaluation curves and the explorers use it: one scoring path for the package).
        """
        function = compiled_function(self._functions, "probabilities", _probability_graph, [self._image_spec()],
                                     concrete=True, explainer=self)
        parts = [np.asarray(function(tf.constant(batch[s], tf.float32)))
                 for s in batch_slices(len(batch), batch_size)]
        return np.concatenate(parts).astype(np.float64)

    def check_batch(self, batch: np.ndarray) -> None:
        """Check a batch (``(N, H, W, C)``, 0..255) against the method's own options before it runs.

        The base accepts every batch; a method with an image-valued option checks its size here.
        """

    def empty_advice(self, batch: np.ndarray, which: list[int]) -> str | None:
        """The reason images ``which`` of ``batch`` got empty maps, when the method knows it, else ``None``."""
        return None

    @staticmethod
    def choose_classes(scores: tf.Tensor, requested: tf.Tensor) -> tf.Tensor:
        """``requested`` with each ``-1`` replaced by the image's top class."""
        top = tf.argmax(scores, axis=-1, output_type=tf.int32)
        return tf.where(requested < 0, top, requested)

    def forward(self, images: tf.Tensor, requested: tf.Tensor, gradients: bool = False) -> Forward:
        """One forward pass (and, with ``gradients``, the backward from each class score to the layer).

        Returns:
            A :class:`Forward` (``activations``, ``gradients``, ``scores``, ``class_indices``,
            ``target``); ``activations`` is ``None`` for methods without a layer (``gradients`` is
            then taken with respect to the images).
        """
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(images)  # records the whole graph, so frozen models work too
            outputs = self.run_model(images)
            activations = outputs[0] if self.layer is not None else None
            scores = self.scores_of(outputs[-1])
            class_indices = self.choose_classes(scores, requested)
            target = tf.gather(scores, class_indices, axis=1, batch_dims=1)
        grads = None
        if gradients:  # only the backward from the score to the layer (or input) is built
            source = activations if activations is not None else images
            grads = tape.gradient(target, source, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            grads = tf.cast(grads, tf.float32)  # a mixed_float16 model's layers compute in float16
        if activations is not None:
            activations = tf.cast(activations, tf.float32)
        return Forward(activations=activations, gradients=grads, scores=scores, class_indices=class_indices,
                       target=target)

    # ------------------------------------------------------------------ the shared pipeline
    def over_copies(self, count: tf.Tensor, body, initial):
        """Run a method's extra passes in chunks of at most ``batch_size`` copies (graph code).

        The core owns the memory bound: a many-pass method describes its copies (masked images,
        noisy samples, path points) by their index ``0..count-1`` and hands ``body(indices, acc)``,
        which builds the copies of ``indices``, runs them (:meth:`scores_for`, :meth:`forward`)
        and folds the result into ``acc``. The chunks run one after another in one compiled loop
        (one trace of the model, whatever the count), so memory grows with ``batch_size`` and
        never with the number of passes.

        Args:
            count: how many copies, a scalar int32 tensor.
            body: ``(indices (k,) int32, acc) -> acc`` with ``k <= batch_size``.
            initial: the accumulator's first value (a tensor or a tuple of tensors).

        Returns:
            The final accumulator.
        """
        chunk = self._chunk if self._chunk is not None else tf.constant(64, tf.int32)
        if self.max_copies is not None:
            chunk = tf.minimum(chunk, self.max_copies)
        chunk = tf.maximum(chunk, 1)

        def step(start, acc):
            indices = tf.range(start, tf.minimum(start + chunk, count))
            return start + chunk, body(indices, acc)

        _, acc = tf.while_loop(lambda start, acc: start < count, step, (tf.constant(0, tf.int32), initial),
                               parallel_iterations=1)
        return acc

    max_copies: int | None = None
    """A method's own cap on the copies per pass (below ``batch_size``); ``None``: ``batch_size`` alone."""

    _chunk = None  # the compiled call's batch size, a scalar tensor while a pipeline is traced

    def _pipeline(self, images, requested, geometry, chunk, upsample: bool, relu: bool, aligned: bool):
        self._chunk = chunk
        try:
            result = self.attribute(images, requested)
        finally:
            self._chunk = None
        if isinstance(result, dict):  # a method written before Attribution: the same keys
            result = Attribution(**result)
        raw = result.maps
        maps = tf.nn.relu(raw) if relu else raw
        if upsample and self.uses_layer:
            size = tf.shape(images)[1:3]  # (height, width) of the input: never swapped
            if aligned:
                maps = _aligned_resize(maps, size, geometry[0], geometry[1], geometry[2])
            else:
                maps = tf.image.resize(maps[..., None], size, method="bilinear")[..., 0]
        magnitude = tf.reduce_max(tf.abs(raw), axis=[1, 2])
        evidence = tf.reduce_max(maps if relu else tf.abs(maps), axis=[1, 2])
        empty = tf.logical_or(evidence <= 0.0, evidence <= EMPTY_RELATIVE * magnitude)
        peak = tf.reduce_max(tf.abs(maps), axis=[1, 2], keepdims=True)
        # divide_no_nan: scale-free (a map scaled by 1e-9 normalizes to the same heatmap), never NaN.
        heatmaps = tf.math.divide_no_nan(maps, peak)
        heatmaps = tf.where(empty[:, None, None], tf.zeros_like(heatmaps), heatmaps)
        weights = result.weights
        if weights is None:
            weights = tf.zeros((tf.shape(images)[0], 0), images.dtype)
        return heatmaps, raw, weights, result.class_indices, result.scores, empty

    def _image_spec(self) -> tf.TensorSpec:
        """Any number of images at the model's input size (any size where the model leaves it open)."""
        return tf.TensorSpec((None, *self.input_shape[:2], 3 if self.input_shape[2] is None
                              else self.input_shape[2]), tf.float32)

    def _constant(self, key, value, dtype) -> tf.Tensor:
        """A small constant input of the pipeline (the geometry, the chunk), made once: one call of a
        one-image explanation costs little more than its model passes."""
        if key not in self._constants:
            self._constants[key] = tf.constant(value(), dtype)
        return self._constants[key]

    def _function(self, upsample: bool, relu: bool, aligned: bool):
        key = (bool(upsample), bool(relu), bool(aligned))
        if key in self._functions:
            return self._functions[key]
        spec = (self._image_spec(), tf.TensorSpec((None,), tf.int32), tf.TensorSpec((3,), tf.float32),
                tf.TensorSpec((), tf.int32))
        return compiled_function(self._functions, key, self._pipeline, spec, concrete=True,
                                 upsample=key[0], relu=key[1], aligned=key[2])

    @property
    def field(self):
        """The layer's receptive field at the model's own input size (``None``: unknown or unfixed size)."""
        height, width = self.input_shape[:2]
        return self.field_for(height, width) if self.layer and height and width else None

    def field_for(self, height: int, width: int):
        """The layer's receptive field for ``height × width`` inputs, or ``None`` where it is unknown (branches).

        ``same`` padding makes the offset depend on the input size, so it is computed per size.
        """
        key = (height, width)
        if key not in self._geometry:
            model, layer = self._model(), self.layer
            if model is None:  # the user deleted the model: the extractor has the same layers, flattened
                model, layer = self.extractor, self.layer.rsplit("/", 1)[-1]
            try:
                field = receptive_field(model, layer, (height, width))
            except (ValueError, TypeError, AttributeError):
                field = None
            cache_per_size(self._geometry, key, field if field is not None and field.jump >= 1 else None)
        return self._geometry[key]

    def explain(self, images, class_index=None, upsample: bool = True, relu: bool = True,
                batch_size: int = 64, progress: bool | None = None, align: bool = True) -> Explanation:
        """Run the method on a batch and return every intermediate result (see :class:`Explanation`).

        Args:
            images: one image ``(H, W, 3)`` or a batch ``(N, H, W, 3)`` in 0..255 (see
                :func:`check_images`).
            class_index: ``None`` (each image's top class), an int or class name, or one per image.
            upsample: resize the maps to the input's ``(H, W)``; otherwise keep the layer's ``(h, w)``.
            relu: keep only positive evidence (``[0, 1]``); ``False`` keeps the sign (``[-1, 1]``).
            batch_size: model passes per forward batch, which bounds memory: images per call for
                one-pass methods; a method with ``P`` passes per image (:meth:`passes`) runs
                ``max(1, batch_size // P)`` images per call and their copies in chunks of at most
                ``batch_size`` (:meth:`over_copies`), so memory never grows with ``P``.
            progress: show a progress bar over the batches; ``None`` (default): only on long work
                (more than :data:`LONG_WORK_PASSES` model passes in all).
            align: upsample along the receptive fields when the layer's geometry is known
                (computed for the actual input size); ``False`` stretches the map over the image.

        Returns:
            An :class:`Explanation` (batch axis kept even for one image).

        Warns:
            EmptyHeatmapWarning: a map has no positive evidence; it is all zeros.
        """
        batch, _ = check_images(images, self.extractor, model_name=self.model_name,
                                unit_inputs=self.input_range[1] <= 1.0)
        self.check_batch(batch)
        requested = check_class_index(class_index, len(batch), self.num_classes, self.class_names)
        batch_size = check_batch_size(batch_size)
        passes = max(1, int(self.passes(*batch.shape[1:3])))
        if progress is None:
            progress = passes * len(batch) > LONG_WORK_PASSES
        images_per_call = max(1, batch_size // passes)
        field = self.field_for(*batch.shape[1:3]) if (self.uses_layer and upsample and align) else None
        geometry = self._constant(("geometry", field), lambda: [field.start, field.start_col, field.jump] if field
                                  else [0.0, 0.0, 1.0], tf.float32)
        function = self._function(upsample, relu, field is not None)
        chunk = self._constant(("chunk", batch_size), lambda: batch_size, tf.int32)
        parts = [function(tf.constant(batch[s]), tf.constant(requested[s]), geometry, chunk)
                 for s in batch_slices(len(batch), images_per_call, progress,
                                       f"{self.title or self.name}" + (f" ({self.layer})" if self.layer else ""))]
        heatmaps, raw, weights, classes, scores, empty = (
            np.asarray(parts[0][i]) if len(parts) == 1 else np.concatenate([np.asarray(part[i]) for part in parts])
            for i in range(6))
        if np.any(empty):
            which = np.flatnonzero(empty).tolist()
            where = f" at layer {self.layer!r}" if self.layer else ""
            advice = self.empty_advice(batch, which) or (
                "The probabilities saturate: explain the logits (pre_softmax=True)." if not self.pre_softmax
                else "Try another class, another layer, or relu=False to see the negative evidence.")
            warnings.warn(
                f"{self.title or self.name}: no positive evidence for the explained class in image(s) {which[:10]}"
                f"{' …' if len(which) > 10 else ''}{where}; those heatmaps are all zeros. {advice}",
                EmptyHeatmapWarning, stacklevel=user_stacklevel(),
            )
        return Explanation(heatmaps=heatmaps, raw=raw, class_indices=classes.astype(int), scores=scores,
                           layer=self.layer, method=self.name, weights=weights if weights.shape[-1] else None,
                           empty=empty)

    def __call__(self, images, class_index=None, upsample: bool = True, relu: bool = True,
                 batch_size: int = 64, progress: bool | None = None, align: bool = True) -> np.ndarray:
        """Heatmaps only: ``(H, W)`` for one image, ``(N, H, W)`` for a batch (see :meth:`explain`)."""
        single = not isinstance(images, (list, tuple)) and np.ndim(images) in (2, 3)
        result = self.explain(images, class_index, upsample=upsample, relu=relu, batch_size=batch_size,
                              progress=progress, align=align)
        return result.heatmaps[0] if single else result.heatmaps

    def __repr__(self) -> str:
        layer = f", layer={self.layer!r}" if self.layer else ""
        return f"{type(self).__name__}(model={self.model_name!r}{layer}, pre_softmax={self.pre_softmax})"


def _probability_graph(images: tf.Tensor, explainer: Explainer) -> tf.Tensor:
    return explainer.probabilities(explainer.scores_for(images))


def _aligned_resize(maps: tf.Tensor, size: tf.Tensor, start_row, start_col, jump) -> tf.Tensor:
    """Bilinear upsampling of ``(N, h, w)`` maps that puts position ``i`` at pixel ``start + jump·i``.

    Pixels beyond the first or last position's centre take that position's value (as
    ``tf.image.resize`` does at the borders). Separable: one ``(H, h)`` and one ``(W, w)``
    interpolation matrix (two non-zero weights a row), applied as one product; a handful of
    operations, so a one-image Grad-CAM costs little more than its forward pass.
    """
    def axis(positions, pixels, start):
        u = (tf.range(pixels, dtype=maps.dtype) - start) / jump
        u = tf.clip_by_value(u, 0.0, tf.cast(positions - 1, maps.dtype))
        low = tf.floor(u)
        weight = (u - low)[:, None]
        low = tf.cast(low, tf.int32)
        high = tf.minimum(low + 1, positions - 1)
        return (tf.one_hot(low, positions, dtype=maps.dtype) * (1.0 - weight)
                + tf.one_hot(high, positions, dtype=maps.dtype) * weight)

    shape = tf.shape(maps)
    return tf.einsum("Hh,nhw,Ww->nHW", axis(shape[1], size[0], start_row), maps, axis(shape[2], size[1], start_col))


# ---------------------------------------------------------------------- function API
@functools.lru_cache(maxsize=None)
def _constructor_options(cls: type[Explainer]) -> frozenset[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" in klass.__dict__:
            names |= {p for p in inspect.signature(klass.__init__).parameters if p not in ("self", "model", "kwargs")}
    return frozenset(names)


def _hashable(value):
    """An option as a cache key: arrays (an image baseline) by their shape, dtype and a digest of their bytes."""
    if isinstance(value, np.ndarray) or (hasattr(value, "__array__") and not isinstance(value, (str, bytes))):
        array = np.ascontiguousarray(np.asarray(value))
        return ("array", array.shape, array.dtype.str, hashlib.sha1(array.tobytes()).hexdigest())
    if isinstance(value, list):
        return ("list", tuple(_hashable(v) for v in value))
    return value


def get_explainer(model: keras.Model, method: str | type[Explainer] = "grad_cam", layer: str | None = None,
                  **options) -> Explainer:
    """A reusable explainer for ``model``, cached per model, method, layer and options.

    The cache is dropped with the model, and the explainers in it never keep the model alive.

    Args:
        model: the Keras model.
        method: a registered name (see :func:`list_methods`) or an :class:`Explainer` subclass.
        layer: layer path or ``None`` for the method's default.
        **options: the method's own options (e.g. ``pre_softmax=False``, ``output=1``).

    Raises:
        ValueError: an unknown method or option (the message lists the valid ones).

    Taught in: ``03_class_activation_maps``.
    """
    cls = method_class(method)
    unknown = set(options) - _constructor_options(cls)
    if unknown:
        raise ValueError(
            f"Unknown option(s) {sorted(unknown)} for method {cls.name!r}; its options are "
            f"{sorted(_constructor_options(cls) - {'layer'})} (and {list(CALL_OPTIONS)} when explaining)."
        )
    check_model(model, f"explain with {cls.title or cls.__name__}")
    cache = model_cache(model, "explainers")
    if layer is not None and cls.uses_layer:
        layer = resolve_layer_path(model, layer)
    elif cls.uses_layer:  # the default layer, found once per model and output
        default_key = ("default layer", options.get("output"))
        if default_key not in cache:
            cache[default_key] = default_explanation_layer(model, choose_output(model, options.get("output")))
        layer = cache[default_key]
    else:
        layer = None
    try:
        key = (cls, layer, tuple(sorted((name, _hashable(value)) for name, value in options.items())))
        hash(key)
    except TypeError:  # an option that cannot be hashed even so: build it fresh
        return cls(model, layer, **options)
    if key not in cache:
        cache[key] = cls(model, layer, **options)
    return cache[key]


def explain(model: keras.Model, images, method: str | type[Explainer] = "grad_cam", class_index=None,
            layer: str | None = None, upsample: bool = True, **options) -> np.ndarray:
    """Explain ``images`` with any registered method: the one entry point for every method.

    Args:
        model: a built Functional or Sequential Keras classifier.
        images: one image ``(H, W, 3)`` or a batch ``(N, H, W, 3)`` in 0..255.
        method: a registered name (:func:`list_methods`), e.g. ``"grad_cam"``, ``"score_cam"`` or
            ``"integrated_gradients"``; each method's options and their defaults are documented on
            its class (:mod:`helpers.cams`, :mod:`helpers.attributions`).
        class_index: ``None`` (each image's top class), an int or class name, or one per image.
        layer: the layer to explain; ``None``: the method's default.
        upsample: maps at the input's ``(H, W)`` (``True``) or at the layer's own resolution.
        **options: ``relu``, ``align``, ``batch_size``, ``progress`` (see :meth:`Explainer.explain`)
            and the method's own options (``pre_softmax``, ``output``, ``samples``, ``steps``, ...).

    Returns:
        float32 ``(H, W)`` for one image or ``(N, H, W)`` for a batch, in ``[0, 1]``.

    Taught in: ``03_class_activation_maps``.
    """
    call = {k: options.pop(k) for k in CALL_OPTIONS if k in options}
    return get_explainer(model, method, layer, **options)(images, class_index, upsample=upsample, **call)


# ---------------------------------------------------------------------- cost, before it is paid
def _forward_pass(images: tf.Tensor, explainer: Explainer) -> tf.Tensor:
    return explainer.run_model(images)[-1]


def _backward_pass(images: tf.Tensor, explainer: Explainer) -> tf.Tensor:
    with tf.GradientTape() as tape:
        tape.watch(images)
        top = tf.reduce_sum(tf.reduce_max(explainer.run_model(images)[-1], axis=-1))
    return tape.gradient(top, images)


def _pass_times(explainer: Explainer, probe: np.ndarray, repeats: int) -> tuple[float, float, float]:
    """Milliseconds per image of one compiled forward pass and one forward + backward pass, and the
    seconds their first calls took beyond a steady call (tracing and compiling)."""
    model = explainer._model()
    cache = model_cache(model, "pass times") if model is not None else explainer.__dict__.setdefault("_times", {})
    key = (tuple(probe.shape), explainer.output, explainer.pre_softmax)  # one measurement per model and size
    if key not in cache:
        spec = [tf.TensorSpec((None, *probe.shape[1:]), tf.float32)]
        forward, backward = (compiled_function(explainer._functions, ("pass", graph.__name__, probe.shape[1:]), graph,
                                               spec, explainer=explainer) for graph in (_forward_pass, _backward_pass))
        x = tf.constant(probe)
        timings, compile_seconds = [], 0.0
        for function in (forward, backward):
            start = time.perf_counter()
            np.asarray(function(x))  # trace and warm up
            first = time.perf_counter() - start
            runs = []
            for _ in range(repeats):
                start = time.perf_counter()
                np.asarray(function(x))
                runs.append((time.perf_counter() - start) * 1000.0 / len(probe))
            timings.append(float(np.median(runs)))
            compile_seconds += max(0.0, first - timings[-1] * len(probe) / 1000.0)
        cache[key] = (timings[0], timings[1], compile_seconds)
    return cache[key]


def estimate_cost(model: keras.Model, method: str | type[Explainer], images, layer: str | None = None,
                  repeats: int = 3, **options) -> dict:
    """What explaining ``images`` with ``method`` will cost, told before it is paid.

    Counts the model passes the method needs (:meth:`Explainer.passes`: 1 for Grad-CAM, ``C + 1``
    for Score-CAM, ``samples + 1`` for SmoothGrad, ``steps + 1`` for Integrated Gradients, one
    per patch + 1 for occlusion) and multiplies them by a *measured* compiled pass on a few of
    the images (a forward pass, or forward + backward for gradient methods), at the chunk size
    the call will use (``batch_size``, up to 8 images measured).

    ``seconds`` is the cost of a call once the explainer is compiled; it **excludes** the first
    call's tracing and compiling, which ``compile_seconds`` tells (measured on the same passes;
    the method's own graph holds the model once, so its first call pays about that much more).

    Args:
        model: the Keras model.
        method: a registered name (see :func:`list_methods`).
        images: the images that will be explained (only their count and size are used, and up
            to 8 of them for the measurement).
        layer: the layer, as for :func:`explain`.
        repeats: timed repetitions of the measured pass (median).
        **options: the method's options (``samples=``, ``steps=``, ``patch=``, ...) and
            ``batch_size`` (the chunk the passes run in; the measurement uses up to 8 of it);
            the other options of the call (``progress``, ...) are accepted and ignored.

    Returns:
        ``{"method", "images", "passes_per_image", "passes", "ms_per_pass", "seconds",
        "compile_seconds"}``: ``seconds`` is the estimate (passes × measured time per pass, per
        image) for a compiled explainer; ``compile_seconds`` what a first call adds.

    Taught in: ``04_beyond_grad_cam``.
    """
    batch_size = check_batch_size(options.get("batch_size", 64))
    options = {k: v for k, v in options.items() if k not in CALL_OPTIONS}
    explainer = get_explainer(model, method, layer, **options)
    batch, _ = check_images(images, explainer.extractor, model_name=explainer.model_name)
    height, width = batch.shape[1:3]
    passes = max(1, int(explainer.passes(height, width)))
    size = min(8, batch_size)  # the chunk the passes run in, up to 8 images (repeated if fewer)
    probe = np.resize(batch[:size], (size, *batch.shape[1:]))
    forward_ms, backward_ms, compile_seconds = _pass_times(explainer, probe, max(1, int(repeats)))
    per_pass = backward_ms if explainer.gradient_passes else forward_ms
    return {"method": explainer.name, "images": len(batch), "passes_per_image": passes,
            "passes": passes * len(batch), "ms_per_pass": per_pass,
            "seconds": passes * len(batch) * per_pass / 1000.0, "compile_seconds": compile_seconds}
