"""Filter visualization by gradient ascent in input space (chapter section 22.2), fast.

What a filter "looks for" is shown by the input image that makes its mean activation as large
as possible. Starting from a grey image with a little noise, the image is changed step by step
along the gradient of that activation: gradient *ascent* on the pixels, the weights fixed.

Three ways to do the ascent are offered (``method=``):

* ``"plain"`` — the chapter's method: normalized gradient steps on the pixels.
* ``"robust"`` — the same steps, but every step sees a randomly jittered, scaled and slightly
  rotated copy of the image, so only patterns that survive small transformations grow
  (transformation robustness, as in Lucid).
* ``"fourier"`` — the image is parametrized by its Fourier coefficients, scaled down at high
  frequencies, in decorrelated colours, optimized with Adam, with the same random
  transformations (Lucid's recipe, written from scratch for Keras 3).

Speed: every step runs inside one ``tf.function`` on the model *truncated at the target
layer*, and of that layer only the requested filters are computed; the gradient is taken with
respect to the image only (no weight gradients), and all requested filters are optimized
together as one batch, each image maximizing its own filter.

Taught in: ``02_filter_visualization``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import math
import warnings
from typing import Sequence

import numpy as np

from helpers._backend import EPSILON, keras, tf
from helpers.data import user_stacklevel
from helpers.inputs import batch_slices
from helpers.layers import (
    CONV_TYPES,
    WithoutActivation,
    check_model,
    conv_layer_names,
    get_layer,
    input_shape,
    intermediate_model,
    model_cache,
    resolve_layer_path,
    retrace,
)

__all__ = [
    "METHODS", "DEFAULT_STEP_SIZE", "PRE_ACTIVATION_MODES", "compiled_ascent", "filter_loss", "normalize_gradient",
    "grey_noise_images",
    "deprocess_image", "feature_extractor", "Robustness", "colour_correlation_sqrt", "FilterVisualization",
    "filter_ascent", "visualize_filters", "SilentFilterWarning", "randomized_copy", "spectral_statistics",
    "pattern_statistics",
    "transformed_activations",
]


METHODS: tuple[str, ...] = ("plain", "robust", "fourier")
"""Values accepted by the ``method`` argument of :func:`filter_ascent`."""

DEFAULT_STEP_SIZE = {"plain": 2.0, "robust": 2.0, "fourier": 0.05}
"""Default step per method: grey levels (RMS over the pixels) per normalized gradient step for
``plain``/``robust``; Adam's learning rate on the Fourier coefficients for ``fourier``."""


# --------------------------------------------------------------------------- building blocks
def filter_loss(features: tf.Tensor, filters: tf.Tensor, border: int = 2) -> tf.Tensor:
    """Mean activation of each image's own filter, the ``border`` outer rows and columns excluded.

    Image ``i`` of the batch is scored on channel ``filters[i]``. The border is left out because
    of ``padding="same"``: the zeros padded around the feature map make the edge pixels behave
    differently, and gradient ascent would happily exploit them (bright frames, edge artefacts)
    instead of building the pattern everywhere.

    Args:
        features: ``(n, h, w, c)`` layer output.
        filters: ``(n,)`` integer channel index per image.
        border: feature-map pixels left out on every side.

    Returns:
        ``(n,)`` mean activation per image.

    Taught in: ``02_filter_visualization``.
    """
    select = tf.one_hot(tf.cast(filters, tf.int32), tf.shape(features)[-1], dtype=features.dtype)
    own = tf.einsum("nhwc,nc->nhw", features, select)
    static_h, static_w = own.shape[1], own.shape[2]
    if static_h is not None and static_w is not None and min(static_h, static_w) <= 2 * border:
        raise ValueError(
            f"The layer's feature map is only {static_h}x{static_w} positions, nothing is left once "
            f"border={border} positions are dropped on each side: use larger images (size=) or border=0."
        )
    h, w = tf.shape(own)[1], tf.shape(own)[2]
    # A 0/1 mask instead of slicing off the border: same value, but its gradient is a plain
    # multiplication, while the gradient of a slice is ten times slower on a CPU.
    inside = tf.pad(tf.ones((h - 2 * border, w - 2 * border), features.dtype),
                    [[border, border], [border, border]])
    return tf.reduce_sum(own * inside, axis=(1, 2)) / tf.cast((h - 2 * border) * (w - 2 * border), features.dtype)


def _interior_max(features: tf.Tensor, filters: tf.Tensor, border: int = 2) -> tf.Tensor:
    """Largest value of each image's own filter, the ``border`` outer positions excluded: ``(n,)``."""
    select = tf.one_hot(tf.cast(filters, tf.int32), tf.shape(features)[-1], dtype=features.dtype)
    own = tf.einsum("nhwc,nc->nhw", features, select)
    h, w = tf.shape(own)[1], tf.shape(own)[2]
    inside = tf.pad(tf.ones((h - 2 * border, w - 2 * border), tf.bool), [[border, border], [border, border]],
                    constant_values=False)
    return tf.reduce_max(tf.where(inside[None], own, tf.fill(tf.shape(own), own.dtype.min)), axis=(1, 2))


def normalize_gradient(grads: tf.Tensor) -> tf.Tensor:
    """Scale each image's gradient to an RMS of 1 (L2 normalization, per image).

    Dividing by the L2 norm makes the step size independent of how large the raw gradient
    happens to be (tiny at the start, huge later). Dividing by the root *mean* square instead of
    the root sum keeps a step of 1 meaning "about one grey level per pixel", whatever the image
    size. ``EPSILON`` keeps an all-zero gradient (a dead filter) from dividing by zero.

    Taught in: ``02_filter_visualization``.
    """
    rms = tf.sqrt(tf.reduce_mean(tf.square(grads), axis=(1, 2, 3), keepdims=True))
    return grads / (rms + EPSILON)


def grey_noise_images(n: int, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """``n`` starting images: grey (128) plus uniform noise of 20 grey levels, as in the chapter.

    Taught in: ``02_filter_visualization``.
    """
    rng = np.random.default_rng(seed)
    return (128.0 + 20.0 * rng.random((n, *size, 3))).astype("float32")


def deprocess_image(x: np.ndarray, contrast: float = 0.1) -> np.ndarray:
    """Turn optimized pixels (any range) into viewable uint8 images, each one on its own.

    Each image is centred on 0, scaled to a standard deviation of ``contrast`` (as a fraction of
    the 0..1 range), moved to mid-grey 0.5, clipped and converted to 0..255: the chapter's
    ``deprocess_image``. Works on one image ``(h, w, 3)`` or a batch ``(n, h, w, 3)``.

    Taught in: ``02_filter_visualization``.
    """
    x = np.asarray(x, dtype="float64")
    axes = tuple(range(x.ndim - 3, x.ndim))
    x = x - x.mean(axis=axes, keepdims=True)
    x = x / (x.std(axis=axes, keepdims=True) + EPSILON) * contrast + 0.5
    return (np.clip(x, 0.0, 1.0) * 255.0).round().astype("uint8")


def _as_size(size: int | Sequence[int] | None, model: keras.Model) -> tuple[int, int]:
    if size is None:
        shape = input_shape(model)
        if len(shape) != 3 or shape[0] is None or shape[1] is None:
            raise ValueError(f"Model {model.name!r} has input shape {shape}; pass size=(height, width).")
        return int(shape[0]), int(shape[1])
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < 8:
        raise ValueError(f"size must be an int or (height, width) of at least 8 pixels; got {size}.")
    return size


def _check_layer(model: keras.Model, layer: str) -> tuple[str, keras.layers.Layer]:
    check_model(model, "visualize the filters of")
    convs = conv_layer_names(model)
    path = resolve_layer_path(model, layer)  # raises ValueError listing every layer name
    target = get_layer(model, path)
    if not isinstance(target, CONV_TYPES) or len(target.kernel.shape) != 4:
        raise ValueError(
            f"Layer {layer!r} of model {model.name!r} is a {type(target).__name__}, not a 2-D "
            f"convolution: filter visualization needs one. Conv layers: {', '.join(convs)}."
        )
    return path, target


def _check_filters(filters: Sequence[int] | int, layer: str, n_channels: int) -> tuple[int, ...]:
    if isinstance(filters, (int, np.integer)):
        filters = [int(filters)]
    filters = tuple(int(f) for f in filters)
    if not filters:
        raise ValueError("filters is empty; pass filter indices such as range(16).")
    bad = [f for f in filters if not 0 <= f < n_channels]
    if bad:
        raise ValueError(
            f"Filter index {bad[0]} is out of range: layer {layer!r} has {n_channels} filters "
            f"(valid indices 0..{n_channels - 1})."
        )
    return filters


# Truncated models are cached per (model, layer, size, pre_activation) in helpers.layers.model_cache:
# building and tracing one costs about a second, and notebooks ask for the same layer several times.


def feature_extractor(model: keras.Model, layer: str, size: int | Sequence[int] | None = None,
                      pre_activation: bool = False) -> keras.Model:
    """The model truncated at ``layer``, taking ``size`` images (any size for convolutional parts).

    Only the layers up to ``layer`` are kept: the ascent never pays for the rest of the network.
    Works for Sequential (also never called), Functional and nested models.

    Args:
        model: a Keras model taking images.
        layer: a 2-D convolution layer's name or path (``"backbone/block3_conv1"``).
        size: input ``(height, width)`` or an int; the model's own input size when ``None``.
        pre_activation: output the convolution *before* its activation (ReLU), so a filter that
            is zero everywhere on the starting image still gets a gradient.

    Returns:
        A ``keras.Model`` mapping ``(n, h, w, 3)`` images to the layer's ``(n, h', w', c)`` output.

    Raises:
        ValueError: ``layer`` is not a 2-D convolution (the message lists the conv layers).

    Taught in: ``02_filter_visualization``.
    """
    path, target = _check_layer(model, layer)
    size = _as_size(size, model)
    key = (path, size, bool(pre_activation))
    cache = model_cache(model, "filters")
    if key in cache:
        return cache[key]
    native = intermediate_model(model, [path], include_output=False)
    channels = input_shape(model)[-1]
    inputs = keras.Input((*size, channels), name="image")
    # Re-trace the truncated graph on an input of the requested size (the convolutional part of
    # a model accepts any size; its head, cut off here, would not).
    outputs = retrace(native, inputs).outputs[0]
    if pre_activation:
        operation, node_index, _ = outputs._keras_history
        layer_input = operation._inbound_nodes[node_index].input_tensors[0]
        outputs = WithoutActivation(target, name=f"{target.name}_pre_activation")(layer_input)
    extractor = keras.Model(inputs, outputs, name=f"{model.name}_to_{target.name}")
    cache[key] = extractor
    return extractor


# --------------------------------------------------------------------------- transformations
@dataclasses.dataclass(frozen=True)
class Robustness:
    """Random transformations applied to the image before every step (``robust``/``fourier``).

    Attributes:
        jitter: largest shift in pixels, each direction; ``None`` means 1/16 of the image size.
        scale: largest relative zoom, in and out (0.1 means 0.9 to 1.1).
        degrees: largest rotation, either way.

    Taught in: ``02_filter_visualization``.
    """

    jitter: int | None = None
    scale: float = 0.1
    degrees: float = 5.0


def _random_affine(images: tf.Tensor, generator: tf.random.Generator, robustness: Robustness,
                   jitter: int) -> tf.Tensor:
    """Jitter, zoom and rotate every image of the batch by its own random amount (differentiable)."""
    n = tf.shape(images)[0]
    h = tf.cast(tf.shape(images)[1], tf.float32)
    w = tf.cast(tf.shape(images)[2], tf.float32)
    angle = generator.uniform((n,), -1.0, 1.0) * (robustness.degrees * math.pi / 180.0)
    zoom = 1.0 + generator.uniform((n,), -1.0, 1.0) * robustness.scale
    shift = tf.cast(generator.uniform((n, 2), -jitter, jitter + 1, dtype=tf.int32), tf.float32)
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    # Output pixel (x, y) samples input pixel A @ (x - c) + c - shift, A = rotation(-angle) / zoom.
    a0, a1, b0, b1 = cos, sin, -sin, cos
    a2 = cx - a0 * cx - a1 * cy - shift[:, 0]
    b2 = cy - b0 * cx - b1 * cy - shift[:, 1]
    zeros = tf.zeros_like(cos)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")


# --------------------------------------------------------------------------- Fourier images
@functools.lru_cache(maxsize=1)
def colour_correlation_sqrt() -> np.ndarray:
    """A square root of the RGB covariance of the shape world (3×3, largest column norm 1).

    Multiplying three *uncorrelated* channels by this matrix gives colours correlated the way
    they are in the training images; optimizing in the uncorrelated space is what Lucid calls
    colour decorrelation. Computed from 64 held-out shape-world images.

    Taught in: ``02_filter_visualization``.
    """
    from helpers.data import make_shapes

    images, _, _ = make_shapes(64, size=64, seed=1)
    pixels = images.reshape(-1, 3).astype("float64") / 255.0
    values, vectors = np.linalg.eigh(np.cov(pixels, rowvar=False))
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    return (root / (np.linalg.norm(root, axis=0).max() + EPSILON)).astype("float32")


def _fourier_scale(size: tuple[int, int], decay: float) -> np.ndarray:
    """1 / frequency**decay for the rfft2 grid, normalized to an RMS of 1."""
    fy = np.fft.fftfreq(size[0])[:, None]
    fx = np.fft.rfftfreq(size[1])[None, :]
    freq = np.sqrt(fx**2 + fy**2)
    scale = 1.0 / np.maximum(freq, 1.0 / max(size)) ** decay
    return (scale / np.sqrt(np.mean(scale**2))).astype("float32")


def _fourier_to_pixels(params: tf.Tensor, scale: tf.Tensor, colour: tf.Tensor,
                       size: tuple[int, int]) -> tf.Tensor:
    """(n, 3, h, w//2+1, 2) real/imag coefficients -> (n, h, w, 3) pixels in 0..255."""
    spectrum = tf.complex(params[..., 0] * scale, params[..., 1] * scale)
    spatial = tf.signal.irfft2d(spectrum, fft_length=size) * math.sqrt(size[0] * size[1])
    spatial = tf.transpose(spatial, (0, 2, 3, 1))  # channels last, still decorrelated
    rgb = tf.einsum("nhwk,ck->nhwc", spatial, colour)
    return tf.sigmoid(rgb) * 255.0


# --------------------------------------------------------------------------- the ascent
@dataclasses.dataclass(frozen=True)
class FilterVisualization:
    """What :func:`filter_ascent` returns.

    Attributes:
        images: ``(n, h, w, 3)`` uint8, ready to show (``plain``/``robust`` deprocessed with
            :func:`deprocess_image`; ``fourier`` images are already in 0..255).
        pixels: ``(n, h, w, 3)`` float32, the optimized input exactly as the model sees it.
        activations: ``(n,)`` mean activation of each filter (border excluded) on ``pixels``,
            without any random transformation: the activation reached.
        start_activations: ``(n,)`` the same on the starting images.
        start_pixels: ``(n, h, w, 3)`` float32, the starting images.
        history: ``(steps, n)`` the objective before each step (what the loop printed).
        layer, filters, method, steps, pre_activation: the request.

    Taught in: ``02_filter_visualization``.
    """

    images: np.ndarray
    pixels: np.ndarray
    activations: np.ndarray
    start_activations: np.ndarray
    start_pixels: np.ndarray
    history: np.ndarray
    layer: str
    filters: tuple[int, ...]
    method: str
    steps: int
    pre_activation: bool | str = False

    @property
    def silent_steps(self) -> np.ndarray:
        """``(n,)`` the steps at which each filter was silent (zero at every position measured).

        Read from the history: with ``pre_activation`` ``"auto"`` or ``False`` the objective is
        <= 0 exactly when the filter does not fire. With ``"auto"``, a filter with
        ``silent_steps > 0`` is one whose pre-activation had to be climbed first.

        Raises:
            ValueError: the ascent climbed the pre-activation throughout (``True``), whose
                history cannot tell silent steps apart.
        """
        if self.pre_activation is True:
            raise ValueError("silent_steps needs pre_activation='auto' or False.")
        return (self.history <= 0).sum(axis=0)

    @property
    def gains(self) -> np.ndarray:
        """Activation reached divided by the starting one (``EPSILON`` keeps dead filters finite)."""
        return self.activations / (np.abs(self.start_activations) + EPSILON)


class _Compiled:
    """The traced functions of one (model, layer, size, method, ...) configuration."""

    def __init__(self, extractor: keras.Model, objective, size: tuple[int, int],
                 method: str, border: int, robustness: Robustness, jitter: int, decay: float):
        self.generator = tf.random.Generator.from_seed(0)
        generator = self.generator
        h, w = size
        image_spec = tf.TensorSpec((None, h, w, 3), tf.float32)
        filter_spec = tf.TensorSpec((None,), tf.int32)
        scalar = tf.TensorSpec((), tf.float32)

        @tf.function(input_signature=[image_spec, filter_spec])
        def measure(images, filters):
            return filter_loss(extractor(images, training=False), filters, border)

        self.measure = measure

        if method != "fourier":
            robust = method == "robust"

            @tf.function(input_signature=[image_spec, filter_spec, scalar])
            def pixel_step(images, filters, step_size):
                with tf.GradientTape(watch_accessed_variables=False) as tape:
                    tape.watch(images)
                    seen = _random_affine(images, generator, robustness, jitter) if robust else images
                    loss = objective(seen, filters)
                    total = tf.reduce_sum(loss)  # images do not interact: each gets its own gradient
                grads = tape.gradient(total, images)
                return images + step_size * normalize_gradient(grads), loss

            self.step = pixel_step
            return

        scale = tf.constant(_fourier_scale(size, decay)[None, None])
        colour = tf.constant(colour_correlation_sqrt())
        param_spec = tf.TensorSpec((None, 3, h, w // 2 + 1, 2), tf.float32)

        @tf.function(input_signature=[param_spec])
        def pixels_of(params):
            return _fourier_to_pixels(params, scale, colour, size)

        @tf.function(input_signature=[param_spec, param_spec, param_spec, scalar, filter_spec, scalar])
        def fourier_step(params, m, v, t, filters, learning_rate):
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(params)
                seen = _random_affine(_fourier_to_pixels(params, scale, colour, size), generator,
                                      robustness, jitter)
                loss = objective(seen, filters)
                total = tf.reduce_sum(loss)
            grads = tape.gradient(total, params)
            # Adam (ascent), written out so that its state is plain tensors passed in and out.
            m = 0.9 * m + 0.1 * grads
            v = 0.999 * v + 0.001 * tf.square(grads)
            m_hat, v_hat = m / (1.0 - 0.9**t), v / (1.0 - 0.999**t)
            return params + learning_rate * m_hat / (tf.sqrt(v_hat) + 1e-7), m, v, loss

        self.pixels_of = pixels_of
        self.step = fourier_step


def _selected_channels_objective(model: keras.Model, path: str, size: tuple[int, int],
                                 pre_activation: bool | str, border: int):
    """The loss computing only the requested channels of the target convolution, or ``None``.

    The network runs up to the target layer's *input*; the target convolution is then applied
    with the kernels of the ``n`` requested filters only (``n`` output channels instead of all
    of them) and image ``i`` keeps channel ``i``. With 16 of 64 filters that is a quarter of the
    last layer's work, forward and backward. Plain ``Conv2D`` layers only (else ``None``).
    """
    target = get_layer(model, path)
    if (not isinstance(target, keras.layers.Conv2D) or target.data_format != "channels_last"
            or getattr(target, "groups", 1) != 1):
        return None
    output = feature_extractor(model, path, size).outputs[0]
    operation, node_index, _ = output._keras_history
    layer_input = operation._inbound_nodes[node_index].input_tensors[0]
    trunk = keras.Model(feature_extractor(model, path, size).inputs, layer_input,
                        name=f"{model.name}_to_{target.name}_input")
    padding, strides, dilations = target.padding.upper(), list(target.strides), list(target.dilation_rate)

    def objective(images, filters):
        kernel = tf.gather(tf.convert_to_tensor(target.kernel), filters, axis=3)
        y = tf.nn.conv2d(trunk(images, training=False), kernel, strides=strides, padding=padding,
                         dilations=dilations)
        if target.use_bias:
            y = y + tf.gather(tf.convert_to_tensor(target.bias), filters)
        own = tf.range(tf.shape(filters)[0])  # image i: its channel i
        if pre_activation == "auto" and target.activation is not None:
            return _auto_objective(_interior_max(y, own, border),
                                   filter_loss(target.activation(y), own, border))
        if not pre_activation and target.activation is not None:
            y = target.activation(y)
        return filter_loss(y, own, border)

    return objective


PRE_ACTIVATION_MODES: tuple[bool | str, ...] = (False, True, "auto")
"""Values accepted by the ``pre_activation`` argument of :func:`filter_ascent`."""


def _auto_objective(pre: tf.Tensor, post: tf.Tensor) -> tf.Tensor:
    """Per image: the filter's real (post-ReLU) mean while it fires, its largest pre-activation while silent.

    A ReLU filter that is negative at every position has output 0 and gradient 0: plain ascent
    never moves it. Its value before the ReLU is negative but not flat, so climbing it wakes the
    filter up (Lucid climbs the pre-activation for the same reason). We climb the *largest*
    pre-activation of the map, the position closest to firing: the whole normalized step then
    goes into that position's receptive field, instead of being spread over the image by the
    mean. As soon as one position turns positive the real output takes over. ``post > 0``
    exactly when some position fires (``pre`` <= 0 otherwise), so a loss <= 0 in the history
    means "silent".
    """
    return tf.where(post > 0, post, pre)


def _pre_activation_mode(pre_activation: bool | str) -> bool | str:
    if isinstance(pre_activation, str):
        if pre_activation != "auto":
            raise ValueError(f"pre_activation must be True, False or 'auto'; got {pre_activation!r}.")
        return "auto"
    return bool(pre_activation)


def compiled_ascent(model: keras.Model, path: str, size: tuple[int, int], method: str, border: int,
                    pre_activation: bool | str, robustness: Robustness, jitter: int, decay: float,
                    selective: bool = True) -> _Compiled:
    """The traced ascent functions for one (model, layer, size, method, ...) configuration, cached per model.

    Used by :func:`filter_ascent` and by the benchmarks, which time one step of it.
    """
    cache = model_cache(model, "filters")
    key = ("compiled", path, size, method, border, pre_activation, robustness, jitter, decay, selective)
    if key not in cache:
        extractor = feature_extractor(model, path, size)
        objective = _selected_channels_objective(model, path, size, pre_activation, border) if selective else None
        if objective is None and pre_activation == "auto":
            target = get_layer(model, path)
            full = feature_extractor(model, path, size, True)
            activation = target.activation if target.activation is not None else (lambda y: y)

            def objective(images, filters):
                y = full(images, training=False)
                return _auto_objective(_interior_max(y, filters, border),
                                       filter_loss(activation(y), filters, border))
        elif objective is None:
            full = feature_extractor(model, path, size, pre_activation) if pre_activation else extractor

            def objective(images, filters):
                return filter_loss(full(images, training=False), filters, border)

        cache[key] = _Compiled(extractor, objective, size, method, border, robustness, jitter, decay)
    return cache[key]


@contextlib.contextmanager
def _quiet_retracing():
    """Silence TensorFlow's "triggered tf.function retracing" warning while we trace on purpose.

    Each (model, layer, size, method) configuration is traced once and cached; TensorFlow counts
    those first traces of look-alike functions as "excessive retracing" and warns on stderr.
    """
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _progress_bar(total: int, progress: bool, description: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not progress, desc=description, leave=False)


def filter_ascent(model: keras.Model, layer: str, filters: Sequence[int] | int, steps: int = 40,
                  size: int | Sequence[int] | None = None, *, method: str = "plain",
                  step_size: float | None = None, border: int = 2, seed: int = 0,
                  batch_size: int | None = 64, pre_activation: bool | str = "auto",
                  robustness: Robustness = Robustness(), fourier_decay: float = 1.0,
                  progress: bool = True) -> FilterVisualization:
    """Gradient ascent on input images, one image per filter, all filters of a batch at once.

    Args:
        model: any Keras model taking images in the range it was trained on (ours: 0..255).
        layer: name or path of a 2-D convolution layer.
        filters: filter (channel) indices, e.g. ``range(64)``; an int means one filter.
        steps: gradient steps.
        size: image ``(height, width)`` or an int; the model's input size when ``None``. A fully
            convolutional part accepts smaller images: cheaper, and enough when the layer's
            receptive field is small.
        method: ``"plain"`` (the chapter), ``"robust"`` (random jitter/scale/rotation every
            step) or ``"fourier"`` (Fourier + decorrelated-colour parametrization, Adam, with
            the same transformations).
        step_size: grey levels (RMS) per step for the pixel methods, Adam's learning rate for
            ``fourier``; :data:`DEFAULT_STEP_SIZE` when ``None``.
        border: feature-map pixels left out of the loss on every side (see :func:`filter_loss`).
        seed: seeds the starting noise (image ``i`` starts from
            ``grey_noise_images(len(filters), size, seed)[i]``) and the random transformations.
        batch_size: filters optimized together in one batch (``None``: all at once). Results do
            not depend on it for ``plain``.
        pre_activation: what is climbed. ``"auto"`` (default): the layer's real output while
            the filter fires somewhere, its value before the ReLU while it is silent (zero
            everywhere, hence no gradient), so every filter that can fire gets a pattern that
            makes it fire; the history then holds a value <= 0 at the silent steps
            (:attr:`FilterVisualization.silent_steps` counts them). ``False``: the chapter's
            plain objective, the real output only (a silent filter never moves). ``True``: the
            value before the ReLU throughout. The activations reported are always the layer's
            real output.
        robustness: the random transformations of ``robust`` and ``fourier``.
        fourier_decay: how fast Fourier coefficients shrink with frequency (1 / f**decay).
        progress: show a tqdm progress bar over the steps.

    Returns:
        A :class:`FilterVisualization` (images, activation reached per filter, history, ...).

    Raises:
        ValueError: ``layer`` is not a conv layer, a filter index is out of range, an unknown
            ``method``, or an image so small that the border leaves nothing to measure.

    Taught in: ``02_filter_visualization``.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}. Valid methods: {', '.join(METHODS)}.")
    if steps < 1:
        raise ValueError(f"steps must be at least 1; got {steps}.")
    pre_activation = _pre_activation_mode(pre_activation)
    path, target = _check_layer(model, layer)
    filters = _check_filters(filters, path, int(target.kernel.shape[-1]))
    size = _as_size(size, model)
    if input_shape(model)[-1] != 3:
        raise ValueError(f"Model {model.name!r} takes {input_shape(model)[-1]}-channel inputs; "
                         "filter visualization here makes RGB images (3 channels).")
    fh, fw = feature_extractor(model, path, size).outputs[0].shape[1:3]
    if min(fh, fw) <= 2 * border:
        raise ValueError(
            f"At size {size} layer {path!r} outputs a {fh}x{fw} map; a border of {border} leaves "
            "nothing to measure. Use a larger size or a smaller border."
        )
    step_size = tf.constant(DEFAULT_STEP_SIZE[method] if step_size is None else float(step_size))
    jitter = max(1, min(size) // 16) if robustness.jitter is None else int(robustness.jitter)
    batch_size = len(filters) if batch_size is None else max(1, int(batch_size))
    # Computing only the requested channels of the layer pays when a batch asks for fewer
    # filters than the layer has (see _selected_channels_objective).
    selective = min(batch_size, len(filters)) < int(target.kernel.shape[-1])
    fns = compiled_ascent(model, path, size, method, int(border), pre_activation, robustness,
                    jitter, float(fourier_decay), selective)
    fns.generator.reset_from_seed(seed)

    # Starting points are drawn for all filters at once, so they do not depend on batch_size.
    if method == "fourier":
        rng = np.random.default_rng(seed)
        start = rng.normal(0.0, 0.01, (len(filters), 3, size[0], size[1] // 2 + 1, 2)).astype("float32")
    else:
        start = grey_noise_images(len(filters), size, seed)
    all_filters = np.asarray(filters, dtype="int32")
    pixels_out, starts, finals, history, start_pixels = [], [], [], [], []
    chunks = list(batch_slices(len(filters), batch_size))
    bar = _progress_bar(steps * len(chunks), progress, f"{path} ({method})")
    try:
        with _quiet_retracing():
            for chunk in chunks:
                chunk_filters = tf.constant(all_filters[chunk])
                chunk_history = []
                if method == "fourier":
                    params = tf.constant(start[chunk])
                    m, v = tf.zeros_like(params), tf.zeros_like(params)
                    images = fns.pixels_of(params)
                    start_pixels.append(images.numpy())
                    starts.append(fns.measure(images, chunk_filters).numpy())
                    for t in range(1, steps + 1):
                        params, m, v, loss = fns.step(params, m, v, tf.constant(float(t)), chunk_filters,
                                                      step_size)
                        chunk_history.append(loss.numpy())
                        bar.update(1)
                    images = fns.pixels_of(params)
                else:
                    images = tf.constant(start[chunk])
                    start_pixels.append(start[chunk])
                    # The plain objective on the untouched start is the starting activation:
                    # the first step's loss. Other objectives need a separate measurement.
                    same_objective = method == "plain" and pre_activation is False
                    if not same_objective:
                        starts.append(fns.measure(images, chunk_filters).numpy())
                    for _ in range(steps):
                        images, loss = fns.step(images, chunk_filters, step_size)
                        chunk_history.append(loss.numpy())
                        bar.update(1)
                    if same_objective:
                        starts.append(chunk_history[0])
                finals.append(fns.measure(images, chunk_filters).numpy())
                pixels_out.append(images.numpy())
                history.append(np.stack(chunk_history))
    finally:
        bar.close()

    pixels = np.concatenate(pixels_out)
    shown = pixels.round().clip(0, 255).astype("uint8") if method == "fourier" else deprocess_image(pixels)
    return FilterVisualization(
        images=shown, pixels=pixels, activations=np.concatenate(finals),
        start_activations=np.concatenate(starts), start_pixels=np.concatenate(start_pixels),
        history=np.concatenate(history, axis=1),
        layer=path, filters=filters, method=method, steps=steps, pre_activation=pre_activation)


class SilentFilterWarning(UserWarning):
    """A filter is still silent (mean activation 0) on the picture made for it: the picture shows no
    pattern the filter responds to."""


def visualize_filters(model: keras.Model, layer: str, filters: Sequence[int] | int, steps: int = 40,
                      size: int | Sequence[int] | None = None, *, return_activations: bool = False,
                      **kwargs) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The pattern each filter of ``layer`` responds to most, as viewable images.

    A thin wrapper of :func:`filter_ascent` (which takes the same keyword arguments and returns
    everything: pixels, starting activations, history).

    Args:
        model: any Keras model taking images.
        layer: name or path of a 2-D convolution layer, e.g. ``"block3_conv1"``.
        filters: filter indices, e.g. ``range(64)``.
        steps: gradient-ascent steps.
        size: image size (int or ``(height, width)``); the model's input size when ``None``.
        return_activations: also return the mean activation each image reached.
        **kwargs: ``method``, ``step_size``, ``border``, ``seed``, ``batch_size``,
            ``pre_activation``, ``robustness``, ``progress`` (see :func:`filter_ascent`).

    Returns:
        ``(len(filters), h, w, 3)`` uint8 images, or ``(images, activations)`` with
        ``return_activations=True`` (``activations`` has shape ``(len(filters),)``).

    Raises:
        ValueError: ``layer`` is not a conv layer (the message lists them) or a filter index is
            out of range (the message gives the valid range).

    Warns:
        SilentFilterWarning: a filter's picture leaves it silent (mean activation 0, border
            excluded): that picture is not what the filter responds to. The warning names the
            filters and the way out (more steps).

    Taught in: ``02_filter_visualization``.
    """
    result = filter_ascent(model, layer, filters, steps, size, **kwargs)
    silent = [int(f) for f, a in zip(result.filters, result.activations) if not a > 0]
    if silent:
        warnings.warn(
            f"Filter(s) {silent} of {layer!r} are still silent after {steps} steps (mean activation 0): their "
            f"pictures show no pattern the filter responds to. Climb longer (e.g. steps={2 * steps}) or report "
            "them as silent filters.", SilentFilterWarning, stacklevel=user_stacklevel())
    return (result.images, result.activations) if return_activations else result.images


# --------------------------------------------------------------------------- measuring patterns
def randomized_copy(model: keras.Model, seed: int = 0) -> keras.Model:
    """A copy of ``model`` whose weights are shuffled within each weight tensor (a sanity check).

    Every layer keeps exactly the same weight values — same scale, same distribution — but their
    arrangement is random, so whatever the trained model learned is gone. Patterns that look the
    same for the copy tell nothing about training. ``model`` itself is left unchanged.

    Taught in: ``02_filter_visualization``.
    """
    copy = keras.models.clone_model(model)
    rng = np.random.default_rng(seed)
    copy.set_weights([rng.permutation(w.ravel()).reshape(w.shape) for w in model.get_weights()])
    return copy


def spectral_statistics(images: np.ndarray) -> dict[str, np.ndarray]:
    """Spatial-frequency content of each image's luminance (its mean removed).

    Returns:
        One ``(n,)`` array per measure:

        * ``"mean_frequency"``: power-weighted mean frequency, in cycles per pixel (0.5 is a
          stripe every 2 pixels);
        * ``"high_frequency_fraction"``: share of the power above 0.25 cycles per pixel
          (periods shorter than 4 pixels);
        * ``"spectral_entropy"``: entropy of the normalized power spectrum, in bits (low: a few
          pure stripes; high: many frequencies, like noise);
        * ``"orientation_strength"``: 1 when all the power lies along one orientation (stripes,
          edges), 0 when no orientation is preferred (blobs, noise).

    Taught in: ``02_filter_visualization``.
    """
    images = np.asarray(images, dtype="float64")
    luminance = images @ np.array([0.299, 0.587, 0.114])
    luminance = luminance - luminance.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(luminance)) ** 2
    h, w = luminance.shape[1:]
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    freq = np.sqrt(fx**2 + fy**2)
    p = power / (power.sum(axis=(1, 2), keepdims=True) + EPSILON)
    # Orientation: mean of exp(2i·angle) weighted by power (angles θ and θ+π are one orientation).
    doubled = np.exp(2j * np.arctan2(fy, fx))
    return {
        "mean_frequency": (p * freq).sum(axis=(1, 2)),
        "high_frequency_fraction": (p * (freq > 0.25)).sum(axis=(1, 2)),
        "spectral_entropy": -(p * np.log2(p + EPSILON)).sum(axis=(1, 2)),
        "orientation_strength": np.abs((p * doubled).sum(axis=(1, 2))),
    }


def pattern_statistics(result: FilterVisualization) -> dict[str, np.ndarray]:
    """Measures of each pattern of a :class:`FilterVisualization`, one ``(n,)`` array per name.

    * ``"moved"``: how far the image moved from its start, RMS in grey levels. A pattern that
      moved less than the starting noise itself (about 5.8 grey levels) stayed noise.
    * ``"uniform_colour_share"``: share of that change that is one flat colour over the whole
      image (1: a plain colour field; 0: pure spatial structure).
    * ``"concentration"``: share of the change's energy in the 10% of pixels that changed most
      (0.1: spread evenly, like a texture; near 1: a few concentrated structures).
    * the four measures of :func:`spectral_statistics`, on the viewable images.

    Taught in: ``02_filter_visualization``.
    """
    change = np.asarray(result.pixels, "float64") - np.asarray(result.start_pixels, "float64")
    energy = (change**2).sum(axis=-1).reshape(len(change), -1)
    total = energy.sum(axis=1) + EPSILON
    flat = (change.mean(axis=(1, 2)) ** 2).sum(axis=-1) * energy.shape[1]
    top = np.sort(energy, axis=1)[:, ::-1][:, : max(1, energy.shape[1] // 10)].sum(axis=1)
    return {
        "moved": np.sqrt(energy.sum(axis=1) / change[0].size),
        "uniform_colour_share": flat / total,
        "concentration": top / total,
        **spectral_statistics(result.images),
    }


def transformed_activations(model: keras.Model, layer: str, pixels: np.ndarray,
                            filters: Sequence[int], robustness: Robustness = Robustness(),
                            samples: int = 8, seed: int = 0, border: int = 2) -> np.ndarray:
    """Mean activation of each filter on ``samples`` randomly jittered/scaled/rotated copies.

    A pattern that only works at one exact pixel position loses most of its activation when
    shifted by a few pixels; a robust one keeps it. Compare with the untransformed activation.

    Args:
        model, layer: the model and conv layer the patterns were made for.
        pixels: ``(n, h, w, 3)`` images as the model sees them (``FilterVisualization.pixels``).
        filters: ``(n,)`` the filter each image is scored on.
        robustness: the random transformations (jitter ``None`` = 1/16 of the image size).
        samples: random transformations averaged per image.
        seed: seeds the transformations.
        border: feature-map pixels left out of the loss on every side.

    Returns:
        ``(n,)`` mean activation over the transformed copies.

    Taught in: ``02_filter_visualization``.
    """
    pixels = tf.constant(np.asarray(pixels, dtype="float32"))
    size = tuple(int(s) for s in pixels.shape[1:3])
    path, target = _check_layer(model, layer)
    filters = _check_filters(filters, path, int(target.kernel.shape[-1]))
    if len(filters) != pixels.shape[0]:
        raise ValueError(f"Got {pixels.shape[0]} images for {len(filters)} filters.")
    extractor = feature_extractor(model, path, size)
    jitter = max(1, min(size) // 16) if robustness.jitter is None else int(robustness.jitter)
    generator = tf.random.Generator.from_seed(seed)
    targets = tf.constant(filters, dtype=tf.int32)
    totals = np.zeros(len(filters))
    for _ in range(samples):  # eager: no tracing, nothing to silence
        seen = _random_affine(pixels, generator, robustness, jitter)
        totals += filter_loss(extractor(seen, training=False), targets, border).numpy()
    return totals / samples
