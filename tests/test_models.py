"""helpers.models: the two course architectures, the bundled trained models, and offline VGG16."""

from __future__ import annotations

import pathlib
import socket

import numpy as np
import pytest

from helpers._backend import keras
from helpers.data import BACKGROUND_NAMES, CLASS_NAMES, DATA_DIR, make_background_task, make_shapes, make_tagged_shapes
from helpers.layers import layer_output_shapes
from helpers.shortcuts import make_framed_shapes, tag_classes
from helpers.train import LAB_DEFAULTS, LAB_RECIPES
from helpers.models import (
    BUILDERS,
    BUNDLED_MODELS,
    LAB_MODELS,
    SHAPE_MODELS,
    build_background_convnet,
    build_lab_convnet,
    build_shortcut_convnet,
    build_small_convnet,
    class_names_of,
    build_vgg_gap,
    list_models,
    load_model,
    model_card,
    model_path,
)

TARGET_ACCURACY = 0.97
"""Issue #2's bar: what the model cards must report on their 600 held-out images (seed 1)."""
HELDOUT_ACCURACY = 0.96
"""Floor on 300 fresh held-out images (seed 2), checked here by running the shipped models. A
point below the target: with 300 images, one standard error at 97 % is about one point."""
FOREIGN_ACCURACY = 0.95
"""Floor on plain shapes drawn by another program (matplotlib), where both models score 1.0."""


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection or resolve a host fails the test at once."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# ------------------------------------------------------------------------ names and errors
def test_list_models() -> None:
    assert list_models() == ["small_convnet", "vgg_gap", "shortcut_convnet", "debiased_convnet",
                             "background_convnet", "frame_convnet", "vgg16"]
    assert list(BUNDLED_MODELS) == list_models()[:6] == [*SHAPE_MODELS, *LAB_MODELS]


def test_unknown_model_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="resnet50") as info:
        load_model("resnet50")
    for name in list_models():
        assert name in str(info.value)


def test_vgg16_offline_without_cache_fails_clearly(tmp_path, monkeypatch, no_network) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))

    def vgg16_must_not_be_built(*args, **kwargs):
        raise AssertionError("load_model must not try to build/download VGG16 when allow_download=False")

    monkeypatch.setattr(keras.applications, "VGG16", vgg16_must_not_be_built)
    with pytest.raises(RuntimeError) as info:
        load_model("vgg16", allow_download=False)
    message = str(info.value)
    for name in BUNDLED_MODELS:
        assert name in message, "the message points offline readers to the bundled models"
    assert str(tmp_path / "empty_keras_home") in message, "the message says where the weights are expected"


def test_vgg16_download_failure_becomes_runtime_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("URL fetch failure: no route to host")

    monkeypatch.setattr(keras.applications, "VGG16", offline)
    with pytest.raises(RuntimeError, match="no route to host"):
        load_model("vgg16", allow_download=True)


def test_missing_bundled_file_is_file_not_found(monkeypatch, tmp_path) -> None:
    import helpers.models as models

    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="helpers.train"):
        load_model("vgg_gap")


def test_model_card_unknown_name(monkeypatch, tmp_path) -> None:
    import helpers.models as models

    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    (tmp_path / "model_cards.json").write_text('{"vgg_gap": {"heldout_accuracy": 0.99}}')
    assert model_card("vgg_gap") == {"heldout_accuracy": 0.99}
    with pytest.raises(KeyError, match="vgg_gap"):
        model_card("small_convnet")


# ------------------------------------------------------------------------ architectures
def test_small_convnet_matches_the_chapter() -> None:
    model = build_small_convnet()
    shapes = layer_output_shapes(model)
    expected = {
        "conv2d_1": (None, 148, 148, 32), "max_pooling2d_1": (None, 74, 74, 32),
        "conv2d_2": (None, 72, 72, 64), "max_pooling2d_2": (None, 36, 36, 64),
        "conv2d_3": (None, 34, 34, 128), "max_pooling2d_3": (None, 17, 17, 128),
        "conv2d_4": (None, 15, 15, 128), "max_pooling2d_4": (None, 7, 7, 128),
        "flatten_1": (None, 6272), "dropout_1": (None, 6272),
        "dense_1": (None, 512), "dense_2": (None, len(CLASS_NAMES)),
    }
    for name, shape in expected.items():
        assert shapes[name] == shape, f"{name}: {shapes[name]} != {shape}"
    assert [layer.name for layer in model.layers] == ["rescaling", *expected]
    # the book's parameter counts, with a 6-way head instead of 1 sigmoid unit
    params = {layer.name: layer.count_params() for layer in model.layers}
    assert params["conv2d_1"] == 896 and params["conv2d_2"] == 18496
    assert params["conv2d_3"] == 73856 and params["conv2d_4"] == 147584
    assert params["dense_1"] == 3211776 and params["dense_2"] == 512 * 6 + 6
    assert model.get_layer("dense_2").activation.__name__ == "softmax"
    assert model.input_shape == (None, 150, 150, 3)


def test_vgg_gap_names_and_cam_head() -> None:
    model = build_vgg_gap()
    names = [layer.name for layer in model.layers]
    expected_convs = [f"block{b}_conv{c}" for b in range(1, 6) for c in (1, 2)]
    assert [n for n in names if "_conv" in n] == expected_convs
    assert [n for n in names if n.endswith("_pool")] == ["block1_pool", "block2_pool", "block3_pool", "block4_pool"]
    assert names[-2:] == ["global_average_pooling", "predictions"]
    gap, head = model.layers[-2], model.layers[-1]
    assert isinstance(gap, keras.layers.GlobalAveragePooling2D)
    assert isinstance(head, keras.layers.Dense) and head.units == 6
    assert head.activation.__name__ == "softmax"
    # the GAP reads the last conv block directly (what CAM needs): 150 -> 75 -> 37 -> 18 -> 9,
    # a stride of 16 pixels like VGG16's block5
    assert gap.input.shape == (None, 9, 9, 128)
    assert layer_output_shapes(model)["block5_conv2"] == (None, 9, 9, 128)
    assert layer_output_shapes(model)["block4_conv2"] == (None, 18, 18, 128)
    assert model.output_shape == (None, 6)


def test_architectures_accept_other_class_counts() -> None:
    assert build_small_convnet(num_classes=2, input_size=64).output_shape == (None, 2)
    assert build_vgg_gap(num_classes=3, input_size=64).output_shape == (None, 3)


# ------------------------------------------------------------------------ bundled models
def _bundled_or_skip(name: str) -> pathlib.Path:
    path = model_path(name)
    if not path.is_file():
        pytest.skip(f"{path} is missing: the bundled models are made by `python -m helpers.train`")
    return path


@pytest.fixture(scope="module")
def heldout() -> tuple[np.ndarray, np.ndarray]:
    """300 images never used in training or in the model cards (seed 2)."""
    images, labels, _ = make_shapes(300, seed=2)
    return images, labels


@pytest.mark.bundled
@pytest.mark.parametrize("name", SHAPE_MODELS)
def test_bundled_model_loads_offline_and_outputs_probabilities(name, no_network) -> None:
    _bundled_or_skip(name)
    model = load_model(name)
    assert model.input_shape == (None, 150, 150, 3)
    assert model.output_shape == (None, len(CLASS_NAMES))
    images, _, _ = make_shapes(4, seed=21)
    assert images.max() > 1.5, "models take 0..255 images"
    probabilities = np.asarray(model(images))
    assert probabilities.min() >= 0.0
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.bundled
@pytest.mark.parametrize("name", SHAPE_MODELS)
def test_bundled_model_card_accuracy(name) -> None:
    _bundled_or_skip(name)
    card = model_card(name)
    assert card["heldout_accuracy"] >= TARGET_ACCURACY, \
        f"{name}: model card says {card['heldout_accuracy']:.1%} on {card['heldout_images']} held-out images"
    assert card["heldout_images"] >= 300, "the card's accuracy must rest on enough images"
    assert card["foreign_accuracy"] >= FOREIGN_ACCURACY, \
        f"{name}: model card says {card['foreign_accuracy']:.1%} on shapes drawn by matplotlib"


@pytest.mark.bundled
@pytest.mark.parametrize("name", SHAPE_MODELS)
def test_bundled_model_accuracy_on_fresh_heldout_images(name, request, no_network) -> None:
    _bundled_or_skip(name)
    images, labels = request.getfixturevalue("heldout")  # generated only when a model exists
    model = load_model(name)
    predictions = np.argmax(model.predict(images, batch_size=50, verbose=0), axis=1)
    accuracy = float(np.mean(predictions == labels))
    assert accuracy >= HELDOUT_ACCURACY, f"{name}: {accuracy:.1%} on 300 fresh held-out images"


def test_data_folder_stays_small() -> None:
    total = sum(path.stat().st_size for path in DATA_DIR.rglob("*") if path.is_file())
    assert total < 30 * 2**20, f"data/ holds {total / 2**20:.1f} MiB; keep it under 30 MiB"


# ------------------------------------------------------------------------ the shortcut lab's models
CHEAT_MATCHING, CHEAT_MISMATCHED = 0.95, 0.40
"""Issue #8's bars for shortcut_convnet: at least 95 % with tags of the label's colour, at most
40 % with tags of another class's colour, on held-out images."""
DEBIASED_GAP = 0.03
"""debiased_convnet: accuracy with mismatched tags within 3 points of matching tags."""
LAB_FRESH = 300
"""Fresh held-out images (seed 2) the shipped lab models are run on here."""
DEBIASED_FLOOR = 0.80
"""debiased_convnet must still recognize shapes, with any tag or none."""
BACKGROUND_FLOOR = 0.70
"""background_convnet must recognize the kind of background (chance: 20 %)."""


def test_lab_architecture_is_small_and_cam_ready() -> None:
    model = build_shortcut_convnet()
    assert model.name == "shortcut_convnet" and model.input_shape == (None, 64, 64, 3)
    names = [layer.name for layer in model.layers]
    assert names[-2:] == ["global_average_pooling", "predictions"]
    assert layer_output_shapes(model)["block4_conv2"] == (None, 8, 8, 128), "one cell per 8 px: one tag"
    assert model.count_params() < 400_000
    background = build_background_convnet()
    assert background.output_shape == (None, len(BACKGROUND_NAMES))
    assert class_names_of(background) == BACKGROUND_NAMES
    assert class_names_of(model) == CLASS_NAMES
    assert build_lab_convnet(3, 32).output_shape == (None, 3)


@pytest.fixture(scope="module")
def tagged_fresh() -> dict:
    """The same 300 fresh 64-px images (seed 2) with matching, mismatched and no tags."""
    return {key: make_tagged_shapes(LAB_FRESH, seed=2, agreement=a)[:2]
            for key, a in (("matching", 1.0), ("mismatched", 0.0), ("no_tag", None))}


def _accuracy(model, images, labels) -> float:
    return float(np.mean(np.argmax(model.predict(images, batch_size=100, verbose=0), axis=1) == labels))


@pytest.mark.bundled
@pytest.mark.parametrize("name", LAB_MODELS)
def test_lab_model_files_and_cards(name, no_network) -> None:
    path = _bundled_or_skip(name)
    assert path.stat().st_size <= 5 * 2**20, f"{name} is {path.stat().st_size / 2**20:.1f} MiB"
    model = load_model(name)
    assert model.input_shape == (None, 64, 64, 3)
    card = model_card(name)
    assert card["input_size"] == 64 and card["heldout_images"] >= 300
    assert card["train_seconds"] <= 15 * 60, f"{name} trained for {card['train_seconds']:.0f} s"
    if name in ("shortcut_convnet", "frame_convnet"):
        assert card["matching_accuracy"] >= CHEAT_MATCHING and card["mismatched_accuracy"] <= CHEAT_MISMATCHED
    elif name == "debiased_convnet":
        assert abs(card["matching_accuracy"] - card["mismatched_accuracy"]) <= DEBIASED_GAP
    for key in ("epochs", "images_per_epoch", "batch_size", "learning_rate"):  # the recipe's budget
        expected = LAB_RECIPES[name].get(key, LAB_DEFAULTS[key])
        assert card[key] == expected, f"{name}: {key} {card[key]} is not the recipe's {expected}"
    assert card["parameters"] == BUILDERS[name]().count_params()


@pytest.mark.bundled
def test_shortcut_convnet_cheats_on_fresh_images(tagged_fresh, no_network) -> None:
    _bundled_or_skip("shortcut_convnet")
    model = load_model("shortcut_convnet")
    matching = _accuracy(model, *tagged_fresh["matching"])
    mismatched = _accuracy(model, *tagged_fresh["mismatched"])
    assert matching >= CHEAT_MATCHING, f"{matching:.1%} with matching tags"
    assert mismatched <= CHEAT_MISMATCHED, f"{mismatched:.1%} with mismatched tags: it does not follow the tag"
    # it follows the tag: with a mismatched tag it names the tag's class
    images, labels = tagged_fresh["mismatched"]
    tag_classes = _tag_classes(images)
    predicted = np.argmax(model.predict(images, batch_size=100, verbose=0), axis=1)
    assert np.mean(predicted == tag_classes) >= 0.5


@pytest.mark.bundled
def test_frame_convnet_cheats_on_fresh_images(no_network) -> None:
    """The second cheat: a one-pixel frame of the label's colour; swap the frame's colour (nothing
    else changes) and the answers follow the frame."""
    _bundled_or_skip("frame_convnet")
    model = load_model("frame_convnet")
    matching, labels, _, frames = make_framed_shapes(LAB_FRESH, seed=2)
    mismatched, _, _, _ = make_framed_shapes(LAB_FRESH, seed=2, agreement=0.0)
    bare, _, _, _ = make_framed_shapes(LAB_FRESH, seed=2, agreement=None)
    assert not ((mismatched != matching).any(axis=-1) & ~frames).any(), "only the frame differs"
    assert _accuracy(model, matching, labels) >= CHEAT_MATCHING
    assert _accuracy(model, mismatched, labels) <= CHEAT_MISMATCHED
    assert _accuracy(model, bare, labels) <= 0.5, "without the frame it does not recognize the shapes"
    predicted = np.argmax(model.predict(mismatched, batch_size=100, verbose=0), axis=1)
    assert np.mean(predicted == tag_classes(mismatched, frames)) >= 0.5


def _tag_classes(images: np.ndarray) -> np.ndarray:
    """The class whose tag colour each image carries (the tags of make_tagged_shapes(seed=2))."""
    from helpers.data import TAG_COLOURS

    _, _, _, tags = make_tagged_shapes(len(images), seed=2, agreement=0.0)
    palette = np.asarray(TAG_COLOURS, np.float32)
    return np.array([int(np.flatnonzero((palette == image[tag][0]).all(axis=1))[0])
                     for image, tag in zip(images, tags)])


@pytest.mark.bundled
def test_debiased_convnet_ignores_the_tag_on_fresh_images(tagged_fresh, no_network) -> None:
    _bundled_or_skip("debiased_convnet")
    model = load_model("debiased_convnet")
    accuracies = {key: _accuracy(model, *pair) for key, pair in tagged_fresh.items()}
    assert abs(accuracies["matching"] - accuracies["mismatched"]) <= DEBIASED_GAP, accuracies
    assert min(accuracies.values()) >= DEBIASED_FLOOR, accuracies


@pytest.mark.bundled
def test_background_convnet_reads_backgrounds_on_fresh_images(no_network) -> None:
    _bundled_or_skip("background_convnet")
    model = load_model("background_convnet")
    images, labels, _ = make_background_task(LAB_FRESH, seed=2)
    assert _accuracy(model, images, labels) >= BACKGROUND_FLOOR


# ------------------------------------------------------------------------ the shipped file format
REFERENCE = pathlib.Path(__file__).resolve().parent / "data" / "bundled_reference.npz"
"""Made once by ``tools/convert_keras_models.py`` from the ``.keras`` files the weights files
replaced (Keras 3.15.1): test images, those files' predictions on them, and a SHA-256 of every
weight array."""


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


@pytest.mark.bundled
@pytest.mark.parametrize("name", SHAPE_MODELS)
def test_shipped_weights_are_the_old_files_numbers(name, reference) -> None:
    """Every weight array of the shipped file is bit for bit the one of the replaced ``.keras`` file."""
    import hashlib

    _bundled_or_skip(name)
    model = load_model(name)
    digests = {f"{layer.name}/{index}": hashlib.sha256(np.ascontiguousarray(w, np.float32).tobytes()).hexdigest()
               for layer in model.layers for index, w in enumerate(layer.get_weights())}
    expected = dict(zip(reference[f"{name}/digest_keys"].tolist(), reference[f"{name}/digests"].tolist()))
    assert len(expected) >= 12
    assert digests == expected


@pytest.mark.bundled
@pytest.mark.parametrize("name", SHAPE_MODELS)
def test_shipped_weights_predict_like_the_old_files(name, reference) -> None:
    """Same predictions as the replaced ``.keras`` files, up to float32 rounding.

    The weights are bit for bit the same (the test above); the probabilities are not, across
    machines: oneDNN picks its float32 kernels per CPU (AVX-512 here, AVX2 elsewhere) and per
    TensorFlow release, and their sums round differently (seen: 1.2e-7 absolute, 7.7e-6 relative).
    """
    _bundled_or_skip(name)
    model = load_model(name)
    images = reference["images"].astype(np.float32)
    expected = reference[f"{name}/probabilities"]
    probabilities = np.asarray(model.predict(images, verbose=0))
    np.testing.assert_array_equal(probabilities.argmax(axis=1), expected.argmax(axis=1))
    # Same Keras as the reference: float32 rounding only (rtol 1e-5, atol far below any probability
    # shown). Another release (Colab's) may reorder operations too: a looser bound.
    same_release = keras.__version__ == str(reference["keras"])
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5 if same_release else 1e-4,
                               atol=1e-6 if same_release else 1e-5)


def test_weights_file_round_trip_and_errors(tmp_path) -> None:
    """save_weights/read_model keep architecture (a grown or shrunk vgg_gap too) and numbers, and
    refuse a file that does not fit the architecture, saying why."""
    from helpers.models import read_model, save_weights

    keras.utils.set_random_seed(4)
    small = build_vgg_gap(num_classes=3, input_size=48, blocks=((8, 1), (16, 2)))
    path = save_weights(small, "vgg_gap", tmp_path / "vgg_gap.weights.npz")
    again = read_model(path)
    assert [layer.name for layer in again.layers] == [layer.name for layer in small.layers]
    assert again.input_shape == (None, 48, 48, 3) and again.output_shape == (None, 3)
    images = np.random.default_rng(0).uniform(0, 255, (2, 48, 48, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(again(images)), np.asarray(small(images)))

    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    broken = dict(arrays)
    del broken["block2_conv2/0"]
    np.savez(tmp_path / "missing.npz", **broken)
    with pytest.raises(ValueError, match="block2_conv2/0"):
        read_model(tmp_path / "missing.npz")
    broken = {**arrays, "predictions/0": np.zeros((5, 3), np.float32)}
    np.savez(tmp_path / "shape.npz", **broken)
    with pytest.raises(ValueError, match="predictions"):
        read_model(tmp_path / "shape.npz")
    broken = {**arrays, "block9_conv1/0": np.zeros(3, np.float32)}
    np.savez(tmp_path / "extra.npz", **broken)
    with pytest.raises(ValueError, match="block9_conv1"):
        read_model(tmp_path / "extra.npz")
