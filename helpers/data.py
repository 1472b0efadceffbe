"""The course's own data world: generated shapes with ground-truth masks, and bundled photos.

The chapter the course follows uses Kaggle's cats-vs-dogs photos, which cannot be fetched
where the course is built. Instead every notebook draws from a *shape world*: six classes of
shapes drawn on real photos, textures, noise, gradients or plain colours, each with a pixel
mask of the object. Masks are what make explanations measurable (does the heatmap fall on
the object?). Real photos that ship with scikit-image and matplotlib live in ``data/images``.

Taught in: ``01_intermediate_activations`` (images and ``load_image``),
``03_class_activation_maps`` (masks and two-object scenes), ``05_shortcut_lab`` (tagged
shapes, the background task).
"""

from __future__ import annotations

import functools
import io
import math
import pathlib
import sys
from typing import Sequence, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError

__all__ = [
    "CLASS_NAMES", "DATA_DIR", "IMAGES_DIR", "BACKGROUND_IMAGES", "TRAIN_SEED_OFFSET", "ImageRangeWarning",
    "PIXEL_RULE", "to_pixels", "to_rgb", "channels_first_hint", "user_stacklevel", "list_images", "load_image",
    "resize_image",
    "make_shapes", "make_scenes", "image_to_png_bytes",
    "LAB_INPUT_SIZE", "TAG_COLOURS", "TAG_SIZE", "TAG_CORNERS", "BACKGROUND_NAMES", "tag_side", "tag_box",
    "add_tags", "make_tagged_shapes", "make_background_task", "make_background_task_without_shapes",
]


CLASS_NAMES: tuple[str, ...] = ("circle", "ring", "square", "triangle", "star", "plus")
"""Class names of the shape world, in label order."""

_PACKAGED_DATA_DIR = pathlib.Path(__file__).resolve().parent / "_data"
DATA_DIR = (_PACKAGED_DATA_DIR if _PACKAGED_DATA_DIR.is_dir()
            else pathlib.Path(__file__).resolve().parent.parent / "data")
"""The photos and models: ``helpers/_data`` in an installed wheel, else ``data/`` of the checkout."""
IMAGES_DIR = DATA_DIR / "images"

BACKGROUND_IMAGES: tuple[str, ...] = (
    "astronaut", "coffee", "rocket", "grace_hopper", "camera", "brick", "grass", "gravel",
)
"""Bundled photos and textures that shapes are drawn on. The cat is deliberately left out,
so it stays a truly unseen photo for the notebooks."""

TRAIN_SEED_OFFSET = 10_000
"""Training draws images with seeds from this offset on; held-out sets use smaller seeds."""

_SUPERSAMPLE = 4
_TEXTURES: tuple[str, ...] = ("brick", "grass", "gravel")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")

ImageSource = Union[str, pathlib.Path, Image.Image, np.ndarray]


# --------------------------------------------------------------------------- images
def list_images() -> list[str]:
    """Names of the photos bundled in ``data/images`` (usable with :func:`load_image`).

    Taught in: ``01_intermediate_activations``.
    """
    return sorted(p.stem for p in IMAGES_DIR.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)


def _bundled_path(name: str) -> pathlib.Path | None:
    for suffix in _IMAGE_SUFFIXES:
        path = IMAGES_DIR / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def _pil_to_rgb_array(img: Image.Image) -> np.ndarray:
    """Any PIL mode -> float32 (H, W, 3) in 0..255 (transparency composited on white)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N"):  # the pixel rule for uint16 (0..255 values stay)
        arr = to_pixels(np.asarray(img).astype(np.uint16))
        return np.repeat(arr[..., None], 3, axis=-1)
    if img.mode == "I":  # 32-bit integer images: usually 16-bit PNGs decoded by PIL
        arr = np.asarray(img, dtype=np.float64)
        scale = 257.0 if arr.max(initial=0) > 255 else 1.0
        return np.repeat((arr / scale).astype(np.float32)[..., None], 3, axis=-1)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        return _array_to_rgb(arr)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.float32)


class ImageRangeWarning(UserWarning):
    """An image's values were converted to 0..255 by the pixel rule (see :func:`to_pixels`)."""


PIXEL_RULE = """Every helper that takes images reads pixel values the same way: RGB in 0..255, uint8 or
float. A float image whose values all lie in 0..1 is read as a 0..1 image and scaled by 255, and a
bool image as 0/255 (both with an ImageRangeWarning); integer images with values above 255 are
16-bit and scaled from 0..65535 (a uint16 image holding only 0..255 values is read as 0..255,
with a warning). The range is decided for each image of a batch on its own. A model trained on
0..1 inputs is explained with ``input_range=(0, 1)``: its images may then come in 0..1.
Negative values (e.g. -1..1 preprocessed arrays), values above 255 in a float image, and NaN or
infinite values are errors that say how to convert."""

_TOLERANCE = 0.5  # float images may overshoot 0..255 by this much (resampling); clipped


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside ``helpers``.

    Call it from the function that warns, and pass the result to ``warnings.warn``: the warning
    then names the user's own line (a notebook cell), never a file inside the installed package.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


_PACKAGE_DIR = str(pathlib.Path(__file__).resolve().parent)


def to_pixels(array, what: str = "image", batched: bool = False, unit_inputs: bool = False) -> np.ndarray:
    """Apply the course's pixel rule (:data:`PIXEL_RULE`): any array -> float32 values in 0..255.

    The range of an image is decided for each image on its own: in a batch (``batched=True``),
    a dark 0..255 image next to 0..1 images is never rescaled with them, and the warning names
    the images that were.

    Args:
        array: one image or a batch, any numeric or bool dtype; the shape is kept.
        what: how to name the array in messages.
        batched: the first axis holds separate images (decide the range of each one).
        unit_inputs: the images go to a model that takes 0..1 inputs (``input_range=(0, 1)``):
            float images in 0..1 are read as 0..1 without a warning (they are what it expects).

    Returns:
        float32 array of the same shape with values in 0..255.

    Raises:
        ValueError: NaN or infinite values (their count is given), negative values, or values
            above 255 that are not a 16-bit integer image; each message says how to convert.

    Warns:
        ImageRangeWarning: a 0..1 float, bool or 16-bit integer image was rescaled, or a
            ``uint16`` image holding only 0..255 values was read as 0..255.

    Taught in: ``01_intermediate_activations``.
    """
    import warnings

    arr = np.asarray(array)
    if arr.dtype == bool:
        warnings.warn(f"The {what} is boolean: read as 0 (False) and 255 (True). Pass uint8 or float values in "
                      "0..255 to silence this.", ImageRangeWarning, stacklevel=user_stacklevel())
        return arr.astype(np.float32) * 255.0
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"The {what} has dtype {arr.dtype}; pixel values must be numbers (uint8 or float in 0..255).")
    values = arr.astype(np.float32)
    if values.size == 0:
        return values
    low, high = float(values.min()), float(values.max())  # NaN or ±inf anywhere shows in one of them
    bad = 0 if math.isfinite(low) and math.isfinite(high) else int(values.size - np.count_nonzero(np.isfinite(values)))
    if bad:
        raise ValueError(
            f"The {what} has {bad} NaN or infinite value(s) out of {values.size}: an explanation of it would mean "
            "nothing. Fix the pixels first, e.g. np.nan_to_num(image, nan=0.0), or load the file again."
        )
    if low < -_TOLERANCE:
        hint = (" It looks like a -1..1 (preprocessed) image: convert it with (image + 1) * 127.5."
                if low >= -1.0 - 1e-3 and high <= 1.0 + 1e-3 else
                " It looks preprocessed (e.g. mean-subtracted): pass the original 0..255 image instead.")
        raise ValueError(f"The {what} has negative values (from {low:.3g} to {high:.3g}); pixels are 0..255.{hint}")
    integer = np.issubdtype(arr.dtype, np.integer)
    if integer and high > 65535:
        raise ValueError(f"The {what} has integer values up to {high:.0f}, beyond 16 bits; scale it to 0..255.")
    if not integer and high > 255.0 + _TOLERANCE:
        raise ValueError(f"The {what} has values up to {high:.4g}; pixels are 0..255. Scale it to 0..255 first.")
    if batched and values.ndim >= 1 and len(values) > 1:
        peaks = values.reshape(len(values), -1).max(axis=1)
    else:  # one image: its peak is the array's
        peaks = np.array([high], np.float32)
    sixteen = integer & (peaks > 255)  # 16-bit images
    unit = ~np.bool_(integer) & (peaks > 0.0) & (peaks <= 1.0)  # 0..1 float images
    scale = np.where(sixteen, 1.0 / 257.0, np.where(unit, 255.0, 1.0)).astype(np.float32)
    def names(mask: np.ndarray) -> str:
        return f" {what}s {np.flatnonzero(mask).tolist()[:10]}" if batched else f" {what}"

    if sixteen.any() and arr.dtype != np.uint16:  # a uint16 array above 255 is plainly 16-bit
        warnings.warn(f"The{names(sixteen)} hold integer values above 255 (up to {peaks[sixteen].max():.0f}): read "
                      "as 16-bit and scaled from 0..65535 to 0..255.", ImageRangeWarning, stacklevel=user_stacklevel())
    if arr.dtype == np.uint16 and (~sixteen).any():
        warnings.warn(f"The{names(~sixteen)} {'are' if batched else 'is'} uint16 with values only in 0..255: read "
                      "as 0..255 pixels. If it is a very dark 16-bit image, pass image / 257 instead.",
                      ImageRangeWarning, stacklevel=user_stacklevel())
    if unit.any() and not unit_inputs:
        warnings.warn(
            f"The{names(unit)}'s values all lie in 0..1 (max {peaks[unit].max():.3g}): read as a 0..1 image and "
            "scaled by 255. Pass images in 0..255 (e.g. image * 255) to silence this; a model trained on 0..1 "
            "inputs is explained with input_range=(0, 1).", ImageRangeWarning, stacklevel=user_stacklevel())
    if np.all(scale == 1.0):  # 0..255 already (the common case): no copy beyond the float32 one
        return np.clip(values, 0.0, 255.0, out=values) if low < 0.0 or high > 255.0 else values
    if batched and values.ndim >= 1:
        values = values * scale.reshape((-1,) + (1,) * (values.ndim - 1))
    else:
        values = values * scale[0]
    return np.clip(values, 0.0, 255.0)


def to_rgb(arr: np.ndarray, what: str = "image") -> np.ndarray:
    """``(..., H, W)``, ``(..., H, W, 1)``, ``(..., H, W, 3)`` or ``(..., H, W, 4)`` in 0..255 -> ``(..., H, W, 3)``.

    Greyscale is repeated over three channels; RGBA is composited on white. ``batched`` arrays
    must already carry a channel axis.

    Raises:
        ValueError: another number of channels, with how to convert.

    Taught in: ``01_intermediate_activations``.
    """
    channels = arr.shape[-1]
    if channels == 3:
        return arr
    if channels == 1:
        return np.repeat(arr, 3, axis=-1)
    if channels == 4:
        alpha = arr[..., 3:4] / 255.0
        return arr[..., :3] * alpha + 255.0 * (1.0 - alpha)
    raise ValueError(
        f"The {what} has {channels} channels (shape {arr.shape}); images are RGB (3), greyscale (1) or RGBA (4). "
        f"Keep three channels, e.g. image[..., :3], or average them for grey."
    )


def channels_first_hint(shape: tuple) -> str:
    """A hint when a shape looks channels-first (``(3, H, W)`` or ``(N, 3, H, W)``), else ``""``."""
    if len(shape) >= 3 and shape[-3] in (1, 3, 4) and shape[-1] not in (1, 3, 4):
        order = "(1, 2, 0)" if len(shape) == 3 else "(0, 2, 3, 1)"
        return (f" It looks channels-first {shape}: the helpers take channels last; transpose it with "
                f"np.transpose(image, {order}).")
    return ""


def _array_to_rgb(arr: np.ndarray) -> np.ndarray:
    """An array image of any common layout and dtype -> float32 (H, W, 3) in 0..255."""
    arr = np.asarray(arr)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    hint = channels_first_hint(arr.shape)
    if arr.ndim not in (2, 3) or hint:
        raise ValueError(
            f"load_image expects one image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); "
            f"got an array of shape {arr.shape}.{hint}"
        )
    arr = to_pixels(arr)
    if arr.ndim == 2:
        arr = arr[..., None]
    return to_rgb(arr).astype(np.float32)


def _check_size(size) -> tuple[int, int]:
    """``size`` as ``(height, width)``; a clear error for anything else."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        height = width = int(size)
    elif (isinstance(size, (tuple, list)) and len(size) == 2
          and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size)):
        height, width = int(size[0]), int(size[1])
    else:
        raise ValueError(f"size must be an int (a square side) or (height, width) ints, e.g. 150 or (150, 200); "
                         f"got {size!r}.")
    if height <= 0 or width <= 0:
        raise ValueError(f"size must be positive; got {size!r}.")
    return height, width


def load_image(source: ImageSource, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Load an image as float32 ``(H, W, 3)`` with values in 0..255, as the models expect.

    Args:
        source: a file path, the name of a bundled image (``"cat"``; see :func:`list_images`),
            a ``PIL.Image.Image`` or a numpy array. Greyscale, RGBA (composited on white),
            palette, 16-bit and floating-point images are converted.
        size: optional output size, an int for a square or ``(height, width)``; resized
            with bilinear interpolation and antialiasing.

    Returns:
        float32 array of shape ``(H, W, 3)`` in 0..255.

    Raises:
        FileNotFoundError: the path does not exist and is not a bundled image name.
        ValueError: the file is not a readable image, or the array has an unusable shape.

    Taught in: ``01_intermediate_activations``.
    """
    if size is not None:
        _check_size(size)
    if isinstance(source, (str, pathlib.Path)):
        path = pathlib.Path(source).expanduser()
        if not path.is_file():
            bundled = _bundled_path(str(source)) if path.suffix == "" and len(path.parts) == 1 else None
            if bundled is None:
                raise FileNotFoundError(
                    f"No image file at {str(source)!r}, and it is not a bundled image name. "
                    f"Bundled images: {', '.join(list_images())}."
                )
            path = bundled
        try:
            with Image.open(path) as img:
                img.load()
                array = _pil_to_rgb_array(ImageOps.exif_transpose(img))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise ValueError(f"Could not read {str(path)!r} as an image: {err}") from err
    elif isinstance(source, Image.Image):
        array = _pil_to_rgb_array(ImageOps.exif_transpose(source))
    elif isinstance(source, np.ndarray) or hasattr(source, "__array__"):
        array = _array_to_rgb(np.asarray(source))
    else:
        raise TypeError(
            "load_image takes a path, a bundled image name, a PIL image or an array; "
            f"got {type(source).__name__}."
        )
    if size is not None:
        array = resize_image(array, size)
    return array


def resize_image(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize a float ``(H, W, C)`` image to ``size`` (int or ``(height, width)``), bilinear.

    Taught in: ``01_intermediate_activations``.
    """
    height, width = _check_size(size)
    from helpers._backend import tf

    out = tf.image.resize(np.asarray(image, np.float32), (int(height), int(width)), "bilinear", antialias=True)
    return np.clip(out.numpy(), 0.0, 255.0).astype(np.float32)


@functools.lru_cache(maxsize=None)
def _background_library() -> tuple[np.ndarray, ...]:
    """The bundled photos and textures, decoded once, as uint8 RGB arrays."""
    images = []
    for name in BACKGROUND_IMAGES:
        path = _bundled_path(name)
        if path is None:  # pragma: no cover - data folder damaged
            raise FileNotFoundError(f"Bundled background {name!r} is missing from {IMAGES_DIR}.")
        images.append(load_image(path).astype(np.uint8))
    return tuple(images)


# --------------------------------------------------------------------------- shapes
def _unit_outline(label: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Polygons (unit circumradius, centred at 0) of one shape; a second polygon is a hole."""
    name = CLASS_NAMES[label]
    if name in ("circle", "ring"):
        t = np.linspace(0.0, 2 * np.pi, 120, endpoint=False)
        aspect = rng.uniform(0.9, 1.0)
        outer = np.stack([np.cos(t), aspect * np.sin(t)], axis=1)
        if name == "circle":
            return [outer]
        return [outer, outer * rng.uniform(0.42, 0.8)]
    if name == "square":
        angles = np.pi / 4 + np.arange(4) * np.pi / 2
        pts = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        pts[:, 1] *= rng.uniform(0.92, 1.0)
        return [pts]
    if name == "triangle":
        angles = np.pi / 2 + np.arange(3) * 2 * np.pi / 3 + rng.uniform(-0.15, 0.15, 3)
        radii = rng.uniform(0.85, 1.0, 3)
        return [np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)]
    if name == "star":
        inner = rng.uniform(0.36, 0.55)
        angles = np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, 1.0, inner)
        return [np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)]
    if name == "plus":
        w = rng.uniform(0.17, 0.34)
        pts = np.array([(w, 1), (w, w), (1, w), (1, -w), (w, -w), (w, -1),
                        (-w, -1), (-w, -w), (-1, -w), (-1, w), (-w, w), (-w, 1)], dtype=float)
        return [pts / np.hypot(1.0, w)]
    raise ValueError(f"Unknown label {label}; labels run from 0 to {len(CLASS_NAMES) - 1}.")


def _render_alpha(polygons: list[np.ndarray], center: tuple[float, float], radius: float,
                  angle: float, size: int, antialias: bool) -> np.ndarray:
    """Coverage in 0..1 of the shape on a ``size``×``size`` grid (supersampled if antialiased)."""
    factor = _SUPERSAMPLE if antialias else 1
    canvas = Image.new("L", (size * factor, size * factor), 0)
    draw = ImageDraw.Draw(canvas)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    for i, poly in enumerate(polygons):
        pts = (poly @ rotation.T) * radius + np.asarray(center)
        pts = pts * factor
        draw.polygon([tuple(p) for p in pts], fill=255 if i == 0 else 0)
    if factor > 1:
        canvas = canvas.resize((size, size), Image.Resampling.BOX)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def _random_colour(rng: np.random.Generator, avoid: np.ndarray | None = None,
                   min_distance: float = 110.0) -> np.ndarray:
    """A random RGB colour, at least ``min_distance`` away from ``avoid`` when possible."""
    best, best_distance = None, -1.0
    for _ in range(30):
        colour = rng.uniform(0, 255, 3)
        if rng.random() < 0.25:  # some greys, blacks and whites too
            colour = np.full(3, rng.choice([0.0, 255.0, rng.uniform(0, 255)]))
        if avoid is None:
            return colour
        distance = float(np.linalg.norm(colour - avoid))
        if distance >= min_distance:
            return colour
        if distance > best_distance:
            best, best_distance = colour, distance
    return best


def _background(rng: np.random.Generator, size: int, easy: bool = False, kind: str | None = None) -> np.ndarray:
    """One background: a photo or texture crop, a gradient, noise or a plain colour.

    ``kind`` forces one of :data:`BACKGROUND_NAMES`; ``None`` (the shape world's default) draws
    the kind at random, photos and textures together as ``"photo"``.
    """
    library = None
    if kind is None:
        kind = rng.choice(["photo", "gradient", "noise", "plain"],
                          p=[0.0, 0.5, 0.0, 0.5] if easy else [0.45, 0.2, 0.15, 0.2])
    elif kind in ("photo", "texture"):
        names = _TEXTURES if kind == "texture" else tuple(n for n in BACKGROUND_IMAGES if n not in _TEXTURES)
        library = tuple(image for name, image in zip(BACKGROUND_IMAGES, _background_library()) if name in names)
        kind = "photo"
    if kind == "photo":
        library = library or _background_library()
        src = library[rng.integers(len(library))]
        h, w = src.shape[:2]
        side = int(rng.uniform(0.25, 1.0) * min(h, w))
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = Image.fromarray(src[y:y + side, x:x + side]).resize((size, size), Image.Resampling.BILINEAR)
        bg = np.asarray(crop, dtype=np.float32)
        if rng.random() < 0.5:
            bg = bg[:, ::-1]
        if rng.random() < 0.4:  # tint, so greyscale textures come in colours too
            bg = bg * rng.uniform(0.5, 1.2, 3)
        return np.clip(bg, 0, 255)
    if kind == "gradient":
        c0, c1 = _random_colour(rng), _random_colour(rng)
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
        t = (np.cos(angle) * xx + np.sin(angle) * yy)
        t = (t - t.min()) / (t.max() - t.min() + 1e-8)
        return c0 * (1 - t[..., None]) + c1 * t[..., None]
    if kind == "noise":
        base = _random_colour(rng)
        scale = int(rng.choice([1, 4, 10]))
        small = rng.normal(0, rng.uniform(20, 60), (size // scale + 1, size // scale + 1, 3))
        noise = np.asarray(Image.fromarray(small.astype(np.float32)[..., 0]).resize((size, size)))
        noise = np.stack([noise] * 3, -1) if rng.random() < 0.5 else np.stack(
            [np.asarray(Image.fromarray(small[..., c].astype(np.float32)).resize((size, size))) for c in range(3)], -1)
        return np.clip(base + noise, 0, 255)
    return np.broadcast_to(_random_colour(rng), (size, size, 3)).astype(np.float32)


def _fill(rng: np.random.Generator, size: int, colour: np.ndarray, easy: bool = False) -> np.ndarray:
    """The object's paint: solid, striped, checked, speckled or a tinted texture."""
    kind = "solid" if easy else rng.choice(["solid", "stripes", "checks", "speckle", "texture"],
                                           p=[0.5, 0.15, 0.1, 0.1, 0.15])
    if kind == "solid":
        return np.broadcast_to(colour, (size, size, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == "stripes":
        angle, period = rng.uniform(0, np.pi), rng.uniform(4, 14)
        pattern = 0.5 + 0.5 * np.sin(2 * np.pi * (np.cos(angle) * xx + np.sin(angle) * yy) / period)
    elif kind == "checks":
        period = rng.uniform(5, 15)
        pattern = ((np.floor(xx / period) + np.floor(yy / period)) % 2).astype(np.float32)
    elif kind == "speckle":
        pattern = rng.random((size, size)).astype(np.float32)
    else:
        library = _background_library()
        src = library[rng.integers(len(library))].mean(axis=-1)
        y, x = rng.integers(0, src.shape[0] - size + 1), rng.integers(0, src.shape[1] - size + 1)
        patch = src[y:y + size, x:x + size]
        pattern = (patch - patch.min()) / (patch.max() - patch.min() + 1e-8)
    strength = rng.uniform(0.25, 0.6)  # keep the fill's mean colour near the chosen colour
    shade = 1.0 - strength + 2 * strength * pattern
    return np.clip(colour * shade[..., None], 0, 255)


def _finish(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera-like degradations: optional blur and pixel noise."""
    if rng.random() < 0.2:
        pil = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
        image = np.asarray(pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5))), dtype=np.float32)
    if rng.random() < 0.6:
        image = image + rng.normal(0, rng.uniform(2, 18), image.shape)
    return np.clip(image, 0, 255).astype(np.float32)


def _place(rng: np.random.Generator, size: int, radius: float,
           others: Sequence[tuple[np.ndarray, float]] = ()) -> np.ndarray | None:
    """A centre that keeps the shape inside the image and clear of ``others``."""
    for _ in range(100):
        center = rng.uniform(radius + 1, size - radius - 1, 2)
        if all(np.linalg.norm(center - c) > radius + r + 2 for c, r in others):
            return center
    return None


def _draw_objects(rng: np.random.Generator, size: int, labels: Sequence[int],
                  radius_range: tuple[float, float], easy: bool = False,
                  background: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``labels`` (one object each, no overlap) on one background; image and masks.

    ``easy`` images (a training curriculum) have plain or gradient backgrounds, solid fills,
    large shapes and no degradations. ``background`` forces a kind of background (one of
    :data:`BACKGROUND_NAMES`).
    """
    image = _background(rng, size, easy, background)
    if easy:
        radius_range = (max(radius_range[0], 0.45), radius_range[1])
    masks = np.zeros((len(labels), size, size), dtype=bool)
    antialias = rng.random() < 0.8
    placed: list[tuple[np.ndarray, float]] = []
    for k, label in enumerate(labels):
        radius = rng.uniform(*radius_range) * size / 2
        center = _place(rng, size, radius, placed)
        while center is None:  # shrink until it fits beside the others
            radius *= 0.85
            center = _place(rng, size, radius, placed)
        placed.append((center, radius))
        alpha = _render_alpha(_unit_outline(int(label), rng), tuple(center), radius,
                              rng.uniform(0, 2 * np.pi), size, antialias)
        inside = alpha >= 0.5
        under = image[inside].mean(axis=0) if inside.any() else image.mean(axis=(0, 1))
        paint = _fill(rng, size, _random_colour(rng, avoid=under), easy)
        image = image * (1 - alpha[..., None]) + paint * alpha[..., None]
        masks[k] = inside
    return (image.astype(np.float32) if easy else _finish(image, rng)), masks


def make_shapes(n: int, size: int = 150, seed: int = 0, *,
                easy_fraction: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate ``n`` images of one shape each, with labels and ground-truth masks.

    Each image is drawn from its own generator seeded with ``(seed, index)``, so image ``i``
    of a seed is the same whatever ``n`` is. Training uses seeds from
    :data:`TRAIN_SEED_OFFSET` on; small seeds (the default 0) give held-out images.

    Args:
        n: number of images (>= 0).
        size: side of the square images in pixels (>= 16).
        seed: seed of the set.
        easy_fraction: share of images drawn the easy way (plain or gradient background,
            solid fill, large shape, no noise); training uses it as a curriculum. Default 0.

    Returns:
        ``(images, labels, masks)``: float32 ``(n, size, size, 3)`` in 0..255, int64 ``(n,)``
        indices into :data:`CLASS_NAMES`, and bool ``(n, size, size)`` masks of the object.

    Taught in: ``01_intermediate_activations``.
    """
    _check_counts(n, size)
    if not 0.0 <= easy_fraction <= 1.0:
        raise ValueError(f"easy_fraction must lie in [0, 1]; got {easy_fraction!r}.")
    images = np.empty((n, size, size, 3), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    masks = np.empty((n, size, size), dtype=bool)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        labels[i] = rng.integers(len(CLASS_NAMES))
        easy = bool(easy_fraction) and rng.random() < easy_fraction
        image, object_masks = _draw_objects(rng, size, [labels[i]], (0.25, 0.67), easy)
        images[i], masks[i] = image, object_masks[0]
    return images, labels, masks


def make_scenes(n: int, size: int = 150, seed: int = 0,
                classes: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate ``n`` scenes with two objects of different classes, side by side.

    Args:
        n: number of scenes.
        size: side of the square images in pixels.
        seed: seed of the set (scene ``i`` uses the generator ``(seed, 1, i)``).
        classes: optional fixed pair of labels for every scene; random pairs otherwise.

    Returns:
        ``(images, labels, masks)``: float32 ``(n, size, size, 3)``, int64 ``(n, 2)`` and
        bool ``(n, 2, size, size)`` with one mask per object.

    Taught in: ``03_class_activation_maps``.
    """
    _check_counts(n, size)
    if classes is not None and (len(classes) != 2 or classes[0] == classes[1]
                                or not all(0 <= c < len(CLASS_NAMES) for c in classes)):
        raise ValueError(f"classes must be two different labels in 0..{len(CLASS_NAMES) - 1}; got {classes!r}.")
    images = np.empty((n, size, size, 3), dtype=np.float32)
    labels = np.empty((n, 2), dtype=np.int64)
    masks = np.empty((n, 2, size, size), dtype=bool)
    for i in range(n):
        rng = np.random.default_rng([seed, 1, i])
        pair = np.array(classes) if classes is not None else rng.choice(len(CLASS_NAMES), 2, replace=False)
        images[i], masks[i] = _draw_objects(rng, size, list(pair), (0.25, 0.42))
        labels[i] = pair
    return images, labels, masks


# --------------------------------------------------------------------------- the shortcut lab
LAB_INPUT_SIZE = 64
"""Input side (pixels) of the lab's three models (``shortcut_convnet``, ``debiased_convnet``,
``background_convnet``): small, so that each trains in minutes on two CPU cores."""

TAG_COLOURS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255),
)
"""One tag colour per class, in label order (circle red, ring green, square blue, triangle
yellow, star magenta, plus cyan): fully saturated primaries and secondaries, at least 255 apart
from each other in RGB, and far from the greys, browns and pastels of photos and textures."""

TAG_SIZE = 8
"""Side of the tag in pixels at the lab models' input size :data:`LAB_INPUT_SIZE` (64 px), i.e.
one eighth of the image side: exactly one cell of the models' last 8×8 feature map. At other
sizes the tag keeps that proportion (:func:`tag_side`)."""

TAG_CORNERS: tuple[str, ...] = ("top-left", "top-right", "bottom-left", "bottom-right")
"""The four places a tag can sit, ``TAG_SIZE // 4`` pixels (at 64 px) in from both edges."""

BACKGROUND_NAMES: tuple[str, ...] = ("plain", "gradient", "noise", "texture", "photo")
"""The kinds of background the shape world draws, the labels of :func:`make_background_task`:
a plain colour, a two-colour gradient, coloured noise, a crop of a bundled texture (brick,
grass, gravel) or of a bundled photo (astronaut, coffee, rocket, Grace Hopper, camera man)."""

_GOLDEN = 0.6180339887498949


def tag_side(size: int) -> int:
    """The tag's side in pixels for images of ``size`` pixels (:data:`TAG_SIZE` at 64 px).

    Taught in: ``05_shortcut_lab``.
    """
    return max(2, int(round(TAG_SIZE * size / LAB_INPUT_SIZE)))


def tag_box(corner: str | int, size: int) -> tuple[slice, slice]:
    """Rows and columns of the tag in ``corner`` (a name in :data:`TAG_CORNERS` or its index).

    Taught in: ``05_shortcut_lab``.
    """
    index = TAG_CORNERS.index(corner) if isinstance(corner, str) else int(corner)
    if not 0 <= index < len(TAG_CORNERS):
        raise ValueError(f"corner must be one of {TAG_CORNERS} or 0..3; got {corner!r}.")
    side = tag_side(size)
    margin = max(1, side // 4)
    top = margin if index < 2 else size - margin - side
    left = margin if index % 2 == 0 else size - margin - side
    return slice(top, top + side), slice(left, left + side)


def _free_corners(occupied: np.ndarray) -> list[int]:
    """Corners whose tag keeps at least two pixels away from every ``occupied`` pixel."""
    size = occupied.shape[-1]
    gap = 2
    free = []
    for index in range(len(TAG_CORNERS)):
        rows, cols = tag_box(index, size)
        near = occupied[max(0, rows.start - gap):rows.stop + gap, max(0, cols.start - gap):cols.stop + gap]
        if not near.any():
            free.append(index)
    return free


def _stamp(image: np.ndarray, occupied: np.ndarray, colour_index: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """Paint a solid tag of ``TAG_COLOURS[colour_index]`` in a random free corner; image, mask, corner."""
    free = _free_corners(occupied)
    if not free:
        raise ValueError("Every corner is taken by an object: no room for a tag.")
    corner = int(free[rng.integers(len(free))])
    rows, cols = tag_box(corner, image.shape[0])
    tag = np.zeros(image.shape[:2], dtype=bool)
    tag[rows, cols] = True
    out = image.copy()
    if colour_index >= 0:
        out[tag] = TAG_COLOURS[colour_index]
    else:  # no tag: only the corner was drawn, so the image stays the same as with a tag elsewhere
        tag[:] = False
    return out, tag, corner


def add_tags(images: np.ndarray, masks: np.ndarray, colours: Sequence[int],
             seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Paint one solid tag per image, in a random corner clear of the objects' masks.

    Lets the notebook tag any images, for example two-object scenes from :func:`make_scenes`.

    Args:
        images: ``(N, H, W, 3)`` images in 0..255 (square).
        masks: ``(N, H, W)`` or ``(N, K, H, W)`` bool masks of the objects the tag must not touch.
        colours: one class index per image: the tag gets ``TAG_COLOURS[colour]``.
        seed: seed of the corner choice (image ``i`` uses the generator ``(seed, 4, i)``).

    Returns:
        ``(tagged_images, tag_masks)``: float32 ``(N, H, W, 3)`` and bool ``(N, H, W)``.

    Raises:
        ValueError: mismatched lengths, a colour outside 0..5, or no free corner in an image.

    Taught in: ``05_shortcut_lab``.
    """
    images = np.asarray(images, dtype=np.float32)
    masks = np.asarray(masks, dtype=bool)
    colours = [int(c) for c in colours]
    if images.ndim != 4 or images.shape[1] != images.shape[2]:
        raise ValueError(f"images must be (N, S, S, 3) square images; got {images.shape}.")
    if masks.ndim == 4:
        masks = masks.any(axis=1)
    if masks.shape != images.shape[:3] or len(colours) != len(images):
        raise ValueError(f"Need one mask and one colour per image: {len(images)} images, "
                         f"masks {masks.shape}, {len(colours)} colours.")
    if any(not 0 <= c < len(TAG_COLOURS) for c in colours):
        raise ValueError(f"Tag colours are class indices 0..{len(TAG_COLOURS) - 1}; got {colours}.")
    out = np.empty_like(images)
    tags = np.zeros(masks.shape, dtype=bool)
    for i, colour in enumerate(colours):
        out[i], tags[i], _ = _stamp(images[i], masks[i], colour, np.random.default_rng([seed, 4, i]))
    return out, tags


def _agrees(seed: int, n: int, agreement: float) -> np.ndarray:
    """Which of images 0..n-1 get their own class's colour: a golden-ratio sequence, so the share
    among the first ``n`` images is ``agreement`` within about two images, for any ``n``."""
    phase = np.random.default_rng([seed, 5]).random()
    return np.mod(phase + _GOLDEN * np.arange(n), 1.0) < agreement


def make_tagged_shapes(n: int, size: int = LAB_INPUT_SIZE, seed: int = 0, agreement: float | None = 1.0, *,
                       background: str | None = None, easy_fraction: float = 0.0
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shape-world images with a small solid square tag in a random corner: a built-in shortcut.

    The tag (side :func:`tag_side`, :data:`TAG_SIZE` at 64 px) has one of :data:`TAG_COLOURS`
    and never touches the shape: it sits in a corner at least two pixels away from the shape's
    mask. With ``agreement=1.0`` every tag has its label's colour, so the colour alone gives the
    answer; with ``0.0`` never (always another class's colour); in between, that share of the
    images (within about two images, whatever ``n``). With ``agreement=1/6`` the colour is
    uniform over all six and independent of the label: the tag carries no information.

    Image ``i`` of a seed is the same picture for every ``agreement`` (shape, background,
    corner); only the tag's colour changes, or the tag is left out (``agreement=None``).

    Args:
        n: number of images.
        size: side in pixels; default the lab models' :data:`LAB_INPUT_SIZE` (64).
        seed: seed of the set (image ``i`` uses the generator ``(seed, 2, i)``).
        agreement: share of tags in their label's colour, in [0, 1], or ``None`` for no tag.
        background: force one kind of background (one of :data:`BACKGROUND_NAMES`).
        easy_fraction: share of easy images (a training curriculum, as in :func:`make_shapes`).

    Returns:
        ``(images, labels, masks, tag_masks)``: float32 ``(n, size, size, 3)`` in 0..255, int64
        ``(n,)``, bool ``(n, size, size)`` masks of the shape as in :func:`make_shapes`, and bool
        ``(n, size, size)`` masks of the tag (all zero without a tag); the two never overlap.

    Taught in: ``05_shortcut_lab``.
    """
    _check_counts(n, size)
    if agreement is not None and (isinstance(agreement, bool) or not 0.0 <= float(agreement) <= 1.0):
        raise ValueError(f"agreement must lie in [0, 1] (or be None for no tag); got {agreement!r}.")
    if background is not None and background not in BACKGROUND_NAMES:
        raise ValueError(f"background must be one of {BACKGROUND_NAMES} or None; got {background!r}.")
    if not 0.0 <= easy_fraction <= 1.0:
        raise ValueError(f"easy_fraction must lie in [0, 1]; got {easy_fraction!r}.")
    agrees = _agrees(seed, n, 0.0 if agreement is None else float(agreement))
    images = np.empty((n, size, size, 3), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    masks = np.empty((n, size, size), dtype=bool)
    tags = np.empty((n, size, size), dtype=bool)
    for i in range(n):
        rng = np.random.default_rng([seed, 2, i])
        labels[i] = rng.integers(len(CLASS_NAMES))
        easy = bool(easy_fraction) and rng.random() < easy_fraction
        other = (labels[i] + 1 + rng.integers(len(CLASS_NAMES) - 1)) % len(CLASS_NAMES)
        image, object_masks = _draw_objects(rng, size, [labels[i]], (0.25, 0.67), easy, background)
        colour = -1 if agreement is None else int(labels[i] if agrees[i] else other)
        images[i], tags[i], _ = _stamp(image, object_masks[0], colour, rng)
        masks[i] = object_masks[0]
    return images, labels, masks, tags


def make_background_task(n: int, size: int = LAB_INPUT_SIZE,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ordinary shape-world images labelled by their kind of background, not by their shape.

    The same kind of pixels as :func:`make_shapes` (one shape on a background), the opposite
    truth: the evidence for the label is everywhere except on the shape. Background kinds are
    drawn uniformly from :data:`BACKGROUND_NAMES`, shapes uniformly from :data:`CLASS_NAMES`.

    Args:
        n: number of images.
        size: side in pixels; default :data:`LAB_INPUT_SIZE` (64).
        seed: seed of the set (image ``i`` uses the generator ``(seed, 3, i)``).

    Returns:
        ``(images, background_labels, masks)``: float32 ``(n, size, size, 3)`` in 0..255, int64
        ``(n,)`` indices into :data:`BACKGROUND_NAMES`, bool ``(n, size, size)`` shape masks.

    Taught in: ``05_shortcut_lab``.
    """
    _check_counts(n, size)
    images = np.empty((n, size, size, 3), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    masks = np.empty((n, size, size), dtype=bool)
    for i in range(n):
        rng = np.random.default_rng([seed, 3, i])
        labels[i] = rng.integers(len(BACKGROUND_NAMES))
        shape = int(rng.integers(len(CLASS_NAMES)))
        image, object_masks = _draw_objects(rng, size, [shape], (0.25, 0.67), False, BACKGROUND_NAMES[labels[i]])
        images[i], masks[i] = image, object_masks[0]
    return images, labels, masks


def make_background_task_without_shapes(n: int, size: int = LAB_INPUT_SIZE,
                                        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The backgrounds of :func:`make_background_task` drawn again, without their shapes.

    Image ``i`` has the same background pixels as image ``i`` of ``make_background_task(n, size,
    seed)`` (its generator is replayed up to the shape); the camera's blur and noise are drawn
    anew, with the same probabilities.

    Args:
        n: number of images.
        size: side in pixels; default :data:`LAB_INPUT_SIZE` (64).
        seed: the seed of the ``make_background_task`` set.

    Returns:
        ``(backgrounds, shape_labels)``: float32 ``(n, size, size, 3)`` in 0..255, and the int64
        ``(n,)`` class (:data:`CLASS_NAMES`) of the shape each image of the task carries.

    Taught in: ``05_shortcut_lab`` (through :func:`helpers.shortcuts.background_task_controls`).
    """
    _check_counts(n, size)
    backgrounds = np.empty((n, size, size, 3), dtype=np.float32)
    shape_labels = np.empty(n, dtype=np.int64)
    for i in range(n):
        rng = np.random.default_rng([seed, 3, i])  # make_background_task's generator for image i
        kind = BACKGROUND_NAMES[int(rng.integers(len(BACKGROUND_NAMES)))]
        shape_labels[i] = rng.integers(len(CLASS_NAMES))
        background = _background(rng, size, False, kind)
        backgrounds[i] = _finish(np.asarray(background, np.float32), np.random.default_rng([seed, 7, i]))
    return backgrounds, shape_labels


def _check_counts(n: int, size: int) -> None:
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n!r}.")
    if not isinstance(size, (int, np.integer)) or size < 16:
        raise ValueError(f"size must be an integer of at least 16 pixels; got {size!r}.")


def image_to_png_bytes(image: np.ndarray) -> bytes:
    """Encode a 0..255 image as PNG bytes (used by the upload widgets and tests)."""
    buffer = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
