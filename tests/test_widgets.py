"""Tests of helpers.widgets: the shared image chooser, then one section per notebook's explorer."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from helpers import widgets
from helpers.data import CLASS_NAMES, image_to_png_bytes

JPEG_SIGNATURE = b"\xff\xd8\xff"


def _upload_value(name: str, content: bytes) -> tuple[dict, ...]:
    """What an ipywidgets 8 FileUpload holds after one file was chosen."""
    return ({"name": name, "type": "image/png", "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},)


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
    name, decoded = widgets.decode_upload({"x.png": {"name": "x.png", "content": content}})
    assert name == "x.png" and decoded.mean() == pytest.approx(100.0)


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
    chooser.upload.value = _upload_value("grey.png", image_to_png_bytes(upload))
    assert list(chooser.dropdown.options) == ["black", "upload: grey.png"]
    assert chooser.name == "upload: grey.png"
    assert chooser.image.shape == (16, 16, 3) and chooser.image.mean() == pytest.approx(200.0)
    assert len(seen) == 1 and seen[0] is chooser.image
    chooser.upload.value = _upload_value("bad.png", b"garbage")
    assert "not a readable image" in chooser.message.value
    assert list(chooser.dropdown.options) == ["black", "upload: grey.png"]


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
    explorer.chooser.upload.value = _upload_value("mine.png", image_to_png_bytes(upload))
    assert explorer.chooser.name == "upload: mine.png"
    assert explorer.computations == 2 and explorer.maps()["conv2d_1"].shape == (30, 30, 8)


def test_explorer_redraw_benchmark_reports_both_explorers(tiny_sequential, tiny_gap_model):
    from helpers.benchmarks import widgets as bench

    report = bench.run(quick=True, models={"small_convnet": tiny_sequential, "vgg_gap": tiny_gap_model})
    assert "ActivationExplorer" in report and "CAMExplorer" in report
    row = next(line for line in report.splitlines() if "ActivationExplorer" in line)
    assert row.rstrip("| ").endswith("1")  # activations computed once, however often the slider moves
