"""Plotting helpers shared by every notebook.

Conventions: each function takes ``ax=None`` (or ``fig=None`` for grids), draws, returns what
it drew (an Axes or a Figure) and never calls ``plt.show()``. Heatmaps always get a colour bar.
Chapter-specific plots live in sections below, one per notebook.

Taught in: ``01_intermediate_activations`` (images, grids), ``03_class_activation_maps``
(heatmaps with colour bars).
"""

from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers._backend import tf
from helpers.data import to_pixels
from helpers.inputs import check_images

__all__ = [
    "as_display_image", "show_image", "show_heatmap", "image_grid", "DEAD_CHANNEL_GREY", "channel_mosaic",
    "plot_channel_grid", "plot_layer_grids", "show_channel", "show_image_and_map", "plot_layer_profile",
    "filter_mosaic", "plot_filter_grid", "plot_ascent_curves", "plot_method_comparison", "overlay",
    "show_overlay", "plot_cams", "show_pointing", "plot_gallery", "plot_outlined_maps", "plot_pattern_grid",
]



def _new_axes(ax: Axes | None, figsize: tuple[float, float] = (4, 4)) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


def as_display_image(image: np.ndarray) -> np.ndarray:
    """A 0..255 float image (or uint8) as uint8 ``(H, W, 3)`` for ``imshow``; drops a batch axis of 1.

    The package's pixel rule applies (:data:`helpers.data.PIXEL_RULE`): a float image whose values
    all lie in 0..1, or a bool image, is scaled to 0..255 with a warning. Other values outside
    0..255 (a decoder's reconstruction, an ascent's pixels) are clipped for display.
    """
    image = np.asarray(image)
    if image.dtype == bool or (np.issubdtype(image.dtype, np.floating) and image.size
                               and 0.0 <= np.nanmin(image) and 0.0 < np.nanmax(image) <= 1.0):
        image = to_pixels(image)
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError(f"Expected one image (H, W, 3) or (1, H, W, 3); got shape {image.shape}.")
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return np.clip(image, 0, 255).astype(np.uint8)


def show_image(image: np.ndarray, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Show one 0..255 RGB image without axes ticks.

    Taught in: ``01_intermediate_activations``.
    """
    ax = _new_axes(ax)
    ax.imshow(as_display_image(image))
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def show_heatmap(heatmap: np.ndarray, ax: Axes | None = None, title: str | None = None,
                 cmap: str = "jet", vmin: float | None = 0.0, vmax: float | None = 1.0,
                 colorbar: bool = True, colorbar_label: str | None = None) -> Axes:
    """Show a 2-D map with a colour bar (values outside ``[vmin, vmax]`` are clipped in colour).

    Taught in: ``03_class_activation_maps``.
    """
    heatmap = np.asarray(heatmap)
    if heatmap.ndim != 2:
        raise ValueError(f"A heatmap is 2-D (H, W); got shape {heatmap.shape}.")
    ax = _new_axes(ax)
    mappable = ax.imshow(heatmap, cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    if colorbar:
        bar = ax.figure.colorbar(mappable, ax=ax, fraction=0.046, pad=0.04)
        if colorbar_label:
            bar.set_label(colorbar_label)
    return ax


def image_grid(images: Sequence[np.ndarray] | np.ndarray, ncols: int = 8,
               titles: Sequence[str] | None = None, cmap: str | None = None,
               fig: Figure | None = None, suptitle: str | None = None,
               cell_size: float = 1.4) -> Figure:
    """Lay out images (RGB 0..255, or 2-D maps shown with ``cmap``) in a grid, one per cell.

    Args:
        images: a sequence or array of ``(H, W, 3)`` images or ``(H, W)`` maps.
        ncols: images per row.
        titles: optional title per image.
        cmap: colour map for 2-D maps (default ``"viridis"``).
        fig: a Figure to draw into (cleared first); a new one otherwise.
        suptitle: title over the whole grid.
        cell_size: inches per cell.

    Returns:
        The Figure.

    Taught in: ``01_intermediate_activations``, ``02_filter_visualization``.
    """
    images = list(images)
    if not images:
        raise ValueError("image_grid needs at least one image.")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"Got {len(titles)} titles for {len(images)} images.")
    ncols = max(1, min(ncols, len(images)))
    nrows = math.ceil(len(images) / ncols)
    if fig is None:
        fig = plt.figure(figsize=(ncols * cell_size, nrows * cell_size + (0.4 if suptitle else 0)))
    else:
        fig.clear()
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= len(images):
            continue
        image = np.asarray(images[i])
        if image.ndim == 2:
            ax.imshow(image, cmap=cmap or "viridis")
        else:
            ax.imshow(as_display_image(image))
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


# =========================================================================== 01 intermediate activations
# Plots of feature maps: one layer's channels as a grid, all layers, one channel large,
# an image beside its maps, and per-layer measurements. Taught in ``01_intermediate_activations``.

DEAD_CHANNEL_GREY = (0.82, 0.82, 0.82)
"""Colour of a channel that is zero everywhere in the channel grids."""


def channel_mosaic(maps: np.ndarray, ncols: int = 16, pad: int = 1, cmap: str = "viridis",
                   dead_colour: tuple[float, float, float] | None = DEAD_CHANNEL_GREY) -> np.ndarray:
    """All channels of one layer's ``(h, w, c)`` maps tiled into one RGB picture (0..1).

    Each channel is scaled by its own min and max (per-channel contrast normalization, so a
    weak channel is as visible as a strong one); channels that are zero everywhere are
    painted ``dead_colour``; ``pad`` white pixels separate the cells.

    Taught in: ``01_intermediate_activations``.
    """
    from matplotlib import colormaps

    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3:
        raise ValueError(f"Expected one layer's feature maps (h, w, c); got shape {maps.shape}.")
    h, w, c = maps.shape
    ncols = max(1, min(ncols, c))
    nrows = math.ceil(c / ncols)
    low, high = maps.min(axis=(0, 1)), maps.max(axis=(0, 1))
    scaled = (maps - low) / (high - low + 1e-8)
    coloured = colormaps[cmap](scaled.transpose(2, 0, 1))[..., :3]  # (c, h, w, 3)
    mosaic = np.ones((nrows * (h + pad) - pad, ncols * (w + pad) - pad, 3), dtype=np.float32)
    for k in range(c):
        r, q = divmod(k, ncols)
        cell = coloured[k]
        if dead_colour is not None and high[k] == 0 and low[k] == 0:
            cell = np.broadcast_to(np.asarray(dead_colour, np.float32), cell.shape)
        mosaic[r * (h + pad):r * (h + pad) + h, q * (w + pad):q * (w + pad) + w] = cell
    return mosaic


def plot_channel_grid(maps: np.ndarray, title: str | None = None, ncols: int = 16, ax: Axes | None = None,
                      cmap: str = "viridis", cell_inches: float = 0.55, dpi: float | None = None) -> Axes:
    """Every channel of one layer as a grid of small pictures, ``ncols`` per row.

    Rows are labelled with the index of their first channel and columns with the offset, so
    channel ``k`` sits in the row labelled ``16·⌊k/16⌋``, column ``k mod 16``. All-zero
    channels are light grey.

    Args:
        maps: ``(h, w, c)`` activations of one layer for one image.
        title: axes title; default gives the shape, e.g. ``"148×148×32"``.
        ncols: channels per row.
        ax: where to draw; a new figure sized to the grid otherwise.
        cmap: colour map of the channels.
        cell_inches: size of one cell when a new figure is made.
        dpi: resolution of a new figure (default Matplotlib's).

    Returns:
        The Axes.

    Taught in: ``01_intermediate_activations``.
    """
    maps = np.asarray(maps)
    mosaic = channel_mosaic(maps, ncols=ncols, cmap=cmap)
    h, w, c = maps.shape[-3:]
    ncols = max(1, min(ncols, c))
    nrows = math.ceil(c / ncols)
    if ax is None:
        _, ax = plt.subplots(figsize=(ncols * cell_inches + 0.5, nrows * cell_inches * h / w + 0.6), dpi=dpi)
    ax.imshow(mosaic, interpolation="nearest" if h < 60 else "antialiased")
    ax.set_yticks([r * (h + 1) + h / 2 for r in range(nrows)], [str(r * ncols) for r in range(nrows)], fontsize=7)
    ax.set_xticks([q * (w + 1) + w / 2 for q in range(ncols)], [f"+{q}" for q in range(ncols)], fontsize=6)
    ax.tick_params(length=0, pad=1)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title if title is not None else f"{h}×{w}×{c}", fontsize=9, loc="left")
    return ax


def plot_layer_grids(maps: dict[str, np.ndarray], ncols: int = 16, fig: Figure | None = None,
                     cmap: str = "viridis", cell_inches: float = 0.5, suptitle: str | None = None,
                     dpi: float | None = None) -> Figure:
    """The channel grids of several layers stacked in one figure, one titled panel per layer.

    Each panel's title gives the layer name, its map size and channel count; every channel is
    contrast-normalized on its own; all-zero channels are light grey.

    Args:
        maps: ``{layer name: (h, w, c)}``, e.g. from :func:`helpers.feature_maps`.
        ncols: channels per row.
        fig: a Figure to draw into (cleared first); a new one otherwise.
        cmap: colour map of the channels.
        cell_inches: size of one cell.
        suptitle: title over all panels.
        dpi: resolution of a new figure.

    Returns:
        The Figure.

    Taught in: ``01_intermediate_activations``.
    """
    if not maps:
        raise ValueError("plot_layer_grids needs at least one layer.")
    rows = [math.ceil(np.asarray(m).shape[-1] / ncols) for m in maps.values()]
    heights = [r + 0.55 for r in rows]
    width = ncols * cell_inches + 0.6
    if fig is None:
        fig = plt.figure(figsize=(width, sum(heights) * cell_inches + (0.5 if suptitle else 0.1)), dpi=dpi)
    else:
        fig.clear()
    axes = fig.subplots(len(maps), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    dead = []
    for ax, (name, value) in zip(axes, maps.items()):
        value = np.asarray(value)
        h, w, c = value.shape[-3:]
        n_dead = int((np.abs(value).reshape(-1, c).max(axis=0) == 0).sum())
        dead.append(n_dead)
        plot_channel_grid(value, ncols=ncols, ax=ax, cmap=cmap,
                          title=f"{name}  ·  {h}×{w} maps  ·  {c} channels  ·  {n_dead} all-zero (grey)")
    top = 1.0
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
        top = 1.0 - 0.45 / fig.get_figheight()
    fig.tight_layout(h_pad=0.4, rect=(0.0, 0.0, 1.0, top))
    return fig


def show_channel(channel_map: np.ndarray, ax: Axes | None = None, title: str | None = None,
                 cmap: str = "viridis", colorbar: bool = True) -> Axes:
    """One channel's map, large, with a colour bar in activation units (0 = not firing).

    Taught in: ``01_intermediate_activations``.
    """
    channel_map = np.asarray(channel_map, dtype=np.float32)
    if channel_map.ndim != 2:
        raise ValueError(f"show_channel takes one channel (h, w); got shape {channel_map.shape}. "
                         "Select one with maps[..., k].")
    top = float(np.nanmax(channel_map)) if np.isfinite(channel_map).any() else 0.0
    return show_heatmap(channel_map, ax=ax, title=title, cmap=cmap, vmin=0.0, vmax=max(top, 1e-8),
                        colorbar=colorbar, colorbar_label="activation" if colorbar else None)


def show_image_and_map(image: np.ndarray, maps: np.ndarray | dict[str, np.ndarray], fig: Figure | None = None,
                       image_title: str = "input", cmap: str = "viridis", panel_inches: float = 3.0) -> Figure:
    """An image beside one or more 2-D maps (a channel, a filter's response, ...), in a row.

    Args:
        image: ``(H, W, 3)`` in 0..255.
        maps: one ``(h, w)`` map, or ``{title: map}`` for several.
        fig: a Figure to draw into (cleared first); a new one otherwise.
        image_title: title of the image panel.
        cmap: colour map of the maps.
        panel_inches: width of one panel.

    Returns:
        The Figure.

    Taught in: ``01_intermediate_activations``.
    """
    if not isinstance(maps, dict):
        maps = {"map": maps}
    if fig is None:
        fig = plt.figure(figsize=(panel_inches * (1 + len(maps)) + 0.9 * len(maps), panel_inches))
    else:
        fig.clear()
    axes = fig.subplots(1, 1 + len(maps), squeeze=False, gridspec_kw={"wspace": 0.45})[0]
    show_image(image, ax=axes[0], title=image_title)
    for ax, (title, value) in zip(axes[1:], maps.items()):
        show_channel(value, ax=ax, title=title, cmap=cmap)
        ax.title.set_fontsize(9)
    return fig


def plot_layer_profile(values: dict[str, Sequence[float]], layers: Sequence[str], ax: Axes | None = None,
                       ylabel: str | None = None, reference: dict[str, float] | None = None,
                       ylim: tuple[float, float] | None = (0.0, 1.0), percent: bool = False,
                       title: str | None = None, legend_loc: str = "best") -> Axes:
    """One line per measurement across the layers of a model (e.g. R² and probe accuracy).

    Args:
        values: ``{label: one value per layer}``.
        layers: layer names, the x axis.
        ax: where to draw; a new figure otherwise.
        ylabel: y-axis label.
        reference: ``{label: y}`` dashed horizontal lines (e.g. chance level).
        ylim: y-axis limits (None: automatic).
        percent: format the y axis as percentages.
        title: axes title.
        legend_loc: where the legend goes (Matplotlib's ``loc``).

    Returns:
        The Axes.

    Taught in: ``01_intermediate_activations``.
    """
    ax = _new_axes(ax, figsize=(8, 3.8))
    x = np.arange(len(layers))
    markers = "osD^v<>"
    for k, (label, ys) in enumerate(values.items()):
        ys = np.asarray(ys, dtype=float)
        if len(ys) != len(layers):
            raise ValueError(f"{label!r} has {len(ys)} values for {len(layers)} layers.")
        ax.plot(x, ys, marker=markers[k % len(markers)], label=label)
    for label, y in (reference or {}).items():
        ax.axhline(y, linestyle="--", color="grey", linewidth=1)
        ax.annotate(label, (x[-1], y), textcoords="offset points", xytext=(0, 3),
                    ha="right", fontsize=8, color="grey")
    ax.set_xticks(x, list(layers), rotation=30, ha="right", fontsize=8)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if percent:
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc=legend_loc)
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- 02 filter visualization
def filter_mosaic(images: np.ndarray, ncols: int = 8, pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile ``(n, h, w, 3)`` images into one uint8 mosaic, ``ncols`` per row, ``pad`` pixels apart.

    One image for a whole grid draws much faster than one Axes per filter.

    Taught in: ``02_filter_visualization``.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) == 0:
        raise ValueError(f"Expected a non-empty batch of RGB images (n, h, w, 3); got shape {images.shape}.")
    n, h, w, _ = images.shape
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    mosaic = np.full((nrows * h + (nrows - 1) * pad, ncols * w + (ncols - 1) * pad, 3), pad_value, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        mosaic[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = as_display_image(image)
    return mosaic


def plot_filter_grid(images: np.ndarray, ax: Axes | None = None, title: str | None = None,
                     ncols: int = 8, pad: int = 2, labels: Sequence[int | str] | None = None,
                     fontsize: float = 7) -> Axes:
    """Show filter visualizations as one mosaic (filter ``i`` at row ``i // ncols``, column ``i % ncols``).

    Args:
        images: ``(n, h, w, 3)`` patterns (uint8 or floats).
        ax: Axes to draw into (a new figure when ``None``).
        title: axes title.
        ncols: tiles per row.
        pad: white pixels between tiles.
        labels: one label per tile (e.g. the filter numbers), written in its top-left corner
            on a dark box so that it reads on any pattern.
        fontsize: size of the tile labels.

    Returns:
        The Axes.

    Taught in: ``02_filter_visualization``.
    """
    images = np.asarray(images)
    mosaic = filter_mosaic(images, ncols=ncols, pad=pad)
    ax = _new_axes(ax, figsize=(min(ncols, len(images)) * 0.9, math.ceil(len(images) / ncols) * 0.9 + 0.4))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_axis_off()
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(images):
            raise ValueError(f"{len(labels)} labels for {len(images)} tiles.")
        h, w = images.shape[1:3]
        columns = max(1, min(ncols, len(images)))
        for i, label in enumerate(labels):
            r, c = divmod(i, columns)
            ax.text(c * (w + pad) + 1, r * (h + pad) + 1, str(label), fontsize=fontsize, color="white",
                    ha="left", va="top", bbox={"boxstyle": "square,pad=0.1", "facecolor": "black",
                                               "alpha": 0.6, "linewidth": 0})
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_ascent_curves(histories: dict[str, np.ndarray], ax: Axes | None = None,
                       normalize: bool = True, ylabel: str | None = None,
                       title: str | None = None, legend_loc: str = "best") -> Axes:
    """Activation versus gradient-ascent step, one line per layer (median over its filters).

    Args:
        histories: layer name → ``(steps, n_filters)`` objective per step (``FilterVisualization.history``).
        ax: Axes to draw into.
        normalize: divide each filter's curve by its own final value, so layers with very
            different activation scales share one axis (1.0 = what the filter reached at the end).
        ylabel: y-axis label (a sensible default otherwise).
        title: axes title.
        legend_loc: where the legend goes (Matplotlib's ``loc``).

    Returns:
        The Axes. Shaded bands span the 25th to 75th percentile of the filters.

    Taught in: ``02_filter_visualization``.
    """
    if not histories:
        raise ValueError("plot_ascent_curves needs at least one layer's history.")
    ax = _new_axes(ax, figsize=(6, 3.4))
    for name, history in histories.items():
        history = np.asarray(history, dtype=float)
        if history.ndim != 2:
            raise ValueError(f"History of {name!r} must be (steps, filters); got shape {history.shape}.")
        if normalize:
            history = history / (np.abs(history[-1:]) + 1e-8)
        steps = np.arange(1, len(history) + 1)
        low, mid, high = np.percentile(history, [25, 50, 75], axis=1)
        (line,) = ax.plot(steps, mid, label=name)
        ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
    ax.set_xlabel("gradient-ascent step")
    ax.set_ylabel(ylabel or ("activation / its final value" if normalize else "mean activation"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc=legend_loc)
    if title:
        ax.set_title(title)
    return ax


def plot_method_comparison(results: dict, fig: Figure | None = None, cell_size: float = 1.3) -> Figure:
    """Rows of filter visualizations, one row per method, each tile titled with its activation.

    Args:
        results: method name → an object with ``images`` ``(n, h, w, 3)`` and ``activations``
            ``(n,)`` (a :class:`helpers.filters.FilterVisualization`); every row the same ``n``.
        fig: a Figure to draw into (cleared first); a new one otherwise.
        cell_size: inches per tile.

    Returns:
        The Figure.

    Taught in: ``02_filter_visualization``.
    """
    if not results:
        raise ValueError("plot_method_comparison needs at least one method's results.")
    counts = {name: len(r.images) for name, r in results.items()}
    if len(set(counts.values())) != 1:
        raise ValueError(f"Every method must show the same number of filters; got {counts}.")
    n = next(iter(counts.values()))
    if fig is None:
        fig = plt.figure(figsize=(n * cell_size + 1.0, len(results) * (cell_size + 0.25)))
    else:
        fig.clear()
    axes = fig.subplots(len(results), n, squeeze=False)
    for row, (name, result) in zip(axes, results.items()):
        filters = getattr(result, "filters", range(n))
        for i, ax in enumerate(row):
            ax.imshow(as_display_image(result.images[i]))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"#{filters[i]}: {float(result.activations[i]):.2f}", fontsize=8)
        row[0].set_ylabel(name, fontsize=9)
    fig.tight_layout()
    return fig


# =========================================================================== 03 class activation maps
def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.4, cmap: str = "jet") -> np.ndarray:
    """Lay a heatmap, coloured with ``cmap``, over an image: ``(1 - alpha)·image + alpha·colour``.

    The heatmap is resized (bilinear) to the image's own height and width if it differs, so
    non-square images come out right; values are clipped to ``[0, 1]``.

    Args:
        image: ``(H, W, 3)`` RGB in 0..255 (float or uint8), or any image the package's rule
            accepts (:func:`helpers.explainers.check_images`).
        heatmap: ``(h, w)`` map in ``[0, 1]``.
        alpha: opacity of the heatmap, 0..1.
        cmap: a Matplotlib colour map name (``"jet"``, ``"viridis"``, ``"magma"``…).

    Returns:
        uint8 ``(H, W, 3)`` RGB (not BGR).

    Taught in: ``03_class_activation_maps``.
    """
    import matplotlib

    batch, _ = check_images(image)  # the package's one image rule (0..1 floats are scaled, with a warning)
    if len(batch) != 1:
        raise ValueError(f"overlay takes one image; got a batch of {len(batch)}. Call it once per image.")
    image = batch[0]
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.ndim == 3 and heatmap.shape[0] == 1:
        heatmap = heatmap[0]
    if heatmap.ndim != 2:
        raise ValueError(f"overlay expects one 2-D heatmap (h, w); got shape {heatmap.shape}.")
    if not np.all(np.isfinite(heatmap)):
        raise ValueError("The heatmap contains NaN or infinite values; an overlay of it would be wrong.")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1]; got {alpha}.")
    if cmap not in matplotlib.colormaps:
        raise ValueError(f"Unknown colour map {cmap!r}; try 'jet', 'viridis', 'magma' or 'inferno'.")
    height, width = image.shape[:2]
    if heatmap.shape != (height, width):
        heatmap = np.asarray(tf.image.resize(heatmap[..., None], (height, width), method="bilinear"))[..., 0]
    heatmap = np.clip(heatmap, 0.0, 1.0)
    colours = matplotlib.colormaps[cmap](heatmap)[..., :3] * 255.0
    blended = (1.0 - alpha) * image + alpha * colours
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)



def show_overlay(image: np.ndarray, heatmap: np.ndarray, ax: Axes | None = None, title: str | None = None,
                 alpha: float = 0.4, cmap: str = "jet", colorbar: bool = True,
                 colorbar_label: str | None = "evidence for the class") -> Axes:
    """Show a heatmap laid over its image (:func:`helpers.overlay`), with the heatmap's colour bar.

    The colour bar shows what the overlay's colours mean (0 = none of the map's peak, 1 = its
    peak), so two overlays are never compared by colour alone.

    Taught in: ``03_class_activation_maps``.
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize


    ax = _new_axes(ax)
    ax.imshow(overlay(image, heatmap, alpha=alpha, cmap=cmap))
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        mappable = ScalarMappable(norm=Normalize(0.0, 1.0), cmap=cmap)
        bar = ax.figure.colorbar(mappable, ax=ax, fraction=0.046, pad=0.04)
        if colorbar_label:
            bar.set_label(colorbar_label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
    return ax


def plot_cams(image: np.ndarray, heatmaps: dict[str, np.ndarray], fig: Figure | None = None,
              alpha: float = 0.4, cmap: str = "jet", suptitle: str | None = None,
              image_title: str = "input", cell_size: float = 2.6, overlay_maps: bool = True) -> Figure:
    """The image, then one panel per heatmap, each with a colour bar.

    Maps in ``[0, 1]`` at the image's resolution are laid over the image (or shown alone with
    ``overlay_maps=False``); maps at a layer's own resolution are shown alone, as they are;
    signed maps (any value below 0) are laid over a grey copy of the image in blue (against)
    → red (for), from -1 to 1.

    Args:
        image: ``(H, W, 3)`` in 0..255.
        heatmaps: title → ``(h, w)`` map.
        fig: a Figure to draw into (cleared first); a new one otherwise.
        alpha: heatmap opacity in overlays.
        cmap: colour map of the ``[0, 1]`` maps.
        suptitle: title over the row.
        image_title: title of the first panel.
        cell_size: inches per panel.
        overlay_maps: lay ``[0, 1]`` maps over the image (else show them alone).

    Returns:
        The Figure.

    Taught in: ``03_class_activation_maps``.
    """
    if not heatmaps:
        raise ValueError("plot_cams needs at least one heatmap.")
    n = len(heatmaps) + 1
    if fig is None:
        fig = plt.figure(figsize=(n * cell_size + 0.9 * (n - 1), cell_size + (0.5 if suptitle else 0.2)),
                         layout="constrained")
    else:
        fig.clear()
    axes = fig.subplots(1, n, squeeze=False)[0]
    show_image(image, ax=axes[0], title=image_title)
    axes[0].title.set_fontsize(9)
    height, width = as_display_image(image).shape[:2]
    for ax, (title, heatmap) in zip(axes[1:], heatmaps.items()):
        heatmap = np.asarray(heatmap)
        if heatmap.min() < 0:  # signed: over a grey copy of the image, blue against, red for
            grey = as_display_image(image).mean(axis=-1)
            ax.imshow(grey, cmap="gray", vmin=0, vmax=255)
            mappable = ax.imshow(heatmap, cmap="RdBu_r", vmin=-1.0, vmax=1.0, alpha=0.7,
                                 extent=(-0.5, width - 0.5, height - 0.5, -0.5))
            ax.set_axis_off()
            ax.set_title(title)
            bar = fig.colorbar(mappable, ax=ax, fraction=0.046, pad=0.04)
            bar.set_label("against ← evidence → for", fontsize=8)
        elif overlay_maps and heatmap.shape == (height, width):
            show_overlay(image, heatmap, ax=ax, title=title, alpha=alpha, cmap=cmap)
        else:  # maps at their own resolution are shown as they are, without the image
            show_heatmap(heatmap, ax=ax, title=title, cmap=cmap, colorbar_label="evidence for the class")
        ax.title.set_fontsize(9)
        for bar_ax in fig.axes[len(fig.axes) - 1:]:
            bar_ax.tick_params(labelsize=7)
            bar_ax.yaxis.label.set_fontsize(8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def show_pointing(image: np.ndarray, heatmap: np.ndarray, mask: np.ndarray, ax: Axes | None = None,
                  title: str | None = None, alpha: float = 0.4, cmap: str = "jet") -> Axes:
    """An overlay with the object's outline (white) and the heatmap's peak (star): the pointing game.

    The star is green on a hit (inside the mask) and red on a miss.

    Taught in: ``03_class_activation_maps``.
    """
    from helpers.evaluation import heatmap_peaks

    ax = _new_axes(ax)
    ax.imshow(overlay(image, heatmap, alpha=alpha, cmap=cmap))
    mask = np.asarray(mask, dtype=float)
    ax.contour(mask, levels=[0.5], colors="white", linewidths=1.2)
    row, col = heatmap_peaks(heatmap)
    if row >= 0:
        hit = bool(mask[row, col] > 0.5)
        ax.plot(col, row, marker="*", markersize=13, color="lime" if hit else "red",
                markeredgecolor="black", markeredgewidth=0.8)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=8)
    return ax


# =========================================================================== 04 beyond Grad-CAM
def plot_gallery(images: np.ndarray, heatmaps: dict, row_titles: Sequence[str] | None = None,
                 cell_size: float = 1.35, alpha: float = 0.5, suptitle: str | None = None) -> Figure:
    """One row per image: the image, then each method's heatmap over it, with one shared colour bar.

    :func:`plot_outlined_maps` without outlines (kept for code written against the earlier gallery).

    Args:
        images: ``(N, H, W, 3)`` in 0..255.
        heatmaps: method title → ``(N, H, W)`` maps in ``[0, 1]``, or ``None`` where the method
            does not apply to the model (the panel says so).
        row_titles: a label per image.
        cell_size: inches per panel.
        alpha: opacity of the heatmaps over the images.
        suptitle: the figure's title.

    Returns:
        The Figure.
    """
    return plot_outlined_maps(images, heatmaps, masks=None, row_titles=row_titles, cell_size=cell_size,
                              alpha=alpha, suptitle=suptitle)


def _outline(ax: Axes, outlines) -> None:
    """Draw the object outline(s) ``(H, W)`` or ``(K, H, W)`` booleans: white over a black stroke."""
    if outlines is None:
        return
    outlines = np.asarray(outlines, dtype=float)
    for mask in outlines.reshape(-1, *outlines.shape[-2:]):
        if mask.any():
            ax.contour(mask, levels=[0.5], colors="black", linewidths=2.4)
            ax.contour(mask, levels=[0.5], colors="white", linewidths=1.1)


def plot_outlined_maps(images: np.ndarray, heatmaps: dict, masks: Sequence | None = None,
                       row_titles: Sequence[str] | None = None, fig: Figure | None = None,
                       cell_size: float = 1.9, alpha: float = 0.5, cmap: str = "jet",
                       suptitle: str | None = None,
                       colorbar_label: str = "share of the map's peak") -> Figure:
    """Heatmaps laid over their images, with each object's outline and one shared colour bar.

    One row per image: the image, then one panel per method (or setting), each map in ``[0, 1]``
    drawn over the image with the same colour scale, and the outline of the ground-truth
    object(s) in white, so that where a map falls can be judged against where the object is.
    Row labels sit to the left of the rows and column titles above the first row only, so they
    never overlap the panels.

    Args:
        images: ``(N, H, W, 3)`` in 0..255, or one image ``(H, W, 3)``.
        heatmaps: column title → ``(N, H, W)`` maps in ``[0, 1]`` (``(H, W)`` for one image), or
            ``None`` where the method does not apply (the panels say so).
        masks: one entry per image: ``None`` (no outline, e.g. a photo), an ``(H, W)`` boolean
            mask, or ``(K, H, W)`` for several objects; ``None`` for no outlines at all.
        row_titles: a label per image, shown left of its row.
        fig: a Figure to draw into (cleared first); a new one otherwise.
        cell_size: inches per panel.
        alpha: opacity of the maps over the images.
        cmap: colour map of the maps.
        suptitle: the figure's title.
        colorbar_label: label of the shared colour bar.

    Returns:
        The Figure.

    Taught in: ``04_beyond_grad_cam``.
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
        heatmaps = {k: (None if v is None else np.asarray(v)[None]) for k, v in heatmaps.items()}
        masks = None if masks is None else [masks]
    if not heatmaps:
        raise ValueError("plot_outlined_maps needs at least one heatmap.")
    n = len(images)
    for title, maps in heatmaps.items():
        if maps is not None and (np.ndim(maps) != 3 or len(maps) != n):
            raise ValueError(f"heatmaps[{title!r}] must be ({n}, H, W), one map per image; got shape {np.shape(maps)}.")
    if masks is not None and len(masks) != n:
        raise ValueError(f"masks needs one entry per image ({n}); got {len(masks)}.")
    if row_titles is not None and len(row_titles) != n:
        raise ValueError(f"row_titles needs one label per image ({n}); got {len(row_titles)}.")
    names = list(heatmaps)
    columns = len(names) + 1
    if fig is None:
        fig = plt.figure(figsize=(columns * cell_size + 1.6, n * cell_size + (0.9 if suptitle else 0.5)),
                         layout="constrained")
    else:
        fig.clear()
    axes = fig.subplots(n, columns, squeeze=False)
    for i, row in enumerate(axes):
        row[0].imshow(as_display_image(images[i]))
        _outline(row[0], None if masks is None else masks[i])
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        if row_titles is not None:
            row[0].set_ylabel(row_titles[i], fontsize=9, rotation=0, ha="right", va="center", labelpad=6)
        if i == 0:
            row[0].set_title("image", fontsize=9)
        for ax, name in zip(row[1:], names):
            if i == 0:
                ax.set_title(name, fontsize=9)
            if heatmaps[name] is None:
                ax.text(0.5, 0.5, "n/a for\nthis model", ha="center", va="center", fontsize=8, transform=ax.transAxes)
                continue
            ax.imshow(as_display_image(images[i]))
            heatmap = np.asarray(heatmaps[name][i], dtype=float)
            height, width = images[i].shape[:2]
            ax.imshow(heatmap, cmap=cmap, vmin=0.0, vmax=1.0, alpha=alpha,
                      extent=(-0.5, width - 0.5, height - 0.5, -0.5))
            _outline(ax, None if masks is None else masks[i])
    bar = fig.colorbar(ScalarMappable(norm=Normalize(0.0, 1.0), cmap=cmap), ax=axes, fraction=0.02, pad=0.01,
                       shrink=min(1.0, 0.9 if n > 1 else 1.0))
    bar.set_label(colorbar_label, fontsize=9)
    bar.ax.tick_params(labelsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def plot_pattern_grid(images: np.ndarray, ax: Axes | None = None, title: str | None = None, ncols: int = 8,
                      filters: Sequence[int] | None = None, silent: Sequence[bool] | np.ndarray | None = None,
                      pad: int = 2, fontsize: float = 7) -> Axes:
    """Filter visualizations as one mosaic, numbered in the margins instead of over the patterns.

    Unlike :func:`plot_filter_grid`, nothing is written on the tiles: each row is labelled on the
    left with the number of its first filter and each column on top with the offset to add, so
    the tile in row ``r``, column ``c`` is filter ``label(r) + c``. Tiles whose filter ends
    silent (activation 0: the picture does not excite it) get a red frame.

    Args:
        images: ``(n, h, w, 3)`` patterns (uint8 or floats), filter ``filters[i]`` at tile ``i``.
        ax: Axes to draw into (a new figure when ``None``).
        title: axes title.
        ncols: tiles per row.
        filters: the filter numbers of the tiles (``range(n)`` when ``None``); consecutive numbers
            make the margin labels exact.
        silent: one flag per tile; ``True`` draws a red frame around the tile.
        pad: white pixels between tiles.
        fontsize: size of the margin labels.

    Returns:
        The Axes.

    Raises:
        ValueError: ``filters`` or ``silent`` does not have one entry per image, or the filter
            numbers are not consecutive (the margins could not name them).

    Taught in: ``02_filter_visualization``.
    """
    images = np.asarray(images)
    mosaic = filter_mosaic(images, ncols=ncols, pad=pad)
    n, h, w = images.shape[:3]
    filters = list(range(n)) if filters is None else [int(f) for f in filters]
    if len(filters) != n:
        raise ValueError(f"{len(filters)} filter numbers for {n} tiles.")
    if any(b - a != 1 for a, b in zip(filters, filters[1:])):
        raise ValueError("plot_pattern_grid labels rows by their first filter: pass consecutive filter numbers, "
                         "or use plot_filter_grid(labels=...) for an arbitrary selection.")
    silent = np.zeros(n, bool) if silent is None else np.asarray(silent, bool)
    if silent.shape != (n,):
        raise ValueError(f"silent needs one flag per tile ({n}); got shape {silent.shape}.")
    columns = max(1, min(ncols, n))
    rows = math.ceil(n / columns)
    ax = _new_axes(ax, figsize=(columns * 0.9 + 0.4, rows * 0.9 + 0.6))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_yticks([r * (h + pad) + h / 2 for r in range(rows)], [str(filters[0] + r * columns) for r in range(rows)],
                  fontsize=fontsize)
    ax.set_xticks([c * (w + pad) + w / 2 for c in range(columns)], [f"+{c}" for c in range(columns)],
                  fontsize=fontsize)
    ax.xaxis.tick_top()
    ax.tick_params(length=0, pad=2)
    for spine in ax.spines.values():
        spine.set_visible(False)
    for i in np.flatnonzero(silent):
        r, c = divmod(int(i), columns)
        ax.add_patch(plt.Rectangle((c * (w + pad) - 0.5, r * (h + pad) - 0.5), w, h, fill=False,
                                   edgecolor="red", linewidth=1.5))
    if title:
        ax.set_title(title, fontsize=10)
    return ax
