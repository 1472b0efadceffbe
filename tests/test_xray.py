"""The X-Ray explorer (helpers.xray): the decomposition, the three lenses, uploads, foreign models, languages."""

from __future__ import annotations

import ast
import datetime
import pathlib

import numpy as np
import pytest

import helpers
from helpers._backend import keras, tf
from helpers.data import image_to_png_bytes, make_shapes
from helpers.i18n import localized, set_language
from helpers.models import model_path
from helpers.widgets import upload_files
from helpers.xray import (XRay, XRayError, channel_contributions, detect_input_range, probe_images, receptive_crop,
                          top_activating_patches)

ROOT = pathlib.Path(__file__).resolve().parent.parent
STATE_KEYS = {"contributions", "feature_map", "pattern", "top_patches", "logit"}


def _upload_value_8(name: str, content: bytes) -> tuple[dict, ...]:
    return ({"name": name, "type": "application/octet-stream", "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},)


def _upload_value_7(name: str, content: bytes) -> dict:
    return {name: {"metadata": {"name": name, "type": "application/octet-stream", "size": len(content),
                                "lastModified": 1704067200000}, "content": content}}


def _choose_file(upload, name: str, content: bytes) -> None:
    """Do to ``upload`` what the browser does when a file is chosen, in ipywidgets 7 or 8."""
    import ipywidgets

    if int(ipywidgets.__version__.split(".")[0]) >= 8:
        upload.value = _upload_value_8(name, content)
    else:  # value is read-only: the front end sends metadata and data, then bumps a counter
        upload.metadata = [_upload_value_7(name, content)[name]["metadata"]]
        upload.data = [content]
        upload._counter += 1


def _small_probe(size: int = 32, n: int = 12) -> np.ndarray:
    return make_shapes(n, size=size, seed=5)[0]


@pytest.fixture
def explorer(tiny_gap_model):
    return XRay(tiny_gap_model, _small_probe()[0], probe=_small_probe(), pattern_steps=3)


@pytest.fixture(autouse=True)
def english():
    set_language("en")
    yield
    set_language("en")


# --------------------------------------------------------------------------- the contract
def test_the_flat_namespace_has_xray_and_import_stays_light():
    import subprocess
    import sys

    assert callable(helpers.xray) and helpers.xray.__module__ == "helpers.xray"
    code = "import sys, helpers; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_state_has_the_contract_keys_and_select_changes_it(explorer):
    state = explorer.state
    assert STATE_KEYS <= set(state)
    assert state["layer"] == "block2_conv1" and state["contributions"].shape == (16,)
    explorer.select(channel=3, class_index=2)
    assert explorer.state["channel"] == 3 and explorer.state["class_index"] == 2
    assert explorer.state["feature_map"].shape == (16, 16)
    explorer.select(layer="block1_conv1", channel=5)
    assert explorer.state["layer"] == "block1_conv1" and explorer.state["contributions"].shape == (8,)
    np.testing.assert_array_equal(explorer.state["feature_map"], explorer.state["layer_maps"][..., 5])


def test_gap_dense_contributions_add_up_to_the_logit_exactly(explorer, tiny_gap_model):
    for c in range(3):
        explorer.select(class_index=c)
        state = explorer.state
        assert state["exact"]
        maps = keras.Model(tiny_gap_model.inputs, tiny_gap_model.get_layer("block2_conv1").output)(
            explorer.image[None]).numpy()[0]
        dense = tiny_gap_model.get_layer("predictions")
        expected = maps.astype(np.float64).mean(axis=(0, 1)) * np.asarray(dense.kernel, np.float64)[:, c]
        np.testing.assert_allclose(state["contributions"], expected, rtol=1e-4, atol=1e-6)
        assert state["bias"] == pytest.approx(float(np.asarray(dense.bias)[c]))
        assert state["contributions"].sum() + state["bias"] == pytest.approx(state["logit"], abs=1e-4)


def test_other_heads_get_the_first_order_estimate(tiny_sequential):
    x = XRay(tiny_sequential, _small_probe()[1], probe=_small_probe(), pattern_steps=3)
    state = x.state
    assert not state["exact"] and np.isnan(state["bias"])
    image = tf.constant(x.image[None])
    extractor = keras.Model(tiny_sequential.inputs, [tiny_sequential.get_layer(state["layer"]).output,
                                                    tiny_sequential.layers[-1].output])
    with tf.GradientTape() as tape:
        maps, _ = extractor(image)
        tape.watch(maps)
    # the logit is the Dense layer's pre-softmax output: recompute it from the maps
    dense = tiny_sequential.get_layer("dense")
    with tf.GradientTape() as tape:
        tape.watch(maps)
        c = state["class_index"]
        logit = tf.matmul(tf.reshape(maps, (1, -1)), dense.kernel)[0, c] + dense.bias[c]
    gradient = tape.gradient(logit, maps).numpy()[0]
    expected = (maps.numpy()[0].astype(np.float64) * gradient).sum(axis=(0, 1))
    np.testing.assert_allclose(state["contributions"], expected, rtol=1e-3, atol=1e-5)
    assert state["logit"] == pytest.approx(float(logit), rel=1e-4)
    assert "first-order estimate" in x.summary()


def test_channel_contributions_handles_the_binary_head():
    rng = np.random.default_rng(0)
    maps = rng.uniform(0, 1, (4, 4, 3))
    kernel, bias = rng.normal(size=(3, 1)), np.array([0.5])
    pos, b_pos, exact = channel_contributions(maps, None, (kernel, bias, True), 1)
    neg, b_neg, _ = channel_contributions(maps, None, (kernel, bias, True), 0)
    assert exact and pos.sum() + b_pos == pytest.approx(-(neg.sum() + b_neg))


def test_ranking_orders_by_contribution_and_starts_at_the_top_channel(explorer):
    state = explorer.state
    values = state["contributions"][state["ranking"]]
    assert np.all(np.diff(values) <= 0) and state["channel"] == state["ranking"][0]


def test_errors_name_the_valid_choices(explorer):
    with pytest.raises(XRayError, match="block1_conv1"):
        explorer.select(layer="nope")
    with pytest.raises(XRayError, match=r"0\.\.15"):
        explorer.select(channel=99)
    with pytest.raises(XRayError, match=r"0\.\.2"):
        explorer.select(class_index=7)
    assert explorer.state["layer"] == "block2_conv1"  # nothing changed


# --------------------------------------------------------------------------- the lenses
def test_top_patches_are_the_probe_images_that_excite_the_channel_most(explorer, tiny_gap_model):
    explorer.select(layer="block1_conv1", channel=2)
    probe = _small_probe()
    maps = keras.Model(tiny_gap_model.inputs, tiny_gap_model.get_layer("block1_conv1").output)(probe).numpy()
    peaks = maps[..., 2].reshape(len(probe), -1).max(axis=1)
    sources = explorer.state["top_patch_sources"]
    assert len(sources) == 9 and len(explorer.state["top_patches"]) == 9
    assert [s[0] for s in sources] == list(np.argsort(-peaks, kind="stable")[:9])
    np.testing.assert_allclose([s[2] for s in sources], np.sort(peaks)[::-1][:9], rtol=1e-4)


def test_receptive_crop_is_centred_and_grey_beyond_the_edge():
    from helpers.layers import ReceptiveField

    image = np.arange(10 * 10 * 3, dtype=np.float32).reshape(10, 10, 3)
    crop = receptive_crop(image, ReceptiveField(size=3, jump=2, start=1.0), 1, 1)  # centred on pixel (3, 3)
    np.testing.assert_array_equal(crop, image[2:5, 2:5])
    corner = receptive_crop(image, ReceptiveField(size=5, jump=1, start=0.0), 0, 0)
    assert corner[0, 0, 0] == 128.0 and np.array_equal(corner[2:, 2:], image[:3, :3])


def test_top_activating_patches_breaks_ties_by_probe_order():
    peaks = np.array([[1.0], [2.0], [2.0], [0.5]])
    where = np.zeros((4, 1), int)
    assert [i for i, _, _ in top_activating_patches(peaks, where, 0, k=3)] == [1, 2, 0]


def test_pattern_is_computed_once_per_model_layer_and_channel(explorer):
    computed = explorer.pattern_computations
    explorer.select(channel=1)
    explorer.select(channel=2)
    explorer.select(channel=1)
    assert explorer.pattern_computations == computed + 2
    assert explorer.state["pattern"].dtype == np.uint8 and explorer.state["pattern"].shape == (32, 32, 3)


def test_without_waiting_the_other_panels_come_first_then_the_pattern(explorer):
    explorer.build_widget()
    explorer.select(channel=7, wait=False)
    first = explorer.last_update_seconds
    explorer.wait()
    assert explorer.state["pattern"] is not None and explorer.state["channel"] == 7
    assert first >= 0 and explorer._view.value  # a picture was sent


def test_pooling_layers_get_a_message_instead_of_a_pattern(tiny_gap_model):
    x = XRay(tiny_gap_model, probe=_small_probe(), pattern_steps=2)
    x.select(layer="block1_pool")
    assert x.state["pattern"] is None and x.state["pattern_status"].startswith("no pattern")


def test_probe_set_from_a_folder_and_bad_probes(tmp_path):
    for i, image in enumerate(_small_probe(n=3)):
        (tmp_path / f"{i}.png").write_bytes(image_to_png_bytes(image))
    assert probe_images(tmp_path, (20, 20)).shape == (3, 20, 20, 3)
    with pytest.raises(XRayError, match="not a folder of images"):
        probe_images(tmp_path / "missing_is_not_a_folder", (20, 20))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(XRayError, match="no .png"):
        probe_images(empty, (20, 20))
    with pytest.raises(XRayError, match="N, H, W, 3"):
        probe_images(np.zeros((5, 5)), (20, 20))


# --------------------------------------------------------------------------- models, images, uploads
def _student_model(seed: int = 0, size: int = 32, rescaling: bool = False) -> keras.Model:
    """What a student's training code makes: a small Sequential convnet, fitted a little on 0..1 pixels."""
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((size, size, 3))] + ([keras.layers.Rescaling(1 / 255)] if rescaling else []) + [
        keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(6, activation="softmax")]
    model = keras.Sequential(layers, name="student_net")
    model.compile("adam", "sparse_categorical_crossentropy")
    images, labels, _ = make_shapes(32, size=size, seed=11)
    model.fit(images / (255.0 if not rescaling else 1.0), labels, epochs=1, batch_size=16, verbose=0)
    return model


def test_a_students_keras_file_trained_on_unit_inputs(tmp_path):
    model = _student_model()
    path = tmp_path / "my_model.keras"
    model.save(path)
    assert detect_input_range(keras.saving.load_model(path))[0] is None  # cannot be read off the model
    x = XRay(str(path), _small_probe()[2], probe=_small_probe(), pattern_steps=2)
    assert not x.range_detected and x.input_range == (0.0, 255.0)
    x.set_input_range((0, 1))
    assert x.input_range == (0.0, 1.0) and "0..1" in x.message
    expected = model.predict(x.image[None] / 255.0, verbose=0)[0]
    np.testing.assert_allclose(x.state["probabilities"], expected, rtol=1e-4, atol=1e-6)
    assert x.state["exact"]  # its last conv feeds GAP -> Dense
    assert x.state["contributions"].sum() + x.state["bias"] == pytest.approx(x.state["logit"], abs=1e-4)
    given = XRay(str(path), probe=_small_probe(), input_range=(0, 1), pattern_steps=2)
    assert given.range_detected


def test_rescaling_inside_the_model_is_detected():
    assert detect_input_range(_student_model(rescaling=True))[0] == (0.0, 255.0)


def test_uploading_a_keras_file_in_both_ipywidgets_forms(tmp_path, explorer):
    model = _student_model(size=40)
    path = tmp_path / "net.keras"
    model.save(path)
    content = path.read_bytes()
    for value in (_upload_value_8("net.keras", content), _upload_value_7("net.keras", content)):
        assert upload_files(value) == [("net.keras", content)]
    explorer.build_widget()
    _choose_file(explorer._model_upload, "net.keras", content)
    assert explorer.model_name == "net.keras" and explorer.image.shape == (40, 40, 3)
    assert "resized to 40×40" in explorer.message and "choose the range" in explorer.message.lower()
    assert explorer._view.value  # redrawn


def _subclassed_file(tmp_path) -> bytes:
    class Net(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv = keras.layers.Conv2D(4, 3)
            self.pool = keras.layers.GlobalAveragePooling2D()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(self.pool(self.conv(x)))

    net = Net()
    net(np.zeros((1, 16, 16, 3), np.float32))
    path = tmp_path / "sub.keras"
    net.save(path)
    return path.read_bytes()


def _dense_only_file(tmp_path) -> bytes:
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])
    path = tmp_path / "dense.keras"
    model.save(path)
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["text", "wrong_name", "subclassed", "no_conv"])
def test_bad_model_uploads_leave_a_message_and_the_explorer_working(kind, tmp_path, explorer):
    explorer.build_widget()
    name, content, words = {
        "text": ("notes.keras", b"just some text, not a zip", "not a Keras model file"),
        "wrong_name": ("model.h5", b"\x89HDF\r\n", "not a .keras file"),
        "subclassed": ("sub.keras", None, "subclassed" if True else ""),
        "no_conv": ("dense.keras", None, "no convolution layer"),
    }[kind]
    if kind == "subclassed":
        content = _subclassed_file(tmp_path)
    if kind == "no_conv":
        content = _dense_only_file(tmp_path)
    before = explorer.model_name
    _choose_file(explorer._model_upload, name, content)
    text = explorer._message.value
    assert words.lower() in text.lower() or (kind == "subclassed" and "custom class" in text), text
    assert explorer.model_name == before
    explorer.select(channel=4)  # still working
    assert explorer.state["channel"] == 4


def test_bad_model_objects_are_refused_clearly(tiny_gap_model):
    with pytest.raises(XRayError, match="needs a Keras model"):
        XRay(np.zeros(3))
    with pytest.raises(XRayError, match="No model file"):
        XRay("no_such_model")

    class Sub(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(XRayError, match="subclassed"):
        XRay(Sub())


def test_image_uploads_in_both_forms_and_a_non_image(explorer):
    explorer.build_widget()
    photo = make_shapes(1, size=64, seed=9)[0][0]
    _choose_file(explorer._image_upload, "mine.png", image_to_png_bytes(photo))
    assert explorer.image_name == "mine.png" and explorer.image.shape == (32, 32, 3)
    assert "resized" in explorer.message
    kept = explorer.image.copy()
    _choose_file(explorer._image_upload, "fake.png", b"%PDF-1.4 not an image")
    assert "not an image" in explorer._message.value and np.array_equal(explorer.image, kept)
    explorer.select(channel=2)
    assert explorer.state["channel"] == 2


def test_widget_controls_drive_the_selection(explorer):
    explorer.build_widget()
    explorer._channel_list.value = int(explorer.state["ranking"][3])
    assert explorer.state["channel"] == int(explorer.state["ranking"][3])
    explorer._channel_number.value = 9
    assert explorer.state["channel"] == 9 and explorer._channel_list.value == 9
    explorer._class_picker.value = 1
    assert explorer.state["class_index"] == 1
    explorer._layer_picker.value = "block1_conv1"
    assert explorer.state["layer"] == "block1_conv1" and explorer._channel_number.max == 7
    explorer._range.value = "0..1"
    assert explorer.input_range == (0.0, 1.0)


def test_changing_model_fits_the_image_and_says_so(explorer):
    explorer.open_model(_student_model(size=48, rescaling=True))
    assert explorer.image.shape == (48, 48, 3) and "48×48" in explorer.message


# --------------------------------------------------------------------------- languages
def _localized_texts() -> list[str]:
    texts = []
    for name in ("xray.py",):
        tree = ast.parse((ROOT / "helpers" / name).read_text(encoding="utf-8"))
        texts += [node.args[0].value for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "localized"
                  and node.args and isinstance(node.args[0], ast.Constant)]
    return texts


def test_every_label_and_message_has_its_chinese():
    texts = _localized_texts()
    assert len(texts) > 40
    set_language("zh")
    missing = [t for t in texts if localized(t) == t]
    assert not missing, missing


def test_the_explorer_speaks_chinese(tiny_gap_model):
    set_language("zh")
    x = XRay(tiny_gap_model, probe=_small_probe(), pattern_steps=2)
    x.build_widget()
    assert "精确" in x.summary() and x._layer_picker.description == "层"
    assert "X 光透视" in x.figure._suptitle.get_text()
    with pytest.raises(XRayError, match="未知的层"):
        x.select(layer="nope")


# --------------------------------------------------------------------------- bundled and foreign models
@pytest.mark.bundled
def test_vgg_gap_decomposition_adds_up_to_the_logit():
    if not model_path("vgg_gap").is_file():
        pytest.skip("bundled model vgg_gap not trained yet")
    x = XRay("vgg_gap", "cat", pattern_steps=2, probe=make_shapes(12, size=150, seed=1)[0])
    assert x.layer == "block5_conv2" and x.state["exact"]
    for c in range(6):
        x.select(class_index=c)
        s = x.state
        assert s["contributions"].sum() + s["bias"] == pytest.approx(s["logit"], abs=1e-3 * (1 + abs(s["logit"])))
    assert "add up to" in x.summary()


@pytest.mark.slow
@pytest.mark.parametrize("name,size", [("MobileNetV2", 96), ("ResNet50", 64), ("EfficientNetB0", 64)])
def test_foreign_architectures_with_random_weights(name, size):
    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3), classes=5)
    x = XRay(model, "cat", probe=make_shapes(6, size=size, seed=2)[0], pattern_steps=2)
    state = x.state
    assert STATE_KEYS <= set(state) and np.all(np.isfinite(state["contributions"]))
    assert state["heatmap"].shape == (size, size) and len(state["top_patches"]) == 6
    if state["exact"]:  # the layer feeding GAP -> Dense
        assert state["contributions"].sum() + state["bias"] == pytest.approx(state["logit"], abs=1e-3)
    conv = [layer for layer in x.layers if "conv" in layer.lower()][-1]
    x.select(layer=conv, channel=1, class_index=3)
    assert x.state["layer"] == conv and x.state["class_index"] == 3
    assert x.state["pattern"] is not None or x.state["pattern_status"]
    if name == "MobileNetV2":
        assert x.input_range == (-1.0, 1.0)
    if name == "EfficientNetB0":
        assert x.input_range == (0.0, 255.0)


def test_the_benchmark_reports_update_times(tiny_gap_model):
    from helpers.benchmarks import xray as bench

    report = bench.run(quick=True, models={"vgg_gap": tiny_gap_model})
    assert "| switch channel" in report and "| switch class" in report and "ms" in report


# --------------------------------------------------------------------------- the exercises of 06
def _solutions() -> dict:
    import runpy

    return runpy.run_path(str(ROOT / "notebooks" / "solutions" / "ch6_solutions.py"))


def test_the_solutions_pass_and_a_stub_is_told_to_start():
    from helpers import exercises

    solutions = _solutions()
    chapter_6 = {name: check for name, (chapter, check) in exercises.EXERCISES.items() if chapter == 6}
    assert sorted(chapter_6) == ["channel_ranking", "first_order", "receptive_box"]
    for name, check in chapter_6.items():
        assert check(solutions[name]).passed, name

        def stub(*args):
            raise NotImplementedError

        assert repr(check(stub)).startswith("❌ Not yet. Replace `raise NotImplementedError`")


def test_receptive_box_names_the_mistake_and_never_prints_the_answer():
    from helpers.exercises import check_receptive_box

    corner = check_receptive_box(lambda r, c, size, jump, start: (int(start + jump * r), int(start + jump * c),
                                                                  int(start + jump * r) + size,
                                                                  int(start + jump * c) + size))
    assert not corner.passed and "centre" in corner.message
    swapped = check_receptive_box(lambda r, c, size, jump, start: _solutions()["receptive_box"](c, r, size, jump,
                                                                                             start))
    assert not swapped.passed and "Rows first" in swapped.message
    zero = check_receptive_box(lambda *args: (0, 0, 0, 0))
    assert not zero.passed and "(6, 2, 11, 7)" not in zero.message and "6, 2" not in zero.message


def test_the_exercise_hints_speak_chinese():
    from helpers.exercises import check_channel_ranking

    set_language("zh")
    feedback = check_channel_ranking(lambda maps, weights, c: np.argsort(-weights[:, c], kind="stable"))
    assert "权重" in feedback.message
