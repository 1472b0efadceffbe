"""The Colab runtimes the course is tested on: their pins, the Setup cell's floor, the README.

A drift alarm: the Setup cell's version floor is the oldest tested runtime's, the constraints
files agree with each other and with what their headers say, and ``make test-colab`` tests each
one on its own Python (failing, never skipping, when that Python is missing).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import colab_links  # noqa: E402
import colab_pins  # noqa: E402

RUNTIMES = colab_pins.runtimes()
KEY = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "matplotlib", "ipywidgets", "widgetsnbextension",
       "ipython", "ipykernel", "pillow", "tqdm")


def _minor(version: str) -> tuple[int, int]:
    return tuple(int(part) for part in version.split(".")[:2])


def test_two_runtimes_are_tested_current_on_python_313() -> None:
    assert [path.name for path in RUNTIMES] == sorted(path.name for path in RUNTIMES), \
        "name the files colab-YYYY.MM.txt after their freeze date, so that names sort like dates"
    assert len(RUNTIMES) >= 2
    current = colab_pins.read_header(RUNTIMES[-1])
    assert current["Python"].startswith("3.13."), "Colab's default since 2026-08-25 runs Python 3.13"
    assert colab_pins.read_pins(RUNTIMES[-1])["tensorflow-cpu"] == "2.20.0"


@pytest.mark.parametrize("path", RUNTIMES, ids=lambda path: path.name)
def test_each_runtime_names_its_source_and_its_header_tells_the_truth(path) -> None:
    header, pins = colab_pins.read_header(path), colab_pins.read_pins(path)
    assert re.fullmatch(r"googlecolab/backend-info, pip-freeze\.txt and os-info\.txt at commit [0-9a-f]{40}.*",
                        header["Source"]), header.get("Source")
    assert path.name == f"colab-{header['Freeze date'][:7].replace('-', '.')}.txt"
    assert re.fullmatch(r"3\.\d+\.\d+", header["Python"])
    for name in KEY:
        assert name in pins, f"{path.name} pins no {name}"
    assert pins["tensorflow-cpu"] == pins["tensorflow"]
    stated = dict(item.rsplit(" ", 1) for item in header["Key versions"].split(", "))
    assert stated.pop("python") == header["Python"]
    assert stated == {name: pins[name] for name in stated}, "the header's key versions are the file's pins"


@pytest.mark.parametrize("path", RUNTIMES, ids=lambda path: path.name)
def test_each_runtime_file_is_what_the_tool_writes(path, tmp_path) -> None:
    """Rebuilding the freeze from the file and running tools/colab_pins.py on it gives the file back:
    nobody edited a pin by hand."""
    text = path.read_text(encoding="utf-8")
    header = colab_pins.read_header(path)
    freeze = [line.replace("tensorflow-cpu==", "tensorflow==").split(";")[0] for line in text.splitlines()
              if line and not line.startswith("#") and not line.startswith("tensorflow==")]
    left_out = re.search(r"Left out \(pip takes no URL as a constraint\): (.*)$", text, re.MULTILINE)[1]
    freeze += [f"{name} @ https://example.invalid/{name}.whl" for name in left_out.split(", ") if name != "none"]
    (tmp_path / "pip-freeze.txt").write_text("# a comment\n" + "\n".join(reversed(freeze)) + "\n")
    commit, subject = re.fullmatch(r".* at commit ([0-9a-f]{40})(?: \"(.*)\")?", header["Source"]).groups()
    argv = [str(tmp_path / "pip-freeze.txt"), "--python", header["Python"], "--date", header["Freeze date"],
            "--commit", commit, "--output-dir", str(tmp_path)]
    argv += ["--subject", subject] if subject else []
    argv += ["--default-since", header["Default since"]] if "Default since" in header else []
    assert colab_pins.main(argv) == 0
    assert (tmp_path / path.name).read_text(encoding="utf-8") == text


def test_the_tool_reads_os_info_and_refuses_what_is_not_a_freeze(tmp_path, capsys) -> None:
    freeze = tmp_path / "pip-freeze.txt"
    freeze.write_text("keras==3.13.2\ntensorflow==2.20.0\nJinja2==3.1.6\n"
                      "torch @ https://download.pytorch.org/whl/cpu/torch-2.11.0.whl\n")
    os_info = tmp_path / "os-info.txt"
    os_info.write_text("# generated\nUbuntu 22.04.5 LTS\nPython 3.13.15\nR version 4.6.1\n")
    assert colab_pins.main([str(freeze), "--os-info", str(os_info), "--date", "2026-08-19", "--commit", "a724079",
                            "--output-dir", str(tmp_path)]) == 0
    written = (tmp_path / "colab-2026.08.txt").read_text()
    assert "# Python: 3.13.15\n" in written and "Left out (pip takes no URL as a constraint): torch" in written
    assert 'tensorflow-cpu==2.20.0; sys_platform == "linux"\ntensorflow==2.20.0; sys_platform != "linux"\n' in written
    assert "Jinja2==3.1.6\nkeras==3.13.2\n" in written
    freeze.write_text("numpy==2.1.3\nnot a pin\n")
    assert colab_pins.main([str(freeze), "--python", "3.13.15", "--date", "2026-08-19", "--commit", "a724079",
                            "--output-dir", str(tmp_path)]) == 2
    assert "line 2 of the freeze is not 'name==version'" in capsys.readouterr().err
    freeze.write_text("numpy==2.1.3\n")
    assert colab_pins.main([str(freeze), "--python", "3.13.15", "--date", "2026-08-19", "--commit", "a724079",
                            "--output-dir", str(tmp_path)]) == 2
    assert "no tensorflow==" in capsys.readouterr().err


def test_runtimes_agree_with_each_other() -> None:
    """Newer runtimes never go back; both pin the same key packages; the course's own pins are not
    older than any Colab runtime's TensorFlow and Keras (the stored outputs come from them)."""
    pins = [colab_pins.read_pins(path) for path in RUNTIMES]
    for older, newer in zip(pins, pins[1:]):
        for name in ("tensorflow-cpu", "keras", "numpy"):
            assert _minor(newer[name]) >= _minor(older[name]), f"{name} went back from {older[name]} to {newer[name]}"
    pythons = [_minor(colab_pins.read_header(path)["Python"]) for path in RUNTIMES]
    assert pythons == sorted(pythons)
    settings = colab_links.read_settings()
    for name in ("TensorFlow", "Keras"):
        key = "tensorflow-cpu" if name == "TensorFlow" else "keras"
        assert _minor(settings["pinned"][name]) >= _minor(pins[-1][key])


def test_setup_cells_floor_is_the_oldest_tested_runtime() -> None:
    oldest = colab_pins.read_pins(RUNTIMES[0])
    floor = {"TensorFlow": ".".join(oldest["tensorflow-cpu"].split(".")[:2]),
             "Keras": ".".join(oldest["keras"].split(".")[:2])}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        source = "".join(next(cell for cell in cells if cell["cell_type"] == "code")["source"])
        found = re.search(r'oldest = \{"TensorFlow": "([\d.]+)", "Keras": "([\d.]+)"\}', source)
        assert found, f"{path.name}: the Setup cell states no version floor"
        assert {"TensorFlow": found[1], "Keras": found[2]} == floor, \
            f"{path.name}: the Setup cell's floor differs from {RUNTIMES[0].name}; run `make colab-links`"


def test_readme_names_every_tested_runtime() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## On Colab"):]
    section = section[:section.index("\n## ", 1)]
    for path in RUNTIMES:
        header, pins = colab_pins.read_header(path), colab_pins.read_pins(path)
        row = next((line for line in section.splitlines() if f"constraints/{path.name}" in line), "")
        assert row, f"README's 'On Colab' names no constraints/{path.name}"
        for expected in (f"Python {header['Python']}", f"TensorFlow {pins['tensorflow-cpu']}",
                         f"Keras {pins['keras']}", f"NumPy {pins['numpy']}", f"ipywidgets {pins['ipywidgets']}",
                         header["Freeze date"]):
            assert expected in row, f"README's row for {path.name} lacks {expected!r}: {row}"
    floor = colab_links.read_settings()["oldest"]
    assert f"TensorFlow >= {floor['TensorFlow']}, Keras >= {floor['Keras']}" in section
    assert "tools/colab_pins.py" in section and "make wheel" in section


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_tests_each_runtime_on_its_own_python() -> None:
    dry = subprocess.run(["make", "-n", "test-colab"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for path in RUNTIMES:
        stamp = path.stem.removeprefix("colab-")
        assert "--nbval-lax --nbval-current-env notebooks/" in dry
        assert f"CONVNET_XRAY_PINS=constraints/{path.name}" in dry
        assert f"-m venv .venv-colab-{stamp}" in dry or (ROOT / f".venv-colab-{stamp}").exists()
    current = subprocess.run(["make", "-n", "test-colab-current"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    assert f"constraints/{RUNTIMES[-1].name}" in current and f"constraints/{RUNTIMES[-2].name}" not in current
    previous = subprocess.run(["make", "-n", "test-colab-previous"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout
    assert f"constraints/{RUNTIMES[-2].name}" in previous


def test_a_missing_python_fails_saying_how_to_get_one(tmp_path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("env", "grep", "sort", "cat"):
        os.symlink(shutil.which(tool), bare / tool)
    bash = shutil.which("bash")
    run = subprocess.run([bash, str(ROOT / "tools" / "find_python.sh"), "3.13"], capture_output=True, text=True,
                         env={"PATH": str(bare), "HOME": str(tmp_path)})
    assert run.returncode == 1 and run.stdout == ""
    assert "no Python 3.13 found" in run.stderr
    for hint in ("pyenv install 3.13", "uv python install 3.13", "apt-get install python3.13",
                 "PYTHON_3_13=/path/to/python3.13"):
        assert hint in run.stderr
    wrong = subprocess.run([bash, str(ROOT / "tools" / "find_python.sh"), "3.13"], capture_output=True, text=True,
                           env={"PATH": str(bare), "PYTHON_3_13": sys.executable})
    if sys.version_info[:2] != (3, 13):
        assert wrong.returncode == 1 and "is not a working Python 3.13" in wrong.stderr
    mine = "%d.%d" % sys.version_info[:2]
    found = subprocess.run([bash, str(ROOT / "tools" / "find_python.sh"), mine], capture_output=True, text=True,
                           env={"PATH": str(bare), f"PYTHON_{mine.replace('.', '_')}": sys.executable})
    assert found.returncode == 0 and found.stdout.strip() == sys.executable


def test_readme_tells_how_to_get_python_313() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## On Colab"):]
    assert "pyenv install 3.13" in section and "PYTHON_3_13=" in section


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_colab_fails_without_the_runtimes_python(tmp_path) -> None:
    """A runtime whose Python is missing fails `make test-colab` with the how-to, never a skip."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "tools", tmp_path / "tools")
    (tmp_path / "constraints").mkdir()
    text = RUNTIMES[-1].read_text(encoding="utf-8")
    (tmp_path / "constraints" / "colab-2099.01.txt").write_text(re.sub(r"(?m)^# Python: .*$", "# Python: 3.99.0",
                                                                       text))
    run = subprocess.run(["make", "test-colab"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode != 0
    assert "no Python 3.99 found" in run.stderr and "pyenv install 3.99" in run.stderr
    assert not (tmp_path / ".venv-colab-2099.01").exists()
