"""Tests of helpers.widgets: the shared image chooser, then one section per notebook's explorer."""

from __future__ import annotations

import datetime

import ipywidgets
import numpy as np
import pytest

from helpers import widgets
from helpers.data import CLASS_NAMES, image_to_png_bytes

JPEG_SIGNATURE = b"\xff\xd8\xff"


IPYWIDGETS_MAJOR = int(ipywidgets.__version__.split(".")[0])


def _upload_value(name: str, content: bytes) -> tuple[dict, ...]:
    """What an ipywidgets 8 FileUpload holds after one file was chosen."""
    return ({"name": name, "type": "image/png", "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},)


def _upload_value_7(name: str, content: bytes) -> dict:
    """What an ipywidgets 7 FileUpload holds after one file was chosen (Colab's ipywidgets 7.7)."""
    return {name: {"metadata": {"name": name, "type": "image/png", "size": len(content),
                                "lastModified": 1704067200000}, "content": content}}


def _choose_file(upload, name: str, content: bytes) -> None:
    """Do to ``upload`` what the browser does when a file is chosen, in ipywidgets 7 or 8."""
    if IPYWIDGETS_MAJOR >= 8:
        upload.value = _upload_value(name, content)
    else:  # value is read-only: the front end sends metadata and data, then bumps a counter
        upload.metadata = [_upload_value_7(name, content)[name]["metadata"]]
        upload.data = [content]
        upload._counter += 1


# --------------------------------------------------------------------------- shared parts
def test_example_images_names_and_shapes():
    options = widgets.example_images(n_shapes=3, size=48)
    names = list(options)
    assert len(names) == 4 and names[-1] == "photo: cat"
    for name in names[:3]:
        assert name.startswith("shape ") and name.split(": ")[1] in CLASS_NAMES
    for image in options.values():
        assert image.shape == (48, 48, 3) and image.dtype == np.float32
        assert 0.0 <= image.min() and image.max() <= 255.0
    again = widgets.example_images(n_shapes=3, size=48)
    np.testing.assert_array_equal(again["shape 0: " + names[0].split(": ")[1]], options[names[0]])


def test_decode_upload_good_png_bytes():
    image = np.zeros((20, 30, 3), np.float32)
    image[:, :15, 0] = 255.0
    name, decoded = widgets.decode_upload(_upload_value("red.png", image_to_png_bytes(image)))
    assert name == "red.png" and decoded.shape == (20, 30, 3)
    np.testing.assert_array_equal(decoded, image)
    _, resized = widgets.decode_upload(_upload_value("red.png", image_to_png_bytes(image)), size=16)
    assert resized.shape == (16, 16, 3)


def test_decode_upload_accepts_the_ipywidgets_7_dict_form():
    content = image_to_png_bytes(np.full((8, 8, 3), 100.0))
    name, decoded = widgets.decode_upload(_upload_value_7("x.png", content))
    assert name == "x.png" and decoded.mean() == pytest.approx(100.0)
    both = {**_upload_value_7("a.png", image_to_png_bytes(np.zeros((4, 4, 3)))), **_upload_value_7("b.png", content)}
    assert widgets.decode_upload(both)[0] == "b.png", "the last file counts"


def test_a_real_file_upload_of_the_installed_ipywidgets_is_decoded():
    """Whichever major is installed (8 in make test, Colab's 7.7 in make test-colab), its own FileUpload works."""
    image = np.zeros((6, 5, 3), np.float32)
    image[:, :2, 2] = 255.0
    upload = ipywidgets.FileUpload(accept="image/*", multiple=False)
    _choose_file(upload, "blue.png", image_to_png_bytes(image))
    name, decoded = widgets.decode_upload(upload.value)
    assert name == "blue.png"
    np.testing.assert_array_equal(decoded, image)


def test_decode_upload_garbage_bytes_raise():
    with pytest.raises(ValueError, match="not a readable image"):
        widgets.decode_upload(_upload_value("notes.txt", b"this is not an image at all"))


@pytest.mark.parametrize("value", [(), None, {}])
def test_decode_upload_empty_raises(value):
    with pytest.raises(ValueError, match="No file was uploaded"):
        widgets.decode_upload(value)


def test_image_chooser_upload_adds_and_selects_an_entry():
    options = {"black": np.zeros((16, 16, 3), np.float32)}
    chooser = widgets.ImageChooser(options, size=16)
    seen = []
    chooser.observe(seen.append)
    upload = np.full((40, 20, 3), 200.0, np.float32)
    _choose_file(chooser.upload, "grey.png", image_to_png_bytes(upload))
    assert list(chooser.dropdown.options) == ["black", "upload: grey.png"]
    assert chooser.name == "upload: grey.png"
    assert chooser.image.shape == (16, 16, 3) and chooser.image.mean() == pytest.approx(200.0)
    assert len(seen) == 1 and seen[0] is chooser.image
    _choose_file(chooser.upload, "grey.png", image_to_png_bytes(upload / 2))  # the same name again
    assert list(chooser.dropdown.options) == ["black", "upload: grey.png"] and len(seen) == 2
    assert chooser.image.mean() == pytest.approx(100.0), "a new file under the same name is redrawn"
    _choose_file(chooser.upload, "bad.png", b"garbage")
    assert "not a readable image" in chooser.message.value
    assert list(chooser.dropdown.options) == ["black", "upload: grey.png"]


def test_image_chooser_upload_redraws_once_whatever_entry_was_chosen():
    """Adding the upload to the options resets the dropdown to its first entry; that reset must
    not draw the first image before the upload (seen in the browser as a flash of a wrong picture)."""
    options = {"black": np.zeros((16, 16, 3), np.float32), "white": np.full((16, 16, 3), 255.0, np.float32)}
    chooser = widgets.ImageChooser(options, size=16)
    chooser.dropdown.value = "white"
    seen = []
    chooser.observe(seen.append)
    _choose_file(chooser.upload, "grey.png", image_to_png_bytes(np.full((16, 16, 3), 128.0)))
    assert chooser.name == "upload: grey.png"
    assert len(seen) == 1 and seen[0].mean() == pytest.approx(128.0)


def test_image_chooser_needs_images():
    with pytest.raises(ValueError, match="at least one image"):
        widgets.ImageChooser({})


# =========================================================================== 01 intermediate activations
@pytest.fixture
def explorer(tiny_sequential, tiny_images):
    options = {f"image {i}": image for i, image in enumerate(tiny_images[:2])}
    return widgets.ActivationExplorer(tiny_sequential, options, figsize=(6, 2), dpi=40)


def test_draw_channel_view_caption_and_errors(tiny_sequential, tiny_images):
    import matplotlib.pyplot as plt

    from helpers.activations import feature_maps, receptive_field

    maps = feature_maps(tiny_sequential, tiny_images[0])
    fig = plt.figure()
    field = receptive_field(tiny_sequential, "conv2d_2")
    caption = widgets.draw_channel_view(fig, tiny_images[0], maps, "conv2d_2", 3, field=field)
    assert caption.startswith("conv2d_2 · channel 3 of 8 · 13×13 map · ")
    assert len(fig.axes) == 4  # input, map, its colour bar, overlay
    peak = float(maps["conv2d_2"][..., 5].max())
    caption = widgets.draw_channel_view(fig, tiny_images[0], maps, "conv2d_2", 5, field=field)
    assert len(fig.axes) == 4 and fig.axes[1].images[0].get_clim() == pytest.approx((0.0, peak))
    maps["conv2d_2"][..., 6] = 0.0
    assert widgets.draw_channel_view(fig, tiny_images[0], maps, "conv2d_2", 6).endswith("all zero for this image")
    with pytest.raises(ValueError, match="channels 0..7"):
        widgets.draw_channel_view(fig, tiny_images[0], maps, "conv2d_2", 8)
    with pytest.raises(ValueError, match="available: conv2d_1"):
        widgets.draw_channel_view(fig, tiny_images[0], maps, "dense", 0)
    plt.close(fig)


def test_explorer_computes_once_per_image_and_redraws_on_change(explorer):
    assert explorer.computations == 1
    first = bytes(explorer.view.value)
    assert first.startswith(JPEG_SIGNATURE)
    for channel in range(1, 8):
        explorer.channel.value = channel
    explorer.layer.value = "conv2d_2"
    assert explorer.computations == 1  # slider and layer only redraw
    assert bytes(explorer.view.value) != first
    assert explorer.caption_text.startswith("conv2d_2 · channel 7 of 8")
    explorer.chooser.dropdown.value = "image 1"
    assert explorer.computations == 2
    explorer.chooser.dropdown.value = "image 0"
    assert explorer.computations == 2  # cached


def test_explorer_clamps_the_slider_to_the_layer(tiny_gap_model, tiny_images):
    explorer = widgets.ActivationExplorer(tiny_gap_model, {"a": tiny_images[0]}, figsize=(6, 2), dpi=40)
    assert explorer.layer.options == ("block1_conv1", "block1_pool", "block2_conv1")
    explorer.layer.value = "block2_conv1"
    assert explorer.channel.max == 15
    explorer.channel.value = 15
    explorer.layer.value = "block1_pool"
    assert explorer.channel.max == 7 and explorer.channel.value == 7
    assert "block1_pool · channel 7 of 8" in explorer.caption.value


def test_explorer_upload_is_explored(explorer):
    upload = np.random.default_rng(0).uniform(0, 255, (64, 64, 3))
    _choose_file(explorer.chooser.upload, "mine.png", image_to_png_bytes(upload))
    assert explorer.chooser.name == "upload: mine.png"
    assert explorer.computations == 2 and explorer.maps()["conv2d_1"].shape == (30, 30, 8)


def test_cam_explorer_offers_any_registered_method(tiny_gap_model, tiny_sequential, tiny_images):
    pytest.importorskip("ipywidgets")
    from helpers.widgets import CAMExplorer

    images = {"a": tiny_images[0]}
    explorer = CAMExplorer(tiny_sequential, images=images, class_names=("x", "y", "z"),
                           methods=["grad_cam", "cam", "saliency", "eigen_cam"])
    assert [value for _, value in explorer.method.options] == ["grad_cam", "saliency", "eigen_cam"]  # no CAM head
    explorer.method.value = "saliency"
    assert explorer.caption_text.endswith("input pixels") and explorer.view.value
    explorer.method.value = "eigen_cam"
    assert "layer conv2d_2" in explorer.caption_text


def test_explorer_redraw_benchmark_reports_both_explorers(tiny_sequential, tiny_gap_model):
    from helpers.benchmarks import widgets as bench

    report = bench.run(quick=True, models={"small_convnet": tiny_sequential, "vgg_gap": tiny_gap_model})
    assert "ActivationExplorer" in report and "CAMExplorer" in report
    row = next(line for line in report.splitlines() if "ActivationExplorer" in line)
    assert row.rstrip("| ").endswith("1")  # activations computed once, however often the slider moves


# =========================================================================== layout: nothing runs into anything
def _boxes(fig):
    """Draw ``fig`` with Agg and return a renderer (text extents need one)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _colour_bar_texts(bar_ax, renderer):
    texts = [bar_ax.yaxis.label] + [t for t in bar_ax.get_yticklabels() if t.get_text()]
    return [t.get_window_extent(renderer) for t in texts if t.get_text()]


def test_channel_view_titles_do_not_run_into_each_other_at_the_longest_layer_name():
    """Chapter 1's explorer at max_pooling2d_4: the middle title used to run into the right one."""
    from matplotlib.figure import Figure

    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (150, 150, 3)).astype(np.float32)
    maps = {"max_pooling2d_4": rng.uniform(0, 0.0142, (7, 7, 128)).astype(np.float32)}
    fig = Figure(figsize=(10.5, 3.4), dpi=72)  # ActivationExplorer's figure
    widgets.draw_channel_view(fig, image, maps, "max_pooling2d_4", 127)
    renderer = _boxes(fig)
    ax_image, ax_map, ax_overlay, bar = fig.axes
    titles = [ax.title.get_window_extent(renderer) for ax in (ax_image, ax_map, ax_overlay)]
    assert not titles[0].overlaps(titles[1]) and not titles[1].overlaps(titles[2])
    for box in _colour_bar_texts(bar, renderer):
        assert box.x1 < ax_overlay.get_window_extent(renderer).x0, "the colour bar's ticks reach the right panel"


def test_cam_view_colour_bars_are_alike_and_clear_of_the_overlay(tiny_gap_model, tiny_images):
    """Chapter 3's explorer: the middle colour bar's label ran over the overlay, in another size."""
    from matplotlib.figure import Figure

    from helpers.data import resize_image

    fig = Figure(figsize=(10.5, 3.3), dpi=72)  # CAMExplorer's figure
    widgets.draw_cam_view(fig, tiny_gap_model, resize_image(tiny_images[0], 32), class_names=("a", "b", "c"))
    renderer = _boxes(fig)
    ax_image, ax_map, ax_overlay, bar_map, bar_overlay = fig.axes
    assert bar_map.yaxis.label.get_text() == bar_overlay.yaxis.label.get_text() != ""
    assert bar_map.yaxis.label.get_fontsize() == bar_overlay.yaxis.label.get_fontsize()
    sizes = {t.get_fontsize() for bar in (bar_map, bar_overlay) for t in bar.get_yticklabels()}
    assert len(sizes) == 1, f"tick labels of the two colour bars differ in size: {sizes}"
    overlay_box = ax_overlay.get_window_extent(renderer)
    for box in _colour_bar_texts(bar_map, renderer):
        assert box.x1 < overlay_box.x0, "the middle colour bar's label runs over the overlay panel"
    for box in _colour_bar_texts(bar_overlay, renderer):
        assert box.x1 <= fig.bbox.x1, "the right colour bar's label leaves the figure"


def test_cam_view_redraw_on_the_same_figure_equals_a_fresh_drawing(tiny_gap_model, tiny_images):
    """The explorer redraws into its figure by updating pictures and titles; the result must be
    pixel for pixel what a fresh figure shows (another image, class, layer and alpha)."""
    from matplotlib.figure import Figure

    def pixels(fig):
        return np.asarray(_boxes(fig).buffer_rgba()).copy()

    kwargs = dict(method="grad_cam", layer="block1_conv1", class_index=2, alpha=0.7, class_names=("a", "b", "c"))
    reused = Figure(figsize=(6, 2), dpi=40)
    widgets.draw_cam_view(reused, tiny_gap_model, tiny_images[0], class_names=("a", "b", "c"))
    axes = list(reused.axes)
    caption = widgets.draw_cam_view(reused, tiny_gap_model, tiny_images[1], **kwargs)
    assert reused.axes == axes, "the second drawing reused the figure's axes"
    fresh = Figure(figsize=(6, 2), dpi=40)
    assert widgets.draw_cam_view(fresh, tiny_gap_model, tiny_images[1], **kwargs) == caption
    np.testing.assert_array_equal(pixels(reused), pixels(fresh))


def test_the_cam_caption_reads_probabilities_from_the_core(tiny_images):
    """A multi-label sigmoid head: the caption's p is the model's own sigmoid output, not a softmax of the logits."""
    import matplotlib.pyplot as plt

    from helpers import keras
    from helpers.widgets import draw_cam_view

    keras.utils.set_random_seed(3)
    inputs = keras.Input(tiny_images.shape[1:])
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(keras.layers.Rescaling(1 / 255)(inputs))
    outputs = keras.layers.Dense(3, activation="sigmoid", name="labels")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    expected = model.predict(tiny_images[:1], verbose=0)[0]
    fig = plt.figure()
    try:
        caption = draw_cam_view(fig, model, tiny_images[0], "grad_cam", None, 1, 0.4, ["a", "b", "c"])
    finally:
        plt.close(fig)
    assert f"explaining 'b' (p = {expected[1]:.3f})" in caption, caption


# --------------------------------------------------------------------------- the explorers in Chinese
# helpers.set_language("zh") (the Chinese notebooks' first cell) turns the controls' labels, the
# captions and the messages Chinese; the figures' own text stays English (Colab has no CJK font).

@pytest.fixture
def chinese():
    from helpers.i18n import set_language

    set_language("zh")
    yield
    set_language("en")


def _has_chinese(text: str) -> bool:
    return any("\u3400" <= char <= "\u9fff" for char in text)


def test_the_explorers_speak_english_by_default(tiny_gap_model, tiny_images):
    explorer = widgets.ActivationExplorer(tiny_gap_model, {"a": tiny_images[0]}, figsize=(6, 2), dpi=40)
    assert (explorer.chooser.dropdown.description, explorer.chooser.upload.description,
            explorer.layer.description, explorer.channel.description) == ("Image", "Upload", "Layer", "Channel")
    cam = widgets.CAMExplorer(tiny_gap_model, images={"a": tiny_images[0]}, class_names=("a", "b", "c"))
    assert (cam.method.description, cam.class_picker.description, cam.layer.description,
            cam.alpha.description) == ("Method", "Class", "Layer", "Alpha")
    assert cam.class_picker.options[0] == ("top class", -1)
    assert cam.caption_text.startswith("explaining '") and not _has_chinese(cam.caption_text)


def test_the_activation_explorer_follows_the_language(chinese, tiny_gap_model, tiny_images):
    explorer = widgets.ActivationExplorer(tiny_gap_model, {"a": tiny_images[0]}, figsize=(6, 2), dpi=40)
    labels = (explorer.chooser.dropdown.description, explorer.chooser.upload.description,
              explorer.layer.description, explorer.channel.description)
    assert labels == ("图像", "上传", "层", "通道")
    explorer.layer.value = "block1_pool"
    assert explorer.caption_text.startswith("block1_pool · 通道 0（共 8 个）· ")
    assert "特征图" in explorer.caption_text and ("峰值" in explorer.caption_text or "全为零" in explorer.caption_text)
    assert [ax.get_title() for ax in explorer.figure.axes[:1]] == ["input"]  # figure text stays English
    _choose_file(explorer.chooser.upload, "notes.txt", b"not an image")
    assert "不是可读取的图像" in explorer.chooser.message.value


def test_the_cam_explorer_follows_the_language(chinese, tiny_gap_model, tiny_images):
    cam = widgets.CAMExplorer(tiny_gap_model, images={"a": tiny_images[0]}, class_names=("a", "b", "c"))
    assert (cam.method.description, cam.class_picker.description, cam.layer.description,
            cam.alpha.description) == ("方法", "类别", "层", "透明度")
    assert cam.class_picker.options[0] == ("得分最高的类别", -1)
    assert cam.caption_text.startswith("解释的类别：“") and "模型得分最高的类别" in cam.caption_text
    assert "· 层 " in cam.caption_text


def test_the_explorers_messages_follow_the_language(chinese, tiny_images):
    with pytest.raises(ValueError, match="没有上传文件"):
        widgets.decode_upload(())
    with pytest.raises(ValueError, match="上传的文件 'a.png' 不是可读取的图像"):
        widgets.decode_upload(_upload_value("a.png", b"nope"))
    with pytest.raises(ValueError, match="至少需要一张图像"):
        widgets.ImageChooser({})
    import matplotlib.pyplot as plt

    fig = plt.figure()
    maps = {"conv": np.zeros((4, 4, 2), np.float32)}
    caption = widgets.draw_channel_view(fig, tiny_images[0], maps, "conv", 1)
    assert caption == "conv · 通道 1（共 2 个）· 4×4 特征图 · 对这张图像全为零"
    with pytest.raises(ValueError, match=r"层 'conv' 的通道编号是 0\.\.1；收到的是通道 5"):
        widgets.draw_channel_view(fig, tiny_images[0], maps, "conv", 5)
    with pytest.raises(ValueError, match="层 'dense' 没有特征图；可选的层：conv"):
        widgets.draw_channel_view(fig, tiny_images[0], maps, "dense", 0)
    plt.close(fig)
