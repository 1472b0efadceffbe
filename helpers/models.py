"""The course's models: two small networks trained on the shape world, and VGG16 for online readers.

* ``small_convnet`` — the chapter's cats-vs-dogs network layer by layer, with a 6-class head.
* ``vgg_gap`` — VGG-style blocks named like VGG16's, ending in GlobalAveragePooling2D and one
  Dense layer: the architecture that CAM needs.
* ``vgg16`` — Keras' VGG16 with ImageNet weights (needs the weights cached or a connection).
* ``shortcut_convnet``, ``debiased_convnet``, ``background_convnet``, ``frame_convnet`` — the
  shortcut lab's four small 64-px models (one architecture, :func:`build_lab_convnet`): one that
  cheats with a coloured tag, the same trained without the cheat, one that classifies
  backgrounds, and one that cheats with a thin coloured frame.

All take images in 0..255, exactly as :func:`helpers.load_image` returns them, and end in a
softmax, as most users' models do. Explanations remove the softmax themselves.

Taught in: ``01_intermediate_activations`` (small_convnet), ``02_filter_visualization`` and
``03_class_activation_maps`` (vgg_gap), ``05_shortcut_lab`` (the four lab models).
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Sequence

import numpy as np

from helpers._backend import keras
from helpers.data import BACKGROUND_NAMES, CLASS_NAMES, DATA_DIR, LAB_INPUT_SIZE

__all__ = [
    "BUNDLED_MODELS", "SHAPE_MODELS", "LAB_MODELS", "INPUT_SIZE", "VGG_GAP_BLOCKS", "LAB_BLOCKS",
    "build_small_convnet", "build_vgg_gap", "build_lab_convnet", "build_shortcut_convnet",
    "build_debiased_convnet", "build_background_convnet", "build_frame_convnet", "class_names_of",
    "decode_predictions", "list_models", "load_model", "model_card", "model_path", "BUILDERS", "MODELS_DIR",
    "WEIGHTS_SUFFIX", "architecture_of", "save_weights", "read_model",
]

MODELS_DIR = DATA_DIR / "models"
INPUT_SIZE = 150
SHAPE_MODELS: tuple[str, ...] = ("small_convnet", "vgg_gap")
"""The two 150-px shape classifiers of chapters 1 to 3."""
LAB_MODELS: tuple[str, ...] = ("shortcut_convnet", "debiased_convnet", "background_convnet", "frame_convnet")
"""The shortcut lab's 64-px models (chapter 5)."""
BUNDLED_MODELS: tuple[str, ...] = SHAPE_MODELS + LAB_MODELS
"""Every model that ships in ``data/models``."""

VGG16_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
_VGG16_BGR_MEAN = (103.939, 116.779, 123.68)


def build_small_convnet(num_classes: int = len(CLASS_NAMES), input_size: int = INPUT_SIZE) -> keras.Model:
    """The chapter's cats-vs-dogs convnet, layer by layer, with a ``num_classes`` softmax head.

    Layer names follow the book's summary (``conv2d_1`` … ``dense_2``). A ``Rescaling`` layer
    in front maps 0..255 inputs to 0..1, so the model takes raw images.

    Taught in: ``01_intermediate_activations``.
    """
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((input_size, input_size, 3), name="image"),
            layers.Rescaling(1.0 / 255, name="rescaling"),
            layers.Conv2D(32, 3, activation="relu", kernel_initializer="he_normal", name="conv2d_1"),
            layers.MaxPooling2D(2, name="max_pooling2d_1"),
            layers.Conv2D(64, 3, activation="relu", kernel_initializer="he_normal", name="conv2d_2"),
            layers.MaxPooling2D(2, name="max_pooling2d_2"),
            layers.Conv2D(128, 3, activation="relu", kernel_initializer="he_normal", name="conv2d_3"),
            layers.MaxPooling2D(2, name="max_pooling2d_3"),
            layers.Conv2D(128, 3, activation="relu", kernel_initializer="he_normal", name="conv2d_4"),
            layers.MaxPooling2D(2, name="max_pooling2d_4"),
            layers.Flatten(name="flatten_1"),
            layers.Dropout(0.5, name="dropout_1"),
            layers.Dense(512, activation="relu", kernel_initializer="he_normal", name="dense_1"),
            layers.Dense(num_classes, activation="softmax", name="dense_2"),
        ],
        name="small_convnet",
    )


VGG_GAP_BLOCKS: tuple[tuple[int, int], ...] = ((16, 2), (32, 2), (64, 2), (128, 2), (128, 2))
"""(filters, convolutions) per block of ``vgg_gap``. Like VGG16, four poolings bring the last
block to a stride of 16 pixels (9×9 for a 150-pixel image, one cell per 16.7 px, as VGG16's
14×14 ``block5_conv3`` for 224 px); the last block has no pooling of its own and feeds the
global average pooling. Its receptive field (140 px) covers the largest shapes, which the
earlier four-block version (68 px) did not."""


def build_vgg_gap(num_classes: int = len(CLASS_NAMES), input_size: int = INPUT_SIZE,
                  blocks: tuple[tuple[int, int], ...] = VGG_GAP_BLOCKS, name: str = "vgg_gap") -> keras.Model:
    """A small VGG-style network ending in GlobalAveragePooling2D → Dense (the CAM architecture).

    Layers are named like VGG16's: ``block1_conv1``, ``block1_conv2``, ``block1_pool``, …;
    the last block feeds ``global_average_pooling`` directly, then ``predictions``.

    Taught in: ``02_filter_visualization``, ``03_class_activation_maps``.
    """
    layers = keras.layers
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    for b, (filters, convs) in enumerate(blocks, start=1):
        for c in range(1, convs + 1):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu",
                              kernel_initializer="he_normal", name=f"block{b}_conv{c}")(x)
        if b < len(blocks):
            x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="global_average_pooling")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


LAB_BLOCKS: tuple[tuple[int, int], ...] = ((16, 1), (32, 1), (64, 2), (128, 2))
"""(filters, convolutions) per block of the lab models: three poolings bring a 64-px image to an
8×8 last map (one cell per 8 pixels, the tag's size), and the receptive field of the last
convolution (55 px) covers the largest shapes."""


def build_lab_convnet(num_classes: int = len(CLASS_NAMES), input_size: int = LAB_INPUT_SIZE,
                      name: str = "lab_convnet",
                      blocks: tuple[tuple[int, int], ...] = LAB_BLOCKS) -> keras.Model:
    """The shortcut lab's architecture: small VGG-style blocks, GlobalAveragePooling2D → Dense.

    Named like :func:`build_vgg_gap` (``block1_conv1`` … ``block4_conv2``, ``block1_pool`` …,
    ``global_average_pooling``, ``predictions``), smaller, for 64-px images, and each
    convolution is followed by batch normalization (``block1_bn1``) and its ReLU
    (``block1_relu1``), which lets a short training leave the chance-level plateau. The last
    block feeds the global average pooling directly, so CAM works on it.

    Taught in: ``05_shortcut_lab``.
    """
    layers = keras.layers
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    for b, (filters, convs) in enumerate(blocks, start=1):
        for c in range(1, convs + 1):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal",
                              name=f"block{b}_conv{c}")(x)
            x = layers.BatchNormalization(name=f"block{b}_bn{c}")(x)
            x = layers.ReLU(name=f"block{b}_relu{c}")(x)
        if b < len(blocks):
            x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="global_average_pooling")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def build_shortcut_convnet(num_classes: int = len(CLASS_NAMES), input_size: int = LAB_INPUT_SIZE) -> keras.Model:
    """``shortcut_convnet``: :func:`build_lab_convnet` for the six shapes (trained with tags that
    always agree with the label). Taught in: ``05_shortcut_lab``."""
    return build_lab_convnet(num_classes, input_size, name="shortcut_convnet")


def build_debiased_convnet(num_classes: int = len(CLASS_NAMES), input_size: int = LAB_INPUT_SIZE) -> keras.Model:
    """``debiased_convnet``: the same architecture (trained with tags of random colour).
    Taught in: ``05_shortcut_lab``."""
    return build_lab_convnet(num_classes, input_size, name="debiased_convnet")


def build_background_convnet(num_classes: int = len(BACKGROUND_NAMES),
                             input_size: int = LAB_INPUT_SIZE) -> keras.Model:
    """``background_convnet``: the same architecture with one output per kind of background.
    Taught in: ``05_shortcut_lab``."""
    return build_lab_convnet(num_classes, input_size, name="background_convnet")


def build_frame_convnet(num_classes: int = len(CLASS_NAMES), input_size: int = LAB_INPUT_SIZE) -> keras.Model:
    """``frame_convnet``: the same architecture for the six shapes, trained on images whose thin
    frame always has the label's colour (:func:`helpers.make_framed_shapes`): the lab's second,
    subtler cheat. Taught in: ``05_shortcut_lab``."""
    return build_lab_convnet(num_classes, input_size, name="frame_convnet")


BUILDERS = {"small_convnet": build_small_convnet, "vgg_gap": build_vgg_gap,
            "shortcut_convnet": build_shortcut_convnet, "debiased_convnet": build_debiased_convnet,
            "background_convnet": build_background_convnet, "frame_convnet": build_frame_convnet}
"""A builder per bundled model name (architecture from code)."""

MODEL_CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "small_convnet": CLASS_NAMES, "vgg_gap": CLASS_NAMES, "shortcut_convnet": CLASS_NAMES,
    "debiased_convnet": CLASS_NAMES, "background_convnet": BACKGROUND_NAMES, "frame_convnet": CLASS_NAMES,
}


def list_models() -> list[str]:
    """Names accepted by :func:`load_model`: the bundled models, then ``"vgg16"`` (online only).

    Taught in: ``01_intermediate_activations``.
    """
    return [*BUNDLED_MODELS, "vgg16"]


WEIGHTS_SUFFIX = ".weights.npz"
"""Bundled models ship as weights only: the architecture comes from :data:`BUILDERS`, the code
that defines it. A ``.keras`` file stores the architecture as the Keras version that wrote it
serialized it, and older Keras 3 releases (Colab's 3.10) cannot read what newer ones write; a
NumPy archive of weights loads the same numbers into the same layers on every Keras 3 release."""

_ARCHITECTURE_KEY = "__architecture__"
_FORMAT_VERSION = 1


def model_path(name: str, models_dir: pathlib.Path | None = None) -> pathlib.Path:
    """Where the bundled model ``name`` is stored (``data/models/<name>.weights.npz``)."""
    return (MODELS_DIR if models_dir is None else pathlib.Path(models_dir)) / f"{name}{WEIGHTS_SUFFIX}"


def architecture_of(model: keras.Model, name: str) -> dict:
    """The builder arguments that rebuild ``model``'s architecture (``name`` is its builder).

    ``num_classes`` and ``input_size`` come from the model's output and input shapes, and for
    ``vgg_gap`` the ``blocks`` from its ``block<b>_conv<c>`` layers, so a grown or shrunk
    ``vgg_gap`` (``helpers.train --resume``) is rebuilt as it was.

    Raises:
        ValueError: ``name`` is not a bundled architecture.
    """
    if name not in BUILDERS:
        raise ValueError(f"Unknown architecture {name!r}; bundled ones: {', '.join(BUILDERS)}.")
    kwargs: dict = {"num_classes": int(model.output_shape[-1]), "input_size": int(model.input_shape[1])}
    if name == "vgg_gap":
        blocks: dict[int, list[int]] = {}
        for layer in model.layers:
            parts = layer.name.split("_conv")
            if len(parts) == 2 and parts[0].startswith("block") and parts[0][5:].isdigit():
                blocks.setdefault(int(parts[0][5:]), []).append(int(layer.filters))
        kwargs["blocks"] = [[filters[0], len(filters)] for _, filters in sorted(blocks.items())]
    return kwargs


def save_weights(model: keras.Model, name: str, path: pathlib.Path) -> pathlib.Path:
    """Write ``model``'s weights and the arguments of its builder to ``path`` (a ``.npz`` file).

    Every weight is stored under ``<layer name>/<index>``, plus one JSON entry that names the
    builder (``name``) and its arguments (:func:`architecture_of`). :func:`read_model` reverses it.

    Returns:
        ``path``.
    """
    architecture = {"format": _FORMAT_VERSION, "builder": name, "kwargs": architecture_of(model, name)}
    arrays = {_ARCHITECTURE_KEY: np.array(json.dumps(architecture, sort_keys=True))}
    for layer in model.layers:
        for index, weight in enumerate(layer.get_weights()):
            arrays[f"{layer.name}/{index}"] = np.asarray(weight)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:  # np.savez would append ".npz" to a name ending differently
        np.savez(file, **arrays)
    return path


def read_model(path: pathlib.Path) -> keras.Model:
    """Rebuild a model written by :func:`save_weights`: its builder, then its weights, by layer name.

    Raises:
        ValueError: the file names an unknown builder, or its weights do not fit the architecture
            (missing or extra layers, other shapes): the message says which.
    """
    with np.load(path, allow_pickle=False) as archive:
        architecture = json.loads(str(archive[_ARCHITECTURE_KEY]))
        weights = {key: archive[key] for key in archive.files if key != _ARCHITECTURE_KEY}
    builder = architecture.get("builder")
    if builder not in BUILDERS or architecture.get("format") != _FORMAT_VERSION:
        raise ValueError(f"{path} is not a ConvNet X-Ray weights file of format {_FORMAT_VERSION} "
                         f"with a known builder ({', '.join(BUILDERS)}): {architecture}")
    kwargs = dict(architecture["kwargs"])
    if "blocks" in kwargs:
        kwargs["blocks"] = tuple(tuple(block) for block in kwargs["blocks"])
    model = BUILDERS[builder](**kwargs)
    used = set()
    for layer in model.layers:
        expected = layer.get_weights()
        if not expected:
            continue
        keys = [f"{layer.name}/{index}" for index in range(len(expected))]
        missing = [key for key in keys if key not in weights]
        if missing:
            raise ValueError(f"{path} has no weights for {', '.join(missing)}.")
        values = [weights[key] for key in keys]
        shapes = [(tuple(a.shape), tuple(b.shape)) for a, b in zip(values, expected) if a.shape != b.shape]
        if shapes:
            raise ValueError(f"{path}: layer {layer.name!r} expects weights of shapes "
                             f"{[s[1] for s in shapes]}, the file has {[s[0] for s in shapes]}.")
        layer.set_weights(values)
        used.update(keys)
    extra = sorted(set(weights) - used)
    if extra:
        raise ValueError(f"{path} holds weights for layers the architecture does not have: {', '.join(extra)}.")
    return model


def model_card(name: str) -> dict:
    """Training record of a bundled model (accuracy, time, seeds), written by ``helpers.train``."""
    path = MODELS_DIR / "model_cards.json"
    cards = json.loads(path.read_text()) if path.is_file() else {}
    if name not in cards:
        raise KeyError(f"No model card for {name!r}; cards exist for {sorted(cards)}.")
    return cards[name]


def load_model(name: str, *, allow_download: bool = True) -> keras.Model:
    """Load a model by name, ready for prediction and explanation.

    Args:
        name: ``"small_convnet"`` or ``"vgg_gap"`` (bundled, trained on the shape world,
            loaded from ``data/models`` without any network access), one of the shortcut lab's
            64-px models (:data:`LAB_MODELS`), or ``"vgg16"`` (Keras' VGG16 with ImageNet
            weights, wrapped to take 0..255 RGB images at 224×224).
        allow_download: for ``"vgg16"`` only: whether Keras may download the weights
            when they are not cached yet. With ``False`` a missing cache raises at once.

    Returns:
        A ``keras.Model`` whose input takes float images in 0..255 and whose output is a softmax.

    Raises:
        ValueError: unknown name (the message lists the valid ones).
        FileNotFoundError: a bundled model file is missing (run ``python -m helpers.train``).
        RuntimeError: VGG16 weights are neither cached nor downloadable.

    The bundled models are rebuilt from :data:`BUILDERS` and given the shipped weights
    (:func:`read_model`), so they load on every Keras 3 release the course supports.

    Taught in: ``01_intermediate_activations``.
    """
    if name in BUNDLED_MODELS:
        path = model_path(name)
        if not path.is_file():
            raise FileNotFoundError(
                f"The bundled model file {path} is missing. Recreate it with `python -m helpers.train`."
            )
        return read_model(path)
    if name == "vgg16":
        return _load_vgg16(allow_download)
    raise ValueError(f"Unknown model {name!r}. Valid names: {', '.join(list_models())}.")


def _vgg16_cache_path() -> pathlib.Path:
    keras_home = pathlib.Path(os.environ.get("KERAS_HOME", pathlib.Path.home() / ".keras"))
    return keras_home / "models" / VGG16_WEIGHTS_FILE


@keras.saving.register_keras_serializable(package="convnet_xray")
class VGGPreprocess(keras.layers.Layer):
    """RGB 0..255 → VGG16's 'caffe' input: BGR with the ImageNet channel means removed."""

    def call(self, inputs):
        return inputs[..., ::-1] - keras.ops.convert_to_tensor(_VGG16_BGR_MEAN, dtype=inputs.dtype)


def _load_vgg16(allow_download: bool) -> keras.Model:
    cached = _vgg16_cache_path().is_file()
    help_text = (
        "VGG16's ImageNet weights are not available here. Run `helpers.load_model('vgg16')` once "
        f"on a machine with internet access (Keras caches them as {_vgg16_cache_path()}), or copy "
        f"that file there by hand. Offline, use a bundled model instead: {', '.join(BUNDLED_MODELS)}."
    )
    if not cached and not allow_download:
        raise RuntimeError(help_text)
    try:
        base = keras.applications.VGG16(weights="imagenet", include_top=True)
    except Exception as err:  # network errors come in many types (URLError, OSError, ...)
        raise RuntimeError(f"{help_text} (Download failed: {type(err).__name__}: {err})") from err
    inputs = keras.Input((224, 224, 3), name="image")
    x = VGGPreprocess(name="vgg_preprocess")(inputs)
    for layer in base.layers[1:]:
        x = layer(x)
    return keras.Model(inputs, x, name="vgg16")


def class_names_of(model: keras.Model, num_classes: int | None = None) -> tuple[str, ...] | None:
    """The model's class names: its ``class_names`` attribute, those of a bundled model (the shapes, or
    :data:`helpers.data.BACKGROUND_NAMES` for ``background_convnet``), else None.

    Args:
        model: the model.
        num_classes: the number of scores it outputs; names are only returned when they match.

    Taught in: ``03_class_activation_maps``.
    """
    names = getattr(model, "class_names", None)
    if names is None and getattr(model, "name", None) in BUNDLED_MODELS:
        names = MODEL_CLASS_NAMES[model.name]
    if names is None or (num_classes is not None and len(names) != num_classes):
        return None
    return tuple(str(n) for n in names)


def decode_predictions(probabilities, top: int = 3,
                       class_names: Sequence[str] = CLASS_NAMES) -> list:
    """The ``top`` classes of each prediction as ``(name, probability)``, most likely first.

    The course's version of ``keras.applications.vgg16.decode_predictions`` (which knows the
    1000 ImageNet classes and returns ``(wordnet_id, name, probability)``).

    Args:
        probabilities: ``(N, n_classes)`` model outputs, or ``(n_classes,)`` for one image. A
            one-unit sigmoid output ``(N, 1)`` is read as ``[1 - p, p]``.
        top: how many classes to return per image.
        class_names: one name per class.

    Returns:
        For ``(N, n_classes)``: a list (one per image) of lists of ``(name, probability)``;
        for a 1-D input: one list of ``(name, probability)``.

    Taught in: ``03_class_activation_maps``.
    """
    array = np.asarray(probabilities, dtype=np.float64)
    single = array.ndim == 1
    if single:
        array = array[None]
    if array.ndim != 2:
        raise ValueError(f"Expected probabilities of shape (N, n_classes) or (n_classes,); got {array.shape}.")
    if array.shape[1] == 1:
        array = np.concatenate([1.0 - array, array], axis=1)
    if array.shape[1] != len(class_names):
        raise ValueError(
            f"Got {array.shape[1]} probabilities per image but {len(class_names)} class names; "
            "pass class_names= with one name per class."
        )
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"top must be a positive integer; got {top!r}.")
    decoded = []
    for row in array:
        order = np.argsort(-row, kind="stable")[:top]
        decoded.append([(class_names[i], float(row[i])) for i in order])
    return decoded[0] if single else decoded
