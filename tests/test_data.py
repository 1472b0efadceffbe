"""helpers.data: the shape world (images, labels, masks) and load_image for every input kind."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from PIL import Image

from helpers.data import CLASS_NAMES, ImageRangeWarning, list_images, load_image, make_scenes, make_shapes, resize_image


def _dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    """Binary dilation with a 3×3 cross, ``steps`` times (numpy only)."""
    out = mask.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def _mask_contrast(image: np.ndarray, mask: np.ndarray) -> float:
    """Distance between the mean colour inside ``mask`` and in a thin band just outside it."""
    band = _dilate(mask, 3) & ~_dilate(mask, 1)
    return float(np.linalg.norm(image[mask].mean(axis=0) - image[band].mean(axis=0)))


# ------------------------------------------------------------------------- class names
def test_class_names_are_the_six_shapes_in_label_order() -> None:
    assert CLASS_NAMES == ("circle", "ring", "square", "triangle", "star", "plus")
    assert isinstance(CLASS_NAMES, tuple)


# ------------------------------------------------------------------------- make_shapes
def test_make_shapes_shapes_dtypes_and_ranges() -> None:
    images, labels, masks = make_shapes(12, seed=3)
    assert images.shape == (12, 150, 150, 3) and images.dtype == np.float32
    assert labels.shape == (12,) and labels.dtype == np.int64
    assert masks.shape == (12, 150, 150) and masks.dtype == bool
    assert images.min() >= 0.0 and images.max() <= 255.0
    assert images.max() > 100.0, "images should use the 0..255 range, not 0..1"
    assert set(labels.tolist()) <= set(range(len(CLASS_NAMES)))


def test_make_shapes_custom_size_and_empty() -> None:
    images, labels, masks = make_shapes(3, size=64, seed=0)
    assert images.shape == (3, 64, 64, 3) and masks.shape == (3, 64, 64)
    images, labels, masks = make_shapes(0)
    assert images.shape == (0, 150, 150, 3) and labels.shape == (0,) and masks.shape == (0, 150, 150)


@pytest.mark.parametrize("bad", [{"n": -1}, {"n": 2.5}, {"n": 2, "size": 8}, {"n": 2, "size": 64.0}])
def test_make_shapes_rejects_bad_arguments(bad) -> None:
    with pytest.raises(ValueError):
        make_shapes(**bad)


def test_make_shapes_is_deterministic_and_seeded() -> None:
    first, second = make_shapes(4, seed=11), make_shapes(4, seed=11)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    other = make_shapes(4, seed=12)
    assert not np.array_equal(first[0], other[0]), "different seeds must give different images"


def test_image_i_does_not_depend_on_n() -> None:
    few = make_shapes(3, seed=7)
    many = make_shapes(8, seed=7)
    for a, b in zip(few, many):
        np.testing.assert_array_equal(a, b[:3])


def test_all_six_classes_appear() -> None:
    _, labels, _ = make_shapes(60, size=48, seed=0)
    counts = np.bincount(labels, minlength=len(CLASS_NAMES))
    assert counts.min() >= 3, f"classes should be roughly balanced; counts {counts.tolist()}"


def test_masks_cover_the_object_and_stay_inside_the_image() -> None:
    images, labels, masks = make_shapes(60, seed=4)
    coverage = masks.mean(axis=(1, 2))
    assert coverage.min() > 0.01, "every image has a visible object"
    assert coverage.max() < 0.5, "objects never fill most of the image"
    # shapes are placed wholly inside the image: no mask pixel touches the border
    assert not masks[:, 0, :].any() and not masks[:, -1, :].any()
    assert not masks[:, :, 0].any() and not masks[:, :, -1].any()
    # the mask sits on the drawn object: its colour differs from the band just around it,
    # far more than for another image's mask
    contrast = np.array([_mask_contrast(img, m) for img, m in zip(images, masks)])
    shuffled = np.array([_mask_contrast(img, m) for img, m in zip(images, np.roll(masks, 1, axis=0))])
    assert np.median(contrast) > 60.0 and contrast.min() > 20.0
    assert np.median(shuffled) < np.median(contrast) / 2


def test_easy_images_for_the_training_curriculum() -> None:
    if "easy_fraction" not in inspect.signature(make_shapes).parameters:
        pytest.skip("make_shapes has no easy_fraction (training curriculum) in this version")
    hard = make_shapes(6, seed=8)
    default = make_shapes(6, seed=8, easy_fraction=0.0)
    for a, b in zip(hard, default):
        np.testing.assert_array_equal(a, b)  # the default draws exactly the usual images
    images, labels, masks = make_shapes(30, seed=8, easy_fraction=1.0)
    np.testing.assert_array_equal(labels, make_shapes(30, seed=8)[1])  # same labels, easier pictures
    assert masks.mean() > make_shapes(30, seed=8)[2].mean(), "easy shapes are larger"
    # plain or gradient backgrounds, no noise: the background is locally smooth
    roughness = [np.abs(np.diff(img, axis=1))[~_dilate(m, 2)[:, 1:]].mean() for img, m in zip(images, masks)]
    assert max(roughness) < 3.0
    with pytest.raises(ValueError, match="easy_fraction"):
        make_shapes(2, easy_fraction=1.5)


@pytest.mark.slow
def test_a_thousand_images_are_a_usable_training_set() -> None:
    """No wall-clock limit (a shared CPU says nothing): what a training run needs from many images."""
    images, labels, masks = make_shapes(1000, seed=9)
    assert images.shape[0] == labels.shape[0] == masks.shape[0] == 1000
    counts = np.bincount(labels, minlength=len(CLASS_NAMES))
    assert counts.min() >= 100, counts  # every class well represented
    assert masks.reshape(1000, -1).any(axis=1).all()  # every image has its object
    np.testing.assert_array_equal(images[:5], make_shapes(5, seed=9)[0])  # the first ones do not depend on n


# ------------------------------------------------------------------------- make_scenes
def test_make_scenes_two_separate_objects_of_different_classes() -> None:
    images, labels, masks = make_scenes(20, seed=0)
    assert images.shape == (20, 150, 150, 3) and images.dtype == np.float32
    assert labels.shape == (20, 2) and labels.dtype == np.int64
    assert masks.shape == (20, 2, 150, 150) and masks.dtype == bool
    assert np.all(labels[:, 0] != labels[:, 1])
    assert not np.any(masks[:, 0] & masks[:, 1]), "the two objects must not overlap"
    assert masks.mean(axis=(2, 3)).min() > 0.005, "both objects are visible"


def test_make_scenes_fixed_classes_and_validation() -> None:
    _, labels, _ = make_scenes(5, seed=1, classes=(4, 0))
    assert labels.tolist() == [[4, 0]] * 5
    for bad in [(1, 1), (0, 6), (0,), (-1, 2)]:
        with pytest.raises(ValueError, match="classes"):
            make_scenes(2, classes=bad)


def test_make_scenes_is_deterministic() -> None:
    a, b = make_scenes(3, seed=5), make_scenes(3, seed=5)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------------- load_image
def _expect_rgb(image: np.ndarray, shape: tuple[int, int]) -> None:
    assert image.shape == (*shape, 3)
    assert image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 255.0


def test_bundled_images_and_cat() -> None:
    names = list_images()
    assert "cat" in names and "grace_hopper" in names and len(names) >= 9
    cat = load_image("cat")
    _expect_rgb(cat, cat.shape[:2])
    assert cat.shape[0] > 100 and cat.shape[1] > 100
    assert cat.max() > 200 and cat.std() > 20, "a real photo, in 0..255"


def test_load_from_path_keeps_pixels(tmp_path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    path = tmp_path / "pixels.png"
    Image.fromarray(pixels).save(path)
    for source in (path, str(path)):
        np.testing.assert_array_equal(load_image(source), pixels.astype(np.float32))


def test_load_pil_image() -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    np.testing.assert_array_equal(load_image(Image.fromarray(pixels)), pixels.astype(np.float32))
    grey = Image.fromarray(pixels[..., 0])  # mode "L"
    out = load_image(grey)
    _expect_rgb(out, (10, 12))
    np.testing.assert_array_equal(out[..., 2], pixels[..., 0])


@pytest.mark.parametrize("shape", [(9, 7), (9, 7, 1)])
def test_load_greyscale_arrays(shape) -> None:
    grey = np.arange(63, dtype=np.uint8).reshape(shape) * 4
    out = load_image(grey)
    _expect_rgb(out, (9, 7))
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], grey.reshape(9, 7).astype(np.float32))


def test_load_rgba_array_composites_on_white() -> None:
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[..., 0] = 200  # red-ish colour
    rgba[0, 0, 3] = 255  # opaque
    rgba[0, 1, 3] = 0  # transparent -> white
    rgba[1, 0, 3] = 51  # 20 % opaque
    rgba[1, 1, 3] = 255
    out = load_image(rgba)
    _expect_rgb(out, (2, 2))
    np.testing.assert_allclose(out[0, 0], [200, 0, 0])
    np.testing.assert_allclose(out[0, 1], [255, 255, 255])
    np.testing.assert_allclose(out[1, 0], [0.2 * 200 + 0.8 * 255, 0.8 * 255, 0.8 * 255], atol=1e-3)


def test_load_rgba_png_file_composites_on_white(tmp_path) -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 2] = 255
    rgba[:2, :, 3] = 255
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    out = load_image(path)
    np.testing.assert_array_equal(out[:2].reshape(-1, 3), np.tile([0, 0, 255], (8, 1)))
    np.testing.assert_array_equal(out[2:].reshape(-1, 3), np.full((8, 3), 255))


def test_load_palette_png(tmp_path) -> None:
    rgb = np.zeros((8, 8, 3), dtype=np.uint8)
    rgb[:4] = (255, 0, 0)
    rgb[4:, :4] = (0, 128, 255)
    rgb[4:, 4:] = (10, 200, 30)
    palette = Image.fromarray(rgb).quantize(colors=3)
    assert palette.mode == "P"
    path = tmp_path / "palette.png"
    palette.save(path)
    with Image.open(path) as reopened:
        assert reopened.mode == "P"
    np.testing.assert_array_equal(load_image(path), rgb.astype(np.float32))


def test_load_16_bit_png(tmp_path) -> None:
    values = np.array([[0, 257, 32896], [65535, 65535, 0]], dtype=np.uint16)
    path = tmp_path / "sixteen.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as reopened:
        assert reopened.mode in ("I;16", "I"), reopened.mode
    out = load_image(path)
    _expect_rgb(out, (2, 3))
    np.testing.assert_allclose(out[..., 0], values / 257.0, atol=1e-3)
    np.testing.assert_allclose(out[..., 1], out[..., 0])


def test_load_16_bit_pil_image_and_array() -> None:
    values = np.array([[0, 65535]], dtype=np.uint16)
    pil = Image.fromarray(values)
    assert pil.mode.startswith("I;16")
    np.testing.assert_allclose(load_image(pil)[0, :, 0], [0, 255], atol=1e-3)
    np.testing.assert_allclose(load_image(values)[0, :, 0], [0, 255], atol=1e-3)


def test_load_float_arrays() -> None:
    unit = np.array([[[0.0, 0.5, 1.0]]], dtype=np.float64)
    with pytest.warns(ImageRangeWarning, match="scaled by 255"):  # the pixel rule says what it did
        np.testing.assert_allclose(load_image(unit)[0, 0], [0, 127.5, 255])
    already = np.array([[[0.0, 100.0, 255.0]]], dtype=np.float32)  # 0..255 floats kept
    np.testing.assert_allclose(load_image(already)[0, 0], [0, 100, 255])
    with pytest.raises(ValueError, match="values up to 300"):  # never clipped silently
        load_image(np.array([[[0.0, 100.0, 300.0]]], dtype=np.float32))
    batch_of_one = np.zeros((1, 5, 6, 3), dtype=np.float32)
    assert load_image(batch_of_one).shape == (5, 6, 3)


def test_load_with_size() -> None:
    cat = load_image("cat", size=64)
    _expect_rgb(cat, (64, 64))
    cat = load_image("cat", size=(40, 70))
    _expect_rgb(cat, (40, 70))
    flat = load_image(np.full((50, 50, 3), 80, np.uint8), size=(10, 20))
    np.testing.assert_allclose(flat, 80.0, atol=1e-3)


def test_resize_image_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="positive"):
        resize_image(np.zeros((4, 4, 3), np.float32), 0)


def test_missing_file_names_it(tmp_path) -> None:
    missing = tmp_path / "no_such_image.png"
    with pytest.raises(FileNotFoundError, match="no_such_image.png"):
        load_image(missing)
    with pytest.raises(FileNotFoundError, match="not_a_bundled_image") as info:
        load_image("not_a_bundled_image")
    assert "cat" in str(info.value), "the message lists the bundled images"


def test_corrupt_file_names_it(tmp_path) -> None:
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"this is not a PNG at all" * 10)
    with pytest.raises(ValueError, match="corrupt.png"):
        load_image(corrupt)
    truncated = tmp_path / "truncated.png"
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 7).save(good)
    truncated.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ValueError, match="truncated.png"):
        load_image(truncated)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4, 5), (4, 4, 2), (4, 4, 5), (2, 4, 4, 3)])
def test_bad_array_shapes(shape) -> None:
    with pytest.raises(ValueError, match="shape"):
        load_image(np.zeros(shape, np.float32))


def test_non_finite_arrays_are_rejected() -> None:
    bad = np.zeros((4, 4, 3), np.float32)
    bad[1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        load_image(bad)


@pytest.mark.parametrize("source", [42, 3.5, None, {"image": 1}, [[0, 1], [2, 3]]])
def test_wrong_types(source) -> None:
    with pytest.raises(TypeError, match="load_image"):
        load_image(source)


def test_load_image_follows_exif_orientation(tmp_path) -> None:
    """A portrait photo stored sideways with an EXIF 'rotate 90°' tag comes back upright."""
    stored = np.zeros((20, 40, 3), np.uint8)  # stored 40 wide, 20 tall
    stored[:, :10] = (255, 0, 0)  # red band on the stored left edge
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    path = tmp_path / "portrait.jpg"
    image.save(path, exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert loaded.shape == (40, 20, 3), "the EXIF rotation was ignored"
    assert loaded[:10, :, 0].mean() > 200 and loaded[-10:, :, 0].mean() < 60  # stored left edge is now the top
    with Image.open(path) as pil:
        assert load_image(pil).shape == (40, 20, 3)


# ------------------------------------------------------------------------- the shortcut lab
from helpers.data import (  # noqa: E402
    BACKGROUND_NAMES, LAB_INPUT_SIZE, TAG_COLOURS, TAG_CORNERS, TAG_SIZE, add_tags, make_background_task,
    make_tagged_shapes, tag_box, tag_side,
)


def _tag_colours(images: np.ndarray, tags: np.ndarray) -> np.ndarray:
    """The class index of each image's tag colour (asserting the tag is one solid colour of the palette)."""
    palette = np.asarray(TAG_COLOURS, np.float32)
    found = []
    for image, tag in zip(images, tags):
        pixels = image[tag]
        assert len(pixels) and (pixels == pixels[0]).all(), "the tag is one solid colour"
        matches = np.flatnonzero((palette == pixels[0]).all(axis=1))
        assert len(matches) == 1, f"tag colour {pixels[0]} is not in TAG_COLOURS"
        found.append(int(matches[0]))
    return np.array(found)


def test_tag_palette_and_size() -> None:
    assert len(TAG_COLOURS) == len(CLASS_NAMES) == 6
    palette = np.asarray(TAG_COLOURS, float)
    distances = np.linalg.norm(palette[:, None] - palette[None], axis=-1)
    assert distances[~np.eye(6, dtype=bool)].min() >= 255, "tag colours are clearly distinct"
    assert (palette.max(axis=1) - palette.min(axis=1) == 255).all(), "fully saturated, unlike greys and photos"
    assert LAB_INPUT_SIZE == 64 and TAG_SIZE == 8 and tag_side(64) == TAG_SIZE
    assert tag_side(128) == 16 and tag_side(16) == 2
    assert BACKGROUND_NAMES == ("plain", "gradient", "noise", "texture", "photo")


def test_tag_box_corners() -> None:
    boxes = [tag_box(corner, 64) for corner in TAG_CORNERS]
    assert boxes[0] == (slice(2, 10), slice(2, 10)) and boxes[3] == (slice(54, 62), slice(54, 62))
    assert tag_box(1, 64) == boxes[1] == (slice(2, 10), slice(54, 62))
    with pytest.raises(ValueError):
        tag_box("middle", 64)


def test_make_tagged_shapes_outputs() -> None:
    images, labels, masks, tags = make_tagged_shapes(40, seed=3)
    assert images.shape == (40, 64, 64, 3) and images.dtype == np.float32
    assert labels.shape == (40,) and labels.dtype == np.int64
    assert masks.shape == tags.shape == (40, 64, 64) and masks.dtype == tags.dtype == bool
    assert 0.0 <= images.min() and images.max() <= 255.0
    assert masks.reshape(40, -1).any(axis=1).all()


def test_tags_sit_in_a_corner_clear_of_the_shape() -> None:
    images, labels, masks, tags = make_tagged_shapes(120, seed=4)
    corners_used = set()
    for mask, tag in zip(masks, tags):
        boxes = [tag_box(c, 64) for c in range(4)]
        exact = [c for c, (rows, cols) in enumerate(boxes) if tag[rows, cols].all() and tag.sum() == TAG_SIZE ** 2]
        assert len(exact) == 1, "the tag is exactly one corner's TAG_SIZE × TAG_SIZE square"
        corners_used.add(exact[0])
        assert not (mask & tag).any(), "tag and shape masks are disjoint"
        assert not (_dilate(tag, 2) & mask).any(), "at least two pixels between the tag and the shape"
    assert corners_used == {0, 1, 2, 3}


def test_make_shapes_masks_are_the_shapes() -> None:
    """The shape masks of tagged images are as exact as make_shapes' own: they cover the painted shape."""
    images, _, masks, _ = make_tagged_shapes(30, seed=9, agreement=None)
    contrasts = [_mask_contrast(image, mask) for image, mask in zip(images, masks)]
    assert np.median(contrasts) > 40


@pytest.mark.parametrize("agreement", [1.0, 0.0])
def test_tag_colours_always_or_never_agree(agreement) -> None:
    images, labels, _, tags = make_tagged_shapes(150, seed=5, agreement=agreement)
    colours = _tag_colours(images, tags)
    if agreement == 1.0:
        np.testing.assert_array_equal(colours, labels)
    else:
        assert (colours != labels).all()
        assert len(set(colours.tolist())) == 6


@pytest.mark.parametrize("agreement", [0.1, 1 / 6, 0.5, 0.75, 0.9])
@pytest.mark.parametrize("n", [60, 240])
def test_agreement_share_is_honoured(agreement, n) -> None:
    images, labels, _, tags = make_tagged_shapes(n, size=24, seed=6, agreement=agreement)
    agree = _tag_colours(images, tags) == labels
    assert abs(agree.sum() - agreement * n) <= 2, f"{agree.sum()} agreeing tags of {n}, asked for {agreement:.3f}"


def test_random_colour_tags_carry_no_information() -> None:
    """agreement=1/6: the tag colour is uniform over the six for every class."""
    images, labels, _, tags = make_tagged_shapes(600, size=20, seed=7, agreement=1 / 6)
    table = np.zeros((6, 6))
    np.add.at(table, (labels, _tag_colours(images, tags)), 1)
    expected = table.sum(axis=1, keepdims=True) / 6
    chi2 = float(((table - expected) ** 2 / expected).sum())
    assert chi2 < 60, f"colour depends on label (chi2 {chi2:.0f} on 30 degrees of freedom)"


def test_only_the_tag_changes_with_agreement() -> None:
    agree = make_tagged_shapes(20, seed=8, agreement=1.0)
    clash = make_tagged_shapes(20, seed=8, agreement=0.0)
    none = make_tagged_shapes(20, seed=8, agreement=None)
    for other in (clash, none):
        np.testing.assert_array_equal(agree[1], other[1])
        np.testing.assert_array_equal(agree[2], other[2])
        changed = (agree[0] != other[0]).any(axis=-1)
        assert not (changed & ~agree[3]).any(), "pixels outside the tag are the same"
    np.testing.assert_array_equal(agree[3], clash[3])
    assert not none[3].any(), "no tag: the tag masks are all zero"
    assert (agree[0][agree[3]] != none[0][agree[3]]).any()


def test_tagged_shapes_deterministic_and_independent_of_n() -> None:
    few, many = make_tagged_shapes(3, seed=2, agreement=0.5), make_tagged_shapes(9, seed=2, agreement=0.5)
    for a, b in zip(few, many):
        np.testing.assert_array_equal(a, b[:3])


@pytest.mark.parametrize("bad", [{"agreement": 1.5}, {"agreement": -0.1}, {"agreement": True},
                                 {"background": "sky"}, {"size": 8}, {"n": -1}])
def test_make_tagged_shapes_rejects_bad_arguments(bad) -> None:
    with pytest.raises(ValueError):
        make_tagged_shapes(**{"n": 2, **bad})


def test_tagged_shapes_on_photos() -> None:
    images, _, masks, tags = make_tagged_shapes(6, seed=1, background="photo")
    assert not (masks & tags).any()
    background = images[~(masks | tags)].reshape(-1, 3)
    assert background.std(axis=0).mean() > 15, "photo backgrounds are not flat"


def test_add_tags_to_two_object_scenes() -> None:
    images, labels, masks = make_scenes(8, size=64, seed=2)
    tagged, tags = add_tags(images, masks, labels[:, 0], seed=1)
    assert tagged.shape == images.shape and tags.shape == (8, 64, 64)
    np.testing.assert_array_equal(_tag_colours(tagged, tags), labels[:, 0])
    assert not (tags[:, None] & masks).any()
    np.testing.assert_array_equal(tagged[~tags], images[~tags])
    with pytest.raises(ValueError):
        add_tags(images, masks, [9] * 8)
    with pytest.raises(ValueError):
        add_tags(images, masks, [0] * 3)


def test_make_background_task() -> None:
    images, labels, masks = make_background_task(60, seed=3)
    assert images.shape == (60, 64, 64, 3) and labels.dtype == np.int64 and masks.shape == (60, 64, 64)
    assert set(labels.tolist()) == set(range(len(BACKGROUND_NAMES)))
    assert masks.reshape(60, -1).any(axis=1).all()
    again = make_background_task(60, seed=3)
    for a, b in zip((images, labels, masks), again):
        np.testing.assert_array_equal(a, b)
    # the label is about the background: plain backgrounds vary far less than noise or photos
    spread = np.array([images[i][~_dilate(masks[i], 2)].std(axis=0).mean() for i in range(60)])
    plain = spread[labels == BACKGROUND_NAMES.index("plain")]
    busy = spread[np.isin(labels, [BACKGROUND_NAMES.index("noise"), BACKGROUND_NAMES.index("photo")])]
    assert np.median(plain) < np.median(busy)
