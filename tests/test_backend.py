"""helpers._backend: Keras 3 on TensorFlow, and a quiet import (notebook outputs must be stable)."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

from helpers._backend import EPSILON, keras, tf

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_keras_3_on_tensorflow() -> None:
    assert keras.__version__.startswith("3.")
    assert keras.backend.backend() == "tensorflow"
    assert tf.__version__.startswith("2.")
    assert 0 < EPSILON < 1e-6


def test_import_prints_no_native_log_lines_and_restores_stderr() -> None:
    """TensorFlow's C++ start-up lines (absl, oneDNN) would land in a notebook cell's output,
    only some of the time, and break nbval; importing helpers must silence them, and only them."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    code = "import os, helpers; os.write(2, b'stderr still works\\n'); print('imported')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"
    native = [line for line in result.stderr.splitlines()
              if re.match(r"^[IWEF]\d{4} ", line) or "absl" in line or "oneDNN" in line]
    assert not native, "native log lines leaked while importing helpers:\n" + "\n".join(native)
    assert "stderr still works" in result.stderr, "file descriptor 2 must be restored after the import"
