"""Intermediate activations: what every convolution and pooling layer outputs for an image.

Section 22.1 of the chapter looks inside a convnet by asking a model for the outputs of its
first layers and drawing every channel as a small picture. This module does that in one
forward pass for any Keras 3 model (Sequential, Functional, nested, freshly loaded), and adds
the measurements that turn the chapter's three observations into numbers:

* :func:`channel_detectors` — what a first-layer channel detects, as correlations with
  classic edge, dot and colour filters applied to the input;
* :func:`fit_decoders` — how much of the image a *linear* read-out of each layer recovers
  (the information about the image that the layer keeps);
* :func:`linear_probe` — how well a linear classifier on a layer's pooled activations
  predicts the class (the information about the class);
* :func:`sparsity` and :func:`summarize_activations` — the fraction of zero activations and
  of all-zero channels per layer.

Taught in: ``01_intermediate_activations``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from helpers._backend import EPSILON, keras, tf
from helpers.inputs import batch_slices, check_images
from helpers.layers import (
    ReceptiveField,
    compiled_function,
    input_shape,
    is_spatial,
    iter_layers,
    layer_output_shapes,
    receptive_field,
    resolve_layer_path,
    shared_extractor,
    spatial_layer_names,
)

__all__ = [
    "FEATURE_MAP_TYPES", "feature_map_layers", "resolve_feature_layers", "activation_extractor", "feature_maps",
    "summarize_activations", "sparsity", "map_to_input", "PROBE_FILTERS", "PROBE_KINDS", "probe_responses",
    "channel_detectors", "best_detectors", "LinearDecoder", "fit_decoders", "linear_probe", "layer_table",
]


FEATURE_MAP_TYPES = (
    keras.layers.Conv2D,
    keras.layers.SeparableConv2D,
    keras.layers.DepthwiseConv2D,
    keras.layers.MaxPooling2D,
    keras.layers.AveragePooling2D,
)
"""Layer types that :func:`feature_maps` shows by default (when they output ``(h, w, c)``)."""



# --------------------------------------------------------------------------- layers
def feature_map_layers(model: keras.Model) -> list[str]:
    """Paths of the convolution and pooling layers whose output is a feature map ``(h, w, c)``.

    These are the layers the chapter draws; nested layers appear as ``"outer/inner"``.

    Taught in: ``01_intermediate_activations``.
    """
    shapes = layer_output_shapes(model)
    return [path for path, layer in iter_layers(model)
            if isinstance(layer, FEATURE_MAP_TYPES) and path in shapes and is_spatial(shapes[path])]


def resolve_feature_layers(model: keras.Model, layers: str | Sequence[str] | None) -> tuple[list[str], list[str]]:
    """``(names as the caller gave them, full paths)``, in model order, each checked to output a feature map.

    ``None`` means every convolution and pooling layer (:func:`feature_map_layers`).

    Raises:
        ValueError: an unknown or non-spatial layer; the message lists the feature-map layers.

    Taught in: ``01_intermediate_activations``.
    """
    if layers is None:
        paths = feature_map_layers(model)
        if not paths:
            raise ValueError(f"Model {model.name!r} has no convolution or pooling layer with a (h, w, c) output.")
        return list(paths), list(paths)
    if isinstance(layers, str):
        layers = [layers]
    layers = list(dict.fromkeys(layers))  # drop repeats, keep order
    if not layers:
        raise ValueError("layers is empty: name at least one layer, or pass None for all conv and pooling layers.")
    shapes = layer_output_shapes(model)
    valid = spatial_layer_names(model)
    resolved = []
    for name in layers:
        try:
            path = resolve_layer_path(model, name)
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"No layer named {name!r} in model {model.name!r}. "
                f"Layers with (h, w, c) feature maps: {', '.join(valid)}."
            ) from err
        if path not in shapes or not is_spatial(shapes[path]):
            shape = shapes.get(path, "unknown")
            raise ValueError(
                f"Layer {name!r} is not a feature-map layer: its output has shape {shape}, not "
                f"(batch, height, width, channels). Layers with (h, w, c) feature maps: {', '.join(valid)}."
            )
        resolved.append((name, path))
    order = {path: i for i, path in enumerate(shapes)}
    resolved.sort(key=lambda item: order[item[1]])
    return [name for name, _ in resolved], [path for _, path in resolved]


def _run_extractor(images, extractor):
    outputs = extractor(images, training=False)
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _summarize(images, extractor):
    out = []
    for a in _run_extractor(images, extractor):
        zero = tf.cast(tf.equal(a, 0.0), tf.float32)
        out.append((tf.reduce_mean(a, axis=[1, 2]), tf.reduce_mean(zero, axis=[1, 2, 3]),
                    tf.reduce_mean(tf.reduce_min(zero, axis=[1, 2]), axis=-1)))
    return out


def activation_extractor(model: keras.Model, layers: Sequence[str]) -> Callable[[tf.Tensor], list[tf.Tensor]]:
    """A compiled function ``images -> [activation of each layer]`` (one forward pass), cached.

    The multi-output model is built once per ``(model, layers)`` with
    :func:`helpers.layers.shared_extractor` and kept as long as ``model`` lives (a weak
    reference), so repeated calls, e.g. from a widget, do not rebuild it. It runs inside a
    ``tf.function`` with ``training=False`` (dropout off, batch-norm statistics frozen).

    Taught in: ``01_intermediate_activations``.
    """
    paths = tuple(resolve_layer_path(model, name) for name in layers)
    extractor = shared_extractor(model, paths, include_output=False)
    return compiled_function(model, ("activations", paths), _run_extractor, [_image_spec(model)], extractor=extractor)


def _image_spec(model: keras.Model) -> tf.TensorSpec:
    return tf.TensorSpec((None, *input_shape(model)), tf.float32)


# --------------------------------------------------------------------------- feature maps
def feature_maps(model: keras.Model, image, layers: str | Sequence[str] | None = None,
                 batch_size: int = 32) -> dict[str, np.ndarray]:
    """The activations of ``layers`` for ``image``, from one forward pass, by layer name.

    Args:
        model: any single-input Keras model (Sequential, Functional, nested, never called).
        image: one image ``(H, W, 3)`` or greyscale ``(H, W)``, or a batch ``(n, H, W, C)``,
            in 0..255 (see :func:`helpers.explainers.check_images`).
        layers: layer names (nested ones as ``"outer/inner"``); default: every convolution
            and pooling layer (:func:`feature_map_layers`).
        batch_size: images per forward pass for large batches.

    Returns:
        ``{name: activation}`` in model order; each activation is ``(h, w, c)`` for one image
        and ``(n, h, w, c)`` for a batch. Keys are the names as given.

    Raises:
        ValueError: an unknown layer, or a layer whose output is not a feature map
            (e.g. ``Flatten`` or ``Dense``); the message lists the feature-map layers.

    Taught in: ``01_intermediate_activations``.
    """
    keys, paths = resolve_feature_layers(model, layers)
    batch, single = check_images(image, model)
    run = activation_extractor(model, paths)
    chunks: list[list[np.ndarray]] = [[] for _ in paths]
    for part in batch_slices(len(batch), batch_size):
        for store, output in zip(chunks, run(tf.constant(batch[part]))):
            store.append(output.numpy())
    maps = {key: (np.concatenate(store) if len(store) > 1 else store[0]) for key, store in zip(keys, chunks)}
    return {key: value[0] for key, value in maps.items()} if single else maps


def summarize_activations(model: keras.Model, images, layers: str | Sequence[str] | None = None,
                          batch_size: int = 32, progress: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """Per-image summaries of each layer's activations, computed in the graph (little memory).

    Holding the full feature maps of hundreds of images would take gigabytes; this keeps only
    what the lesson measures.

    Returns:
        ``{name: {"mean": (n, c) global-average-pooled activations,
        "zero_fraction": (n,) fraction of activations that are exactly 0,
        "dead_channels": (n,) fraction of channels that are 0 everywhere}}``.

    Taught in: ``01_intermediate_activations``.
    """
    keys, paths = resolve_feature_layers(model, layers)
    batch, _ = check_images(images, model)
    paths = tuple(paths)
    summarize = compiled_function(model, ("summaries", paths), _summarize, [_image_spec(model)],
                                  extractor=shared_extractor(model, paths, include_output=False))
    parts: list[list[tuple]] = [[] for _ in paths]
    for part in batch_slices(len(batch), batch_size, progress, "activations"):
        for store, output in zip(parts, summarize(tf.constant(batch[part]))):
            store.append([t.numpy() for t in output])
    result = {}
    for key, store in zip(keys, parts):
        mean, zero, dead = (np.concatenate([s[i] for s in store]) for i in range(3))
        result[key] = {"mean": mean, "zero_fraction": zero, "dead_channels": dead}
    return result


def sparsity(maps: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Fraction of zero activations and of all-zero channels of each layer's feature maps.

    Args:
        maps: the output of :func:`feature_maps` for one image ``(h, w, c)`` or a batch
            ``(n, h, w, c)`` (then channels are counted per image and averaged).

    Returns:
        ``{name: {"zero_fraction": ..., "dead_channels": ..., "channels": c}}``.

    Taught in: ``01_intermediate_activations``.
    """
    result = {}
    for name, value in maps.items():
        value = np.asarray(value)
        if value.ndim == 3:
            value = value[None]
        if value.ndim != 4:
            raise ValueError(f"{name!r}: expected (h, w, c) or (n, h, w, c) feature maps; got shape {value.shape}.")
        zero = value == 0
        result[name] = {
            "zero_fraction": float(zero.mean()),
            "dead_channels": float(zero.all(axis=(1, 2)).mean()),
            "channels": int(value.shape[-1]),
        }
    return result


# --------------------------------------------------------------------------- geometry
def map_to_input(values: np.ndarray, field: ReceptiveField, image_shape: tuple[int, int]) -> np.ndarray:
    """Paint a layer's per-position values back onto the input grid, each on its own block.

    Position ``(i, j)`` fills the ``jump × jump`` block of input pixels its receptive field is
    centred on, so a map lines up exactly with the image (no resize, no shift); pixels that
    no block covers (the border a 'valid' convolution loses) are NaN.

    Args:
        values: ``(h, w)`` or ``(h, w, ...)``, one value (or vector) per position.
        field: the layer's :class:`ReceptiveField`.
        image_shape: ``(H, W)`` of the input.

    Returns:
        ``(H, W)`` or ``(H, W, ...)`` float32.

    Taught in: ``01_intermediate_activations``.
    """
    values = np.asarray(values, np.float32)
    rows = _covering_positions(field, field.start, values.shape[0], image_shape[0])
    cols = _covering_positions(field, field.start_col, values.shape[1], image_shape[1])
    out = values[np.ix_(np.maximum(rows, 0), np.maximum(cols, 0))].copy()
    out[rows < 0] = np.nan
    out[:, cols < 0] = np.nan
    return out


def _covering_positions(field: ReceptiveField, start: float, positions: int, pixels: int) -> np.ndarray:
    """For each input pixel along one axis, the position whose block covers it, or -1."""
    owner = np.full(pixels, -1, dtype=np.int64)
    for i in range(positions):
        top = int(round(start + field.jump * i - (field.jump - 1) / 2))
        if 0 <= top and top + field.jump <= pixels:
            owner[top:top + field.jump] = i
    return owner


# --------------------------------------------------------------------------- what layer 1 detects
def _probe_bank() -> dict[str, np.ndarray]:
    """3×3 filters on the grey image (valid positions match a 3×3 'valid' convolution)."""
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)  # light on the right
    diagonal = np.array([[-2, -1, 0], [-1, 0, 1], [0, 1, 2]], np.float32)  # light at bottom right
    anti = np.fliplr(diagonal)  # light at bottom left
    dot = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], np.float32) / 8
    return {
        "vertical edge, light on the right": sobel_x,
        "vertical edge, light on the left": -sobel_x,
        "horizontal edge, light below": sobel_x.T,
        "horizontal edge, light above": -sobel_x.T,
        "diagonal edge /, light below right": diagonal,
        "diagonal edge /, light above left": -diagonal,
        "diagonal edge \\, light below left": anti,
        "diagonal edge \\, light above right": -anti,
        "bright dot": dot,
        "dark dot": -dot,
    }


PROBE_FILTERS: dict[str, np.ndarray] = _probe_bank()
"""The classic 3×3 filters that :func:`probe_responses` applies to the grey image."""

PROBE_KINDS: dict[str, str] = {
    name: ("dot" if "dot" in name else "diagonal edge" if "diagonal" in name else "edge")
    for name in PROBE_FILTERS
}
PROBE_KINDS.update({"brightness": "colour", "darkness": "colour", "red": "colour", "green": "colour",
                    "blue": "colour", "yellow vs blue": "colour"})


def probe_responses(image: np.ndarray, margin: int = 1) -> dict[str, np.ndarray]:
    """Responses of classic filters to ``image``, rectified like a ReLU channel.

    Edge (Sobel), diagonal-edge and dot (centre-surround) filters run on the grey image;
    colour probes measure brightness, darkness, red, green, blue and yellow-versus-blue at
    each pixel. All maps are cropped by ``margin`` pixels on each side, so that
    ``margin=1`` lines them up with the output of a 3×3 'valid' convolution (``conv2d_1``).

    Args:
        image: ``(H, W, 3)`` in 0..255.
        margin: pixels dropped on each border.

    Returns:
        ``{probe name: (H - 2·margin, W - 2·margin) map}``, all ≥ 0.

    Taught in: ``01_intermediate_activations``.
    """
    image = np.asarray(image, np.float32) / 255.0
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"probe_responses expects one RGB image (H, W, 3); got shape {image.shape}.")
    if margin < 1:
        raise ValueError(f"margin must be at least 1 (the 3×3 filters need a border); got {margin}.")
    grey = image @ np.array([0.299, 0.587, 0.114], np.float32)
    h, w = grey.shape
    trim = margin - 1
    # shifted[a][b] is the grey image moved so that a 3×3 'valid' filter is a sum of 9 products
    shifted = [[grey[a + trim:h - 2 + a - trim, b + trim:w - 2 + b - trim] for b in range(3)] for a in range(3)]
    out = {}
    for name, kernel in PROBE_FILTERS.items():
        response = sum(float(kernel[a, b]) * shifted[a][b] for a in range(3) for b in range(3) if kernel[a, b])
        out[name] = np.maximum(response, 0.0)
    centre = (slice(margin, h - margin), slice(margin, w - margin))
    r, g, b = (image[..., c][centre] for c in range(3))
    bright = grey[centre]
    out.update({
        "brightness": bright,
        "darkness": 1.0 - bright,
        "red": np.maximum(r - (g + b) / 2, 0.0),
        "green": np.maximum(g - (r + b) / 2, 0.0),
        "blue": np.maximum(b - (r + g) / 2, 0.0),
        "yellow vs blue": np.maximum((r + g) / 2 - b, 0.0),
    })
    return out


def channel_detectors(images: np.ndarray, maps: np.ndarray) -> dict[str, np.ndarray]:
    """How strongly each channel of a first layer correlates with each classic filter.

    Pearson correlation, over all pixels of all ``images``, between a channel's feature map
    and each rectified probe response (:func:`probe_responses`). A channel whose map
    correlates at 0.8 with "vertical edge, light on the right" *is*, on these images, mostly
    that edge detector.

    Args:
        images: ``(n, H, W, 3)`` or one ``(H, W, 3)`` image in 0..255.
        maps: the layer's activations for them, ``(n, h, w, c)`` or ``(h, w, c)``; the
            border ``(H - h) / 2`` is cropped from the probes to line them up (1 for a 3×3
            'valid' convolution).

    Returns:
        ``{probe name: (c,) correlations}``.

    Taught in: ``01_intermediate_activations``.
    """
    images = np.asarray(images, np.float32)
    maps = np.asarray(maps, np.float32)
    if images.ndim == 3:
        images, maps = images[None], maps[None]
    if maps.ndim != 4 or images.shape[0] != maps.shape[0]:
        raise ValueError(f"Need one map stack per image; got images {images.shape} and maps {maps.shape}.")
    border = images.shape[1] - maps.shape[1]
    if border < 2 or border % 2 or images.shape[2] - maps.shape[2] != border:
        raise ValueError(
            f"Maps of shape {maps.shape[1:3]} do not line up with images of shape {images.shape[1:3]}: "
            "channel_detectors is meant for a first convolution layer with 'valid' padding."
        )
    probes = [probe_responses(image, margin=border // 2) for image in images]
    names = list(probes[0])
    # Pearson correlation of every (probe, channel) pair at once: standardize, then one product.
    probe_matrix = np.stack([np.stack([p[name] for p in probes]).ravel() for name in names], axis=1)
    map_matrix = maps.reshape(-1, maps.shape[-1])  # float32 (pixels, channels)
    probe_matrix = probe_matrix - probe_matrix.mean(axis=0, dtype=np.float64).astype(np.float32)
    map_matrix = map_matrix - map_matrix.mean(axis=0, dtype=np.float64).astype(np.float32)
    products = (probe_matrix.T @ map_matrix).astype(np.float64)  # (probes, channels)
    norms = np.sqrt(np.outer(np.einsum("ij,ij->j", probe_matrix, probe_matrix, dtype=np.float64),
                             np.einsum("ij,ij->j", map_matrix, map_matrix, dtype=np.float64)))
    table = products / (norms + EPSILON)
    return {name: table[k] for k, name in enumerate(names)}


def best_detectors(correlations: dict[str, np.ndarray]) -> list[tuple[str, float]]:
    """For each channel, the probe it correlates with most and that correlation.

    Taught in: ``01_intermediate_activations``.
    """
    names = list(correlations)
    table = np.stack([correlations[n] for n in names])  # (probes, channels)
    best = np.nanargmax(np.nan_to_num(table, nan=-np.inf), axis=0)
    return [(names[b], float(table[b, c])) for c, b in enumerate(best)]


# --------------------------------------------------------------------------- information about the image
@dataclasses.dataclass
class LinearDecoder:
    """A ridge-regression read-out from a layer's activations back to the input pixels.

    Each position of the layer is asked to reproduce the ``jump × jump`` block of pixels its
    receptive field is centred on (the blocks of all positions tile the image).

    Attributes:
        layer: the layer's name.
        field: its :class:`ReceptiveField`.
        weights: ``(c + 1, jump·jump·3)`` (the last row is the intercept).
        r2: fraction of the pixel variance of *held-out* images it recovers (1 = everything).

    Taught in: ``01_intermediate_activations``.
    """

    layer: str
    field: ReceptiveField
    weights: np.ndarray
    x_mean: np.ndarray
    x_scale: np.ndarray
    r2: float

    def predict(self, activations: np.ndarray) -> np.ndarray:
        """Pixel blocks ``(..., jump, jump, 3)`` predicted from activation vectors ``(..., c)``."""
        x = (np.asarray(activations, np.float32) - self.x_mean) / self.x_scale
        y = x @ self.weights[:-1] + self.weights[-1]
        return y.reshape(*x.shape[:-1], self.field.jump, self.field.jump, 3)

    def reconstruct(self, maps: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
        """The image as this layer's read-out sees it: ``(H, W, 3)``, NaN where no block falls.

        Args:
            maps: this layer's activations for one image, ``(h, w, c)``.
            image_shape: ``(H, W)`` of the input image.
        """
        jump = self.field.jump
        blocks = self.predict(maps)  # (h, w, jump, jump, 3)
        rows = _covering_positions(self.field, self.field.start, maps.shape[0], image_shape[0])
        cols = _covering_positions(self.field, self.field.start_col, maps.shape[1], image_shape[1])
        r = np.arange(image_shape[0])
        c = np.arange(image_shape[1])
        row_offset = r - np.array([self.field.block(i) for i in np.maximum(rows, 0)])
        col_offset = c - np.array([self.field.block(j) for j in np.maximum(cols, 0)])
        out = blocks[np.maximum(rows, 0)[:, None], np.maximum(cols, 0)[None, :],
                     np.clip(row_offset, 0, jump - 1)[:, None], np.clip(col_offset, 0, jump - 1)[None, :]]
        out[rows < 0] = np.nan
        out[:, cols < 0] = np.nan
        return np.clip(out, 0.0, 255.0)


def _ridge(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge regression on standardized inputs; returns (weights with intercept row, mean, scale)."""
    mean = x.mean(axis=0, dtype=np.float64).astype(np.float32)
    scale = x.std(axis=0, dtype=np.float64).astype(np.float32) + 1e-3  # dead channels stay finite, weight 0
    xs = (x - mean) / scale
    y_mean = y.mean(axis=0, dtype=np.float64).astype(np.float32)
    gram = (xs.T @ xs).astype(np.float64) + l2 * len(xs) * np.eye(xs.shape[1])
    w = np.linalg.solve(gram, (xs.T @ (y - y_mean)).astype(np.float64))
    return np.vstack([w, y_mean[None]]).astype(np.float32), mean, scale


def _sample_blocks(images: np.ndarray, maps: np.ndarray, field: ReceptiveField, per_image: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Activation vectors at random positions and the pixel blocks they should explain."""
    _, h, w, _ = maps.shape
    size = images.shape[1:3]
    row_start = np.array([field.block(i) for i in range(h)])
    col_start = np.array([field.block(j) for j in range(w)])
    rows = np.flatnonzero((row_start >= 0) & (row_start + field.jump <= size[0]))
    cols = np.flatnonzero((col_start >= 0) & (col_start + field.jump <= size[1]))
    grid = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)
    offsets = np.arange(field.jump)
    xs, ys = [], []
    for n in range(len(images)):
        pick = grid if len(grid) <= per_image else grid[rng.choice(len(grid), per_image, replace=False)]
        xs.append(maps[n, pick[:, 0], pick[:, 1]])
        r_idx = row_start[pick[:, 0]][:, None, None] + offsets[None, :, None]
        c_idx = col_start[pick[:, 1]][:, None, None] + offsets[None, None, :]
        ys.append(images[n][r_idx, c_idx].reshape(len(pick), -1))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.float32)


def fit_decoders(model: keras.Model, images: np.ndarray, layers: str | Sequence[str] | None = None,
                 test_fraction: float = 0.25, positions_per_image: int = 256, l2: float = 1e-4,
                 batch_size: int = 8, seed: int = 0, progress: bool = True) -> dict[str, LinearDecoder]:
    """Fit one linear read-out per layer from activations back to pixels; score it on held-out images.

    The score ``r2`` is the fraction of the pixel variance of the test images that the
    read-out recovers: ``1 - Σ(pixel - prediction)² / Σ(pixel - mean pixel)²``. A linear
    read-out is a lower bound on the information a layer keeps about the image: a high
    ``r2`` proves the information is there; a low one means at least that it is no longer
    laid out simply.

    Args:
        model: a chain-shaped model (see :func:`receptive_field`).
        images: ``(n, H, W, 3)`` in 0..255; the last ``test_fraction`` of them are held out.
        layers: layer names; default every conv and pooling layer.
        test_fraction: share of the images used only for scoring.
        positions_per_image: random positions sampled per image and layer (all when fewer).
        l2: ridge penalty (relative to the number of samples).
        batch_size: images per forward pass.
        seed: seed of the position sampling.
        progress: show a progress bar.

    Returns:
        ``{layer: LinearDecoder}`` in model order.

    Taught in: ``01_intermediate_activations``.
    """
    keys, paths = resolve_feature_layers(model, layers)
    batch, _ = check_images(images, model)
    if batch.shape[0] < 2:
        raise ValueError("fit_decoders needs at least two images (one to fit, one to test).")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1; got {test_fraction}.")
    n_test = max(1, int(round(len(batch) * test_fraction)))
    n_train = len(batch) - n_test
    if n_train < 1:
        raise ValueError(f"No training images left with test_fraction={test_fraction} and {len(batch)} images.")
    fields = {key: receptive_field(model, path) for key, path in zip(keys, paths)}
    run = activation_extractor(model, paths)
    rng = np.random.default_rng(seed)
    samples = {key: {"train": ([], []), "test": ([], [])} for key in keys}
    for part in batch_slices(len(batch), batch_size, progress, "decoders"):
        outputs = run(tf.constant(batch[part]))
        index = np.arange(part.start, part.stop)
        for key, output in zip(keys, outputs):
            maps = output.numpy()
            for split, mask in (("train", index < n_train), ("test", index >= n_train)):
                if mask.any():
                    x, y = _sample_blocks(batch[part][mask], maps[mask], fields[key], positions_per_image, rng)
                    samples[key][split][0].append(x)
                    samples[key][split][1].append(y)
    decoders = {}
    for key in keys:
        x_train, y_train = (np.concatenate(v) for v in samples[key]["train"])
        x_test, y_test = (np.concatenate(v) for v in samples[key]["test"])
        weights, mean, scale = _ridge(x_train, y_train, l2)
        prediction = ((x_test - mean) / scale) @ weights[:-1] + weights[-1]
        error = float(np.square(y_test - prediction, dtype=np.float64).sum())
        spread = float(np.square(y_test - y_test.mean(dtype=np.float64), dtype=np.float64).sum())
        r2 = 1.0 - error / (spread + EPSILON)
        decoders[key] = LinearDecoder(key, fields[key], weights, mean, scale, float(r2))
    return decoders


# --------------------------------------------------------------------------- information about the class
def linear_probe(features: np.ndarray, labels: np.ndarray, folds: int = 5, l2: float = 0.1,
                 seed: int = 0) -> dict[str, float]:
    """Cross-validated accuracy of a linear classifier on ``features``: a linear probe.

    On each training fold the features are standardized and a *ridge classifier* is fitted in
    closed form: least squares from the features to the one-hot (centred) class targets with an
    L2 penalty, ``W = (XᵀX + l2·n·I)⁻¹ XᵀY`` in float64; an image's predicted class is its
    largest score. A closed form has no learning rate and no iterations, so its result depends
    continuously on the features: the float32 rounding differences between CPUs (about 1e-7)
    cannot change a prediction unless an image lies that close to a decision boundary, which the
    penalty keeps from happening in practice. A layer whose pooled activations give a more
    accurate probe makes the class easier to read out with a linear map.

    Args:
        features: ``(n, d)``, e.g. a layer's global-average-pooled activations.
        labels: ``(n,)`` integer classes.
        folds: number of cross-validation folds (each image is tested exactly once).
        l2: penalty, per training sample, on the weights of the standardized features.
        seed: seed of the fold assignment.

    Returns:
        ``{"accuracy": test accuracy over all folds, "train_accuracy": mean training accuracy}``.

    Taught in: ``01_intermediate_activations``.
    """
    x = np.asarray(features, np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"features must be (n, d) and labels (n,); got {x.shape} and {y.shape}.")
    if not 2 <= folds <= len(y):
        raise ValueError(f"folds must lie between 2 and the number of samples ({len(y)}); got {folds}.")
    if l2 <= 0:
        raise ValueError(f"l2 must be positive (it keeps the closed form well conditioned); got {l2}.")
    classes, y = np.unique(y, return_inverse=True)
    fold = np.random.default_rng(seed).permutation(len(y)) % folds
    correct, train_scores = 0, []
    for k in range(folds):
        train, test = fold != k, fold == k
        mean, std = x[train].mean(axis=0), x[train].std(axis=0)
        # A channel (almost) constant on the training fold is left unscaled: dividing by its tiny
        # spread would blow rounding noise up into a large feature.
        scale = np.where(std > 1e-6 * max(float(std.max()), EPSILON), std, 1.0)
        xtr, xte = (x[train] - mean) / scale, (x[test] - mean) / scale
        targets = np.eye(len(classes))[y[train]]
        targets -= targets.mean(axis=0)
        w = np.linalg.solve(xtr.T @ xtr + l2 * len(xtr) * np.eye(x.shape[1]), xtr.T @ targets)
        correct += int(((xte @ w).argmax(axis=1) == y[test]).sum())
        train_scores.append(float(((xtr @ w).argmax(axis=1) == y[train]).mean()))
    return {"accuracy": correct / len(y), "train_accuracy": float(np.mean(train_scores))}


# --------------------------------------------------------------------------- the model's table
def layer_table(model: keras.Model) -> str:
    """The model's layers as a text table, like the summary printed in the chapter.

    One row per layer: name and type, output shape, number of parameters and, for layers
    with feature maps, the side of the receptive field (how many input pixels, across, one
    position of the layer depends on). Works on never-called and nested models.

    Taught in: ``01_intermediate_activations``.
    """
    shapes = layer_output_shapes(model)
    rows = []
    for path, layer in iter_layers(model):
        if isinstance(layer, keras.Model):
            continue
        shape = shapes.get(path)
        field = ""
        if shape is not None and is_spatial(shape):
            try:
                size = receptive_field(model, path).size
                field = f"{size}×{size}"
            except ValueError:
                field = "?"
        rows.append((f"{path} ({type(layer).__name__})", str(shape),
                     f"{layer.count_params():,}", field))
    headers = ("Layer (type)", "Output shape", "Params", "Receptive field")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    rule = "=" * len(line)
    body = ["  ".join([r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].rjust(widths[2]), r[3].rjust(widths[3])])
            for r in rows]
    return "\n".join([line, rule, *body, rule, f"Total params: {model.count_params():,}"])
