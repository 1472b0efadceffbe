"""tools/colab_links.py: one address for badges, Setup cells and README; the Setup cell fails loudly."""

from __future__ import annotations

import importlib.metadata
import json
import os
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
    notebooks = [p.name for p in (copy / "notebooks").glob("*.ipynb")]
    assert sorted(p.name for p in stale) == sorted(["README.md", *notebooks])
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
class FakeColab:
    """What the Setup cell sees on Colab: a ``google.colab`` module (with ``files.upload``), and
    ``subprocess.run`` answering ``git`` and ``pip`` as told, every command recorded."""

    def __init__(self, monkeypatch, *, clone_works: bool = False, pip_works: bool = True,
                 upload: list[str] | None = None) -> None:
        self.commands: list[list[str]] = []
        self.uploads = 0
        self.clone_works, self.pip_works, self.upload_names = clone_works, pip_works, upload or []
        self.installed = False
        colab = types.ModuleType("google.colab")
        colab.files = types.SimpleNamespace(upload=self._upload)
        monkeypatch.setitem(sys.modules, "google.colab", colab)
        monkeypatch.setitem(sys.modules, "google.colab.files", colab.files)
        monkeypatch.setattr(subprocess, "run", self._run)
        real_version = importlib.metadata.version

        def version(name):
            if name == "convnet-xray":
                if self.installed:
                    return "0.1.0"
                raise importlib.metadata.PackageNotFoundError(name)
            return real_version(name)

        monkeypatch.setattr(importlib.metadata, "version", version)

    def _run(self, command, **kwargs):
        command = [str(part) for part in command]
        self.commands.append(command)
        if command[0] == "git":
            assert kwargs["env"]["GIT_TERMINAL_PROMPT"] == "0", "git must never wait for a password"
            if self.clone_works:
                pathlib.Path(command[-1], ".git").mkdir(parents=True)
                return subprocess.CompletedProcess(command, 0, "", "")
            return subprocess.CompletedProcess(command, 128, "", f"fatal: repository '{command[-2]}' not found\n")
        assert command[1:4] == ["-m", "pip", "install"], command
        self.installed = self.pip_works
        return subprocess.CompletedProcess(command, 0 if self.pip_works else 1, "", "" if self.pip_works else "ERROR")

    def _upload(self):
        self.uploads += 1
        for name in self.upload_names:
            pathlib.Path(name).write_bytes(b"uploaded")
        return {name: b"uploaded" for name in self.upload_names}


@pytest.fixture
def setup_course(monkeypatch, tmp_path):
    """The Setup cell's function, defined as the cell defines it, run in an empty working folder."""
    source = colab_links.setup_source(colab_links.read_settings())
    assert source.rstrip().endswith("_setup_course()")
    namespace: dict = {}
    exec(compile(source.rstrip()[: -len("_setup_course()")], "<setup cell>", "exec"), namespace)
    monkeypatch.setattr(sys, "path", list(sys.path))
    work = tmp_path / "content"
    work.mkdir()
    monkeypatch.chdir(work)
    return namespace["_setup_course"]


def _pip_installs(commands: list[list[str]]) -> list[list[str]]:
    pips = [command for command in commands if command[1:4] == ["-m", "pip", "install"]]
    for command in pips:
        assert "--no-deps" in command, f"the Setup cell must never let pip change Colab's packages: {command}"
        assert not any(name in " ".join(command[4:]) for name in ("tensorflow", "keras", "numpy", "ipywidgets"))
    return pips


def test_setup_cell_no_repository_installs_the_wheel_of_the_working_folder(setup_course, monkeypatch,
                                                                              tmp_path, capsys) -> None:
    colab = FakeColab(monkeypatch)
    (tmp_path / "content" / "convnet_xray-0.1.0-py3-none-any.whl").write_bytes(b"wheel")
    (tmp_path / "content" / "notes.txt").write_text("not a wheel")
    folder = tmp_path / "content" / "convnet-xray"
    setup_course(url="https://github.com/nobody/unpublished", folder=str(folder))
    wheel = str(tmp_path / "content" / "convnet_xray-0.1.0-py3-none-any.whl")
    assert colab.commands == [
        ["git", "clone", "-q", "--depth", "1", "https://github.com/nobody/unpublished.git", str(folder)],
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", wheel],
    ]
    _pip_installs(colab.commands)
    assert colab.uploads == 0
    printed = capsys.readouterr().out
    assert "No course repository at https://github.com/nobody/unpublished (fatal: repository" in printed
    assert "Installed the course (convnet_xray-0.1.0-py3-none-any.whl)." in printed
    assert "(the course needs TensorFlow >= 2.19, Keras >= 3.10)" in printed
    assert str(folder) not in sys.path, "a wheel lives in site-packages; the clone folder is not a source"
    # run again: the wheel is installed, nothing is cloned or installed a second time
    colab.commands.clear()
    setup_course(url="https://github.com/nobody/unpublished", folder=str(folder))
    assert colab.commands == []
    assert "Installed the course" not in capsys.readouterr().out


def test_setup_cell_takes_the_newest_wheel_and_ignores_renamed_copies(setup_course, monkeypatch, tmp_path) -> None:
    colab = FakeColab(monkeypatch)
    work = tmp_path / "content"
    for age, name in enumerate(["convnet_xray-0.1.0-py3-none-any.whl", "convnet_xray-0.2.0-py3-none-any.whl",
                                "convnet_xray-0.3.0-py3-none-any (1).whl"]):
        (work / name).write_bytes(b"wheel")
        os.utime(work / name, (1_000_000 + age, 1_000_000 + age))
    setup_course(url="https://github.com/nobody/unpublished", folder=str(work / "convnet-xray"))
    assert _pip_installs(colab.commands)[0][-1] == str(work / "convnet_xray-0.2.0-py3-none-any.whl")


def test_setup_cell_no_repository_and_no_wheel_stops_saying_how_to_upload(setup_course, monkeypatch,
                                                                         tmp_path, capsys) -> None:
    colab = FakeColab(monkeypatch)
    with pytest.raises(RuntimeError, match=r"Setup stopped: no course repository at https://github\.com/nobody/"
                                           r"unpublished and no convnet_xray-<version>-py3-none-any\.whl in "):
        setup_course(url="https://github.com/nobody/unpublished", folder=str(tmp_path / "content" / "course"))
    assert colab.uploads == 1, "the cell offers Colab's upload button once"
    assert _pip_installs(colab.commands) == []
    printed = capsys.readouterr().out
    assert f"into {tmp_path / 'content'}, then run this cell again" in printed
    assert "`make wheel` builds it" in printed and "Files pane" in printed


def test_setup_cell_installs_a_wheel_uploaded_with_the_button(setup_course, monkeypatch, tmp_path, capsys) -> None:
    colab = FakeColab(monkeypatch, upload=["convnet_xray-0.1.0-py3-none-any.whl"])
    setup_course(url="https://github.com/nobody/unpublished", folder=str(tmp_path / "content" / "course"))
    assert colab.uploads == 1
    assert _pip_installs(colab.commands)[0][-1] == str(tmp_path / "content" / "convnet_xray-0.1.0-py3-none-any.whl")
    assert "Installed the course (convnet_xray-0.1.0-py3-none-any.whl)." in capsys.readouterr().out


def test_setup_cell_without_a_browser_to_upload_from_still_stops_with_the_message(setup_course, monkeypatch,
                                                                                  tmp_path, capsys) -> None:
    FakeColab(monkeypatch)
    colab = sys.modules["google.colab"]

    def no_browser():
        raise RuntimeError("TypeError: Cannot read properties of undefined (reading '_uploadFiles')")

    colab.files.upload = no_browser
    with pytest.raises(RuntimeError, match="Setup stopped: no course repository"):
        setup_course(url="https://github.com/nobody/unpublished", folder=str(tmp_path / "content" / "course"))
    assert "(No upload: TypeError" in capsys.readouterr().out


def test_setup_cell_clones_and_installs_editable_once(setup_course, monkeypatch, tmp_path, capsys) -> None:
    colab = FakeColab(monkeypatch, clone_works=True)
    (tmp_path / "content" / "convnet_xray-0.1.0-py3-none-any.whl").write_bytes(b"an older wheel")
    folder = tmp_path / "content" / "convnet-xray"
    url = colab_links.read_settings()["url"]
    for _ in range(2):
        setup_course(folder=str(folder))
    assert colab.commands == [["git", "clone", "-q", "--depth", "1", url + ".git", str(folder)],
                              [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", str(folder)]]
    assert sys.path.count(str(folder)) == 1
    printed = capsys.readouterr().out
    assert printed.count(f"Installed the course (cloned from {url}).") == 1
    assert printed.count("(the course needs") == 2


def test_setup_cell_failed_install_raises_and_a_second_run_does_not_clone_again(setup_course, monkeypatch,
                                                                                 tmp_path) -> None:
    colab = FakeColab(monkeypatch, clone_works=True, pip_works=False)
    folder = tmp_path / "content" / "course"
    with pytest.raises(RuntimeError, match=r"Setup failed running: \S+ -m pip install -q --no-deps -e .*course\n"
                                           r"ERROR\nTo start over, first run: !rm -rf "):
        setup_course(folder=str(folder))
    colab.pip_works = True
    setup_course(folder=str(folder))
    assert [command[0] for command in colab.commands] == ["git", sys.executable, sys.executable]


def test_setup_cell_off_colab_runs_nothing(setup_course, monkeypatch, capsys) -> None:
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: calls.append(args))
    setup_course()
    assert calls == []
    assert "(the course needs TensorFlow >= 2.19, Keras >= 3.10)" in capsys.readouterr().out


def test_setup_cell_prints_versions_and_refuses_old_ones(setup_course, monkeypatch, capsys) -> None:
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
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


def test_setup_cell_is_collapsed_and_reads_as_one_step() -> None:
    """Issue 18 §5: the Setup cell reads as one short step (collapsed, with a one-line title)."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        setup = next(cell for cell in cells if cell["cell_type"] == "code")
        assert setup["metadata"].get("cellView") == "form", f"{path.name}: Colab shows only the title of a form"
        assert setup["metadata"].get("jupyter", {}).get("source_hidden") is True, f"{path.name}: input collapsed"
        first = setup["source"][0]
        assert first.startswith("#@title Setup: run this cell first"), first


def test_command_line_check_exits_1_when_stale(copy, monkeypatch) -> None:
    monkeypatch.setattr(colab_links, "ROOT", copy)
    monkeypatch.setattr(colab_links, "stale_files", lambda: [copy / "README.md"])
    assert colab_links.main(["--check"]) == 1
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "colab_links.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_collapsed_setup_cell_is_not_counted_as_reading() -> None:
    """The core path's reading time (helpers.benchmarks.core_path) skips collapsed code, keeps its figures."""
    from helpers.benchmarks import core_path

    setup = {"cell_type": "code", "metadata": dict(colab_links.SETUP_METADATA), "outputs": [],
             "source": colab_links.setup_source(colab_links.read_settings()).splitlines(keepends=True)}
    shown = {**setup, "metadata": {}}
    assert core_path.reading_counts({"cells": [setup]})["core"]["code_lines"] == 0
    assert core_path.reading_counts({"cells": [shown]})["core"]["code_lines"] > 30
