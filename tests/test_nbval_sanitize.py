"""tests/nbval_sanitize.cfg: volatile notebook output is normalized, meaningful text is not."""

from __future__ import annotations

import pathlib
import re

import pytest

CFG = pathlib.Path(__file__).with_name("nbval_sanitize.cfg")


def _patterns() -> list[tuple[str, str]]:
    """The (regex, replace) pairs exactly as nbval reads them (``get_sanitize_patterns``)."""
    nbval_plugin = pytest.importorskip("nbval.plugin")
    return nbval_plugin.get_sanitize_patterns(CFG.read_text(encoding="ascii"))


def sanitize(text: str) -> str:
    """Apply the rules in file order, as nbval does."""
    for regex, replace in _patterns():
        text = re.sub(regex, replace, text)
    return text


def test_file_is_ascii_and_every_rule_compiles() -> None:
    CFG.read_bytes().decode("ascii")  # nbval opens it with the locale's encoding
    pairs = _patterns()
    assert len(pairs) >= 8
    for regex, replace in pairs:
        re.compile(regex)
        assert replace.strip(), f"empty replacement for {regex!r}"
    # every 'regex:' line was paired with a 'replace:' line (nbval silently drops unpaired ones)
    assert len(pairs) == CFG.read_text().count("\nregex: ")


@pytest.mark.parametrize(("first", "second"), [
    ("<keras.src.models.functional.Functional object at 0x7f3a2c1d4e50>",
     "<keras.src.models.functional.Functional object at 0x7fab00112233>"),
    ("<Figure size 640x480 with 1 Axes>", "<Figure size 1200x400 with 3 Axes>"),
    ("CPU times: user 1.23 s, sys: 120 ms, total: 1.35 s\nWall time: 980 ms",
     "CPU times: user 2.5 s, sys: 98 ms, total: 2.6 s\nWall time: 1.1 s"),
    ("CPU times: user 1min 3s", "CPU times: user 59.8 s"),
    ("CPU times: user 15 ms, sys: 348 \u03bcs, total: 15.4 ms", "CPU times: user 9 ms, sys: 0 ns, total: 9 ms"),
    ("sys: 540 \u00b5s", "sys: 2 us"),
    ("Grad-CAM took 12.5 ms per image", "Grad-CAM took 9.75 ms per image"),
    ("trained in 3.5 seconds", "trained in 4 seconds"),
    ("100%|##########| 50/50 [00:01<00:00, 31.45it/s]",
     "100%|##########| 50/50 [00:03<00:00, 14.02it/s]"),
    ("  0%|          | 0/50 [00:00<?, ?it/s]", "  0%|          | 0/50 [00:00<?, ?it/s]"),
    ("ascent: 2.10s/it", "ascent: 1.05s/it"),
    ("/work/main/.venv/lib/python3.11/site-packages/keras/src/ops.py:12: UserWarning: x",
     "/usr/local/lib/python3.12/dist-packages/keras/src/ops.py:12: UserWarning: x"),
    ("PosixPath('/work/main/data/images/cat.png')", "PosixPath('/tmp/ci-clone/data/images/cat.png')"),
    ("/work/main/helpers/data.py:40", "/content/convnet-xray/helpers/data.py:40"),
    ("cached as /root/.keras/models/vgg16.h5", "cached as /home/reader/.keras/models/vgg16.h5"),
    ("I0000 00:00:1795838757.842582    3451 port.cc:153] oneDNN on",
     "I0000 00:00:1795839999.000001    9876 port.cc:153] oneDNN on"),
    ("TensorFlow 2.21.0, Keras 3.15.1 (the course needs TensorFlow >= 2.19, Keras >= 3.10)",
     "TensorFlow 2.19.0, Keras 3.10.0 (the course needs TensorFlow >= 2.19, Keras >= 3.10)"),
])
def test_volatile_text_becomes_equal(first: str, second: str) -> None:
    assert sanitize(first) == sanitize(second)


@pytest.mark.parametrize(("first", "second"), [
    ("<Figure size 640x480 with 1 Axes>", "<Axes: >"),
    ("accuracy 0.97", "accuracy 0.93"),
    ("6 classes: circle, ring, square", "5 classes: circle, ring, square"),
    ("conv2d_1 output (1, 148, 148, 32)", "conv2d_1 output (1, 74, 74, 32)"),
    ("6272 features", "6273 features"),
    ("0xff", "0xfe"),  # short hex literals are data, not addresses
    ("100%|##########| 50/50 [00:01<00:00, 31.45it/s]", "100%|##########| 49/50 [00:01<00:00, 31.45it/s]"),
    ("/work/main/data/images/cat.png", "/work/main/data/images/dog.png"),
    ("3 shapes", "4 shapes"),
    ("(the course needs TensorFlow >= 2.19, Keras >= 3.10)", "(the course needs TensorFlow >= 2.18, Keras >= 3.10)"),
])
def test_meaningful_text_still_differs(first: str, second: str) -> None:
    assert sanitize(first) != sanitize(second)


def test_words_after_numbers_are_not_taken_for_units() -> None:
    text = "3 shapes, 2 samples, 12 steps, 6 stars, layer conv2d_1 s"
    assert sanitize(text) == text
