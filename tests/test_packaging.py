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


# ------------------------------------------------------------ the Setup cell on a simulated Colab
def _simulated_colab(tmp_path: pathlib.Path) -> tuple[pathlib.Path, dict, pathlib.Path]:
    """A fresh environment that sees this one's packages (Colab's TensorFlow, Keras, ...) but not
    the course; a ``google.colab`` module whose upload button logs and uploads nothing; a ``git``
    that logs and fails as for a repository that does not exist. Returns (python, env, log)."""
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    site = pathlib.Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                       check=True, capture_output=True, text=True).stdout.strip())
    # This environment's packages without the course (its editable install's metadata would make
    # the course look installed already): a folder of links to everything else.
    packages = tmp_path / "colab-packages"
    packages.mkdir()
    for entry in pathlib.Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(("convnet_xray", "__editable__", "helpers")):
            (packages / entry.name).symlink_to(entry)
    (site / "dependencies.pth").write_text(f"{packages}\n")
    log = tmp_path / "commands.log"
    fakes = tmp_path / "fakes"
    (fakes / "google" / "colab").mkdir(parents=True)
    (fakes / "google" / "colab" / "__init__.py").write_text("from google.colab import files\n")
    (fakes / "google" / "colab" / "files.py").write_text(
        f"def upload():\n    open({str(log)!r}, 'a').write('files.upload()\\n')\n    return {{}}\n")
    (fakes / "bin").mkdir()
    git = fakes / "bin" / "git"
    git.write_text(f"#!/bin/sh\necho \"git $*\" >> '{log}'\n"
                   "echo \"fatal: repository 'https://github.com/nobody/unpublished.git/' not found\" >&2\nexit 128\n")
    git.chmod(0o755)
    environment = {"PATH": f"{fakes / 'bin'}:/usr/bin:/bin", "PYTHONPATH": str(fakes), "HOME": str(tmp_path),
                   "TF_CPP_MIN_LOG_LEVEL": "2", "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return python, environment, log


def _setup_cell_script() -> str:
    sys.path.insert(0, str(ROOT / "tools"))
    import colab_links

    settings = colab_links.read_settings()
    source = colab_links.setup_source({**settings, "url": "https://github.com/nobody/unpublished"})
    return "import google.colab\n" + source + "\nimport helpers\nprint('helpers from', helpers.__file__)\n"


def test_setup_cell_on_colab_without_a_repository_installs_the_wheel_once(wheel, tmp_path) -> None:
    python, environment, log = _simulated_colab(tmp_path)
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy2(wheel, content / wheel.name)
    script = _setup_cell_script()
    first = subprocess.run([str(python), "-c", script], cwd=content, env=environment, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    assert log.read_text().splitlines() == ["git clone -q --depth 1 https://github.com/nobody/unpublished.git "
                                            "/content/convnet-xray"]
    assert f"Installed the course ({wheel.name})." in first.stdout
    assert "(the course needs TensorFlow >= " in first.stdout
    site = pathlib.Path(first.stdout.split("helpers from ")[1].strip()).parent.parent
    assert site.is_relative_to(tmp_path / "env"), "helpers is imported from the installed wheel"
    installed = {path.name.split("-")[0] for path in site.iterdir() if path.name.endswith(".dist-info")}
    assert installed == {"convnet_xray"}, f"--no-deps: nothing but the course is installed, found {installed}"
    second = subprocess.run([str(python), "-c", script], cwd=content, env=environment, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Installed the course" not in second.stdout and len(log.read_text().splitlines()) == 1


def test_setup_cell_on_colab_without_a_repository_or_a_wheel_stops_with_the_message(tmp_path) -> None:
    python, environment, log = _simulated_colab(tmp_path)
    content = tmp_path / "content"
    content.mkdir()
    run = subprocess.run([str(python), "-c", _setup_cell_script()], cwd=content, env=environment,
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert log.read_text().splitlines()[1:] == ["files.upload()"]
    assert "upload the course wheel (convnet_xray-<version>-py3-none-any.whl" in run.stdout
    assert run.stderr.strip().splitlines()[-1] == (
        "RuntimeError: Setup stopped: no course repository at https://github.com/nobody/unpublished and no "
        f"convnet_xray-<version>-py3-none-any.whl in {content}. Upload the wheel there (Files pane), then run this "
        "cell again.")
