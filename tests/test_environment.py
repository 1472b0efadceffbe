"""pyproject.toml and environment.yml pin the same packages, and the running environment has them."""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
ENVIRONMENT = ROOT / "environment.yml"

_REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*(?P<version>[^;\s]+)"
    r"\s*(?:;\s*(?P<marker>.+?))?\s*$"
)


def normalize_name(name: str) -> str:
    """PEP 503 name normalization: ``Tf_Keras.Vis`` -> ``tf-keras-vis``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def normalize_marker(marker: str | None) -> str:
    """Markers compared without regard to spacing or quote style."""
    if not marker:
        return ""
    return re.sub(r"\s+", "", marker.replace("'", '"'))


def parse_pin(requirement: str) -> tuple[str, tuple[str, str]]:
    """``'numpy==2.4.6; python_version > "3"'`` -> ``('numpy', ('2.4.6', 'python_version>"3"'))``.

    Raises:
        AssertionError: the requirement is not an exact ``==`` pin.
    """
    match = _REQUIREMENT.match(requirement.strip())
    assert match, f"not an exact '==' pin: {requirement!r}"
    return normalize_name(match["name"]), (match["version"], normalize_marker(match["marker"]))


def pyproject_pins() -> dict[str, tuple[str, str]]:
    """Runtime and dev pins of pyproject.toml, keyed by ``name|marker`` (one package may
    appear twice with different markers)."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    pins = {}
    for requirement in requirements:
        name, (version, marker) = parse_pin(requirement)
        key = f"{name}|{marker}"
        assert key not in pins, f"{requirement!r} is listed twice in pyproject.toml"
        pins[key] = (name, version, marker)
    return pins


def environment_dependency_lines() -> list[tuple[int, str]]:
    """(line number, text) of every line of environment.yml's ``dependencies:`` block."""
    lines = ENVIRONMENT.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "dependencies:"), None)
    assert start is not None, "environment.yml has no top-level 'dependencies:' key"
    block = []
    for number, line in enumerate(lines[start + 1:], start=start + 2):
        if line.strip() == "" or line.lstrip().startswith("#"):
            continue
        if not line.startswith((" ", "-")):  # the next top-level key ends the block
            break
        block.append((number, line))
    return block


def split_comment(line: str) -> tuple[str, str]:
    """``'  - numpy==2.4.6  # arrays'`` -> ``('  - numpy==2.4.6', 'arrays')`` (YAML comments
    start with '#' after whitespace)."""
    match = re.search(r"\s#\s?(.*)$", line)
    if not match:
        return line.rstrip(), ""
    return line[:match.start()].rstrip(), match.group(1).strip()


def environment_yml() -> tuple[list[str], list[str]]:
    """``(conda_dependencies, pip_requirements)`` from environment.yml, without PyYAML."""
    conda, pip = [], []
    in_pip, pip_indent, conda_indent = False, None, 0
    for _, line in environment_dependency_lines():
        text, _ = split_comment(line)
        indent = len(text) - len(text.lstrip())
        item = text.strip()
        assert item.startswith("- "), f"unexpected line in environment.yml: {line!r}"
        value = item[2:].strip()
        if in_pip and (pip_indent is None or indent >= pip_indent) and indent > conda_indent:
            pip_indent = indent
            pip.append(value)
            continue
        in_pip = value == "pip:"
        conda_indent = indent
        if not in_pip:
            conda.append(value)
    return conda, pip


def environment_pins() -> dict[str, tuple[str, str, str]]:
    pins = {}
    for requirement in environment_yml()[1]:
        if requirement.startswith("-e "):
            continue  # the course's own package, checked separately
        name, (version, marker) = parse_pin(requirement)
        key = f"{name}|{marker}"
        assert key not in pins, f"{requirement!r} is listed twice in environment.yml"
        pins[key] = (name, version, marker)
    return pins


# ------------------------------------------------------------------------------- tests
def test_pyproject_metadata() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert project["name"] == "convnet-xray"
    assert project["requires-python"] == ">=3.11"
    names = {name for name, _, _ in pyproject_pins().values()}
    for required in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "matplotlib", "pillow",
                     "ipywidgets", "tqdm", "jupyterlab", "ipykernel", "pytest", "nbval",
                     "tf-keras-vis", "nbformat", "nbconvert"):
        assert required in names, f"{required} is not pinned in pyproject.toml"


def test_tensorflow_build_depends_on_platform() -> None:
    pins = pyproject_pins()
    assert pins['tensorflow-cpu|sys_platform=="linux"'][1] == pins['tensorflow|sys_platform!="linux"'][1]
    assert not any(name.startswith("tensorflow") and not marker for name, _, marker in pins.values()), \
        "tensorflow must be pinned per platform (tensorflow-cpu on Linux), never unconditionally"


def test_environment_yml_pins_agree_with_pyproject() -> None:
    from_pyproject, from_conda = pyproject_pins(), environment_pins()
    missing = sorted(set(from_pyproject) - set(from_conda))
    extra = sorted(set(from_conda) - set(from_pyproject))
    assert not missing, f"pinned in pyproject.toml but not in environment.yml: {missing}"
    assert not extra, f"pinned in environment.yml but not in pyproject.toml: {extra}"
    differing = {key: (from_pyproject[key][1], from_conda[key][1])
                 for key in from_pyproject if from_pyproject[key][1] != from_conda[key][1]}
    assert not differing, f"versions differ (pyproject.toml, environment.yml): {differing}"


def test_environment_yml_conda_part() -> None:
    conda, pip = environment_yml()
    assert "python=3.11" in conda
    assert "pip" in conda
    assert "-e ." in pip, "environment.yml should install the course itself ('-e .')"
    text = ENVIRONMENT.read_text(encoding="utf-8")
    assert re.search(r"^name:\s*convnet-xray\s*$", text, re.MULTILINE)


def test_every_dependency_line_is_commented() -> None:
    lines = environment_dependency_lines()
    assert len(lines) >= 15
    uncommented = [f"line {number}: {line.strip()}" for number, line in lines if len(split_comment(line)[1]) < 3]
    assert not uncommented, "every dependency line of environment.yml needs a comment saying what it is for:\n" \
        + "\n".join(uncommented)


def test_simple_parser_agrees_with_pyyaml() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed; the simple parser is used alone")
    data = yaml.safe_load(ENVIRONMENT.read_text(encoding="utf-8"))
    conda = [item for item in data["dependencies"] if isinstance(item, str)]
    pip = next(item["pip"] for item in data["dependencies"] if isinstance(item, dict))
    assert environment_yml() == (conda, pip)


def test_simple_parser_on_a_sample(tmp_path, monkeypatch) -> None:
    """The parser itself: comments split off, nesting found, an unpinned line rejected."""
    sample = tmp_path / "environment.yml"
    sample.write_text(
        "name: x\ndependencies:\n  - python=3.11  # interpreter\n  - pip:  # from PyPI\n"
        "      - numpy==1.0; sys_platform == 'linux'  # arrays\n      - scipy>=1  # loose\n"
        "variables:\n  A: 1\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ENVIRONMENT", sample)
    assert environment_yml() == (["python=3.11"], ["numpy==1.0; sys_platform == 'linux'", "scipy>=1"])
    with pytest.raises(AssertionError, match="not an exact"):
        environment_pins()
    assert parse_pin("numpy==1.0; sys_platform == 'linux'") == ("numpy", ("1.0", 'sys_platform=="linux"'))


def constraint_pins(path: pathlib.Path) -> dict[str, tuple[str, str, str]]:
    """The ``==`` pins of a pip constraints file (``constraints/colab-*.txt``), keyed like
    :func:`pyproject_pins`; comments and blank lines are skipped."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        name, (version, marker) = parse_pin(line)
        pins[f"{name}|{marker}"] = (name, version, marker)
    return pins


def test_colab_constraints_pin_the_runtime_the_course_supports() -> None:
    files = sorted((ROOT / "constraints").glob("colab-*.txt"))
    assert len(files) >= 2, "Colab's current runtime and the previous one are both tested"
    for path in files:
        pins = {name: version for name, version, _ in constraint_pins(path).values()}
        for name in ("tensorflow-cpu", "tensorflow", "keras", "ipywidgets", "numpy", "matplotlib", "ipython",
                     "ipykernel", "pillow", "tqdm"):
            assert name in pins, f"{path.name} does not pin {name}"
        assert pins["tensorflow-cpu"] == pins["tensorflow"]
        assert pins["keras"].startswith("3."), "the course needs Keras 3"


# Installed into the Colab test environments by their own Python, not by the runtime's freeze.
NOT_RUNTIME = {"pip"}


def test_running_environment_matches_the_pins() -> None:
    """The environment the tests (and nbval's kernel) run in is the pinned one: pyproject.toml's,
    or, under ``make test-colab-X`` (``CONVNET_XRAY_PINS=constraints/colab-X.txt``), that Colab
    runtime's: its Python, its key packages installed, and every installed package it pins at
    Colab's version."""
    from packaging.markers import Marker

    wrong = []
    pins = pyproject_pins()
    colab = os.environ.get("CONVNET_XRAY_PINS")
    if colab:
        path = ROOT / colab
        header = re.search(r"^# Python: (\d+\.\d+)", path.read_text(encoding="utf-8"), re.MULTILINE)
        assert header, f"{colab} names no Python"
        assert "%d.%d" % sys.version_info[:2] == header[1], f"{colab} is Colab on Python {header[1]}"
        pins = constraint_pins(path)
        installed = {normalize_name(dist.metadata["Name"]) for dist in importlib.metadata.distributions()}
        key = {"tensorflow-cpu", "keras", "numpy", "matplotlib", "ipywidgets", "widgetsnbextension", "ipython",
               "ipykernel", "pillow", "tqdm"}
        pins = {k: v for k, v in pins.items() if (v[0] in installed or v[0] in key) and v[0] not in NOT_RUNTIME}
    for name, version, marker in pins.values():
        if marker and not Marker(marker).evaluate():
            continue
        try:
            installed_version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{name}: not installed (pinned {version})")
            continue
        if installed_version != version:
            wrong.append(f"{name}: {installed_version} installed, {version} pinned")
    fix = "rebuild it: rm -rf .venv-colab-*; make test-colab" if colab else "run `make test` (reinstalls .venv)"
    assert not wrong, f"{fix}:\n" + "\n".join(wrong)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_opens_the_notebooks_and_passes_arguments() -> None:
    dry_run = subprocess.run(["make", "-n", "-o", ".venv/.convnet-xray-installed", "lab", "ARGS=--no-browser"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    command = next(line for line in dry_run.splitlines() if "jupyter lab" in line)
    assert "notebooks/" in command and command.rstrip().endswith("--no-browser")
    # Jupyter refuses to run as root without --allow-root (containers); the Makefile adds it only then
    assert ("--allow-root" in command) == (os.geteuid() == 0)
    lines = dry_run.splitlines()
    trust = next(i for i, line in enumerate(lines) if "jupyter trust" in line)
    assert "notebooks/*.ipynb" in lines[trust] and trust < lines.index(command), \
        "make lab trusts the notebooks first, so JupyterLab shows their stored widget pictures"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'make lab ARGS="--no-browser"' in readme and "trust" in readme
