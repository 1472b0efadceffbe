"""The course's own data world: generated shapes with ground-truth masks, and bundled photos.

The chapter the course follows uses Kaggle's cats-vs-dogs photos, which cannot be fetched
where the course is built. Instead every notebook draws from a *shape world*: six classes of
shapes drawn on real photos, textures, noise, gradients or plain colours, each with a pixel
mask of the object. Masks are what make explanations measurable (does the heatmap fall on
the object?). Real photos that ship with scikit-image and matplotlib live in ``data/images``.

Taught in: ``01_intermediate_activations`` (images and ``load_image``),
``03_class_activation_maps`` (masks and two-object scenes).
"""

from __future__ import annotations

import functools
import io
import pathlib
from typing import Sequence, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, UnidentifiedImageError

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
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        arr = np.asarray(img, dtype=np.float32) / 257.0
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


def _array_to_rgb(arr: np.ndarray) -> np.ndarray:
    """An array image of any common layout and dtype -> float32 (H, W, 3) in 0..255."""
    arr = np.asarray(arr)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"load_image expects one image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); "
            f"got an array of shape {arr.shape}."
        )
    if arr.dtype == bool:
        arr = arr.astype(np.float32) * 255.0
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 257.0
    elif np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32)
    else:
        arr = arr.astype(np.float32)
        if not np.all(np.isfinite(arr)):
            raise ValueError("load_image got an array containing NaN or infinite values.")
        if arr.size and arr.max() <= 1.0 and arr.min() >= 0.0:
            arr = arr * 255.0  # floats in 0..1 are taken as normalized images
    if arr.ndim == 2:
        arr = arr[..., None]
    channels = arr.shape[-1]
    if channels == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif channels == 4:
        alpha = arr[..., 3:4] / 255.0
        arr = arr[..., :3] * alpha + 255.0 * (1.0 - alpha)
    elif channels != 3:
        raise ValueError(f"load_image expects 1, 3 or 4 channels; got {channels} (shape {arr.shape}).")
    return np.clip(arr, 0.0, 255.0).astype(np.float32)


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
                array = _pil_to_rgb_array(img)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise ValueError(f"Could not read {str(path)!r} as an image: {err}") from err
    elif isinstance(source, Image.Image):
        array = _pil_to_rgb_array(source)
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
    height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if height <= 0 or width <= 0:
        raise ValueError(f"size must be positive; got {size!r}.")
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


def _background(rng: np.random.Generator, size: int, easy: bool = False) -> np.ndarray:
    """One background: a photo or texture crop, a gradient, noise or a plain colour."""
    kind = rng.choice(["photo", "gradient", "noise", "plain"], p=[0.0, 0.5, 0.0, 0.5] if easy else [0.45, 0.2, 0.15, 0.2])
    if kind == "photo":
        library = _background_library()
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
                  radius_range: tuple[float, float], easy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``labels`` (one object each, no overlap) on one background; image and masks.

    ``easy`` images (a training curriculum) have plain or gradient backgrounds, solid fills,
    large shapes and no degradations.
    """
    image = _background(rng, size, easy)
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
