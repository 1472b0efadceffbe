"""Diagrams of chapter 3, drawn from the model's own numbers where there are numbers to draw.

The chapter explains Global Average Pooling, the CAM weighting and the Grad-CAM pipeline with
figures (its figures 3 to 7). These functions draw them: :func:`draw_gap` and
:func:`draw_cam_weighting` from real feature maps and weights, :func:`draw_grad_cam_pipeline`
as a flow chart. Each takes ``ax=None`` (a new figure) and returns the Axes.

Taught in: ``03_class_activation_maps``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch

__all__ = ["draw_cam_weighting", "draw_gap", "draw_grad_cam_pipeline"]

_ARROW = {"arrowstyle": "-|>", "color": "0.3", "lw": 1.2, "shrinkA": 2, "shrinkB": 2}


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _chosen(maps: np.ndarray, n_show: int) -> np.ndarray:
    maps = np.asarray(maps, dtype=float)
    if maps.ndim != 3:
        raise ValueError(f"Expected feature maps (height, width, channels); got shape {maps.shape}.")
    return np.arange(min(n_show, maps.shape[-1]))


def _map(ax: Axes, values: np.ndarray, x: float, y: float, size: float, vmax: float | None = None,
         cmap: str = "viridis") -> None:
    ax.imshow(values, extent=(x, x + size, y, y + size), cmap=cmap, vmin=0,
              vmax=vmax if vmax is not None else max(float(values.max()), 1e-12), interpolation="nearest")
    ax.add_patch(plt.Rectangle((x, y), size, size, fill=False, lw=0.8, color="0.2"))


def draw_gap(maps: np.ndarray, ax: Axes | None = None, n_show: int = 4) -> Axes:
    """What Global Average Pooling does: each feature map becomes one number, its mean.

    Args:
        maps: one image's last feature maps ``(height, width, K)``.
        ax: Axes to draw into (a new figure when ``None``).
        n_show: how many maps to draw (the first ones); the others are summarized by "⋮".

    Returns:
        The Axes: maps on the left, an arrow each, the map's mean on the right.

    Taught in: ``03_class_activation_maps``.
    """
    shown = _chosen(maps, n_show)
    maps = np.asarray(maps, dtype=float)
    h, w, k = maps.shape
    ax = _axes(ax, (6.4, 1.1 * len(shown) + 1.0))
    size, step = 1.0, 1.25
    top = step * len(shown)
    for row, channel in enumerate(shown):
        y = top - step * (row + 1)
        _map(ax, maps[..., channel], 0, y, size)
        ax.text(-0.1, y + size / 2, f"$A^{{{channel}}}$", ha="right", va="center", fontsize=10)
        ax.annotate("", xy=(3.0, y + size / 2), xytext=(size + 0.1, y + size / 2), arrowprops=_ARROW)
        ax.text((size + 3.0) / 2, y + size / 2 + 0.12, "mean of all positions", ha="center", va="bottom", fontsize=8)
        ax.text(3.2, y + size / 2, f"{maps[..., channel].mean():.3f}", ha="left", va="center", fontsize=10,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "#fff3c4", "edgecolor": "0.4"})
    if k > len(shown):
        ax.text(size / 2, -0.25, "⋮", ha="center", va="center", fontsize=14)
        ax.text(3.55, -0.25, "⋮", ha="center", va="center", fontsize=14)
    ax.text(size / 2, top + 0.15, f"{k} feature maps, {h}×{w}", ha="center", va="bottom", fontsize=9)
    ax.text(3.55, top + 0.15, f"GAP output: {k} numbers", ha="center", va="bottom", fontsize=9)
    ax.set_xlim(-0.8, 4.6)
    ax.set_ylim(-0.6, top + 0.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title("Global Average Pooling: one number per feature map", fontsize=10)
    return ax


def draw_cam_weighting(maps: np.ndarray, weights: np.ndarray, class_index: int, ax: Axes | None = None,
                       n_show: int = 4, class_name: str | None = None) -> Axes:
    """How CAM weighs the feature maps: Σ_k w_k^c A^k, drawn with the model's own maps and weights.

    Args:
        maps: one image's last feature maps ``(height, width, K)``.
        weights: the Dense kernel after GAP, ``(K, classes)``.
        class_index: the class ``c`` whose weights are used.
        ax: Axes to draw into (a new figure when ``None``).
        n_show: how many maps to draw; the sum on the right uses all ``K``.
        class_name: label of the class (its index when ``None``).

    Returns:
        The Axes: the maps with their weights, a Σ, and the resulting (signed) class map.

    Taught in: ``03_class_activation_maps``.
    """
    shown = _chosen(maps, n_show)
    maps, weights = np.asarray(maps, dtype=float), np.asarray(weights, dtype=float)
    if weights.ndim != 2 or weights.shape[0] != maps.shape[-1]:
        raise ValueError(f"weights must be (K, classes) with K = {maps.shape[-1]}; got shape {weights.shape}.")
    label = class_name if class_name is not None else str(class_index)
    ax = _axes(ax, (7.6, 1.1 * len(shown) + 1.2))
    size, step = 1.0, 1.25
    top = step * len(shown)
    hub = (3.6, top / 2)
    for row, channel in enumerate(shown):
        y = top - step * (row + 1)
        _map(ax, maps[..., channel], 0, y, size)
        ax.text(-0.1, y + size / 2, f"$A^{{{channel}}}$", ha="right", va="center", fontsize=10)
        ax.annotate("", xy=(hub[0] - 0.3, hub[1]), xytext=(size + 0.1, y + size / 2), arrowprops=_ARROW)
        ax.text(size + 0.25, y + size / 2 + 0.08, f"× $w_{{{channel}}}$ = {weights[channel, class_index]:+.3f}",
                ha="left", va="bottom", fontsize=8)
    if maps.shape[-1] > len(shown):
        ax.text(size / 2, -0.25, "⋮", ha="center", va="center", fontsize=14)
    ax.add_patch(plt.Circle(hub, 0.3, facecolor="#fff3c4", edgecolor="0.4"))
    ax.text(*hub, "Σ", ha="center", va="center", fontsize=14)
    ax.text(hub[0], hub[1] - 0.45, f"all {maps.shape[-1]} maps", ha="center", va="top", fontsize=8)
    cam = maps @ weights[:, class_index]
    bound = max(float(np.abs(cam).max()), 1e-12)
    x0 = 4.6
    ax.annotate("", xy=(x0 - 0.05, hub[1]), xytext=(hub[0] + 0.3, hub[1]), arrowprops=_ARROW)
    ax.imshow(cam, extent=(x0, x0 + 1.6, hub[1] - 0.8, hub[1] + 0.8), cmap="RdBu_r", vmin=-bound, vmax=bound,
              interpolation="nearest")
    ax.text(x0 + 0.8, hub[1] + 0.9, f"class map $M^c$ for '{label}'\n(red +, blue −)", ha="center", va="bottom",
            fontsize=8)
    ax.set_xlim(-0.8, x0 + 1.9)
    ax.set_ylim(-0.6, top + 0.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(r"CAM: weigh each map by the class's weight $w_k^c$, add them up", fontsize=10)
    return ax


def draw_grad_cam_pipeline(ax: Axes | None = None) -> Axes:
    """The Grad-CAM pipeline as a flow chart: forward to the score, gradients back, weights, ReLU.

    Args:
        ax: Axes to draw into (a new figure when ``None``).

    Returns:
        The Axes, with one box per stage (their texts are the stages' names).

    Taught in: ``03_class_activation_maps``.
    """
    ax = _axes(ax, (10, 3.2))
    forward = [("image", 0.0), ("convolution\nlayers", 1.9), ("feature maps\n$A^k$ (h×w×K)", 3.8),
               ("rest of the\nnetwork", 5.9), ("class score $y^c$\n(logit, before softmax)", 8.0)]
    below = [("$\\alpha_k^c = \\frac{1}{Z}\\sum_{ij}\\partial y^c / \\partial A^k_{ij}$\n(average the gradients)", 5.9),
             ("heatmap =\nReLU$(\\sum_k \\alpha_k^c A^k)$", 3.8), ("upsample, lay\nover the image", 1.9)]
    width, height = 1.6, 0.9

    def box(text: str, x: float, y: float, colour: str) -> None:
        ax.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.05", facecolor=colour,
                                    edgecolor="0.35"))
        ax.text(x + width / 2, y + height / 2, text, ha="center", va="center", fontsize=8.5)

    for i, (text, x) in enumerate(forward):
        box(text, x, 2.0, "#dbe9f6")
        if i:
            ax.annotate("", xy=(x - 0.02, 2.45), xytext=(forward[i - 1][1] + width + 0.02, 2.45), arrowprops=_ARROW)
    for i, (text, x) in enumerate(below):
        box(text, x, 0.2, "#fff3c4")
        if i:
            ax.annotate("", xy=(x + width + 0.02, 0.65), xytext=(below[i - 1][1] - 0.02, 0.65), arrowprops=_ARROW)
    back = dict(_ARROW, color="#c0392b", connectionstyle="arc3,rad=-0.25")
    ax.annotate("", xy=(forward[2][1] + width / 2 + 0.3, 2.0), xytext=(forward[4][1] + width / 2, 2.0), arrowprops=back)
    ax.text(8.8, 1.25, "gradient\n$\\partial y^c/\\partial A^k$\n(backward)", color="#c0392b", ha="center",
            fontsize=8.5)
    ax.annotate("", xy=(below[0][1] + width / 2, 0.2 + height + 0.02), xytext=(forward[2][1] + width, 2.05),
                arrowprops=dict(_ARROW, linestyle="--"))
    ax.annotate("", xy=(below[1][1] + width / 2, 0.2 + height + 0.02), xytext=(forward[2][1] + width / 2, 2.0),
                arrowprops=dict(_ARROW, linestyle="--"))
    ax.text(forward[0][1] + width / 2, 3.05, "forward →", ha="center", fontsize=8.5, color="0.3")
    ax.set_xlim(-0.2, 9.8)
    ax.set_ylim(0.0, 3.3)
    ax.set_axis_off()
    ax.set_title("Grad-CAM: forward to the class score, gradients back to the maps, weights, weighted sum, ReLU",
                 fontsize=10)
    return ax
