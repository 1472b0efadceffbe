"""The filter ascent's engine: objectives, compiled steps, the loop, and what it returns.

Gradient ascent in input space (chapter section 22.2): starting from grey noise, each image is
changed step by step along the gradient of its own filter's mean activation. All requested
filters are optimized together as one batch; every step runs in one compiled function (from
:func:`helpers.layers.compiled_function`, traced once per :class:`AscentConfig`) on the model
truncated at the target layer (:mod:`helpers.filter_surgery`), computing only the requested
filters where it can. The images it optimizes are made by :mod:`helpers.filter_params`.

Taught in: ``02_filter_visualization``.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Sequence

import numpy as np

from helpers._backend import EPSILON, keras, tf
from helpers.data import user_stacklevel
from helpers.filter_params import (
    Robustness,
    colour_correlation_sqrt,
    deprocess_image,
    fourier_scale,
    fourier_to_pixels,
    grey_noise_images,
    jitter_of,
    random_affine,
)
from helpers.filter_surgery import (
    ascent_size,
    check_conv_layer,
    check_filters,
    feature_extractor,
    trunk_to_layer_input,
)
from helpers.inputs import batch_slices
from helpers.layers import compiled_function, get_layer, input_shape, model_cache

__all__ = [
    "METHODS", "DEFAULT_STEP_SIZE", "PRE_ACTIVATION_MODES", "AscentConfig", "CompiledAscent", "FilterVisualization",
    "SilentFilterWarning", "ascent_objective", "auto_objective", "compiled_ascent", "filter_ascent", "filter_loss",
    "interior_max", "normalize_gradient", "pre_activation_mode", "visualize_filters",
]


METHODS: tuple[str, ...] = ("plain", "robust", "fourier")
"""Values accepted by the ``method`` argument of :func:`filter_ascent`."""

DEFAULT_STEP_SIZE = {"plain": 2.0, "robust": 2.0, "fourier": 0.05}
"""Default step per method: grey levels (RMS over the pixels) per normalized gradient step for
``plain``/``robust``; Adam's learning rate on the Fourier coefficients for ``fourier``."""


# --------------------------------------------------------------------------- objectives
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


def interior_max(features: tf.Tensor, filters: tf.Tensor, border: int = 2) -> tf.Tensor:
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
    trunk = trunk_to_layer_input(model, path, size)
    padding, strides, dilations = target.padding.upper(), list(target.strides), list(target.dilation_rate)

    def objective(images, filters):
        kernel = tf.gather(tf.convert_to_tensor(target.kernel), filters, axis=3)
        y = tf.nn.conv2d(trunk(images, training=False), kernel, strides=strides, padding=padding,
                         dilations=dilations)
        if target.use_bias:
            y = y + tf.gather(tf.convert_to_tensor(target.bias), filters)
        own = tf.range(tf.shape(filters)[0])  # image i: its channel i
        if pre_activation == "auto" and target.activation is not None:
            return auto_objective(interior_max(y, own, border),
                                   filter_loss(target.activation(y), own, border))
        if not pre_activation and target.activation is not None:
            y = target.activation(y)
        return filter_loss(y, own, border)

    return objective


PRE_ACTIVATION_MODES: tuple[bool | str, ...] = (False, True, "auto")
"""Values accepted by the ``pre_activation`` argument of :func:`filter_ascent`."""


def auto_objective(pre: tf.Tensor, post: tf.Tensor) -> tf.Tensor:
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


def pre_activation_mode(pre_activation: bool | str) -> bool | str:
    """``pre_activation`` checked: ``True``, ``False`` or ``"auto"``."""
    if isinstance(pre_activation, str):
        if pre_activation != "auto":
            raise ValueError(f"pre_activation must be True, False or 'auto'; got {pre_activation!r}.")
        return "auto"
    return bool(pre_activation)


# --------------------------------------------------------------------------- compiled steps
@dataclasses.dataclass(frozen=True)
class AscentConfig:
    """Everything one compiled ascent depends on besides its inputs: its cache key, in one frozen value.

    Attributes:
        path: the convolution's path in the model.
        size: ``(height, width)`` of the images.
        method: one of :data:`METHODS`.
        border: feature-map positions left out of the loss on every side.
        pre_activation: ``False``, ``True`` or ``"auto"`` (see :func:`filter_ascent`).
        robustness: the random transformations of ``robust`` and ``fourier``.
        jitter: the largest shift in pixels (:func:`helpers.filter_params.jitter_of`).
        decay: how fast Fourier coefficients shrink with frequency.
        selective: compute only the requested filters of the layer (plain ``Conv2D`` layers).
    """

    path: str
    size: tuple[int, int]
    method: str = "plain"
    border: int = 2
    pre_activation: bool | str = False
    robustness: Robustness = Robustness()
    jitter: int = 1
    decay: float = 1.0
    selective: bool = True

    def __post_init__(self):
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))
        if self.method not in METHODS:
            raise ValueError(f"Unknown method {self.method!r}. Valid methods: {', '.join(METHODS)}.")


def _measure(images, filters, *, extractor, border: int):
    return filter_loss(extractor(images, training=False), filters, border)


def _pixel_step(images, filters, step_size, *, objective, generator, robustness: Robustness, jitter: int,
                robust: bool):
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(images)
        seen = random_affine(images, generator, robustness, jitter) if robust else images
        loss = objective(seen, filters)
        total = tf.reduce_sum(loss)  # images do not interact: each gets its own gradient
    grads = tape.gradient(total, images)
    return images + step_size * normalize_gradient(grads), loss


def _pixels_of(params, *, scale, colour, size: tuple[int, int]):
    return fourier_to_pixels(params, scale, colour, size)


def _fourier_step(params, m, v, t, filters, learning_rate, *, objective, generator, robustness: Robustness,
                  jitter: int, scale, colour, size: tuple[int, int]):
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(params)
        seen = random_affine(fourier_to_pixels(params, scale, colour, size), generator, robustness, jitter)
        loss = objective(seen, filters)
        total = tf.reduce_sum(loss)
    grads = tape.gradient(total, params)
    # Adam (ascent), written out so that its state is plain tensors passed in and out.
    m = 0.9 * m + 0.1 * grads
    v = 0.999 * v + 0.001 * tf.square(grads)
    m_hat, v_hat = m / (1.0 - 0.9**t), v / (1.0 - 0.999**t)
    return params + learning_rate * m_hat / (tf.sqrt(v_hat) + 1e-7), m, v, loss


class CompiledAscent:
    """The compiled functions of one :class:`AscentConfig` (from :func:`helpers.layers.compiled_function`).

    Attributes:
        config: the configuration.
        generator: the random transformations' generator (reset from the seed before each ascent).
        measure: ``(images, filters) -> (n,)`` each image's filter activation, border excluded.
        step: one ascent step; ``(images, filters, step_size) -> (images, loss)`` for the pixel
            methods, ``(params, m, v, t, filters, learning_rate) -> (params, m, v, loss)`` for ``fourier``.
        pixels_of: ``fourier`` only: ``params -> (n, h, w, 3)`` pixels in 0..255.
    """

    def __init__(self, model: keras.Model, config: AscentConfig):
        self.config = config
        self.generator = tf.random.Generator.from_seed(0)
        functions: dict = {}
        h, w = config.size
        image_spec = tf.TensorSpec((None, h, w, 3), tf.float32)
        filter_spec = tf.TensorSpec((None,), tf.int32)
        scalar = tf.TensorSpec((), tf.float32)
        self.measure = compiled_function(functions, "measure", _measure, [image_spec, filter_spec],
                                         extractor=feature_extractor(model, config.path, config.size),
                                         border=config.border)
        objective = ascent_objective(model, config)
        transforms = {"generator": self.generator, "robustness": config.robustness, "jitter": config.jitter}
        self.pixels_of = None
        if config.method != "fourier":
            self.step = compiled_function(functions, "step", _pixel_step, [image_spec, filter_spec, scalar],
                                          objective=objective, robust=config.method == "robust", **transforms)
            return
        fourier = {"scale": tf.constant(fourier_scale(config.size, config.decay)[None, None]),
                   "colour": tf.constant(colour_correlation_sqrt()), "size": config.size}
        param_spec = tf.TensorSpec((None, 3, h, w // 2 + 1, 2), tf.float32)
        self.pixels_of = compiled_function(functions, "pixels", _pixels_of, [param_spec], **fourier)
        self.step = compiled_function(functions, "step", _fourier_step,
                                      [param_spec, param_spec, param_spec, scalar, filter_spec, scalar],
                                      objective=objective, **transforms, **fourier)


def ascent_objective(model: keras.Model, config: AscentConfig):
    """The ascent's loss ``(images, filters) -> (n,)`` for ``config``: only the requested channels when it can."""
    path, size, border, pre_activation = config.path, config.size, config.border, config.pre_activation
    objective = _selected_channels_objective(model, path, size, pre_activation, border) if config.selective else None
    if objective is not None:
        return objective
    if pre_activation == "auto":
        target = get_layer(model, path)
        full = feature_extractor(model, path, size, True)
        activation = target.activation if target.activation is not None else (lambda y: y)

        def objective(images, filters):
            y = full(images, training=False)
            return auto_objective(interior_max(y, filters, border), filter_loss(activation(y), filters, border))

        return objective
    full = feature_extractor(model, path, size, pre_activation) if pre_activation else feature_extractor(
        model, path, size)

    def objective(images, filters):
        return filter_loss(full(images, training=False), filters, border)

    return objective


def compiled_ascent(model: keras.Model, config: "AscentConfig | str", *args, **kwargs) -> CompiledAscent:
    """The compiled ascent functions for one :class:`AscentConfig`, cached per model.

    Used by :func:`filter_ascent` and by the benchmarks, which time one step of it. The
    configuration may also be given as :class:`AscentConfig`'s fields in order
    (``compiled_ascent(model, path, size, method, border, pre_activation, robustness, jitter,
    decay, selective=True)``).
    """
    if not isinstance(config, AscentConfig):
        config = AscentConfig(config, *args, **kwargs)
    elif args or kwargs:
        raise TypeError("compiled_ascent takes an AscentConfig or its fields, not both.")
    cache = model_cache(model, "filters")
    key = ("compiled", config)
    if key not in cache:
        cache[key] = CompiledAscent(model, config)
    return cache[key]


def _progress_bar(total: int, progress: bool, description: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not progress, desc=description, leave=False)


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
    pre_activation = pre_activation_mode(pre_activation)
    path, target = check_conv_layer(model, layer)
    filters = check_filters(filters, path, int(target.kernel.shape[-1]))
    size = ascent_size(size, model)
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
    batch_size = len(filters) if batch_size is None else max(1, int(batch_size))
    # Computing only the requested channels of the layer pays when a batch asks for fewer
    # filters than the layer has (see _selected_channels_objective).
    selective = min(batch_size, len(filters)) < int(target.kernel.shape[-1])
    config = AscentConfig(path, size, method, int(border), pre_activation, robustness, jitter_of(robustness, size),
                          float(fourier_decay), selective)
    fns = compiled_ascent(model, config)
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
