"""The course as a wheel: ``pip install convnet-xray`` carries the photos and the models.

Builds the wheel offline from a copy of the sources (``pip wheel --no-build-isolation``, with the
setuptools pinned in pyproject.toml), installs it into a fresh virtual environment that sees this
environment's packages (TensorFlow, Keras, ...) but not the checkout, and loads a bundled model and
a photo from another directory.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _setuptools_or_skip() -> None:
    from importlib.metadata import PackageNotFoundError, version

    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"][0]
    floor = int(required.split(">=")[1].split(".")[0])
    try:
        major = int(version("setuptools").split(".")[0])
    except PackageNotFoundError:
        major = 0
    if major < floor:
        pytest.skip(f"building the wheel offline needs {required} in this environment (make venv installs it)")


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "helpers").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> pathlib.Path:
    _setuptools_or_skip()
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "helpers", source / "helpers", ignore=ignore)
    shutil.copytree(ROOT / "data", source / "data", ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--disable-pip-version-check", "-q", "-w", str(out), str(source)], check=True)
    wheels = list(out.glob("convnet_xray-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_contains_the_models_and_images(wheel) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in sorted((ROOT / "data").rglob("*")):
        if path.is_file():
            assert f"helpers/_data/{path.relative_to(ROOT / 'data').as_posix()}" in names
    assert "helpers/__init__.py" in names and "helpers/benchmarks/__init__.py" in names
    assert not any(name.startswith(("tests/", "notebooks/", "data/")) for name in names)


def test_installed_wheel_loads_models_and_images_from_any_directory(wheel, tmp_path) -> None:
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = pathlib.Path(subprocess.run(
        [str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    # The new environment sees this one's packages (TensorFlow, Keras, ...), not its .pth hooks,
    # so the checkout's editable install of the course stays invisible there.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                    "--disable-pip-version-check", "--target", str(site), str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import helpers, helpers.data, numpy as np\n"
        "print(helpers.__file__)\n"
        "print(helpers.data.DATA_DIR)\n"
        "model = helpers.load_model('vgg_gap')\n"
        "cat = helpers.load_image('cat', size=150)\n"
        "p = np.asarray(model(cat[None]))\n"
        "print(p.shape, round(float(p.sum()), 4), cat.shape)\n"
    )
    run = subprocess.run([str(env / "bin" / "python"), "-c", script], cwd=elsewhere, capture_output=True,
                         text=True, env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2", "HOME": str(tmp_path)})
    assert run.returncode == 0, run.stderr[-3000:]
    module, data_dir, result = run.stdout.strip().splitlines()[-3:]
    assert pathlib.Path(module).is_relative_to(site), f"helpers came from {module}, not the wheel"
    assert pathlib.Path(data_dir) == site / "helpers" / "_data"
    assert result == "(1, 6) 1.0 (150, 150, 3)"
