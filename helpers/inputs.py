"""What comes in: images, class indices, batch sizes and counts, checked by one rule for the package.

Every public function that takes images, classes or a batch size checks them here, so an image's
path through the code never climbs back up into the explainer core: plotting, activations,
filters, evaluation and the explainers all import these checks.

* :func:`check_images`: one image or a batch -> float32 ``(N, H, W, C)`` in 0..255 (the pixel
  values by :data:`helpers.data.PIXEL_RULE`, per image), checked against a model's size and channels;
* :func:`check_class_index`: the classes to explain (ints, names, numpy scalars, 0-d arrays, tensors);
* :func:`positive_int` and :func:`check_batch_size`: "a positive integer, not a bool";
* :func:`batch_slices`: the package's one batching loop.

:mod:`helpers.data` keeps the shape world, the bundled files and the pixel rule's arithmetic.

Taught in: ``01_intermediate_activations`` and ``03_class_activation_maps``.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Sequence

import numpy as np

from helpers._backend import keras
from helpers.data import channels_first_hint, to_pixels, to_rgb
from helpers.layers import input_shape, layer_output_shapes

__all__ = ["batch_slices", "check_batch_size", "check_class_index", "check_images", "positive_int"]


def positive_int(value, what: str, example: str = "", minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum`` (1: positive); a clear error for anything else, bools included.

    Args:
        value: what the caller got.
        what: its name in the message (``"steps"``).
        example: an example for the message (``"e.g. 32"``).
        minimum: the smallest accepted value (0 for "non-negative").
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise ValueError(f"{what} must be {kind}{f' ({example})' if example else ''}; got {value!r}.")
    return int(value)


def check_batch_size(batch_size) -> int:
    """``batch_size`` as a positive int; a clear error for anything else."""
    return positive_int(batch_size, "batch_size", "e.g. 32")


def batch_slices(n: int, batch_size: int, progress: bool = False, desc: str = "") -> Iterator[slice]:
    """Slices ``[0:b], [b:2b], ...`` over ``n`` items: the package's one batching loop.

    Args:
        n: how many items.
        batch_size: items per batch (a positive int).
        progress: show a progress bar when there is more than one batch.
        desc: the progress bar's label.
    """
    batch_size = check_batch_size(batch_size)
    starts: Any = range(0, n, batch_size)
    if progress and n > batch_size:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=desc, total=math.ceil(n / batch_size), leave=False)
    for start in starts:
        yield slice(start, min(start + batch_size, n))


def _as_array(images, what: str) -> np.ndarray:
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError(f"Got an empty list of {what}s.")
        arrays = [np.asarray(image) for image in images]
        shapes = sorted({a.shape for a in arrays}, key=str)
        if len(shapes) > 1:
            raise ValueError(
                f"The {what}s have different shapes {shapes[:4]}: a batch needs one size. Resize them first, "
                "e.g. [helpers.resize_image(image, (150, 150)) for image in images]."
            )
        if arrays[0].ndim not in (2, 3):
            raise ValueError(f"A list of {what}s must hold single images (H, W, C); got shape {arrays[0].shape}.")
        stacked = np.stack(arrays)
        return stacked[..., None] if arrays[0].ndim == 2 else stacked  # greyscale (H, W) images: (N, H, W, 1)
    if not (isinstance(images, np.ndarray) or hasattr(images, "__array__") or hasattr(images, "numpy")
            or hasattr(images, "__array_interface__")):  # numpy arrays, tensors, PIL images
        raise TypeError(f"Expected {what}s as a numpy array (or a list of arrays); got {type(images).__name__}.")
    return np.asarray(images)


def _check_fits(model: keras.Model, height: int, width: int, name: str) -> None:
    """A model with an unfixed input size: check that (height, width) is not too small for it."""
    try:
        shapes = layer_output_shapes(model, (height, width))
    except Exception as err:  # Keras raises several types for negative or empty shapes
        raise ValueError(
            f"A {height}×{width} image is too small for model {name!r}: its layers shrink it to nothing "
            f"({type(err).__name__}). Use larger images, e.g. helpers.resize_image(image, (224, 224))."
        ) from err
    empty = [path for path, shape in shapes.items() if any(d == 0 for d in shape[1:] if d is not None)]
    if empty:
        raise ValueError(
            f"A {height}×{width} image is too small for model {name!r}: layer {empty[0]!r} gets an empty "
            "feature map. Use larger images, e.g. helpers.resize_image(image, (224, 224))."
        )


def check_images(images, model: keras.Model | None = None, what: str = "image",
                 model_name: str | None = None, unit_inputs: bool = False) -> tuple[np.ndarray, bool]:
    """One image or a batch -> float32 ``(N, H, W, C)`` in 0..255, checked against ``model``.

    The package's one rule for images, applied by every public function that takes them:
    ``(H, W, 3)`` RGB, ``(H, W)`` or ``(H, W, 1)`` greyscale (repeated over three channels),
    ``(H, W, 4)`` RGBA (composited on white), a batch ``(N, H, W, C)`` or a list of same-size
    images; pixel values by :data:`helpers.data.PIXEL_RULE`. Images are never resized
    silently: a model with a fixed input size needs images of that size.

    Args:
        images: the image(s).
        model: the model they go into (checks size and channels), or ``None``.
        what: how to name the images in messages.
        model_name: how to name the model in messages (default: ``model.name``).
        unit_inputs: the model takes 0..1 inputs (``input_range=(0, 1)``): 0..1 float images are
            expected, not warned about (see :func:`helpers.data.to_pixels`).

    Returns:
        ``(batch, was_single)``.

    Raises:
        ValueError: a wrong layout (channels-first arrays are told to transpose), an empty
            batch, NaN/inf or out-of-range pixels, a size the model does not take.

    Warns:
        ImageRangeWarning: a 0..1 float or bool image was scaled to 0..255.

    Taught in: ``01_intermediate_activations``.
    """
    array = _as_array(images, what)
    hint = channels_first_hint(array.shape)
    if not hint and array.ndim in (3, 4) and array.shape[-1] not in (1, 3, 4) and array.shape[-1] <= 16:
        hint = (f" Its last axis holds {array.shape[-1]} channels: images have 3 (RGB), 1 (grey) or 4 (RGBA); keep "
                "three, e.g. image[..., :3].")
    if hint or array.ndim not in (2, 3, 4) or (array.ndim >= 3 and array.shape[-1] not in (1, 3, 4)):
        raise ValueError(
            f"Expected one {what} (H, W, 3), (H, W) or (H, W, 1) greyscale, (H, W, 4) RGBA, or a batch "
            f"(N, H, W, C); got an array of shape {array.shape}.{hint}"
        )
    single = array.ndim == 2 or (array.ndim == 3)
    if array.ndim == 2:
        array = array[..., None]
    if single:
        array = array[None]
    if len(array) == 0:
        raise ValueError(f"Got an empty batch of {what}s (N = 0).")
    batch = to_rgb(to_pixels(array, what, batched=True, unit_inputs=unit_inputs), what).astype(np.float32, copy=False)
    if model is not None:
        want = input_shape(model)
        name = model_name or model.name
        height, width = batch.shape[1:3]
        if len(want) != 3:
            raise ValueError(f"Model {name!r} takes inputs of shape {want}, not images (H, W, C).")
        if (want[0] is not None and want[0] != height) or (want[1] is not None and want[1] != width):
            size = (want[0] or height, want[1] or width)
            raise ValueError(
                f"Model {name!r} takes {want[0]}×{want[1]} images; got {height}×{width}. Resize first, e.g. "
                f"helpers.resize_image(image, {size}) or helpers.load_image(path, size={size})."
            )
        if want[0] is None or want[1] is None:
            _check_fits(model, height, width, name)
        if want[2] == 1:
            batch = batch.mean(axis=-1, keepdims=True)
        elif want[2] not in (None, 3):
            raise ValueError(f"Model {name!r} takes {want[2]}-channel inputs; the helpers explain RGB images.")
    return batch, single


def check_class_index(class_index, n: int, num_classes: int, class_names: Sequence[str] | None = None) -> np.ndarray:
    """``class_index`` -> int32 ``(n,)`` classes to explain; ``-1`` means each image's top class.

    Accepts ``None`` (top class), an integer (Python or numpy, not bool), a class name where
    the model has names (the bundled ones do), or one of those per image (list or array).

    Raises:
        ValueError: floats, strings that are not class names, bools, a wrong count or an
            out-of-range index; the message lists the valid classes.

    Taught in: ``03_class_activation_maps``.
    """
    valid = (f"0..{num_classes - 1}" + (f" or a name in {list(class_names)}" if class_names else ""))
    if class_index is None:
        return np.full(n, -1, dtype=np.int32)
    if hasattr(class_index, "numpy") and not isinstance(class_index, np.ndarray):  # a tf.Tensor
        class_index = class_index.numpy()
    if isinstance(class_index, np.ndarray) and class_index.ndim == 0:  # a 0-d array is one class
        class_index = class_index[()]
        if isinstance(class_index, bytes):
            class_index = class_index.decode()

    def one(value) -> int:
        if isinstance(value, str):
            if class_names and value in class_names:
                return list(class_names).index(value)
            raise ValueError(f"class_index {value!r} is not a class of this model: use {valid}.")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(
                f"class_index must be an integer class ({valid}); got {value!r} ({type(value).__name__}). "
                "Convert on purpose if you mean it, e.g. int(round(value))."
            )
        if not 0 <= int(value) < num_classes:
            raise ValueError(f"class_index {int(value)} is out of range: valid classes are {valid}.")
        return int(value)

    if isinstance(class_index, (list, tuple, np.ndarray)):
        values = np.asarray(class_index, dtype=object).reshape(-1) if not isinstance(class_index, np.ndarray) \
            else class_index
        if isinstance(values, np.ndarray) and values.ndim != 1:
            raise ValueError(f"class_index must be one class or one per image ({n}); got shape {values.shape}.")
        if len(values) != n:
            raise ValueError(f"class_index must be one class or one per image ({n}); got {len(values)} values.")
        items = [v.item() if isinstance(v, np.generic) and not isinstance(v, (np.floating, np.bool_)) else v
                 for v in values]
        return np.asarray([one(v) for v in items], dtype=np.int32)
    return np.full(n, one(class_index), dtype=np.int32)
