"""Train the bundled models on the shape world: ``python -m helpers.train``.

Every epoch draws fresh images (seeds from :data:`helpers.data.TRAIN_SEED_OFFSET` on), so the
networks never see the same picture twice and never see a held-out one. Training is seeded and
reproducible on one machine; it prints accuracy and time and writes ``data/models/<name>.weights.npz``
plus ``data/models/model_cards.json``. The shortcut lab's four 64-px models (:data:`LAB_RECIPES`)
train by :func:`train_lab_model`, one fixed budget each.

Usage::

    python -m helpers.train                      # every bundled model, the recipe that ships (one run each)
    python -m helpers.train --models shortcut_convnet debiased_convnet background_convnet frame_convnet\
  # the lab's four
    python -m helpers.train --models vgg_gap --epochs 2 --images-per-epoch 512   # a quick try
    python -m helpers.train --models vgg_gap --resume    # continue the saved model on fresh images

Taught in: ``README.md`` ("How to retrain them").
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import sys
import time

import numpy as np

from helpers._backend import keras, tf
from helpers.data import (CLASS_NAMES, LAB_INPUT_SIZE, TRAIN_SEED_OFFSET, make_background_task, make_shapes,
                          make_tagged_shapes)
from helpers.models import BUILDERS, INPUT_SIZE, MODELS_DIR, VGG_GAP_BLOCKS, model_path, read_model, save_weights

__all__ = [
    "HELDOUT_SEED", "DEFAULTS", "CONTINUATIONS", "VALIDATION_SEED", "easy_fraction", "evaluate",
    "make_foreign_shapes", "build_architecture", "compile_for_training", "pretraining_model", "copy_matching_weights",
    "train_model", "save_model", "recipe_runs", "LAB_RECIPES", "LAB_DEFAULTS", "lab_accuracies", "train_lab_model",
    "main",
]


HELDOUT_SEED = 1
"""Seed of the held-out set the printed accuracy is measured on (never used in training)."""

DEFAULTS = {
    "vgg_gap": {"pretrain_epochs": 14, "epochs": 20, "images_per_epoch": 6144, "learning_rate": 3e-4,
                "blocks": VGG_GAP_BLOCKS},
    "small_convnet": {"pretrain_epochs": 14, "epochs": 34, "images_per_epoch": 6144, "learning_rate": 3e-4},
}
"""The shipped recipe: low-resolution pretraining, then full resolution under one cosine
schedule. The shipped models were trained by exactly this, one run each (``train_seconds`` in
``data/models/model_cards.json``)."""

CONTINUATIONS: dict[str, list[dict]] = {"vgg_gap": [], "small_convnet": []}
"""Further full-resolution runs of the recipe, in order, each continuing the saved model with
fresh data seeds (none in the shipped recipe). ``python -m helpers.train`` runs them all after
the first run; ``--resume`` runs the next one the model card has not recorded yet, or one more
run like the first when there is none. Weights carry over layer by layer (by name), so a run
may also grow the architecture (``blocks``)."""


VALIDATION_SEED = 5
"""Seed of the small validation set checked after every epoch (for early stopping)."""


def easy_fraction(epoch: int) -> float:
    """Curriculum: the share of easy images (plain backgrounds, solid shapes) in ``epoch``.

    Starting easy lets the networks leave the chance-level plateau in one epoch instead of
    several; a tenth of easy images stays to the end.
    """
    return max(0.1, 0.7 - 0.2 * epoch)


def _epoch_dataset(epochs: int, images_per_epoch: int, batch_size: int, size: int,
                   seed_offset: int = TRAIN_SEED_OFFSET, curriculum: bool = True) -> tf.data.Dataset:
    """Fresh generated images for every epoch, made in a background thread while training runs."""
    chunk = 256

    def generate():
        for epoch in range(epochs):
            seed = seed_offset + epoch
            for start in range(0, images_per_epoch, chunk):
                count = min(chunk, images_per_epoch - start)
                # images of one chunk come from seed (seed, start + i) via a sub-seed per chunk
                images, labels, _ = make_shapes(count, size=size, seed=seed * 1_000_000 + start,
                                                easy_fraction=easy_fraction(epoch if curriculum else epochs + 10))
                for image, label in zip(images.astype(np.uint8), labels):
                    yield image, label

    signature = (tf.TensorSpec((size, size, 3), tf.uint8), tf.TensorSpec((), tf.int64))
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return dataset.map(lambda x, y: (tf.cast(x, tf.float32), y)).batch(batch_size).prefetch(4)


def evaluate(model: keras.Model, images: np.ndarray, labels: np.ndarray, batch_size: int = 64) -> float:
    """Top-1 accuracy of ``model`` on ``images`` (0..255) with integer ``labels``."""
    probabilities = model.predict(images, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=-1) == labels))


def make_foreign_shapes(n: int, size: int = INPUT_SIZE, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Plain shapes drawn by another program (matplotlib patches) on plain, noisy or gradient
    backgrounds: a check that the models learned shapes, not the quirks of our generator.

    Returns:
        ``(images, labels)``: float32 ``(n, size, size, 3)`` in 0..255 and int64 ``(n,)``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib import patches

    rng = np.random.default_rng([seed, 7])
    images = np.empty((n, size, size, 3), np.float32)
    labels = rng.integers(0, len(CLASS_NAMES), n)
    for i, label in enumerate(labels):
        kind = ("plain", "noise", "gradient")[i % 3]
        bg_colour, fg_colour = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        while np.linalg.norm(bg_colour - fg_colour) < 0.5:
            fg_colour = rng.uniform(0, 1, 3)
        fig = Figure(figsize=(1, 1), dpi=size)
        FigureCanvasAgg(fig)
        ax = fig.add_axes([0, 0, 1, 1])
        ax.set_xlim(0, 1), ax.set_ylim(0, 1), ax.axis("off")
        if kind == "gradient":
            ramp = np.linspace(0, 1, 64)[None, :, None]
            other = rng.uniform(0, 1, 3)
            ax.imshow(bg_colour * (1 - ramp) + other * ramp * 0.6 + bg_colour * ramp * 0.4,
                      extent=(0, 1, 0, 1), aspect="auto")
        else:
            ax.add_patch(patches.Rectangle((0, 0), 1, 1, color=bg_colour))
        radius = rng.uniform(0.15, 0.3)
        cx, cy = rng.uniform(radius + 0.02, 1 - radius - 0.02, 2)
        angle = rng.uniform(0, 360)
        name = CLASS_NAMES[label]
        if name == "circle":
            patch = patches.Circle((cx, cy), radius, color=fg_colour)
        elif name == "ring":
            patch = patches.Annulus((cx, cy), radius, radius * rng.uniform(0.3, 0.5), color=fg_colour)
        elif name == "square":
            patch = patches.RegularPolygon((cx, cy), 4, radius=radius, orientation=np.radians(angle), color=fg_colour)
        elif name == "triangle":
            patch = patches.RegularPolygon((cx, cy), 3, radius=radius, orientation=np.radians(angle), color=fg_colour)
        elif name == "star":
            t = np.radians(angle) + np.arange(10) * np.pi / 5
            r = np.where(np.arange(10) % 2 == 0, radius, radius * 0.45)
            patch = patches.Polygon(np.c_[cx + r * np.cos(t), cy + r * np.sin(t)], color=fg_colour)
        else:
            w = radius * 0.3
            arm = [(-w, -radius), (w, -radius), (w, radius), (-w, radius)]
            rot = np.radians(angle)
            for a in (rot, rot + np.pi / 2):
                c, s = np.cos(a), np.sin(a)
                ax.add_patch(patches.Polygon([(cx + c * x - s * y, cy + s * x + c * y) for x, y in arm],
                                             color=fg_colour))
            patch = None
        if patch is not None:
            ax.add_patch(patch)
        fig.canvas.draw()
        image = np.asarray(fig.canvas.buffer_rgba(), dtype=np.float32)[..., :3]
        if kind == "noise":
            image = np.clip(image + rng.normal(0, 20, image.shape), 0, 255)
        images[i] = image
    return images, labels.astype(np.int64)


class _StopAtAccuracy(keras.callbacks.Callback):
    """Checks accuracy on a validation set after each epoch; stops once it reaches ``target``."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, target: float, verbose: int):
        super().__init__()
        self.images, self.labels, self.target, self.verbose = images, labels, target, verbose
        self.history: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        accuracy = evaluate(self.model, self.images, self.labels)
        self.history.append(accuracy)
        if self.verbose:
            print(f"  validation accuracy after epoch {epoch + 1}: {accuracy:.4f}", flush=True)
        if accuracy >= self.target:
            self.model.stop_training = True


def build_architecture(name: str, blocks: tuple[tuple[int, int], ...] | None = None, **kwargs) -> keras.Model:
    """A fresh bundled architecture; ``blocks`` chooses ``vgg_gap``'s (filters, convolutions)."""
    if blocks is not None:
        if name != "vgg_gap":
            raise ValueError(f"blocks applies to vgg_gap only, not {name!r}.")
        kwargs["blocks"] = tuple(tuple(block) for block in blocks)
    return BUILDERS[name](**kwargs)


def pretraining_model(name: str, size: int, blocks: tuple[tuple[int, int], ...] | None = None) -> keras.Model:
    """The network used for the low-resolution stage: the same convolution layers (same names,
    so weights carry over) at ``size``×``size`` input. ``vgg_gap`` is fully convolutional and is
    simply built smaller; ``small_convnet``'s Flatten→Dense head needs 150×150, so its conv base
    gets a temporary GlobalAveragePooling→Dense head for this stage.
    """
    if name == "vgg_gap":
        return build_architecture(name, blocks, input_size=size)
    full = build_architecture(name, blocks)
    inputs = keras.Input((size, size, 3), name="image")
    x = inputs
    for layer in full.layers:
        if isinstance(layer, keras.layers.Flatten):
            break
        x = layer.__class__.from_config(layer.get_config())(x)
    x = keras.layers.GlobalAveragePooling2D(name="pretraining_gap")(x)
    outputs = keras.layers.Dense(len(CLASS_NAMES), activation="softmax", name="pretraining_head")(x)
    return keras.Model(inputs, outputs, name=f"{name}_pretraining")


def copy_matching_weights(source: keras.Model, target: keras.Model) -> list[str]:
    """Copy weights layer by layer where names and weight shapes agree; returns the names copied."""
    copied = []
    for layer in target.layers:
        try:
            other = source.get_layer(layer.name)
        except ValueError:
            continue
        weights = other.get_weights()
        if weights and [w.shape for w in weights] == [w.shape for w in layer.get_weights()]:
            layer.set_weights(weights)
            copied.append(layer.name)
    return copied


def compile_for_training(model: keras.Model, learning_rate: float, epochs: int, images_per_epoch: int,
                         batch_size: int) -> int:
    """Compile ``model`` with Adam under the course's schedule; return the steps per epoch.

    The schedule warms up over the first 5 % of the steps from a tenth of ``learning_rate``,
    then decays it along a cosine (a constant rate for runs of 10 steps or fewer).
    """
    steps_per_epoch = int(np.ceil(images_per_epoch / batch_size))
    steps = epochs * steps_per_epoch
    schedule = learning_rate
    if steps > 10:
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate / 10, decay_steps=steps - steps // 20,
                                                          warmup_target=learning_rate, warmup_steps=steps // 20)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return steps_per_epoch


def _fit_stage(model: keras.Model, size: int, epochs: int, images_per_epoch: int, batch_size: int,
               learning_rate: float, seed_offset: int, curriculum: bool, stop_at: float,
               verbose: int) -> list[float]:
    """One training stage: cosine-decayed Adam on fresh images, validation after each epoch."""
    steps_per_epoch = compile_for_training(model, learning_rate, epochs, images_per_epoch, batch_size)
    dataset = _epoch_dataset(epochs, images_per_epoch, batch_size, size, seed_offset, curriculum)
    val_x, val_y, _ = make_shapes(300, size=size, seed=VALIDATION_SEED)
    stopper = _StopAtAccuracy(val_x, val_y, target=stop_at, verbose=verbose)
    model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=verbose, callbacks=[stopper],
              shuffle=False)
    return stopper.history


def train_model(name: str, epochs: int, images_per_epoch: int, batch_size: int = 32,
                learning_rate: float = 1e-3, seed: int = 0, heldout_images: int = 600,
                verbose: int = 2, stop_at_accuracy: float = 0.99, pretrain_epochs: int = 0,
                pretrain_images_per_epoch: int = 8192, pretrain_size: int = 64,
                pretrain_learning_rate: float = 1e-3, pretrain_stop_at: float = 0.96,
                initial_model: keras.Model | None = None, seed_offset: int = TRAIN_SEED_OFFSET,
                blocks: tuple[tuple[int, int], ...] | None = None) -> tuple[keras.Model, dict]:
    """Train one bundled architecture from scratch on fresh shape-world images.

    Two stages (progressive resizing): the convolution layers first learn at low resolution
    (``pretrain_*``; four times cheaper per image at 64 px, with an easy-first curriculum),
    then the whole network trains at 150×150. With ``pretrain_epochs=0`` only the second
    stage runs.

    Args:
        name: ``"small_convnet"`` or ``"vgg_gap"``.
        epochs: full-resolution passes, each over ``images_per_epoch`` new images.
        images_per_epoch: images generated per full-resolution epoch.
        batch_size: images per gradient step.
        learning_rate: peak Adam learning rate of the full-resolution stage (cosine-decayed).
        seed: seed of weights, dropout and shuffling.
        heldout_images: size of the held-out set the accuracy is measured on.
        verbose: Keras' fit verbosity (0 silent, 2 one line per epoch).
        stop_at_accuracy: stop the full-resolution stage once the validation accuracy (300
            images, seed :data:`VALIDATION_SEED`) reaches this after an epoch.
        pretrain_epochs: low-resolution epochs (0 skips the stage).
        pretrain_images_per_epoch: images per low-resolution epoch.
        pretrain_size: side of the low-resolution images.
        pretrain_learning_rate: peak learning rate of the low-resolution stage.
        pretrain_stop_at: validation accuracy that ends the low-resolution stage early.
        initial_model: continue training these weights (``--resume``) instead of starting anew;
            they are copied layer by layer by name, so new layers (a grown ``blocks``) start fresh.
        seed_offset: first data seed of the full-resolution stage (a resumed run uses new ones).
        blocks: ``vgg_gap`` only: (filters, convolutions) per block; default the shipped ones.

    Returns:
        ``(model, card)``: the trained model and a dict of accuracies, timings and settings.
    """
    if name not in BUILDERS:
        raise ValueError(f"Unknown model {name!r}; trainable models: {', '.join(BUILDERS)}.")
    if epochs < 1 or images_per_epoch < 1 or batch_size < 1 or pretrain_epochs < 0:
        raise ValueError("epochs, images_per_epoch and batch_size must be at least 1, pretrain_epochs at least 0.")
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    pretrain_history: list[float] = []
    model = build_architecture(name, blocks)
    if initial_model is not None:
        copied = copy_matching_weights(initial_model, model)
        fresh = [layer.name for layer in model.layers if layer.weights and layer.name not in copied]
        if verbose and fresh:
            print(f"  new layers (randomly initialized): {', '.join(fresh)}", flush=True)
    if pretrain_epochs:
        small = pretraining_model(name, pretrain_size, blocks)
        pretrain_history = _fit_stage(small, pretrain_size, pretrain_epochs, pretrain_images_per_epoch, batch_size,
                                      pretrain_learning_rate, TRAIN_SEED_OFFSET + 1000, True, pretrain_stop_at, verbose)
        copy_matching_weights(small, model)
    history = _fit_stage(model, INPUT_SIZE, epochs, images_per_epoch, batch_size, learning_rate,
                         seed_offset, not pretrain_epochs and initial_model is None, stop_at_accuracy, verbose)
    seconds = time.perf_counter() - start
    heldout_x, heldout_y, _ = make_shapes(heldout_images, seed=HELDOUT_SEED)
    foreign_x, foreign_y = make_foreign_shapes(max(60, heldout_images // 5), seed=HELDOUT_SEED)
    card = {
        "heldout_accuracy": round(evaluate(model, heldout_x, heldout_y), 4),
        "heldout_images": heldout_images,
        "heldout_seed": HELDOUT_SEED,
        "foreign_accuracy": round(evaluate(model, foreign_x, foreign_y), 4),
        "foreign_images": int(len(foreign_y)),
        "train_seconds": round(seconds, 1),
        "pretrain_epochs": pretrain_epochs,
        "pretrain_epochs_run": len(pretrain_history),
        "pretrain_size": pretrain_size,
        "pretrain_validation_accuracy_per_epoch": [round(a, 4) for a in pretrain_history],
        "epochs": epochs,
        "epochs_run": len(history),
        "validation_accuracy_per_epoch": [round(a, 4) for a in history],
        "images_per_epoch": images_per_epoch,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    if blocks is not None:
        card["blocks"] = [list(block) for block in blocks]
    return model, card


def save_model(model: keras.Model, name: str, out_dir: pathlib.Path = MODELS_DIR) -> pathlib.Path:
    """Save ``model``'s weights as ``out_dir/<name>.weights.npz`` (no optimizer state).

    The format of the bundled models (:func:`helpers.models.save_weights`): the weights by
    layer name plus the builder's arguments, whatever ``blocks`` the model was built with, so
    :func:`helpers.load_model` rebuilds it on any Keras 3 release.
    """
    return save_weights(model, name, model_path(name, out_dir))


# --------------------------------------------------------------------------- the shortcut lab's models
LAB_RECIPES: dict[str, dict] = {
    "shortcut_convnet": {"task": "tagged", "agreement": 1.0},
    "debiased_convnet": {"task": "tagged", "agreement": 1 / 6},
    "background_convnet": {"task": "background"},
    "frame_convnet": {"task": "framed", "agreement": 1.0, "epochs": 2, "images_per_epoch": 4096},
}
"""What each lab model learns from. ``shortcut_convnet``: tagged shapes whose tag always has the
label's colour (``agreement=1.0``). ``debiased_convnet``: the same images with the tag's colour
uniform over the six and independent of the label (``agreement=1/6``): the tag carries no
information. ``background_convnet``: :func:`helpers.data.make_background_task`. ``frame_convnet``:
shapes with a thin frame of the label's colour (:func:`helpers.shortcuts.make_framed_shapes`,
``agreement=1.0``, no tag). The four share one architecture (:func:`helpers.models.build_lab_convnet`)
and the budget of :data:`LAB_DEFAULTS`, except where a recipe sets its own ``epochs`` and
``images_per_epoch`` (``frame_convnet``: a colour code on 252 pixels is learned in a fraction of
the budget, so it trains in a few minutes)."""

LAB_DEFAULTS = {"epochs": 12, "images_per_epoch": 8192, "batch_size": 32, "learning_rate": 2e-3}
"""The lab models' shared budget: fixed epochs (no early stopping) of fresh 64-px images under
one cosine-decayed Adam schedule, tagged shapes with the easy-first curriculum."""


def _lab_batch(task: str, agreement: float | None, count: int, seed: int,
               easy: float) -> tuple[np.ndarray, np.ndarray]:
    """``count`` training images and labels of one lab task."""
    if task == "tagged":
        images, labels, _, _ = make_tagged_shapes(count, seed=seed, agreement=agreement, easy_fraction=easy)
    elif task == "framed":
        from helpers.shortcuts import make_framed_shapes  # the lab's module (imports the explainers)

        images, labels, _, _ = make_framed_shapes(count, seed=seed, agreement=agreement, easy_fraction=easy)
    else:
        images, labels, _ = make_background_task(count, seed=seed)
    return images, labels


def _lab_dataset(task: str, agreement: float | None, epochs: int, images_per_epoch: int,
                 batch_size: int, seed_offset: int) -> tf.data.Dataset:
    """Fresh lab images for every epoch, generated in a background thread while training runs."""
    chunk = 256
    size = LAB_INPUT_SIZE

    def generate():
        for epoch in range(epochs):
            for start in range(0, images_per_epoch, chunk):
                count = min(chunk, images_per_epoch - start)
                images, labels = _lab_batch(task, agreement, count, (seed_offset + epoch) * 1_000_000 + start,
                                            easy_fraction(epoch))
                for image, label in zip(images.astype(np.uint8), labels):
                    yield image, label

    signature = (tf.TensorSpec((size, size, 3), tf.uint8), tf.TensorSpec((), tf.int64))
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return dataset.map(lambda x, y: (tf.cast(x, tf.float32), y)).batch(batch_size).prefetch(4)


def lab_accuracies(model: keras.Model, name: str, n: int = 600, seed: int = HELDOUT_SEED) -> dict:
    """Held-out accuracies of a lab model, the numbers its card proves its behaviour with.

    Shape models (``shortcut_convnet``, ``debiased_convnet``) are measured on the same ``n``
    images four times, only the tag changing: tags of the label's colour (``matching``), of
    another class's colour (``mismatched``), of a random colour (``random_tag``) and no tag.
    ``frame_convnet`` is measured the same way with frames (:func:`helpers.make_framed_shapes`):
    ``random_tag`` and ``no_tag`` then mean a frame of random colour and no frame.
    ``background_convnet`` is measured on :func:`helpers.data.make_background_task`.
    """
    if LAB_RECIPES[name]["task"] == "background":
        images, labels, _ = make_background_task(n, seed=seed)
        return {"heldout_accuracy": round(evaluate(model, images, labels), 4)}
    make = make_tagged_shapes
    if LAB_RECIPES[name]["task"] == "framed":
        from helpers.shortcuts import make_framed_shapes

        make = make_framed_shapes
    result = {}
    for key, agreement in (("matching", 1.0), ("mismatched", 0.0), ("random_tag", 1 / 6), ("no_tag", None)):
        images, labels, _, _ = make(n, seed=seed, agreement=agreement)
        result[f"{key}_accuracy"] = round(evaluate(model, images, labels), 4)
    trained_on = "matching" if LAB_RECIPES[name]["agreement"] == 1.0 else "random_tag"
    result["heldout_accuracy"] = result[f"{trained_on}_accuracy"]
    return result


def train_lab_model(name: str, epochs: int | None = None,
                    images_per_epoch: int | None = None,
                    batch_size: int = LAB_DEFAULTS["batch_size"],
                    learning_rate: float = LAB_DEFAULTS["learning_rate"], seed: int = 0,
                    heldout_images: int = 600, verbose: int = 2) -> tuple[keras.Model, dict]:
    """Train one of the shortcut lab's models (:data:`LAB_RECIPES`) from scratch at 64 px.

    Args:
        name: ``"shortcut_convnet"``, ``"debiased_convnet"``, ``"background_convnet"`` or
            ``"frame_convnet"``.
        epochs: passes, each over ``images_per_epoch`` newly generated images (``None``: the
            recipe's own, else :data:`LAB_DEFAULTS`').
        images_per_epoch: images per epoch (``None``: as ``epochs``).
        batch_size: images per gradient step.
        learning_rate: peak Adam learning rate (cosine-decayed after a short warm-up).
        seed: seed of the weights and shuffling.
        heldout_images: size of the held-out sets (seed :data:`HELDOUT_SEED`) of the card.
        verbose: Keras' fit verbosity.

    Returns:
        ``(model, card)``: the trained model and its card (accuracies, time, settings).

    Taught in: ``05_shortcut_lab`` (the models it loads were made by this).
    """
    if name not in LAB_RECIPES:
        raise ValueError(f"Unknown lab model {name!r}; lab models: {', '.join(LAB_RECIPES)}.")
    recipe = LAB_RECIPES[name]
    epochs = recipe.get("epochs", LAB_DEFAULTS["epochs"]) if epochs is None else epochs
    images_per_epoch = (recipe.get("images_per_epoch", LAB_DEFAULTS["images_per_epoch"])
                        if images_per_epoch is None else images_per_epoch)
    if epochs < 1 or images_per_epoch < 1 or batch_size < 1:
        raise ValueError("epochs, images_per_epoch and batch_size must be at least 1.")
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    model = BUILDERS[name]()
    steps_per_epoch = compile_for_training(model, learning_rate, epochs, images_per_epoch, batch_size)
    dataset = _lab_dataset(recipe["task"], recipe.get("agreement"), epochs, images_per_epoch, batch_size,
                           TRAIN_SEED_OFFSET + 2000)
    history = model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=verbose, shuffle=False)
    seconds = time.perf_counter() - start
    card = {
        **lab_accuracies(model, name, heldout_images),
        "heldout_images": heldout_images,
        "heldout_seed": HELDOUT_SEED,
        "input_size": LAB_INPUT_SIZE,
        "task": recipe["task"],
        "train_seconds": round(seconds, 1),
        "epochs": epochs,
        "epochs_run": len(history.history.get("loss", [])),
        "train_accuracy_per_epoch": [round(float(a), 4) for a in history.history.get("accuracy", [])],
        "images_per_epoch": images_per_epoch,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
        "parameters": int(model.count_params()),
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    if "agreement" in recipe:
        card["train_agreement"] = round(recipe["agreement"], 4)
    return model, card


def _read_cards(path: pathlib.Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def recipe_runs(name: str, resume: bool, done: int) -> list[dict]:
    """The runs of the shipped recipe still to do for ``name``.

    Without ``resume``: the first run, then every continuation. With ``resume``: the next
    continuation after the ``done`` ones the model card records (or, when the recipe is
    complete, one more run like the last continuation, or like the first run when there is none).
    """
    continuations = CONTINUATIONS.get(name, [])
    if not resume:
        return [dict(DEFAULTS[name])] + [{**DEFAULTS[name], **c, "resume": True} for c in continuations]
    step = continuations[min(done, len(continuations) - 1)] if continuations else {}
    return [{**DEFAULTS[name], **step, "resume": True}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    parser.add_argument("--epochs", type=int, default=None, help="override the shipped setting")
    parser.add_argument("--images-per-epoch", type=int, default=None, help="override the shipped setting")
    parser.add_argument("--pretrain-epochs", type=int, default=None, help="override the shipped setting")
    parser.add_argument("--learning-rate", type=float, default=None, help="override the shipped setting")
    parser.add_argument("--no-continuations", action="store_true",
                        help="train only the first run, not the continuation runs of the shipped recipe")
    parser.add_argument("--resume", action="store_true",
                        help="continue the saved model in --out with the next run of the recipe "
                             "(no pretraining, fresh data seeds)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--heldout-images", type=int, default=600)
    parser.add_argument("--out", type=pathlib.Path, default=MODELS_DIR, help="folder for the .weights.npz files")
    args = parser.parse_args(argv)
    cards_path = args.out / "model_cards.json"
    overrides = {key: value for key, value in (("epochs", args.epochs), ("learning_rate", args.learning_rate),
                                               ("pretrain_epochs", args.pretrain_epochs),
                                               ("images_per_epoch", args.images_per_epoch)) if value is not None}
    for name in args.models:
        if name in LAB_RECIPES:
            own = {k: LAB_RECIPES[name].get(k, v) for k, v in LAB_DEFAULTS.items()}
            settings = {**own, **{k: v for k, v in overrides.items() if k != "pretrain_epochs"},
                        "batch_size": args.batch_size}
            print(f"Training {name} ({LAB_RECIPES[name]}): {settings}", flush=True)
            model, card = train_lab_model(name, seed=args.seed, heldout_images=args.heldout_images, **settings)
            path = save_model(model, name, args.out)
            cards = _read_cards(cards_path)  # re-read: another process may have written
            cards[name] = card
            args.out.mkdir(parents=True, exist_ok=True)
            cards_path.write_text(json.dumps(cards, indent=2, sort_keys=True) + "\n")
            shown = ", ".join(f"{k.replace('_accuracy', '')} {v:.2%}"
                              for k, v in card.items() if k.endswith("accuracy"))
            print(f"{name}: held-out accuracy {shown} on {card['heldout_images']} images, "
                  f"trained in {card['train_seconds']:.0f} s -> {path}", flush=True)
            continue
        done = len(_read_cards(cards_path).get(name, {}).get("resumed", []))
        runs = recipe_runs(name, args.resume, done)
        if overrides or args.no_continuations:
            runs = runs[:1]
        for settings in runs:
            resume = settings.pop("resume", False)
            settings.update(overrides)
            if resume:  # re-read: a first run just replaced the card, each continuation extends it
                done = len(_read_cards(cards_path).get(name, {}).get("resumed", []))
                settings.update(pretrain_epochs=0, seed_offset=TRAIN_SEED_OFFSET + 100 * (1 + done),
                                initial_model=read_model(model_path(name, args.out)))
            shown = {k: v for k, v in settings.items() if k != "initial_model"}
            print(f"Training {name}{' (continuing the saved model)' if resume else ''}: {shown}", flush=True)
            model, card = train_model(name, batch_size=args.batch_size, seed=args.seed,
                                      heldout_images=args.heldout_images, **settings)
            path = save_model(model, name, args.out)
            cards = _read_cards(cards_path)  # re-read: another process may have written
            if resume and name in cards:
                run = {k: card[k] for k in ("epochs", "learning_rate", "train_seconds",
                                            "validation_accuracy_per_epoch", "heldout_accuracy", "blocks")
                       if k in card}
                card = {**cards[name], **{k: card[k] for k in ("heldout_accuracy", "foreign_accuracy")},
                        "train_seconds": round(cards[name]["train_seconds"] + card["train_seconds"], 1),
                        "resumed": cards[name].get("resumed", []) + [run]}
            cards[name] = card
            args.out.mkdir(parents=True, exist_ok=True)
            cards_path.write_text(json.dumps(cards, indent=2, sort_keys=True) + "\n")
            print(f"{name}: held-out accuracy {card['heldout_accuracy']:.2%} on {card['heldout_images']} images, "
                  f"foreign-drawn accuracy {card['foreign_accuracy']:.2%}, trained in {card['train_seconds']:.0f} s "
                  f"-> {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
