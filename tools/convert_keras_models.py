"""One-off: turn the bundled ``.keras`` files into weights files, and record reference predictions.

Run once, on the pinned Keras, by the commit that replaced ``data/models/*.keras`` with
``data/models/*.weights.npz``; kept so the step can be checked or repeated from git history:

    git show <commit before>:data/models/vgg_gap.keras > /tmp/old/vgg_gap.keras   # and small_convnet
    python tools/convert_keras_models.py /tmp/old

For each model it loads the ``.keras`` file with ``keras.saving.load_model``, writes the weights
with :func:`helpers.models.save_weights`, and stores in ``tests/data/bundled_reference.npz``:
a few test images (rounded to uint8, so every Pillow version feeds the same pixels), the old
file's predictions on them, and a SHA-256 of every weight array. ``tests/test_models.py`` checks
the shipped weights files against both.
"""

from __future__ import annotations

import hashlib
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers._backend import keras  # noqa: E402
from helpers.data import load_image, make_shapes  # noqa: E402
from helpers.models import BUNDLED_MODELS, MODELS_DIR, model_path, save_weights  # noqa: E402

REFERENCE = ROOT / "tests" / "data" / "bundled_reference.npz"


def weight_digests(model: keras.Model) -> dict[str, str]:
    """``{"<layer>/<index>": sha256 of the float32 bytes}`` for every weight of ``model``."""
    return {f"{layer.name}/{index}": hashlib.sha256(np.ascontiguousarray(w, np.float32).tobytes()).hexdigest()
            for layer in model.layers for index, w in enumerate(layer.get_weights())}


def reference_images() -> np.ndarray:
    """Five held-out shapes (seed 7) and the cat photo, 150×150, rounded to uint8."""
    shapes, _, _ = make_shapes(5, seed=7)
    images = np.concatenate([shapes, load_image("cat", size=150)[None]])
    return np.clip(np.round(images), 0, 255).astype(np.uint8)


def main(old_dir: str) -> int:
    images = reference_images()
    arrays: dict[str, np.ndarray] = {"images": images, "keras": np.array(keras.__version__)}
    for name in BUNDLED_MODELS:
        source = pathlib.Path(old_dir) / f"{name}.keras"
        if not source.is_file():  # models added after the conversion (frame_convnet) never had a .keras file
            print(f"{name}: no {source.name} in {old_dir}; skipped (it ships as .weights.npz already)")
            continue
        old = keras.saving.load_model(source, compile=False)
        save_weights(old, name, model_path(name, MODELS_DIR))
        arrays[f"{name}/probabilities"] = np.asarray(old.predict(images.astype(np.float32), verbose=0))
        digests = weight_digests(old)
        arrays[f"{name}/digest_keys"] = np.array(list(digests))
        arrays[f"{name}/digests"] = np.array(list(digests.values()))
        print(f"{name}: {len(digests)} weight arrays -> {model_path(name)}")
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(REFERENCE, **arrays)
    print(f"reference -> {REFERENCE} ({REFERENCE.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(MODELS_DIR)))
