"""helpers.train: a tiny real training run, saving, the command line and the foreign test shapes.

Everything is written into pytest's tmp_path: data/models is never touched.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers._backend import keras
from helpers.data import CLASS_NAMES
from helpers.models import VGG_GAP_BLOCKS, read_model
from helpers.train import (
    CONTINUATIONS,
    DEFAULTS,
    build_architecture,
    copy_matching_weights,
    main,
    make_foreign_shapes,
    pretraining_model,
    recipe_runs,
    save_model,
    train_model,
)

CARD_KEYS = {
    "heldout_accuracy", "heldout_images", "heldout_seed", "foreign_accuracy", "foreign_images",
    "train_seconds", "epochs", "images_per_epoch", "batch_size", "learning_rate", "seed",
    "keras", "tensorflow", "machine",
}


@pytest.fixture(scope="module")
def tiny_run() -> tuple[keras.Model, dict]:
    """small_convnet trained for one epoch on 16 images (batch 8), 8 held-out images."""
    return train_model("small_convnet", epochs=1, images_per_epoch=16, batch_size=8,
                       heldout_images=8, verbose=0)


def test_train_model_returns_model_and_card(tiny_run) -> None:
    model, card = tiny_run
    assert isinstance(model, keras.Model) and model.name == "small_convnet"
    assert model.output_shape == (None, len(CLASS_NAMES))
    assert CARD_KEYS <= set(card), f"missing card keys: {CARD_KEYS - set(card)}"
    assert 0.0 <= card["heldout_accuracy"] <= 1.0 and 0.0 <= card["foreign_accuracy"] <= 1.0
    assert card["heldout_images"] == 8 and card["foreign_images"] == 60
    assert card["epochs"] == 1 and card["images_per_epoch"] == 16 and card["batch_size"] == 8
    assert card["keras"] == keras.__version__
    assert card["train_seconds"] >= 0.0
    json.dumps(card)  # the card must be JSON-serializable for model_cards.json


def test_training_changed_the_weights(tiny_run) -> None:
    model, _ = tiny_run
    keras.utils.set_random_seed(0)
    from helpers.models import build_small_convnet

    fresh = build_small_convnet()  # same seed, same initial weights as train_model's
    trained_kernel = model.get_layer("dense_2").get_weights()[0]
    assert not np.allclose(trained_kernel, fresh.get_layer("dense_2").get_weights()[0])


def test_save_model_round_trip(tiny_run, tmp_path) -> None:
    model, _ = tiny_run
    path = save_model(model, "small_convnet", tmp_path / "out")
    assert path == tmp_path / "out" / "small_convnet.weights.npz" and path.is_file()
    loaded = read_model(path)
    images = np.random.default_rng(0).uniform(0, 255, (3, 150, 150, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(model(images, training=False)),
                               rtol=1e-5, atol=1e-6)
    assert getattr(loaded, "optimizer", None) is None, "saved without optimizer state"
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_low_resolution_pretraining_is_copied_into_the_full_model() -> None:
    model, card = train_model("vgg_gap", epochs=1, images_per_epoch=8, batch_size=8, heldout_images=4,
                              pretrain_epochs=1, pretrain_images_per_epoch=16, pretrain_size=32,
                              pretrain_stop_at=1.01, stop_at_accuracy=1.01, verbose=0)
    assert card["pretrain_epochs_run"] == 1 and card["epochs_run"] == 1
    assert model.input_shape == (None, 150, 150, 3)
    small = pretraining_model("vgg_gap", 32)
    assert small.input_shape == (None, 32, 32, 3) and small.output_shape == (None, len(CLASS_NAMES))
    copied = copy_matching_weights(model, small)
    # vgg_gap is fully convolutional: every weighted layer carries over, the head included
    assert {"block1_conv1", "block5_conv2", "predictions"} <= set(copied)
    np.testing.assert_array_equal(small.get_layer("block1_conv1").get_weights()[0],
                                  model.get_layer("block1_conv1").get_weights()[0])


def test_small_convnet_pretraining_model_shares_only_the_conv_base() -> None:
    from helpers.models import build_small_convnet

    small = pretraining_model("small_convnet", 64)
    assert small.input_shape == (None, 64, 64, 3) and small.output_shape == (None, len(CLASS_NAMES))
    full = build_small_convnet()
    copied = copy_matching_weights(small, full)
    assert copied == ["conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4"]
    np.testing.assert_array_equal(full.get_layer("conv2d_4").get_weights()[0],
                                  small.get_layer("conv2d_4").get_weights()[0])


@pytest.mark.parametrize("bad", [
    {"name": "resnet", "epochs": 1, "images_per_epoch": 8},
    {"name": "vgg_gap", "epochs": 0, "images_per_epoch": 8},
    {"name": "vgg_gap", "epochs": 1, "images_per_epoch": 0},
])
def test_train_model_rejects_bad_settings(bad) -> None:
    with pytest.raises(ValueError):
        train_model(**bad)


def test_main_writes_models_and_cards(tmp_path, capsys) -> None:
    out = tmp_path / "models"
    out.mkdir()
    (out / "model_cards.json").write_text(json.dumps({"small_convnet": {"heldout_accuracy": 0.5}}))
    code = main(["--models", "vgg_gap", "--epochs", "1", "--images-per-epoch", "8", "--pretrain-epochs", "0",
                 "--batch-size", "8", "--heldout-images", "4", "--out", str(out)])
    assert code == 0
    assert (out / "vgg_gap.weights.npz").is_file()
    cards = json.loads((out / "model_cards.json").read_text())
    assert set(cards) == {"small_convnet", "vgg_gap"}, "existing cards are kept, the new one added"
    assert CARD_KEYS <= set(cards["vgg_gap"]) and cards["vgg_gap"]["epochs"] == 1
    assert "vgg_gap: held-out accuracy" in capsys.readouterr().out


FOUR_BLOCKS = VGG_GAP_BLOCKS[:4]
"""vgg_gap without its fifth block."""

GROWTH_RECIPE = [{"epochs": 2, "learning_rate": 3e-4, "blocks": FOUR_BLOCKS},
                 {"epochs": 1, "learning_rate": 1e-4, "blocks": VGG_GAP_BLOCKS}]
"""A recipe that trains four blocks, then grows vgg_gap to its five (weights carried over)."""


def test_recipe_runs_follow_the_recipe_in_order(monkeypatch) -> None:
    monkeypatch.setitem(CONTINUATIONS, "vgg_gap", GROWTH_RECIPE)
    runs = recipe_runs("vgg_gap", resume=False, done=0)
    assert len(runs) == 1 + len(GROWTH_RECIPE)
    assert runs[0] == DEFAULTS["vgg_gap"] and "resume" not in runs[0]
    assert all(run["resume"] for run in runs[1:])
    # --resume runs the next continuation the card has not recorded, then repeats the last one
    assert recipe_runs("vgg_gap", resume=True, done=0)[0]["blocks"] == FOUR_BLOCKS
    assert recipe_runs("vgg_gap", resume=True, done=1)[0]["blocks"] == VGG_GAP_BLOCKS
    assert recipe_runs("vgg_gap", resume=True, done=99)[0]["learning_rate"] == 1e-4


def test_shipped_recipe_ends_with_the_shipped_architecture() -> None:
    runs = recipe_runs("vgg_gap", resume=False, done=0)
    assert tuple(runs[-1].get("blocks", VGG_GAP_BLOCKS)) == VGG_GAP_BLOCKS


def test_shipped_recipe_is_one_run_per_model() -> None:
    for name in DEFAULTS:
        assert recipe_runs(name, resume=False, done=0) == [DEFAULTS[name]]


def test_resume_without_continuations_repeats_the_first_run(monkeypatch) -> None:
    monkeypatch.setitem(CONTINUATIONS, "small_convnet", [])
    assert recipe_runs("small_convnet", resume=False, done=0) == [DEFAULTS["small_convnet"]]
    assert recipe_runs("small_convnet", resume=True, done=3) == [{**DEFAULTS["small_convnet"], "resume": True}]


def test_build_architecture_blocks_only_for_vgg_gap() -> None:
    model = build_architecture("vgg_gap", [[4, 1], [8, 1]], input_size=32)
    assert [layer.name for layer in model.layers if "_conv" in layer.name] == ["block1_conv1", "block2_conv1"]
    with pytest.raises(ValueError, match="vgg_gap only"):
        build_architecture("small_convnet", FOUR_BLOCKS)


def test_resume_grows_vgg_gap_and_keeps_the_learned_layers(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(CONTINUATIONS, "vgg_gap", GROWTH_RECIPE)
    out = tmp_path / "models"
    four = build_architecture("vgg_gap", FOUR_BLOCKS)
    save_model(four, "vgg_gap", out)
    done = 1  # the next run is the one that adds block5
    card = {"heldout_accuracy": 0.5, "heldout_images": 4, "foreign_accuracy": 0.5, "train_seconds": 1.0,
            "resumed": [{"epochs": 2}] * done}
    (out / "model_cards.json").write_text(json.dumps({"vgg_gap": card}))
    assert main(["--models", "vgg_gap", "--resume", "--epochs", "1", "--images-per-epoch", "4",
                 "--batch-size", "4", "--heldout-images", "4", "--out", str(out)]) == 0
    grown = read_model(out / "vgg_gap.weights.npz")
    assert grown.get_layer("block5_conv2").output.shape[1:] == (9, 9, 128)
    cards = json.loads((out / "model_cards.json").read_text())
    assert len(cards["vgg_gap"]["resumed"]) == done + 1
    assert cards["vgg_gap"]["resumed"][-1]["blocks"] == [list(block) for block in VGG_GAP_BLOCKS]
    # one small step: the carried-over layers have barely moved
    before = four.get_layer("block4_conv2").get_weights()[0]
    after = grown.get_layer("block4_conv2").get_weights()[0]
    assert np.corrcoef(before.ravel(), after.ravel())[0, 1] > 0.99, "block4 carried over, not re-initialized"


def test_main_rejects_unknown_model(tmp_path) -> None:
    with pytest.raises(SystemExit):
        main(["--models", "resnet", "--out", str(tmp_path)])


def test_make_foreign_shapes() -> None:
    images, labels = make_foreign_shapes(9, seed=3)
    assert images.shape == (9, 150, 150, 3) and images.dtype == np.float32
    assert labels.shape == (9,) and labels.dtype == np.int64
    assert set(labels.tolist()) <= set(range(len(CLASS_NAMES)))
    assert images.min() >= 0.0 and images.max() <= 255.0 and images.max() > 1.5
    assert all(images[i].std() > 5 for i in range(9)), "every image shows something"
    again, _ = make_foreign_shapes(9, seed=3)
    np.testing.assert_array_equal(images, again)
    small, _ = make_foreign_shapes(2, size=64, seed=3)
    assert small.shape == (2, 64, 64, 3)
    other, _ = make_foreign_shapes(9, seed=4)
    assert not np.array_equal(images, other)


# ------------------------------------------------------------------------ the shortcut lab's models
def test_lab_recipes_share_one_budget() -> None:
    from helpers.train import LAB_DEFAULTS, LAB_RECIPES

    assert set(LAB_RECIPES) == {"shortcut_convnet", "debiased_convnet", "background_convnet", "frame_convnet"}
    assert LAB_RECIPES["frame_convnet"]["task"] == "framed" and LAB_RECIPES["frame_convnet"]["agreement"] == 1.0
    assert LAB_RECIPES["shortcut_convnet"]["agreement"] == 1.0
    assert LAB_RECIPES["debiased_convnet"]["agreement"] == pytest.approx(1 / 6), "a random colour: no information"
    assert LAB_RECIPES["background_convnet"]["task"] == "background"
    assert {"epochs", "images_per_epoch", "batch_size", "learning_rate"} <= set(LAB_DEFAULTS)


@pytest.mark.parametrize("name", ["shortcut_convnet", "background_convnet", "frame_convnet"])
def test_train_lab_model_tiny_run(name) -> None:
    from helpers.train import train_lab_model

    model, card = train_lab_model(name, epochs=1, images_per_epoch=16, batch_size=8, heldout_images=8, verbose=0)
    assert model.name == name and model.input_shape == (None, 64, 64, 3)
    assert card["input_size"] == 64 and card["heldout_images"] == 8 and card["epochs"] == 1
    if name in ("shortcut_convnet", "frame_convnet"):
        assert {"matching_accuracy", "mismatched_accuracy", "no_tag_accuracy", "random_tag_accuracy"} <= set(card)
        assert card["heldout_accuracy"] == card["matching_accuracy"] and card["train_agreement"] == 1.0
    else:
        assert model.output_shape == (None, 5) and "matching_accuracy" not in card
    json.dumps(card)


def test_train_lab_model_rejects_bad_settings() -> None:
    from helpers.train import train_lab_model

    with pytest.raises(ValueError):
        train_lab_model("vgg_gap", epochs=1, images_per_epoch=8)
    with pytest.raises(ValueError):
        train_lab_model("shortcut_convnet", epochs=0, images_per_epoch=8)


def test_main_trains_a_lab_model_and_keeps_other_cards(tmp_path, capsys) -> None:
    out = tmp_path / "models"
    out.mkdir()
    (out / "model_cards.json").write_text(json.dumps({"vgg_gap": {"heldout_accuracy": 0.5}}))
    assert main(["--models", "debiased_convnet", "--epochs", "1", "--images-per-epoch", "8", "--batch-size", "8",
                 "--heldout-images", "4", "--out", str(out)]) == 0
    cards = json.loads((out / "model_cards.json").read_text())
    assert set(cards) == {"vgg_gap", "debiased_convnet"}
    assert cards["debiased_convnet"]["train_agreement"] == pytest.approx(1 / 6, abs=1e-4)
    from helpers.models import model_path, read_model

    loaded = read_model(model_path("debiased_convnet", out))
    assert loaded.name == "debiased_convnet"
    assert "debiased_convnet: held-out accuracy" in capsys.readouterr().out
