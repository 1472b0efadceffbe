"""Interactive explorers built with ipywidgets, shared parts first, then one section per notebook.

Every explorer keeps its logic in plain functions (shown once in the notebook with a checked,
static output) and only wires widgets to them, so notebooks run headless under nbval. Redraws go
into one ``Output`` area, cleared each time, so figures do not pile up (a known Colab problem).

Controls, captions and messages follow :func:`helpers.set_language` (their Chinese is in
``helpers/widgets_zh.py``); the figures' own text stays English (Colab has no CJK font by default).

Taught in: ``01_intermediate_activations`` and ``03_class_activation_maps``.
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np

from helpers import widgets_zh as _widgets_zh
from helpers.data import CLASS_NAMES, load_image, make_shapes
from helpers.i18n import add_translations, localized

__all__ = [
    "example_images", "upload_files", "decode_upload", "ImageChooser", "draw_channel_view", "ActivationExplorer",
    "draw_cam_view", "CAMExplorer", "get_default_cam_layer",
]

add_translations("zh", _widgets_zh.CATALOGUE)



def example_images(n_shapes: int = 6, seed: int = 0, size: int = 150,
                   photos: tuple[str, ...] = ("cat",)) -> dict[str, np.ndarray]:
    """Named images for the choosers: ``n_shapes`` held-out shapes and bundled photos at ``size``.

    Taught in: ``01_intermediate_activations``.
    """
    images, labels, _ = make_shapes(n_shapes, size=size, seed=seed)
    options = {f"shape {i}: {CLASS_NAMES[label]}": image for i, (image, label) in enumerate(zip(images, labels))}
    for name in photos:
        options[f"photo: {name}"] = load_image(name, size=size)
    return options


def upload_files(value) -> list[tuple[str, bytes]]:
    """``[(file name, content)]`` from a ``FileUpload`` value of ipywidgets 8 or 7.7.1 (Colab's).

    ipywidgets 8 holds a tuple of ``{"name", "content", ...}`` dicts (``content`` a memoryview);
    ipywidgets 7 a dict ``{file name: {"metadata": {"name", ...}, "content": bytes}}``.
    """
    if isinstance(value, dict):  # ipywidgets 7
        items = [{"name": item.get("metadata", {}).get("name", key), **item} for key, item in value.items()]
    else:
        items = list(value or ())
    return [(str(item.get("name", "upload")), bytes(item["content"])) for item in items]


def decode_upload(value, size: int | tuple[int, int] | None = None) -> tuple[str, np.ndarray]:
    """Decode the value of a ``FileUpload`` (ipywidgets 7 or 8) into ``(file name, image)``.

    ipywidgets 8 holds a tuple of ``{"name", "content", ...}`` dicts; ipywidgets 7 (Colab's)
    a dict ``{file name: {"metadata": {"name", ...}, "content": bytes}}``. The last file counts.

    Raises:
        ValueError: nothing was uploaded, or the file is not a readable image.
    """
    from PIL import Image, UnidentifiedImageError

    files = upload_files(value)
    if not files:
        raise ValueError(localized("No file was uploaded."))
    name, content = files[-1]
    try:
        with Image.open(io.BytesIO(content)) as pil:
            pil.load()
            return name, load_image(pil, size=size)
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(localized("The uploaded file {name} is not a readable image: {error}",
                                   name=repr(name), error=err)) from err


class ImageChooser:
    """A dropdown of named images plus an upload button; uploads join the dropdown.

    Attributes:
        widget: the ``ipywidgets`` box to display.
        image: the currently chosen image, float32 ``(H, W, 3)`` in 0..255.
        name: its name in the dropdown.

    Taught in: ``01_intermediate_activations``.
    """

    def __init__(self, options: dict[str, np.ndarray], size: int | tuple[int, int] = 150,
                 description: str | None = None):
        import ipywidgets as widgets

        if not options:
            raise ValueError(localized("ImageChooser needs at least one image."))
        self.size = size
        self.images = dict(options)
        self.dropdown = widgets.Dropdown(options=list(self.images),
                                         description=localized("Image") if description is None else description)
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description=localized("Upload"))
        self.message = widgets.HTML()
        self.widget = widgets.HBox([self.dropdown, self.upload, self.message])
        self._callbacks: list[Callable[[np.ndarray], None]] = []
        self._adding = False
        self.dropdown.observe(lambda change: None if self._adding else self._notify(), names="value")
        self.upload.observe(self._on_upload, names="value")

    @property
    def name(self) -> str:
        return self.dropdown.value

    @property
    def image(self) -> np.ndarray:
        return self.images[self.dropdown.value]

    def observe(self, callback: Callable[[np.ndarray], None]) -> None:
        """Call ``callback(image)`` whenever the chosen image changes."""
        self._callbacks.append(callback)

    def _notify(self) -> None:
        for callback in self._callbacks:
            callback(self.image)

    def _on_upload(self, change) -> None:
        try:
            name, image = decode_upload(change["new"], size=self.size)
        except ValueError as err:
            self.message.value = f"<span style='color:#b00'>{err}</span>"
            return
        key = f"upload: {name}"
        self.images[key] = image
        self.message.value = ""
        # New options reset the dropdown to its first entry. Sent apart, that reset and the new
        # value crossed in the browser, which kept the new entry shown but drew the first image
        # (found by the browser test). One message with the final state, and one redraw.
        with self.dropdown.hold_sync():
            self._adding = True
            try:
                self.dropdown.options = list(self.images)
                self.dropdown.value = key
            finally:
                self._adding = False
        self._notify()


# =========================================================================== 01 intermediate activations
# The activation explorer: an image chooser, a layer dropdown and a channel slider. Activations
# are computed once per image (one forward pass for all layers) and cached; moving the slider
# only redraws the existing figure and sends one JPEG to one Image widget.


def _overlay_rgba(values: np.ndarray, peak: float, cmap: str) -> np.ndarray:
    """Colour ``values`` (NaN = not covered) with ``cmap``; opacity grows with the activation."""
    from matplotlib import colormaps

    scaled = np.nan_to_num(values / (peak + 1e-8), nan=0.0).clip(0.0, 1.0)
    rgba = colormaps[cmap](scaled)
    rgba[..., 3] = np.clip(3.0 * scaled, 0.0, 0.95)
    return rgba


def draw_channel_view(fig, image: np.ndarray, maps: dict[str, np.ndarray], layer: str, channel: int,
                      field=None, cmap: str = "viridis") -> str:
    """Draw one channel of one layer three ways: the input, the map, the map on the input.

    The plain function behind :class:`ActivationExplorer`: the notebook calls it once with a
    checked output, and the widget calls it on every change. On a figure it drew before, it
    only updates the pictures (fast); otherwise it lays the figure out.

    Args:
        fig: a Matplotlib Figure (``plt.figure()`` or ``matplotlib.figure.Figure()``).
        image: the input ``(H, W, 3)`` in 0..255.
        maps: ``{layer: (h, w, c)}`` activations of that image (:func:`helpers.feature_maps`).
        layer: which layer.
        channel: which channel of it.
        field: the layer's :class:`helpers.activations.ReceptiveField`; with it the map is laid
            on the exact input pixels each position looks at; without, it is stretched.
        cmap: colour map.

    Returns:
        A one-line caption: layer, channel, map size, peak activation and share of zeros.

    Raises:
        ValueError: unknown layer or channel out of range (the message gives the valid ones).

    Taught in: ``01_intermediate_activations``.
    """
    from helpers.activations import map_to_input
    from helpers.plotting import as_display_image

    if layer not in maps:
        raise ValueError(localized("No maps for layer {layer}; available: {available}.",
                                   layer=repr(layer), available=", ".join(maps)))
    value = np.asarray(maps[layer])
    if value.ndim != 3:
        raise ValueError(localized("Expected (h, w, c) maps for one image; got shape {shape} for {layer}.",
                                   shape=value.shape, layer=repr(layer)))
    h, w, c = value.shape
    if not 0 <= int(channel) < c:
        raise ValueError(localized("Layer {layer} has channels 0..{last}; got channel {channel}.",
                                   layer=repr(layer), last=c - 1, channel=channel))
    channel = int(channel)
    channel_map = value[..., channel]
    peak = float(channel_map.max())
    if field is not None:
        on_input = map_to_input(channel_map, field, image.shape[:2])
    else:
        rows = np.minimum(np.arange(image.shape[0]) * h // image.shape[0], h - 1)
        cols = np.minimum(np.arange(image.shape[1]) * w // image.shape[1], w - 1)
        on_input = channel_map[np.ix_(rows, cols)]
    overlay = _overlay_rgba(on_input, peak, cmap)
    # Two short lines, not one long one: at max_pooling2d_4 a one-line title ran into the right one.
    title_map = f"{layer} · channel {channel}\nactivation ({h}×{w})"
    state = getattr(fig, "_channel_view", None)
    if state is None or state["fig_axes"] != list(fig.axes):
        fig.clear()
        ax_image, ax_map, ax_overlay = fig.subplots(1, 3, gridspec_kw={"wspace": 0.3})  # room for the colour bar
        image_artist = ax_image.imshow(as_display_image(image))
        ax_image.set_title("input", fontsize=9)
        map_artist = ax_map.imshow(channel_map, cmap=cmap, vmin=0, vmax=max(peak, 1e-8))
        bar = fig.colorbar(map_artist, ax=ax_map, fraction=0.046, pad=0.04)
        bar.ax.tick_params(labelsize=8)
        # The unit goes in the title: an axis label makes Matplotlib re-measure every tick label.
        ax_overlay.imshow(as_display_image(image) // 3 + 48)  # dimmed copy
        overlay_artist = ax_overlay.imshow(overlay)
        ax_overlay.set_title("where it fires\n(stronger = more opaque)", fontsize=9)
        for ax in (ax_image, ax_map, ax_overlay):
            ax.set_axis_off()
        state = {"image": image_artist, "map": map_artist, "overlay": overlay_artist,
                 "dimmed": ax_overlay.images[0], "bar": bar, "ax_map": ax_map}
        fig._channel_view = state
        state["fig_axes"] = list(fig.axes)
    else:
        if state["source"] is not image:
            state["image"].set_data(as_display_image(image))
            state["dimmed"].set_data(as_display_image(image) // 3 + 48)
        state["map"].set_data(channel_map)
        state["map"].set_extent((-0.5, w - 0.5, h - 0.5, -0.5))
        state["ax_map"].set_xlim(-0.5, w - 0.5)
        state["ax_map"].set_ylim(h - 0.5, -0.5)
        state["overlay"].set_data(overlay)
        state["map"].set_clim(0, max(peak, 1e-8))
    state["source"] = image
    state["ax_map"].set_title(title_map, fontsize=9)
    zeros = float((channel_map == 0).mean())
    status = (localized("all zero for this image") if peak == 0 else
              localized("peak {peak:.2f}, zero at {zeros:.0%} of positions", peak=peak, zeros=zeros))
    return localized("{layer} · channel {channel} of {c} · {h}×{w} map · {status}",
                     layer=layer, channel=channel, c=c, h=h, w=w, status=status)


class ActivationExplorer:
    """Choose an image, a layer and a channel; see the channel's map, large and on the image.

    Activations of all layers are computed for an image the first time it is chosen (one
    forward pass) and cached, so moving the channel slider or changing the layer only
    redraws. The figure is drawn into one ``Image`` widget, so nothing piles up in the
    notebook (in Colab too), and it works headless.

    Args:
        model: any Keras model (see :func:`helpers.feature_maps`).
        images: ``{name: image}`` for the chooser; default :func:`example_images` (held-out
            shapes and the cat photo). An upload button adds the student's own images.
        layers: layers to offer; default every convolution and pooling layer.
        figsize: size of the figure in inches.
        dpi: its resolution.

    Attributes:
        widget: the box to display.
        computations: how many times activations were computed (one per new image).
        last_redraw_seconds: time the last redraw took (drawing and JPEG encoding).

    Taught in: ``01_intermediate_activations``.
    """

    def __init__(self, model, images: dict[str, np.ndarray] | None = None, layers=None,
                 figsize: tuple[float, float] = (10.5, 3.4), dpi: float = 72):
        import time

        import ipywidgets as widgets
        from matplotlib.figure import Figure

        from helpers.activations import resolve_feature_layers
        from helpers.layers import input_shape, receptive_field

        self._time = time.perf_counter
        self.model = model
        self.layers, _ = resolve_feature_layers(model, layers)
        self.fields = {}
        for name in self.layers:
            try:
                self.fields[name] = receptive_field(model, name)
            except ValueError:
                self.fields[name] = None  # branched models: the map is stretched instead
        shape = input_shape(model)
        size = tuple(shape[:2]) if len(shape) == 3 and None not in shape[:2] else None
        if images is None:  # the example images, at the size the model takes (nothing is resized silently later)
            if size is None:
                images = example_images()
            elif size[0] == size[1]:
                images = example_images(size=size[0])
            else:
                images = {name: load_image(image, size=size) for name, image in example_images().items()}
        self.chooser = ImageChooser(images, size=size or 150)
        self._cache: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        self.computations = 0
        self.last_redraw_seconds = 0.0
        self.caption_text = ""
        self.figure = Figure(figsize=figsize, dpi=dpi)
        self.layer = widgets.Dropdown(options=self.layers, value=self.layers[0], description=localized("Layer"))
        self.channel = widgets.IntSlider(value=0, min=0, max=self._channels(self.layers[0]) - 1,
                                         description=localized("Channel"), continuous_update=True)
        self.view = widgets.Image(format="jpeg")
        self.caption = widgets.HTML()
        self.widget = widgets.VBox([self.chooser.widget, widgets.HBox([self.layer, self.channel]),
                                    self.view, self.caption])
        self._holding = False
        self.chooser.observe(lambda image: self.redraw())
        self.layer.observe(self._on_layer, names="value")
        self.channel.observe(lambda change: self.redraw(), names="value")
        self.redraw()

    def _channels(self, layer: str) -> int:
        return int(self.maps()[layer].shape[-1])

    def maps(self) -> dict[str, np.ndarray]:
        """Activations of all offered layers for the chosen image (computed once, then cached)."""
        from helpers.activations import feature_maps

        name, image = self.chooser.name, self.chooser.image
        cached = self._cache.get(name)
        if cached is None or cached[0] is not image:
            self._cache[name] = (image, feature_maps(self.model, image, self.layers))
            self.computations += 1
        return self._cache[name][1]

    def _on_layer(self, change) -> None:
        self._holding = True
        try:
            top = self._channels(change["new"]) - 1
            self.channel.value = min(self.channel.value, top)
            self.channel.max = top
        finally:
            self._holding = False
        self.redraw()

    def redraw(self) -> None:
        """Draw the current image, layer and channel into the Image widget."""
        if self._holding:
            return
        start = self._time()
        buffer = io.BytesIO()
        self.caption_text = draw_channel_view(self.figure, self.chooser.image, self.maps(), self.layer.value,
                                              self.channel.value, field=self.fields[self.layer.value])
        # JPEG encodes several times faster than PNG; at quality 92 the maps stay crisp.
        self.figure.savefig(buffer, format="jpeg", dpi=self.figure.dpi, pil_kwargs={"quality": 92})
        self.view.value = buffer.getvalue()
        self.caption.value = f"<span style='font-family:monospace'>{self.caption_text}</span>"
        self.last_redraw_seconds = self._time() - start


# =========================================================================== 03 class activation maps
# The CAM explorer: an image chooser (with upload), a class picker, a layer picker, a method
# switch and an alpha slider. One compiled explainer per (method, layer) is cached by
# helpers.cams, so changing the class or the image costs one forward pass; the alpha slider
# only re-blends. Drawn into one Image widget, so nothing piles up, and it runs headless.


def draw_cam_view(fig, model, image: np.ndarray, method: str = "grad_cam", layer: str | None = None,
                  class_index: int | None = None, alpha: float = 0.4,
                  class_names=CLASS_NAMES) -> str:
    """Draw the image, its heatmap with a colour bar, and the overlay; return a caption.

    The plain function behind :class:`CAMExplorer`: the notebook calls it once with a checked
    output, the widget on every change. On a figure it drew before, it only updates the
    pictures and titles (fast); otherwise it lays the figure out.

    Args:
        fig: a Matplotlib Figure (cleared and redrawn).
        model: the Keras classifier.
        image: ``(H, W, 3)`` in 0..255, at the model's input size.
        method: a registered method (:func:`helpers.list_methods`), e.g. ``"grad_cam"``, ``"cam"``.
        layer: layer to explain; ``None`` for the default.
        class_index: class to explain; ``None`` for the top class.
        alpha: overlay opacity.
        class_names: names of the classes.

    Returns:
        A caption: the explained class, its probability, the top prediction and the layer.

    Raises:
        ValueError: CAM on a model without GAP → Dense head, unknown layer, bad class.

    Taught in: ``03_class_activation_maps``.
    """
    import warnings

    from helpers.explainers import EmptyHeatmapWarning, get_explainer
    from helpers.plotting import show_heatmap, show_image, show_overlay

    explainer = get_explainer(model, method, layer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EmptyHeatmapWarning)
        result = explainer.explain(image, class_index)
    heatmap, chosen = result.heatmaps[0], int(result.class_indices[0])
    # The core's one scoring path: softmax, sigmoid (one unit or multi-label) as the model's head says.
    probabilities = np.asarray(explainer.probabilities(np.asarray(result.scores[:1], np.float32)))[0]
    names = list(class_names) if len(class_names) == len(probabilities) else [str(i) for i in range(len(probabilities))]
    top = int(np.argmax(probabilities))
    where = localized("layer {layer}", layer=explainer.layer) if explainer.layer else localized("input pixels")
    title_map = f"{explainer.name} · {explainer.layer or 'pixels'}"
    title_overlay = f"class: {names[chosen]}"
    state = getattr(fig, "_cam_view", None)
    if state is None or state["fig_axes"] != list(fig.axes):
        fig.clear()
        # Room between the panels for the middle colour bar's label, which ran over the overlay.
        ax_image, ax_map, ax_overlay = fig.subplots(1, 3, gridspec_kw={"wspace": 0.4})
        show_image(image, ax=ax_image, title="input")
        show_heatmap(heatmap, ax=ax_map, title=title_map, colorbar_label="evidence for the class")
        show_overlay(image, heatmap, ax=ax_overlay, alpha=alpha, title=title_overlay)
        for ax in (ax_image, ax_map, ax_overlay):
            ax.title.set_fontsize(9)
        for bar_ax in fig.axes[3:]:  # both colour bars alike: labels 8 pt, ticks 7 pt
            bar_ax.yaxis.label.set_fontsize(8)
            bar_ax.tick_params(labelsize=7)
        fig._cam_view = state = {"axes": (ax_image, ax_map, ax_overlay), "fig_axes": list(fig.axes)}
    else:  # the figure drawn before: only new pictures and titles (a redraw costs far less)
        from helpers.plotting import as_display_image, overlay

        ax_image, ax_map, ax_overlay = state["axes"]
        for ax, picture in ((ax_image, as_display_image(image)), (ax_map, heatmap),
                            (ax_overlay, overlay(image, heatmap, alpha=alpha))):
            artist = ax.images[0]
            artist.set_data(picture)
            h, w = np.shape(picture)[:2]
            artist.set_extent((-0.5, w - 0.5, h - 0.5, -0.5))
            ax.set_xlim(-0.5, w - 0.5)
            ax.set_ylim(h - 0.5, -0.5)
        ax_map.set_title(title_map, fontsize=9)
        ax_overlay.set_title(title_overlay, fontsize=9)
    empty = localized(" · no positive evidence (map is all zeros)") if caught else ""
    return localized("explaining '{name}' (p = {p:.3f}) · model's top class: '{top}' (p = {p_top:.3f}) · "
                     "{where}{empty}", name=names[chosen], p=probabilities[chosen], top=names[top],
                     p_top=probabilities[top], where=where, empty=empty)


class CAMExplorer:
    """Pick an image (or upload one), a class, a layer, the method and the overlay's opacity.

    Args:
        model: any Keras classifier; CAM is offered only if it has a GAP → Dense head.
        methods: the methods to offer (registered names); ``None``: Grad-CAM and CAM (chapter 3).
            Methods without a layer ignore the layer picker.
        images: ``{name: image}`` for the chooser; default :func:`example_images`.
        class_names: names of the model's classes (default: the shape world's).
        figsize: size of the figure in inches.
        dpi: its resolution.

    Attributes:
        widget: the box to display.
        caption_text: the caption of the last redraw.

    Taught in: ``03_class_activation_maps`` and ``04_beyond_grad_cam``.
    """

    def __init__(self, model, images: dict[str, np.ndarray] | None = None, class_names=CLASS_NAMES,
                 figsize: tuple[float, float] = (10.5, 3.3), dpi: float = 72, methods=None):
        import ipywidgets as widgets
        from matplotlib.figure import Figure

        from helpers.cams import CAM
        from helpers.explainers import get_explainer
        from helpers.layers import input_shape, spatial_layer_names

        self.model = model
        self.class_names = tuple(class_names)
        shape = input_shape(model)
        size = tuple(shape[:2]) if len(shape) == 3 and None not in shape[:2] else (150, 150)
        if images is None:
            images = example_images(size=size[0]) if size[0] == size[1] else {
                name: load_image(image, size=size) for name, image in example_images().items()}
        self.chooser = ImageChooser(images, size=size)
        default_layer = get_explainer(model).layer
        self.layers = spatial_layer_names(model)
        if methods is None:
            offered = [("Grad-CAM", "grad_cam")]
            try:
                get_explainer(model, CAM)
                offered.append(("CAM", "cam"))
            except ValueError:
                pass  # no GAP → Dense head: Grad-CAM only
            self.method = widgets.ToggleButtons(options=offered, value="grad_cam", description=localized("Method"))
        else:
            from helpers.explainers import method_class

            offered = []
            for name in methods:
                cls = method_class(name)
                try:
                    get_explainer(model, cls)
                except ValueError:
                    continue  # e.g. CAM without a GAP → Dense head
                offered.append((cls.title or cls.name, cls.name))
            values = [value for _, value in offered]
            self.method = widgets.Dropdown(options=offered, value="grad_cam" if "grad_cam" in values else values[0],
                                           description=localized("Method"))
        self.class_picker = widgets.Dropdown(
            options=[(localized("top class"), -1)] + [(name, i) for i, name in enumerate(self.class_names)],
            value=-1, description=localized("Class"))
        self.layer = widgets.Dropdown(options=self.layers, value=default_layer, description=localized("Layer"))
        self.alpha = widgets.FloatSlider(value=0.4, min=0.0, max=1.0, step=0.05, description=localized("Alpha"),
                                         continuous_update=False)
        self.figure = Figure(figsize=figsize, dpi=dpi)
        self.view = widgets.Image(format="jpeg")
        self.caption = widgets.HTML()
        self.caption_text = ""
        self.widget = widgets.VBox([
            self.chooser.widget,
            widgets.HBox([self.method, self.class_picker]),
            widgets.HBox([self.layer, self.alpha]),
            self.view, self.caption,
        ])
        self.chooser.observe(lambda image: self.redraw())
        for control in (self.method, self.class_picker, self.layer, self.alpha):
            control.observe(self._on_change, names="value")
        self.redraw()

    def _on_change(self, change) -> None:
        if change["owner"] is self.method and change["new"] == "cam":
            self.layer.value = get_default_cam_layer(self.model)
        self.redraw()

    def redraw(self) -> None:
        """Recompute (cached explainer) and redraw into the Image widget; errors go to the caption."""
        class_index = None if self.class_picker.value < 0 else int(self.class_picker.value)
        try:
            self.caption_text = draw_cam_view(self.figure, self.model, self.chooser.image, self.method.value,
                                              self.layer.value, class_index, self.alpha.value,
                                              self.class_names)
        except ValueError as err:
            self.caption_text = f"{err}"
            self.caption.value = f"<span style='color:#b00'>{err}</span>"
            return
        buffer = io.BytesIO()
        # JPEG encodes several times faster than PNG (as in ActivationExplorer).
        self.figure.savefig(buffer, format="jpeg", dpi=self.figure.dpi, pil_kwargs={"quality": 92})
        self.view.value = buffer.getvalue()
        self.caption.value = f"<span style='font-family:monospace'>{self.caption_text}</span>"


def get_default_cam_layer(model) -> str:
    """The layer CAM explains: the one feeding Global Average Pooling (see :class:`helpers.CAM`).

    Taught in: ``03_class_activation_maps``.
    """
    from helpers.cams import CAM
    from helpers.explainers import get_explainer

    return get_explainer(model, CAM).layer
