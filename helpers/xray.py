"""X-Ray: the three chapters' lenses on one channel of one layer, for one image and one class.

``helpers.xray()`` opens an explorer that links what the course teaches apart:

1. the image and the decision: the top classes, a class picker and the Grad-CAM overlay of the
   chosen class at the chosen layer (chapter 3);
2. the layer's channels ranked by their contribution to the class score. For a layer that feeds
   Global Average Pooling → Dense the decomposition is exact: channel ``k`` contributes
   ``w_k · mean(A_k)`` and the contributions plus the bias add up to the logit. For any other
   layer or head the contribution is the first-order (gradient × activation) estimate
   ``Σ_ij A_ij,k · ∂y/∂A_ij,k``, which on a GAP → Dense layer gives the same numbers;
3. the chosen channel through the three lenses: its feature map on the image, aligned by the
   receptive field (chapter 1); its pattern by gradient ascent, with chapter 2's pre-activation
   fallback for silent channels (computed on demand, then cached per model, layer and channel);
   the top-9 receptive-field crops of a probe set that excite it most (computed once per layer);
   and its numbers (contribution and share, Grad-CAM weight, sparsity);
4. the student's own model (a bundled name, a Keras model, a ``.keras`` file, or an upload) and
   image (a bundled name, a path, an array, or an upload).

Everything the explorer shows is also in :attr:`XRay.state` and can be driven with
:meth:`XRay.select`, so the explorer is scriptable and runs headless. Widgets (ipywidgets 7 or 8)
are imported only when the explorer is built. Every word it shows goes through
:func:`helpers.i18n.localized`; the Chinese catalogue is registered below.

Taught in: ``06_xray``.
"""

from __future__ import annotations

import io
import os
import pathlib
import tempfile
import threading
import time
import warnings
from typing import Any, Mapping

import numpy as np

from helpers.i18n import add_translations, localized
from helpers.widgets import upload_files

__all__ = [
    "XRay", "XRayError", "xray", "INPUT_RANGES", "PROBE_SIZE", "PATTERN_STEPS", "load_explorer_model",
    "detect_input_range", "probe_images", "channel_contributions", "top_activating_patches",
    "receptive_crop", "draw_xray",
]

INPUT_RANGES: dict[str, tuple[float, float]] = {"0..255": (0.0, 255.0), "0..1": (0.0, 1.0), "-1..1": (-1.0, 1.0)}
"""The pixel ranges a model may have been trained on (the explorer's range picker)."""

PROBE_SIZE = 48
"""Shape-world images in the default probe set (the dataset examples' search space)."""

PATTERN_STEPS = 40
"""Gradient-ascent steps for a channel's pattern (chapter 2's default)."""

TOP_PATCHES = 9
RANKED_TILES = 8
RANKED_BARS = 12
PROBE_BATCH = 16


def _forward_graph(images, requested, *, explainer):
    """One image's maps, gradients and scores at the explainer's layer (graph code for compiled_function)."""
    result = explainer.forward(images, requested, gradients=True)
    return result.activations, result.gradients, result.scores, result.class_indices


def _peaks_graph(images, *, explainer):
    """Per image and channel: the strongest response at the explainer's layer and its flat position."""
    from helpers._backend import tf

    maps = tf.cast(explainer.run_model(images)[0], tf.float32)
    flat = tf.reshape(maps, (tf.shape(maps)[0], -1, tf.shape(maps)[-1]))
    return tf.reduce_max(flat, axis=1), tf.argmax(flat, axis=1, output_type=tf.int32), tf.shape(maps)[1:3]


class XRayError(ValueError):
    """A model, image or upload the explorer cannot use; the message says why and what to do."""


# =========================================================================== models and images
def _keras():
    from helpers._backend import keras

    return keras


def _describe_load_error(name: str, err: Exception) -> str:
    text = str(err)
    if "zip" in text.lower() or isinstance(err, (OSError, EOFError)) and "keras" in name.lower():
        return localized("{name!r} is not a Keras model file: a .keras file is a zip archive written by "
                         "model.save('my_model.keras'). Save your model that way and upload that file.", name=name)
    if "locate" in text or "custom" in text.lower() or "subclass" in text.lower() or "get_config" in text:
        return localized("{name!r} holds a model built from a custom class (a subclassed keras.Model or a custom "
                         "layer) that cannot be rebuilt here. Rebuild it as a Functional model "
                         "(keras.Input → layers → keras.Model) and save that.", name=name)
    return localized("Could not load {name!r} as a Keras model: {reason}", name=name, reason=text.splitlines()[0][:300])


def load_explorer_model(model) -> tuple[Any, str]:
    """The model the explorer looks at, and its display name.

    Args:
        model: ``None`` (the bundled ``vgg_gap``), a bundled name (:data:`helpers.BUNDLED_MODELS`),
            a ``keras.Model``, or the path of a ``.keras`` file saved with ``model.save``.

    Returns:
        ``(keras model, name)``.

    Raises:
        XRayError: not a model, a subclassed model, a file that is not a Keras model, a model with
            no convolution layer or no class scores; the message says what to do.
    """
    from helpers.layers import check_model, conv_layer_names
    from helpers.models import BUNDLED_MODELS, load_model

    keras = _keras()
    if model is None:
        model = "vgg_gap"
    if isinstance(model, (str, pathlib.Path)):
        text = str(model)
        if text in BUNDLED_MODELS:
            model, name = load_model(text), text
        else:
            path = pathlib.Path(text).expanduser()
            if not path.is_file():
                raise XRayError(localized("No model file at {path!r}, and it is not a bundled model name. Bundled "
                                          "models: {names}.", path=text, names=", ".join(BUNDLED_MODELS)))
            if path.suffix != ".keras":
                raise XRayError(localized("{name!r} is not a .keras file. Save your model with "
                                          "model.save('my_model.keras') and give that file.", name=path.name))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = keras.saving.load_model(path, compile=False)
            except Exception as err:  # any failure of a student's file becomes a message
                raise XRayError(_describe_load_error(path.name, err)) from err
            name = path.name
    else:
        name = getattr(model, "name", type(model).__name__)
    try:
        check_model(model, "open in the X-Ray")
    except (TypeError, ValueError) as err:
        if isinstance(model, keras.Model) and "subclassed" in str(err):
            raise XRayError(localized(
                "Model {name!r} is a subclassed keras.Model: its computation is hidden in call(), so its layers "
                "cannot be looked into. Build the same layers as a Functional model (keras.Input → layers → "
                "keras.Model), copy the weights with set_weights, and open that.", name=name)) from err
        if not isinstance(model, keras.Model):
            raise XRayError(localized("The X-Ray needs a Keras model, a bundled model name or a .keras file; "
                                      "got {kind}.", kind=type(model).__name__)) from err
        raise XRayError(str(err)) from err
    if not conv_layer_names(model):
        raise XRayError(localized("Model {name!r} has no convolution layer: the X-Ray looks at the channels of "
                                  "convolution layers. Open a convnet.", name=name))
    shape = tuple(model.outputs[0].shape) if getattr(model, "outputs", None) else ()
    if len(shape) != 2:
        raise XRayError(localized("Model {name!r} outputs shape {shape}, not one score per class: the X-Ray "
                                  "explains classifiers.", name=name, shape=shape))
    return model, name


def detect_input_range(model) -> tuple[tuple[float, float] | None, str]:
    """Guess the pixel range ``model`` was trained on, from the layers at its input.

    A ``Rescaling`` or ``Normalization`` layer before the first convolution means the model takes raw
    0..255 pixels (the course's models, EfficientNet). Keras' MobileNet family without such a layer
    takes -1..1. Otherwise the range cannot be read off the model: ``None`` (ask the student).

    Returns:
        ``(range or None, reason)``; the reason is a localized sentence for the explorer.
    """
    from helpers.layers import iter_layers
    from helpers.models import BUNDLED_MODELS

    keras = _keras()
    if getattr(model, "name", "") in BUNDLED_MODELS:
        return (0.0, 255.0), localized("a bundled model: it takes 0..255 pixels")
    for path, layer in iter_layers(model):
        if isinstance(layer, (keras.layers.Rescaling, keras.layers.Normalization)):
            return (0.0, 255.0), localized("detected: it rescales its input itself ({layer})", layer=path)
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            break
    if "mobilenet" in getattr(model, "name", "").lower():
        return (-1.0, 1.0), localized("detected: Keras' MobileNet takes -1..1 pixels")
    return None, localized("not detected: the model has no rescaling layer. Choose the range it was trained "
                           "on (0..1 if your training code divided the pixels by 255)")


def _model_size(model, fallback: int = 150) -> tuple[int, int]:
    from helpers.layers import input_shape

    shape = input_shape(model)
    height = shape[0] if len(shape) == 3 and shape[0] is not None else fallback
    width = shape[1] if len(shape) == 3 and shape[1] is not None else fallback
    return int(height), int(width)


def probe_images(probe, size: tuple[int, int], n: int = PROBE_SIZE, seed: int = 1) -> np.ndarray:
    """The probe set (the dataset examples' search space) as ``(N, H, W, 3)`` float32 in 0..255.

    Args:
        probe: ``None`` (``n`` shape-world images), a folder of image files, a list of paths, or an
            array ``(N, H, W, 3)`` (any size: resized).
        size: ``(H, W)`` of the model's input.

    Raises:
        XRayError: an empty folder, a file that is not an image, a wrongly shaped array.
    """
    from helpers.data import load_image, make_shapes, to_pixels

    if probe is None:
        if size[0] == size[1]:
            images = make_shapes(n, size=size[0], seed=seed)[0]
        else:
            images = make_shapes(n, size=max(size), seed=seed)[0]
            images = np.stack([load_image(image, size=size) for image in images])
        return np.asarray(images, np.float32)
    if isinstance(probe, (str, pathlib.Path)):
        folder = pathlib.Path(probe).expanduser()
        if not folder.is_dir():
            raise XRayError(localized("The probe set {path!r} is not a folder of images.", path=str(probe)))
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".webp"))
        if not files:
            raise XRayError(localized("The folder {path!r} has no .png or .jpg images.", path=str(probe)))
        probe = files
    if isinstance(probe, (list, tuple)):
        try:
            return np.stack([load_image(p, size=size) for p in probe]).astype(np.float32)
        except (ValueError, FileNotFoundError, TypeError) as err:
            raise XRayError(localized("Could not read the probe images: {reason}", reason=err)) from err
    array = np.asarray(probe)
    if array.ndim != 4 or array.shape[-1] not in (1, 3) or len(array) == 0:
        raise XRayError(localized("The probe set must be images (N, H, W, 3); got shape {shape}.",
                                  shape=array.shape))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pixels = to_pixels(array, "probe image", batched=True)
    if pixels.shape[1:3] != tuple(size) or pixels.shape[-1] != 3:
        pixels = np.stack([load_image(image, size=size) for image in pixels])
    return pixels.astype(np.float32)


# =========================================================================== the numbers
def channel_contributions(activations: np.ndarray, gradients: np.ndarray, head=None,
                          class_index: int = 0) -> tuple[np.ndarray, float, bool]:
    """Each channel's contribution to one class score, and the rest (bias) of the score.

    Args:
        activations: ``(h, w, C)`` the layer's maps for one image.
        gradients: ``(h, w, C)`` the class score's gradient with respect to them.
        head: ``(kernel (C, classes), bias (classes,) or None, binary)`` of a GAP → Dense head fed
            by this layer, or ``None``.
        class_index: the class.

    Returns:
        ``(contributions (C,), bias, exact)``. With a head (exact): ``w_k · mean(A_k)`` and the
        Dense bias, which add up to the logit. Without: ``Σ_ij A_ij,k · ∂y/∂A_ij,k`` (the
        first-order estimate) and ``nan`` (no exact remainder).
    """
    a = np.asarray(activations, np.float64)
    if head is not None:
        kernel, bias, binary = head
        kernel = np.asarray(kernel, np.float64)
        column = kernel[:, 0] if binary else kernel[:, class_index]
        sign = -1.0 if binary and class_index == 0 else 1.0
        b = 0.0 if bias is None else float(np.asarray(bias, np.float64)[0 if binary else class_index])
        return sign * a.mean(axis=(0, 1)) * column, sign * b, True
    g = np.asarray(gradients, np.float64)
    return (a * g).sum(axis=(0, 1)), float("nan"), False


def receptive_crop(image: np.ndarray, field, row: int, col: int, fill: float = 128.0) -> np.ndarray:
    """The ``field.size``-square crop of ``image`` that position ``(row, col)`` sees (grey beyond the edge)."""
    size = int(field.size)
    top = int(round(field.start + field.jump * row - (size - 1) / 2))
    left = int(round(field.start_col + field.jump * col - (size - 1) / 2))
    out = np.full((size, size, image.shape[-1]), fill, np.float32)
    h, w = image.shape[:2]
    r0, r1, c0, c1 = max(top, 0), min(top + size, h), max(left, 0), min(left + size, w)
    if r1 > r0 and c1 > c0:
        out[r0 - top:r1 - top, c0 - left:c1 - left] = image[r0:r1, c0:c1]
    return out


def top_activating_patches(peaks: np.ndarray, where: np.ndarray, channel: int, k: int = TOP_PATCHES
                           ) -> list[tuple[int, int, float]]:
    """The ``k`` probe images whose strongest response of ``channel`` is highest: ``(image, position, value)``.

    Ties keep the probe order (a stable sort), so the choice is the same on every CPU.
    """
    values = np.asarray(peaks[:, channel], np.float64)
    order = np.argsort(-values, kind="stable")[:k]
    return [(int(i), int(where[i, channel]), float(values[i])) for i in order]


# =========================================================================== drawing
def _tile(images: np.ndarray, cols: int = 3, pad: int = 2) -> np.ndarray:
    """``(n, s, s, 3)`` uint8 patches tiled into one picture with white gaps."""
    n, s = len(images), images.shape[1]
    rows = max(1, -(-n // cols))
    out = np.full((rows * (s + pad) - pad, cols * (s + pad) - pad, 3), 255, np.uint8)
    for i, patch in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (s + pad):r * (s + pad) + s, c * (s + pad):c * (s + pad) + s] = patch
    return out


def _map_rgba(values: np.ndarray, peak: float, cmap: str = "viridis") -> np.ndarray:
    from matplotlib import colormaps

    scaled = np.nan_to_num(values / (peak + 1e-8), nan=0.0).clip(0.0, 1.0)
    rgba = colormaps[cmap](scaled)
    rgba[..., 3] = np.clip(3.0 * scaled, 0.0, 0.95)
    return rgba


def _titles(state: Mapping[str, Any]) -> dict[str, str]:
    """The panels' titles for ``state`` (localized)."""
    patches = state["top_patches"]
    return {
        "cam": localized("Grad-CAM of '{name}'\n(logit {logit:.2f})", name=state["class_name"], logit=state["logit"]),
        "map": localized("channel {channel} of {layer}\non the image (aligned)", channel=int(state["channel"]),
                         layer=state["layer"]),
        "pattern": (localized("its pattern (gradient ascent)") if state["pattern"] is not None
                    else state["pattern_status"]),
        "patches": localized("top {n} patches of the probe set", n=0 if patches is None else len(patches)),
        "bars": (localized("exact: contributions + bias = logit") if state["exact"]
                 else localized("first-order estimate (gradient × activation)")),
    }


def _panel_pictures(state: Mapping[str, Any], side: int = 168) -> dict[str, np.ndarray]:
    """The widget's pictures as uint8 RGB arrays: no Matplotlib figure, so an update stays fast."""
    from helpers.plotting import as_display_image, overlay

    def fit(picture: np.ndarray) -> np.ndarray:
        from PIL import Image

        picture = np.asarray(picture, np.uint8)
        h, w = picture.shape[:2]
        scale = side / max(h, w)
        resample = Image.NEAREST if scale >= 1 else Image.BILINEAR
        return np.asarray(Image.fromarray(picture).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                          resample))

    image = as_display_image(state["image"])
    peak = max(float(np.max(state["feature_map"])) if np.size(state["feature_map"]) else 0.0, 1e-8)
    rgba = _map_rgba(state["feature_map_on_input"], peak)
    dimmed = (image // 3 + 48).astype(np.float64) / 255.0
    fmap = (rgba[..., :3] * rgba[..., 3:] + dimmed * (1 - rgba[..., 3:])) * 255.0
    pattern = state["pattern"] if state["pattern"] is not None else np.full((8, 8, 3), 235, np.uint8)
    patches = state["top_patches"]
    maps, ranking = state["layer_maps"], np.asarray(state["ranking"])
    from matplotlib import colormaps
    from PIL import Image

    tiles = []
    for c in ranking[:RANKED_TILES]:
        channel_map = maps[..., int(c)].astype(np.float64)
        top = channel_map.max()
        tile = colormaps["viridis"](channel_map / top if top > 0 else np.zeros_like(channel_map))[..., :3] * 255
        tiles.append(np.asarray(Image.fromarray(tile.astype(np.uint8)).resize((40, 40), Image.NEAREST)))
    while len(tiles) < RANKED_TILES:
        tiles.append(np.full((40, 40, 3), 255, np.uint8))
    mosaic = _tile(np.stack(tiles), cols=RANKED_TILES // 2, pad=3)
    return {"cam": fit(overlay(image, state["heatmap"], alpha=0.45)), "map": fit(fmap.clip(0, 255)),
            "pattern": fit(pattern), "patches": fit(_tile(patches)) if patches is not None and len(patches)
            else fit(np.full((8, 8, 3), 235, np.uint8)), "tiles": mosaic}


def _jpeg(picture: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(picture, np.uint8)).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _colour_bar_html(cmap: str, low: float, high: float, height: int = 168) -> str:
    """A vertical colour bar (CSS gradient) with its two end values."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    stops = ", ".join(to_hex(colormaps[cmap](v)) for v in np.linspace(0, 1, 9))
    return (f"<div style='display:flex;align-items:stretch;height:{height}px;font-size:10px'>"
            f"<div style='width:10px;background:linear-gradient(to top, {stops});border:1px solid #888'></div>"
            f"<div style='display:flex;flex-direction:column;justify-content:space-between;margin-left:3px'>"
            f"<span>{high:.3g}</span><span>{low:.3g}</span></div></div>")


def _ranking_html(state: Mapping[str, Any], title: str) -> str:
    """The strongest contributions as HTML bars, the chosen channel in red."""
    contributions = np.asarray(state["contributions"])
    channel = int(state["channel"])
    shown = [int(c) for c in np.asarray(state["ranking"])[:RANKED_BARS]]
    if channel not in shown:
        shown[-1] = channel
    scale = max(float(np.abs(contributions[shown]).max()), 1e-12)
    rows = []
    for c in shown:
        value = float(contributions[c])
        colour = "#d62728" if c == channel else ("#1f77b4" if value >= 0 else "#7f7f7f")
        width = int(round(140 * abs(value) / scale))
        rows.append(f"<div style='display:flex;align-items:center;height:14px'>"
                    f"<span style='width:42px;text-align:right;margin-right:4px'>{c}</span>"
                    f"<span style='display:inline-block;width:{width}px;height:10px;background:{colour}'></span>"
                    f"<span style='margin-left:4px'>{value:+.3f}</span></div>")
    axis = localized("contribution to the logit of '{name}'", name=state["class_name"])
    return (f"<div style='font-family:monospace;font-size:11px'><b>{title}</b><br>{axis}"
            f"{''.join(rows)}</div>")


def draw_xray(fig, state: Mapping[str, Any]) -> None:
    """Draw the X-Ray of ``state`` (:attr:`XRay.state`) into ``fig``: six panels and the ranking.

    Top row: the image with the class's Grad-CAM, the channel's feature map on the image, its
    pattern, its top-9 dataset patches. Bottom row: the channels ranked by contribution (bars, the
    chosen one highlighted) and the feature maps of the eight that contribute most. On a figure it
    drew before, only pictures, colour ranges and titles change (fast).

    Taught in: ``06_xray``.
    """
    from helpers.plotting import as_display_image, overlay

    image = as_display_image(state["image"])
    channel, layer = int(state["channel"]), state["layer"]
    contributions = np.asarray(state["contributions"])
    ranking = np.asarray(state["ranking"])
    heat = overlay(image, state["heatmap"], alpha=0.45)
    on_input = state["feature_map_on_input"]
    peak = max(float(np.nanmax(state["feature_map"])) if np.size(state["feature_map"]) else 0.0, 1e-8)
    fmap = _map_rgba(on_input, peak)
    pattern = state["pattern"] if state["pattern"] is not None else np.full((8, 8, 3), 235, np.uint8)
    patches = state["top_patches"]
    patch_picture = _tile(patches) if patches is not None and len(patches) else np.full((8, 8, 3), 235, np.uint8)
    titles = _titles(state)
    axes = getattr(fig, "_xray_axes", None)
    if axes is None or axes["fig_axes"] != list(fig.axes):
        fig.clear()
        grid = fig.add_gridspec(2, 4, height_ratios=[1.0, 0.8], hspace=0.3, wspace=0.35,
                                left=0.05, right=0.97, top=0.9, bottom=0.08)
        ax_cam, ax_map, ax_pattern, ax_patches = (fig.add_subplot(grid[0, i]) for i in range(4))
        ax_bars = fig.add_subplot(grid[1, :2])
        tiles_grid = grid[1, 2:].subgridspec(2, RANKED_TILES // 2, hspace=0.45, wspace=0.1)
        tiles = [fig.add_subplot(tiles_grid[i // (RANKED_TILES // 2), i % (RANKED_TILES // 2)])
                 for i in range(RANKED_TILES)]
        axes = {"cam": ax_cam, "map": ax_map, "pattern": ax_pattern, "patches": ax_patches, "bars": ax_bars,
                "tiles": tiles}
        axes["cam_image"] = ax_cam.imshow(heat)
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        bar = fig.colorbar(ScalarMappable(Normalize(0, 1), "jet"), ax=ax_cam, fraction=0.046, pad=0.03)
        bar.ax.tick_params(labelsize=7)
        ax_map.imshow(image // 3 + 48)
        axes["map_image"] = ax_map.imshow(fmap)
        axes["map_scale"] = ScalarMappable(Normalize(0, peak), "viridis")
        axes["map_bar"] = fig.colorbar(axes["map_scale"], ax=ax_map, fraction=0.046, pad=0.03)
        axes["map_bar"].ax.tick_params(labelsize=7)
        axes["pattern_image"] = ax_pattern.imshow(pattern)
        axes["patches_image"] = ax_patches.imshow(patch_picture)
        for tile in tiles:
            tile.imshow(np.zeros((2, 2)), cmap="viridis")
        for ax in (ax_cam, ax_map, ax_pattern, ax_patches, *tiles):
            ax.set_axis_off()
        fig._xray_axes = axes
        axes["fig_axes"] = list(fig.axes)
    else:
        axes["map"].images[0].set_data(image // 3 + 48)
        for key, picture in (("cam_image", heat), ("map_image", fmap), ("pattern_image", pattern),
                             ("patches_image", patch_picture)):
            artist = axes[key]
            artist.set_data(picture)
            h, w = np.shape(picture)[:2]
            artist.set_extent((-0.5, w - 0.5, h - 0.5, -0.5))
            artist.axes.set_xlim(-0.5, w - 0.5)
            artist.axes.set_ylim(h - 0.5, -0.5)
        axes["map_scale"].set_clim(0, peak)
    for key in ("cam", "map", "pattern", "patches"):
        axes[key].set_title(titles[key], fontsize=8)
    # the ranking: the strongest contributions, the chosen channel always among them
    ax_bars = axes["bars"]
    ax_bars.clear()
    shown = [int(c) for c in ranking[:RANKED_BARS]]
    if channel not in shown:
        shown[-1] = channel
    values = contributions[shown]
    colours = ["#d62728" if c == channel else ("#1f77b4" if v >= 0 else "#7f7f7f") for c, v in zip(shown, values)]
    ax_bars.barh(np.arange(len(shown)), values, color=colours)
    ax_bars.set_yticks(np.arange(len(shown)), [str(c) for c in shown], fontsize=7)
    ax_bars.invert_yaxis()
    ax_bars.axvline(0, color="black", lw=0.6)
    ax_bars.tick_params(axis="x", labelsize=7)
    ax_bars.set_ylabel(localized("channel"), fontsize=8)
    ax_bars.set_title(titles["bars"], fontsize=8)
    ax_bars.set_xlabel(localized("contribution to the logit of '{name}'", name=state["class_name"]), fontsize=8)
    maps = state["layer_maps"]
    for tile, c in zip(axes["tiles"], [int(c) for c in ranking[:RANKED_TILES]]):
        artist = tile.images[0]
        artist.set_data(maps[..., c])
        artist.set_clim(0, max(float(maps[..., c].max()), 1e-8))
        h, w = maps.shape[:2]
        artist.set_extent((-0.5, w - 0.5, h - 0.5, -0.5))
        tile.set_xlim(-0.5, w - 0.5)
        tile.set_ylim(h - 0.5, -0.5)
        tile.set_title(f"#{c}", fontsize=7, color="#d62728" if c == channel else "black")
    fig.suptitle(localized("X-Ray of {model} · layer {layer} · class '{name}' · channel {channel}",
                           model=state["model_name"], layer=layer, name=state["class_name"], channel=channel),
                 fontsize=9)


# =========================================================================== the explorer
class XRay:
    """The linked explorer: one image, one class, one layer, one channel, seen through three lenses.

    Build it with :func:`xray`. Programmatic use: :meth:`select` and :attr:`state`; in a notebook,
    show :attr:`widget` (or the object itself).

    Args:
        model: ``None`` (``vgg_gap``), a bundled name, a ``keras.Model`` or a ``.keras`` path.
        image: ``None`` (a held-out shape), a bundled photo name, a path or an array (resized to the
            model's input size; the explorer says so).
        layer: the layer to look at; ``None``: the layer Grad-CAM explains by default.
        probe: the dataset examples' search space: ``None`` (shape-world images), a folder, a list
            of paths or an array of images.
        input_range: the pixel range the model was trained on, e.g. ``(0, 1)``; ``None``: detected
            (:func:`detect_input_range`), else 0..255 until the student chooses.
        class_names: names of the model's classes; ``None``: the model's own or ``class 0, 1, …``.
        pattern_steps: gradient-ascent steps for a pattern.

    Attributes:
        widget: the ipywidgets box (built by :meth:`build_widget`, which :func:`xray` calls).
        figure: the Matplotlib figure the views are drawn into.
        message: the last notice (a resize, a bad upload, the input range), localized.
        last_update_seconds: how long the last update took (drawing included).

    Taught in: ``06_xray``.
    """

    def __init__(self, model=None, image=None, layer=None, probe=None, *, input_range=None, class_names=None,
                 pattern_steps: int = PATTERN_STEPS, figsize: tuple[float, float] = (11.0, 6.0), dpi: float = 72):
        from matplotlib.figure import Figure

        self._figure = Figure(figsize=figsize, dpi=dpi)
        self._figure_stale = True
        self.pattern_steps = int(pattern_steps)
        self.widget = None
        self.message = ""
        self.last_update_seconds = 0.0
        self.pattern_computations = 0
        self._lock = threading.RLock()
        self._worker: threading.Thread | None = None
        self._probe_source = probe
        self._source_image = None
        self._source_name = ""
        self._set_model(model, input_range=input_range, class_names=class_names, layer=layer)
        self._set_image(image if image is not None else None)
        self._channel: int | None = None
        self._class: int | None = None
        self._refresh(wait=True)
        self.message = " ".join(part for part in (self.message, self._range_note()) if part)

    def _range_note(self) -> str:
        """The input range and why (bundled models need no note)."""
        from helpers.models import BUNDLED_MODELS

        if self.model_name in BUNDLED_MODELS:
            return ""
        return localized("Input range {range}: {reason}.", range=self._range_label(), reason=self.range_reason)

    # ------------------------------------------------------------------ model, image, caches
    def _set_model(self, model, input_range=None, class_names=None, layer=None) -> None:
        from helpers.activations import feature_map_layers
        from helpers.explainers import get_explainer
        from helpers.layers import spatial_layer_names

        loaded, name = load_explorer_model(model)
        detected, reason = detect_input_range(loaded)
        chosen = tuple(float(v) for v in input_range) if input_range is not None else (detected or (0.0, 255.0))
        try:
            explainer = get_explainer(loaded, "grad_cam", layer, input_range=chosen)
        except (TypeError, ValueError) as err:
            raise XRayError(str(err)) from err
        self.model, self.model_name, self.input_range = loaded, name, chosen
        self.range_detected = input_range is not None or detected is not None
        self.range_reason = (localized("given") if input_range is not None else reason)
        self.size = _model_size(loaded)
        spatial = set(spatial_layer_names(loaded))
        self.layers = [p for p in feature_map_layers(loaded) if p in spatial]
        if explainer.layer not in self.layers:
            self.layers.append(explainer.layer)
        self.layer = explainer.layer
        names = class_names if class_names is not None else explainer.class_names
        self.num_classes = explainer.num_classes
        self.class_names = (tuple(str(n) for n in names) if names is not None and len(names) == self.num_classes
                            else tuple(localized("class {i}", i=i) for i in range(self.num_classes)))
        self._cache: dict = {}  # per image and layer: maps, gradients, heatmaps (dropped with the model)
        self._probe_cache: dict = {}  # per layer: the probe set's peaks
        self._probe = None
        self._heads: dict = {}
        self._channel = None
        self._class = None

    def _set_image(self, image) -> None:
        from helpers.data import load_image, make_shapes

        size = self.size
        if image is None and self._source_image is None:
            image, name = make_shapes(1, size=max(size), seed=3)[0][0], localized("a held-out shape")
        elif image is None:
            image, name = self._source_image, self._source_name
        else:
            name = image if isinstance(image, (str, pathlib.Path)) else localized("your image")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                source = load_image(image)
        except (ValueError, FileNotFoundError, TypeError) as err:
            raise XRayError(localized("Could not use the image: {reason}", reason=err)) from err
        fitted = source if source.shape[:2] == tuple(size) else load_image(source, size=size)
        self._source_image, self._source_name = source, str(name)
        self.image = fitted
        self.image_name = str(name)
        if source.shape[:2] != tuple(size):
            self.message = localized("The image ({h}×{w}) was resized to {H}×{W}, the input size of {model}.",
                                     h=source.shape[0], w=source.shape[1], H=size[0], W=size[1],
                                     model=self.model_name)
        self._cache = {}

    def _explainer(self, layer: str):
        from helpers.explainers import get_explainer

        return get_explainer(self.model, "grad_cam", layer, input_range=self.input_range)

    def _head(self, layer: str):
        """``(kernel, bias, binary)`` when ``layer`` feeds GAP → Dense (the exact case), else None."""
        if layer not in self._heads:
            from helpers.explainers import get_explainer

            try:
                cam = get_explainer(self.model, "cam", layer, input_range=self.input_range)
                bias = np.asarray(cam.head.bias) if cam.head.use_bias else None
                self._heads[layer] = (np.asarray(cam.head.kernel), bias, bool(cam.binary))
            except (TypeError, ValueError, AttributeError):  # no GAP -> Dense head here: the estimate
                self._heads[layer] = None
        return self._heads[layer]

    def _forward(self, layer: str, class_index: int | None):
        """Maps, gradients, scores and the Grad-CAM heatmap of the image for one class (cached)."""
        from helpers._backend import tf
        from helpers.layers import compiled_function

        key = (layer, class_index)
        if key in self._cache:
            return self._cache[key]
        explainer = self._explainer(layer)
        forward = compiled_function(self.model, ("xray-forward", layer, self.input_range, self.size), _forward_graph,
                                    [tf.TensorSpec((1, *self.size, 3), tf.float32), tf.TensorSpec((1,), tf.int32)],
                                    explainer=explainer)
        requested = -1 if class_index is None else int(class_index)
        a, g, scores, chosen = forward(tf.constant(self.image[None], tf.float32), tf.constant([requested], tf.int32))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = explainer.explain(self.image[None], int(chosen.numpy()[0]), progress=False)
        scores = np.asarray(scores, np.float64)[0]
        entry = {"maps": np.asarray(a)[0], "gradients": np.asarray(g)[0], "scores": scores,
                 "class_index": int(np.asarray(chosen)[0]), "heatmap": result.heatmaps[0],
                 "probabilities": np.asarray(explainer.probabilities(scores[None].astype(np.float32)),
                                             np.float64)[0]}
        self._cache[key] = entry
        self._cache[(layer, entry["class_index"])] = entry
        return entry

    def _field(self, layer: str):
        from helpers.layers import model_cache, receptive_field

        cache = model_cache(self.model, "xray")
        key = ("field", layer, self.size)
        if key not in cache:
            try:
                cache[key] = receptive_field(self.model, layer, input_size=self.size)
            except ValueError:
                cache[key] = None
        return cache[key]

    def _probe_peaks(self, layer: str):
        """Per probe image and channel: the strongest response and where (one batched pass per layer)."""
        from helpers._backend import tf
        from helpers.inputs import batch_slices
        from helpers.layers import compiled_function

        if layer in self._probe_cache:
            return self._probe_cache[layer]
        if self._probe is None:
            self._probe = probe_images(self._probe_source, self.size)
        peaks = compiled_function(self.model, ("xray-peaks", layer, self.input_range, self.size), _peaks_graph,
                                  [tf.TensorSpec((None, *self.size, 3), tf.float32)], explainer=self._explainer(layer))
        values, where, grid = [], [], None
        for part in batch_slices(len(self._probe), PROBE_BATCH):
            v, w, grid = peaks(tf.constant(self._probe[part]))
            values.append(np.asarray(v))
            where.append(np.asarray(w))
        self._probe_cache[layer] = (np.concatenate(values), np.concatenate(where), tuple(np.asarray(grid)))
        return self._probe_cache[layer]

    def _patches(self, layer: str, channel: int):
        key = ("patches", layer, int(channel))
        if key not in self._probe_cache:
            self._probe_cache[key] = self._compute_patches(layer, int(channel))
        return self._probe_cache[key]

    def _compute_patches(self, layer: str, channel: int):
        from helpers.plotting import as_display_image

        values, where, grid = self._probe_peaks(layer)
        field = self._field(layer)
        top = top_activating_patches(values, where, channel)
        crops = []
        for index, position, _ in top:
            row, col = divmod(position, grid[1])
            if field is not None:
                crop = receptive_crop(self._probe[index], field, row, col)
            else:
                crop = self._probe[index]
            crops.append(crop)
        side = 48
        from helpers.data import resize_image

        crops = np.stack([as_display_image(resize_image(c, side)) for c in crops])
        return crops, top

    def pattern(self, layer: str, channel: int, compute: bool = True):
        """The channel's pattern by gradient ascent (uint8 ``(H, W, 3)``), cached; ``None`` if not computed.

        Chapter 2's ``pre_activation="auto"``: a silent channel is climbed on its value before the
        ReLU until it fires. Layers that are not convolutions have no pattern: a message instead.
        """
        from helpers.filters import filter_ascent
        from helpers.layers import model_cache

        patterns = model_cache(self.model, "xray patterns")  # shared by every explorer of the model
        key = (layer, int(channel), self.input_range, self.pattern_steps)
        if key in patterns or not compute:
            return patterns.get(key)

        low, high = self.input_range
        value = None
        for border in (2, 0):  # a map of a few positions: measure them all rather than refuse
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = filter_ascent(self.model, layer, [int(channel)], steps=self.pattern_steps,
                                           pre_activation="auto", step_size=2.0 * (high - low) / 255.0,
                                           border=border, progress=False)
                value = (result.images[0], float(result.activations[0]))
                break
            except (ValueError, TypeError, AttributeError) as err:
                value = (None, localized("no pattern: {reason}", reason=str(err).split(". ")[0]))
                if "border" not in str(err):
                    break
        patterns[key] = value
        self.pattern_computations += 1
        return value

    # ------------------------------------------------------------------ selection and state
    def select(self, layer: str | None = None, channel: int | None = None, class_index: int | None = None,
               wait: bool = True) -> "XRay":
        """Choose the layer, channel and class (each ``None`` keeps the current one) and update.

        Args:
            layer: a layer of :attr:`layers`.
            channel: a channel of that layer.
            class_index: a class (0-based).
            wait: compute a missing pattern before returning (``False``: the other panels update
                at once and the pattern follows in the background, as in the widget).

        Raises:
            XRayError: an unknown layer, a channel or class out of range (the message gives the valid ones).

        Returns:
            ``self`` (chainable).
        """
        with self._lock:
            if layer is not None:
                from helpers.layers import resolve_layer_path

                try:
                    path = resolve_layer_path(self.model, layer)
                except ValueError:
                    path = None
                if path not in self.layers:
                    raise XRayError(localized("Unknown layer {layer!r}; the layers with channels are: {layers}.",
                                              layer=layer, layers=", ".join(self.layers)))
                if path != self.layer:
                    self.layer, self._channel = path, None
            if class_index is not None:
                if not 0 <= int(class_index) < self.num_classes:
                    raise XRayError(localized("Class {c} does not exist: the classes are 0..{last}.",
                                              c=class_index, last=self.num_classes - 1))
                self._class = int(class_index)
            if channel is not None:
                channels = int(self._forward(self.layer, self._class)["maps"].shape[-1])
                if not 0 <= int(channel) < channels:
                    raise XRayError(localized("Layer {layer} has channels 0..{last}; got {c}.",
                                              layer=self.layer, last=channels - 1, c=channel))
                self._channel = int(channel)
            self._refresh(wait=wait)
        return self

    def _refresh(self, wait: bool) -> None:
        start = time.perf_counter()
        entry = self._forward(self.layer, self._class)
        self._class = entry["class_index"]
        maps, grads = entry["maps"], entry["gradients"]
        head = self._head(self.layer)
        contributions, bias, exact = channel_contributions(maps, grads, head, self._class)
        ranking = np.argsort(-contributions, kind="stable")
        if self._channel is None:
            self._channel = int(ranking[0])
        channel = self._channel
        from helpers.activations import map_to_input

        field = self._field(self.layer)
        fmap = maps[..., channel]
        if field is not None:
            on_input = map_to_input(fmap, field, self.image.shape[:2])
        else:
            rows = np.minimum(np.arange(self.size[0]) * fmap.shape[0] // self.size[0], fmap.shape[0] - 1)
            cols = np.minimum(np.arange(self.size[1]) * fmap.shape[1] // self.size[1], fmap.shape[1] - 1)
            on_input = fmap[np.ix_(rows, cols)]
        patches, top = self._patches(self.layer, channel)
        cached = self.pattern(self.layer, channel, compute=wait)
        if cached is None:
            pattern, status = None, localized("computing the pattern ({steps} steps)…", steps=self.pattern_steps)
        else:
            pattern, status = cached[0], (cached[1] if isinstance(cached[1], str) else "")
        logit = float(entry["scores"][self._class])
        total = float(np.abs(contributions).sum())
        order = np.argsort(-entry["probabilities"], kind="stable")
        self._state = {
            "model_name": self.model_name, "image": self.image, "image_name": self.image_name,
            "layer": self.layer, "channel": channel, "class_index": self._class,
            "class_name": self.class_names[self._class], "logit": logit, "bias": bias, "exact": exact,
            "contributions": contributions, "ranking": ranking,
            "contribution": float(contributions[channel]),
            "share": float(abs(contributions[channel]) / (total + 1e-12)),
            "sum": float(contributions.sum() + (bias if exact else 0.0)),
            "gradcam_weight": float(grads[..., channel].mean()),
            "sparsity": float((fmap <= 0).mean()),
            "feature_map": fmap, "feature_map_on_input": on_input, "layer_maps": maps,
            "heatmap": entry["heatmap"], "pattern": pattern, "pattern_status": status,
            "top_patches": patches, "top_patch_sources": top,
            "probabilities": entry["probabilities"],
            "top_classes": [(self.class_names[i], float(entry["probabilities"][i])) for i in order[:5]],
            "input_range": self.input_range,
        }
        self._draw()
        self.last_update_seconds = time.perf_counter() - start
        if cached is None and not wait:
            self._pattern_in_background(self.layer, channel)

    @property
    def state(self) -> Mapping[str, Any]:
        """The current selection and everything shown for it (read-only view).

        Keys include ``"contributions"`` (``(C,)`` per channel, for the chosen class), ``"bias"``
        (the exact remainder, ``nan`` for an estimate), ``"exact"``, ``"logit"``, ``"sum"``,
        ``"feature_map"`` (``(h, w)``), ``"feature_map_on_input"``, ``"pattern"`` (uint8 image or
        ``None`` while it computes), ``"top_patches"`` (``(9, s, s, 3)`` uint8), ``"top_patch_sources"``
        (probe image, position, value), ``"gradcam_weight"``, ``"share"``, ``"sparsity"``,
        ``"heatmap"``, ``"top_classes"``, ``"layer"``, ``"channel"``, ``"class_index"``.
        """
        from types import MappingProxyType

        return MappingProxyType(self._state)

    def summary(self) -> str:
        """The numbers of the current selection as lines of text (localized)."""
        s = self._state
        lines = [localized("{model} · layer {layer} · class '{name}' (p = {p:.3f}) · channel {channel}",
                           model=s["model_name"], layer=s["layer"], name=s["class_name"],
                           p=s["probabilities"][s["class_index"]], channel=s["channel"])]
        if s["exact"]:
            lines.append(localized("exact (GAP → Dense): the {n} contributions ({total:+.3f}) plus the bias "
                                   "({bias:+.3f}) add up to {sum:+.3f}; the logit is {logit:+.3f}.",
                                   n=len(s["contributions"]), total=float(s["contributions"].sum()),
                                   bias=s["bias"], sum=s["sum"], logit=s["logit"]))
        else:
            lines.append(localized("first-order estimate (gradient × activation): the {n} contributions add up "
                                   "to {sum:+.3f}; the logit is {logit:+.3f}.", n=len(s["contributions"]),
                                   sum=s["sum"], logit=s["logit"]))
        rank = int(np.flatnonzero(s["ranking"] == s["channel"])[0]) + 1
        lines.append(localized("channel {channel}: contribution {value:+.3f} ({share:.1%} of all), rank {rank} of "
                               "{n}; Grad-CAM weight {weight:+.4f}; zero or below at {sparsity:.0%} of positions.",
                               channel=s["channel"], value=s["contribution"], share=s["share"], rank=rank,
                               n=len(s["contributions"]), weight=s["gradcam_weight"], sparsity=s["sparsity"]))
        return "\n".join(lines)

    # ------------------------------------------------------------------ drawing and the pattern thread
    def _draw(self) -> None:
        """Bring the widget's pictures and text up to date (fast: no Matplotlib); the figure is drawn on demand."""
        with self._lock:
            self._figure_stale = True
            if self.widget is None:
                return
            s = self._state
            pictures = _panel_pictures(s)
            titles = _titles(s)
            for key, view in self._views.items():
                view.value = _jpeg(pictures[key])
            for key in ("cam", "map", "pattern", "patches"):
                self._titles[key].value = ("<div style='font-size:11px;text-align:center;width:180px'>"
                                           + titles[key].replace("\n", "<br>") + "</div>")
            peak = float(np.max(s["feature_map"])) if np.size(s["feature_map"]) else 0.0
            self._bars["cam"].value = _colour_bar_html("jet", 0.0, 1.0)
            self._bars["map"].value = _colour_bar_html("viridis", 0.0, peak)
            self._ranking.value = _ranking_html(s, titles["bars"])
            self._titles["tiles"].value = ("<div style='font-size:11px'>" + localized(
                "feature maps of the {n} strongest channels: {channels}", n=RANKED_TILES,
                channels=", ".join(f"#{int(c)}" for c in s["ranking"][:RANKED_TILES])) + "</div>")
            self._numbers.value = "<br>".join(
                f"<span style='font-family:monospace'>{line}</span>" for line in self.summary().splitlines())
            self._sync_controls()

    @property
    def figure(self):
        """The Matplotlib figure of the current view (:func:`draw_xray`), drawn when asked for."""
        with self._lock:
            if self._figure_stale:
                draw_xray(self._figure, self._state)
                self._figure_stale = False
            return self._figure

    def _pattern_in_background(self, layer: str, channel: int) -> None:
        if self.widget is not None:
            self._progress.layout.visibility = "visible"
            self._progress.description = localized("pattern…")

        def work():
            self.pattern(layer, channel, compute=True)
            with self._lock:
                if self.widget is not None:
                    self._progress.layout.visibility = "hidden"
                if self.layer == layer and self._channel == channel:
                    cached = self.pattern(layer, channel, compute=False)
                    self._state["pattern"] = cached[0]
                    self._state["pattern_status"] = cached[1] if isinstance(cached[1], str) else ""
                    self._draw()

        if self.widget is None:
            work()
            return
        self._worker = threading.Thread(target=work, daemon=True)
        self._worker.start()

    def wait(self, timeout: float = 120.0) -> None:
        """Wait for a pattern computing in the background (the widget's way) to finish."""
        if self._worker is not None:
            self._worker.join(timeout)

    # ------------------------------------------------------------------ the widget
    def build_widget(self):
        """Build (once) and return the ipywidgets box: uploads, pickers, the view and the numbers."""
        if self.widget is not None:
            return self.widget
        import ipywidgets as widgets

        from helpers.models import BUNDLED_MODELS

        self._holding = False
        self._model_picker = widgets.Dropdown(options=list(BUNDLED_MODELS), description=localized("Model"),
                                              value=self.model_name if self.model_name in BUNDLED_MODELS else None)
        self._model_upload = widgets.FileUpload(accept=".keras", multiple=False,
                                                description=localized("Upload .keras"))
        self._range = widgets.Dropdown(options=list(INPUT_RANGES), description=localized("Pixels"),
                                       value=self._range_label())
        self._image_upload = widgets.FileUpload(accept="image/*", multiple=False,
                                                description=localized("Upload image"))
        self._layer_picker = widgets.Dropdown(options=self.layers, value=self.layer, description=localized("Layer"))
        self._class_picker = widgets.Dropdown(options=[], description=localized("Class"))
        self._channel_list = widgets.Select(options=[], rows=8, description=localized("Channels"),
                                            layout=widgets.Layout(width="360px"))
        self._channel_number = widgets.BoundedIntText(value=0, min=0, max=0, description=localized("Channel no."),
                                                      layout=widgets.Layout(width="180px"))
        self._progress = widgets.IntProgress(value=1, max=1, bar_style="info", description=localized("pattern…"),
                                             layout=widgets.Layout(visibility="hidden", width="260px"))
        self._message = widgets.HTML()
        self._views = {key: widgets.Image(format="jpeg") for key in ("cam", "map", "pattern", "patches", "tiles")}
        for key, view in self._views.items():
            view.add_class(f"xray-{key}")
        self._views["tiles"].layout.width = "250px"
        self._view = self._views["map"]
        self._titles = {key: widgets.HTML() for key in ("cam", "map", "pattern", "patches", "tiles")}
        self._bars = {key: widgets.HTML() for key in ("cam", "map")}
        self._ranking = widgets.HTML()
        self._numbers = widgets.HTML()

        def panel(key):
            picture = (widgets.HBox([self._views[key], self._bars[key]]) if key in self._bars else self._views[key])
            return widgets.VBox([self._titles[key], picture], layout=widgets.Layout(margin="0 8px 0 0"))

        self.widget = widgets.VBox([
            widgets.HBox([self._model_picker, self._model_upload, self._range]),
            widgets.HBox([self._image_upload, self._layer_picker, self._class_picker]),
            self._message,
            widgets.HBox([self._channel_list, widgets.VBox([self._channel_number, self._progress])]),
            widgets.HBox([panel(key) for key in ("cam", "map", "pattern", "patches")]),
            widgets.HBox([self._ranking, widgets.VBox([self._titles["tiles"], self._views["tiles"]])]),
            self._numbers,
        ])
        self.widget.add_class("xray-explorer")
        self._model_picker.observe(self._on_model_name, names="value")
        self._model_upload.observe(self._on_model_upload, names="value")
        self._range.observe(self._on_range, names="value")
        self._image_upload.observe(self._on_image_upload, names="value")
        self._layer_picker.observe(lambda change: self._guarded(lambda: self.select(layer=change["new"], wait=False)),
                                   names="value")
        self._class_picker.observe(
            lambda change: self._guarded(lambda: self.select(class_index=change["new"], wait=False)), names="value")
        self._channel_list.observe(
            lambda change: self._guarded(lambda: self.select(channel=change["new"], wait=False)), names="value")
        self._channel_number.observe(
            lambda change: self._guarded(lambda: self.select(channel=change["new"], wait=False)), names="value")
        self._show_message(self.message)
        self._draw()
        return self.widget

    def snapshot(self):
        """A PNG picture of the current view (``IPython.display.Image``): for pages where widgets cannot run."""
        from IPython.display import Image

        with self._lock:
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format="png", dpi=self.figure.dpi)
        return Image(data=buffer.getvalue(), format="png")

    def _ipython_display_(self):
        from IPython.display import display

        display(self.build_widget())

    def _range_label(self) -> str:
        for label, value in INPUT_RANGES.items():
            if tuple(value) == tuple(self.input_range):
                return label
        return "0..255"

    def _show_message(self, text: str, error: bool = False) -> None:
        self.message = text
        if self.widget is not None:
            colour = "#b00" if error else "#333"
            self._message.value = f"<span style='color:{colour}'>{text}</span>" if text else ""

    def _guarded(self, action) -> None:
        if self._holding:
            return
        try:
            action()
        except XRayError as err:
            self._show_message(str(err), error=True)

    def _sync_controls(self) -> None:
        """Put the controls in line with the state, without triggering their callbacks."""
        s = self._state
        self._holding = True
        try:
            order = np.argsort(-s["probabilities"], kind="stable")[:20]
            if s["class_index"] not in order:
                order = np.append(order, s["class_index"])
            options = [(f"{self.class_names[i]} · p = {s['probabilities'][i]:.3f}", int(i)) for i in order]
            with self._class_picker.hold_sync():
                if list(self._class_picker.options) != options:
                    self._class_picker.options = options
                self._class_picker.value = s["class_index"]
            contributions = s["contributions"]
            listed = [int(c) for c in s["ranking"]]
            entries = [(localized("#{rank} · channel {channel}: {value:+.3f}", rank=r + 1, channel=c,
                                  value=contributions[c]), c) for r, c in enumerate(listed)]
            with self._channel_list.hold_sync():
                if list(self._channel_list.options) != entries:
                    self._channel_list.options = entries
                self._channel_list.value = s["channel"]
            with self._channel_number.hold_sync():
                self._channel_number.max = len(contributions) - 1
                self._channel_number.value = s["channel"]
            with self._layer_picker.hold_sync():
                if list(self._layer_picker.options) != list(self.layers):
                    self._layer_picker.options = self.layers
                self._layer_picker.value = s["layer"]
            self._range.value = self._range_label()
        finally:
            self._holding = False

    def open_model(self, model, input_range=None) -> "XRay":
        """Look at another model (name, object or ``.keras`` path); the image is fitted to its input.

        On a bad model the explorer keeps the one it had and raises :class:`XRayError`.
        """
        with self._lock:
            old = (self.model, self.model_name, self.input_range, self.range_detected, self.range_reason,
                   self.size, self.layers, self.layer, self.num_classes, self.class_names, self._cache,
                   self._probe_cache, self._probe, self._heads, self._channel, self._class, self.image,
                   self.image_name)
            try:
                self.message = ""
                self._set_model(model, input_range=input_range)
                self._set_image(None)
                self._refresh(wait=self.widget is None)
            except Exception:
                (self.model, self.model_name, self.input_range, self.range_detected, self.range_reason,
                 self.size, self.layers, self.layer, self.num_classes, self.class_names, self._cache,
                 self._probe_cache, self._probe, self._heads, self._channel, self._class, self.image,
                 self.image_name) = old
                raise
            notes = [part for part in (self.message, self._range_note()) if part]
            self._show_message(" ".join(notes), error=not self.range_detected)
        return self

    def open_image(self, image) -> "XRay":
        """Look at another image (bundled name, path or array), fitted to the model's input size.

        On a bad image the explorer keeps the one it had and raises :class:`XRayError`.
        """
        with self._lock:
            old = (self._source_image, self._source_name, self.image, self.image_name, self._cache)
            self.message = ""
            try:
                self._set_image(image)
                self._refresh(wait=self.widget is None)
            except Exception:
                self._source_image, self._source_name, self.image, self.image_name, self._cache = old
                raise
            self._show_message(self.message)
        return self

    def set_input_range(self, input_range) -> "XRay":
        """Tell the explorer the pixel range the model was trained on, e.g. ``(0, 1)``."""
        return self.open_model(self.model, input_range=input_range)

    def upload_model(self, value) -> bool:
        """Open the ``.keras`` file of an upload value (ipywidgets 7 or 8); a bad file leaves a message."""
        files = upload_files(value)
        if not files:
            return False
        name, content = files[-1]
        if not name.lower().endswith(".keras"):
            self._show_message(localized("{name!r} is not a .keras file. Save your model with "
                                         "model.save('my_model.keras') and upload that file.", name=name), True)
            return False
        folder = tempfile.mkdtemp(prefix="xray-")
        path = os.path.join(folder, os.path.basename(name))
        with open(path, "wb") as handle:
            handle.write(content)
        try:
            self.open_model(path)
        except XRayError as err:
            self._show_message(localized("Upload refused, the explorer keeps {model}: {reason}",
                                         model=self.model_name, reason=err), True)
            return False
        if self.widget is not None:
            self._holding = True
            self._model_picker.value = None
            self._holding = False
        return True

    def upload_image(self, value) -> bool:
        """Open the image of an upload value (ipywidgets 7 or 8); a bad file leaves a message."""
        from PIL import Image, UnidentifiedImageError

        files = upload_files(value)
        if not files:
            return False
        name, content = files[-1]
        try:
            with Image.open(io.BytesIO(content)) as pil:
                pil.load()
                image = np.asarray(pil.convert("RGB"), np.float32)
        except (UnidentifiedImageError, OSError, ValueError) as err:
            self._show_message(localized("{name!r} is not an image the explorer can read ({reason}); it keeps "
                                         "the current image.", name=name, reason=type(err).__name__), True)
            return False
        self.open_image(image)
        self._source_name = self.image_name = self._state["image_name"] = name
        return True

    def _on_model_name(self, change) -> None:
        if self._holding or change["new"] is None:
            return
        self._guarded(lambda: self.open_model(change["new"]))

    def _on_model_upload(self, change) -> None:
        self.upload_model(change["new"])

    def _on_image_upload(self, change) -> None:
        self.upload_image(change["new"])

    def _on_range(self, change) -> None:
        if self._holding:
            return
        self._guarded(lambda: self.set_input_range(INPUT_RANGES[change["new"]]))


def xray(model=None, image=None, layer=None, probe=None, **options) -> XRay:
    """Open the X-Ray explorer: one image, one class, one layer, one channel, three chapters' lenses.

    Args:
        model: ``None`` (the bundled ``vgg_gap``), a bundled model name, a ``keras.Model`` or the
            path of a ``.keras`` file.
        image: ``None`` (a held-out shape), a bundled photo name (``"cat"``), a path or an array.
        layer: the layer whose channels are ranked; ``None``: the one Grad-CAM explains by default.
        probe: where the dataset examples come from: ``None`` (shape-world images), a folder, a
            list of paths, or an array ``(N, H, W, 3)``.
        **options: ``input_range=(0, 1)`` for a model trained on 0..1 pixels, ``class_names=``,
            ``pattern_steps=`` (see :class:`XRay`).

    Returns:
        The :class:`XRay` (shows as the widget in a notebook; ``.select(...)`` and ``.state``
        drive and read it).

    Raises:
        XRayError: a model or image it cannot use (the message says why and what to do).

    Taught in: ``06_xray``.
    """
    explorer = XRay(model, image, layer, probe, **options)
    explorer.build_widget()
    return explorer


# =========================================================================== 中文
add_translations("zh", {
    "{name!r} is not a Keras model file: a .keras file is a zip archive written by model.save('my_model.keras'). "
    "Save your model that way and upload that file.":
        "{name!r} 不是 Keras 模型文件：.keras 文件是 model.save('my_model.keras') 写出的 zip 压缩包。"
        "请这样保存模型后再上传。",
    "{name!r} holds a model built from a custom class (a subclassed keras.Model or a custom layer) that cannot be "
    "rebuilt here. Rebuild it as a Functional model (keras.Input → layers → keras.Model) and save that.":
        "{name!r} 中的模型由自定义类（子类化的 keras.Model 或自定义层）构建，这里无法重建。"
        "请改用函数式模型（keras.Input → 各层 → keras.Model）构建并保存。",
    "Could not load {name!r} as a Keras model: {reason}": "无法把 {name!r} 加载为 Keras 模型：{reason}",
    "No model file at {path!r}, and it is not a bundled model name. Bundled models: {names}.":
        "{path!r} 处没有模型文件，它也不是自带模型的名称。自带模型：{names}。",
    "{name!r} is not a .keras file. Save your model with model.save('my_model.keras') and give that file.":
        "{name!r} 不是 .keras 文件。请用 model.save('my_model.keras') 保存模型并使用该文件。",
    "Model {name!r} is a subclassed keras.Model: its computation is hidden in call(), so its layers cannot be "
    "looked into. Build the same layers as a Functional model (keras.Input → layers → keras.Model), copy the "
    "weights with set_weights, and open that.":
        "模型 {name!r} 是子类化的 keras.Model：它的计算藏在 call() 里，无法逐层查看。请用相同的层构建函数式模型"
        "（keras.Input → 各层 → keras.Model），用 set_weights 复制权重，再打开它。",
    "The X-Ray needs a Keras model, a bundled model name or a .keras file; got {kind}.":
        "X 光透视需要 Keras 模型、自带模型名称或 .keras 文件；收到的是 {kind}。",
    "Model {name!r} has no convolution layer: the X-Ray looks at the channels of convolution layers. Open a "
    "convnet.": "模型 {name!r} 没有卷积层：X 光透视查看的是卷积层的通道。请打开一个卷积网络。",
    "Model {name!r} outputs shape {shape}, not one score per class: the X-Ray explains classifiers.":
        "模型 {name!r} 的输出形状是 {shape}，不是每个类别一个分数：X 光透视解释的是分类器。",
    "a bundled model: it takes 0..255 pixels": "自带模型：输入 0..255 的像素",
    "detected: it rescales its input itself ({layer})": "已检测：模型自己缩放输入（{layer}）",
    "detected: Keras' MobileNet takes -1..1 pixels": "已检测：Keras 的 MobileNet 输入 -1..1 的像素",
    "not detected: the model has no rescaling layer. Choose the range it was trained on (0..1 if your training "
    "code divided the pixels by 255)":
        "未检测到：模型没有缩放层。请选择它训练时的像素范围（如果训练代码把像素除以了 255，就选 0..1）",
    "The probe set {path!r} is not a folder of images.": "探测集 {path!r} 不是图像文件夹。",
    "The folder {path!r} has no .png or .jpg images.": "文件夹 {path!r} 中没有 .png 或 .jpg 图像。",
    "Could not read the probe images: {reason}": "无法读取探测图像：{reason}",
    "The probe set must be images (N, H, W, 3); got shape {shape}.":
        "探测集必须是图像 (N, H, W, 3)；收到的形状是 {shape}。",
    "Grad-CAM of '{name}'\n(logit {logit:.2f})": "“{name}”的 Grad-CAM\n（logit {logit:.2f}）",
    "channel {channel} of {layer}\non the image (aligned)": "{layer} 的通道 {channel}\n叠在图像上（按感受野对齐）",
    "its pattern (gradient ascent)": "它的图案（梯度上升）",
    "top {n} patches of the probe set": "探测集中最强的 {n} 个图块",
    "exact: contributions + bias = logit": "精确：各通道贡献 + 偏置 = logit",
    "first-order estimate (gradient × activation)": "一阶估计（梯度 × 激活）",
    "channel": "通道",
    "contribution to the logit of '{name}'": "对“{name}”的 logit 的贡献",
    "X-Ray of {model} · layer {layer} · class '{name}' · channel {channel}":
        "{model} 的 X 光透视 · 层 {layer} · 类别“{name}” · 通道 {channel}",
    "given": "已给定",
    "class {i}": "类别 {i}",
    "a held-out shape": "一个留出的形状图像",
    "your image": "你的图像",
    "Could not use the image: {reason}": "无法使用该图像：{reason}",
    "The image ({h}×{w}) was resized to {H}×{W}, the input size of {model}.":
        "图像（{h}×{w}）已缩放为 {H}×{W}，即 {model} 的输入尺寸。",
    "no pattern: {reason}": "没有图案：{reason}",
    "Unknown layer {layer!r}; the layers with channels are: {layers}.": "未知的层 {layer!r}；有通道的层是：{layers}。",
    "Class {c} does not exist: the classes are 0..{last}.": "类别 {c} 不存在：类别编号是 0..{last}。",
    "Layer {layer} has channels 0..{last}; got {c}.": "层 {layer} 的通道编号是 0..{last}；收到的是 {c}。",
    "computing the pattern ({steps} steps)…": "正在计算图案（{steps} 步）…",
    "{model} · layer {layer} · class '{name}' (p = {p:.3f}) · channel {channel}":
        "{model} · 层 {layer} · 类别“{name}”（p = {p:.3f}） · 通道 {channel}",
    "exact (GAP → Dense): the {n} contributions ({total:+.3f}) plus the bias ({bias:+.3f}) add up to {sum:+.3f}; "
    "the logit is {logit:+.3f}.":
        "精确（GAP → Dense）：{n} 个通道的贡献（{total:+.3f}）加上偏置（{bias:+.3f}）等于 {sum:+.3f}；"
        "logit 是 {logit:+.3f}。",
    "first-order estimate (gradient × activation): the {n} contributions add up to {sum:+.3f}; the logit is "
    "{logit:+.3f}.": "一阶估计（梯度 × 激活）：{n} 个通道的贡献之和为 {sum:+.3f}；logit 是 {logit:+.3f}。",
    "channel {channel}: contribution {value:+.3f} ({share:.1%} of all), rank {rank} of {n}; Grad-CAM weight "
    "{weight:+.4f}; zero or below at {sparsity:.0%} of positions.":
        "通道 {channel}：贡献 {value:+.3f}（占全部的 {share:.1%}），排第 {rank}/{n}；Grad-CAM 权重 {weight:+.4f}；"
        "{sparsity:.0%} 的位置为零或负。",
    "pattern…": "图案…",
    "Model": "模型",
    "Upload .keras": "上传 .keras",
    "Pixels": "像素范围",
    "Upload image": "上传图像",
    "Layer": "层",
    "Class": "类别",
    "Channels": "通道",
    "Channel no.": "通道号",
    "#{rank} · channel {channel}: {value:+.3f}": "第 {rank} · 通道 {channel}：{value:+.3f}",
    "feature maps of the {n} strongest channels: {channels}": "贡献最大的 {n} 个通道的特征图：{channels}",
    "Input range {range}: {reason}.": "输入范围 {range}：{reason}。",
    "{name!r} is not a .keras file. Save your model with model.save('my_model.keras') and upload that file.":
        "{name!r} 不是 .keras 文件。请用 model.save('my_model.keras') 保存模型并上传该文件。",
    "Upload refused, the explorer keeps {model}: {reason}": "上传未被接受，探索器继续使用 {model}：{reason}",
    "{name!r} is not an image the explorer can read ({reason}); it keeps the current image.":
        "{name!r} 不是探索器能读取的图像（{reason}）；继续使用当前图像。",
})
