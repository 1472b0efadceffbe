"""tools/colab_links.py: one address for badges, Setup cells and README; the Setup cell fails loudly."""

from __future__ import annotations

import importlib.metadata
import json
import pathlib
import shutil
import subprocess
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import colab_links  # noqa: E402


def test_badges_setup_cells_and_readme_agree_with_pyproject() -> None:
    stale = colab_links.stale_files()
    assert not stale, f"run `make colab-links`; out of date: {[str(p.relative_to(ROOT)) for p in stale]}"


def test_every_notebook_has_the_badge_and_setup_cell() -> None:
    settings = colab_links.read_settings()
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 3
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in notebooks:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "".join(cells[0]["source"])
        assert f"/github/{settings['owner']}/{settings['name']}/blob/{settings['branch']}/notebooks/{path.name}" in text
        setup = next(cell for cell in cells if cell["cell_type"] == "code")
        assert f'url="{settings["url"]}"' in "".join(setup["source"])
        assert colab_links.badge(settings, path.name) in readme


@pytest.fixture
def copy(tmp_path) -> pathlib.Path:
    """The files the script reads and writes, copied, so they can be changed."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "constraints", tmp_path / "constraints")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return tmp_path


def test_a_changed_address_makes_everything_stale_and_one_run_fixes_it(copy) -> None:
    pyproject = copy / "pyproject.toml"
    old = colab_links.read_settings(copy)["url"]
    pyproject.write_text(pyproject.read_text().replace(old, "https://github.com/someone/xray-fork"))
    stale = colab_links.stale_files(copy)
    assert sorted(p.name for p in stale) == sorted(["README.md", *(p.name for p in (copy / "notebooks").glob("*.ipynb"))])
    for path, text in colab_links.planned_files(copy).items():
        path.write_text(text, encoding="utf-8")
    assert colab_links.stale_files(copy) == []
    assert "someone/xray-fork" in (copy / "README.md").read_text()
    assert old not in "".join(p.read_text() for p in (copy / "notebooks").glob("*.ipynb"))


def test_a_bad_address_is_refused(copy) -> None:
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('Repository = "https://github.com/', 'Repository = "ftp://x/'))
    with pytest.raises(ValueError, match="Repository"):
        colab_links.read_settings(copy)


# ----------------------------------------------------------------------------- the Setup cell
@pytest.fixture
def setup_course(monkeypatch):
    """The Setup cell's function, defined as the cell defines it, as if on Colab."""
    source = colab_links.setup_source(colab_links.read_settings())
    assert source.rstrip().endswith("_setup_course()")
    namespace: dict = {}
    exec(compile(source.rstrip()[: -len("_setup_course()")], "<setup cell>", "exec"), namespace)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    return namespace["_setup_course"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_setup_cell_failed_clone_raises_with_the_command(setup_course, tmp_path) -> None:
    with pytest.raises(RuntimeError, match=r"Setup failed running: git clone -q .*no-such-repo\.git"):
        setup_course(url=str(tmp_path / "no-such-repo"), folder=str(tmp_path / "course"))


def test_setup_cell_failed_install_raises_and_a_second_run_does_not_clone_again(setup_course, tmp_path,
                                                                                 monkeypatch, capsys) -> None:
    folder = tmp_path / "course"
    (folder / ".git").mkdir(parents=True)  # already cloned by a first run
    monkeypatch.setattr(sys, "executable", shutil.which("false") or "/bin/false")
    with pytest.raises(RuntimeError, match=r"Setup failed running: \S*false -m pip install -q --no-deps -e "):
        setup_course(url="https://example.invalid/never-cloned", folder=str(folder))
    monkeypatch.setattr(sys, "executable", shutil.which("true") or "/bin/true")
    for _ in range(2):
        setup_course(url="https://example.invalid/never-cloned", folder=str(folder))
    assert sys.path.count(str(folder)) == 1
    assert capsys.readouterr().out.count("(the course needs") == 2


def test_setup_cell_prints_versions_and_refuses_old_ones(setup_course, monkeypatch, capsys) -> None:
    monkeypatch.delitem(sys.modules, "google.colab")
    setup_course()
    printed = capsys.readouterr().out
    keras_version = importlib.metadata.version("keras")
    assert f"Keras {keras_version} (the course needs TensorFlow >= 2.19, Keras >= 3.10)" in printed
    real = importlib.metadata.version

    def old_keras(name):
        return "3.9.2" if name == "keras" else real(name)

    monkeypatch.setattr(importlib.metadata, "version", old_keras)
    with pytest.raises(RuntimeError, match="Keras is older than the course supports"):
        setup_course()
    assert "Keras 3.9.2" in capsys.readouterr().out


def test_command_line_check_exits_1_when_stale(copy, monkeypatch) -> None:
    monkeypatch.setattr(colab_links, "ROOT", copy)
    monkeypatch.setattr(colab_links, "stale_files", lambda: [copy / "README.md"])
    assert colab_links.main(["--check"]) == 1
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "colab_links.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
