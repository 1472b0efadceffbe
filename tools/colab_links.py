"""Write the course's address into every place that shows it: ``make colab-links``.

The repository URL lives in one place, ``[project.urls] Repository`` of pyproject.toml (and the
branch the badges open in ``[tool.convnet-xray] colab-branch``). The oldest TensorFlow and Keras
the course supports are the Colab pins of ``constraints/colab.txt``. From those this script
writes:

* each notebook's *Open in Colab* badge (in its first Markdown cell),
* each notebook's Setup cell (the first code cell, which starts with ``# Setup``): source and
  the output it prints in the pinned environment,
* the README's block between ``<!-- colab-links:start -->`` and ``<!-- colab-links:end -->``, and
  the same block of README.zh-CN.md for the Chinese edition (whose notebooks' badges and Setup
  cells ``tools/translations.py`` writes with :func:`updated_notebook`).

``python tools/colab_links.py --check`` writes nothing and exits with 1 (listing the files)
when any of them differs from what it would write; ``tests/test_colab_links.py`` runs it.
Notebooks keep everything else (prose, other cells, outputs, metadata) untouched, so the
script can be rerun after notebooks are rewritten elsewhere.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys
import tomllib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import colab_pins  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")
README_BLOCK = re.compile(r"(<!-- colab-links:start -->\n).*?(<!-- colab-links:end -->)", re.DOTALL)
SETUP_MARK = "# Setup"
# The Setup cell's first line: "#@title Setup: ..." (a Colab form title), or "# Setup: ..." before it was one.
SETUP_FIRST_LINE = re.compile(r"#\s*(@title\s+)?Setup\b")


def read_settings(root: pathlib.Path = ROOT) -> dict:
    """The repository URL, the badge branch, the pinned and the oldest supported versions.

    The oldest supported TensorFlow and Keras are those of the oldest Colab runtime the course is
    tested on: the oldest ``constraints/colab-*.txt`` (by its freeze date).

    Raises:
        ValueError: pyproject.toml or the constraints files lack an entry the script needs.
    """
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    url = project["project"].get("urls", {}).get("Repository", "").rstrip("/")
    match = re.fullmatch(r"https://github\.com/([^/\s]+)/([^/\s]+?)(?:\.git)?", url)
    if not match:
        raise ValueError(f"[project.urls] Repository must be a https://github.com/<owner>/<name> URL, not {url!r}.")
    branch = project.get("tool", {}).get("convnet-xray", {}).get("colab-branch", "main")
    runtimes = colab_pins.runtimes(root)
    if not runtimes:
        raise ValueError("constraints/ has no colab-*.txt (tools/colab_pins.py writes them from Colab's freeze).")
    oldest = colab_pins.read_pins(runtimes[0])
    pinned = {}
    for requirement in project["project"]["dependencies"]:
        found = re.match(r"^\s*(tensorflow-cpu|keras)==([^;\s]+)", requirement)
        if found:
            pinned[found[1]] = found[2]
    for needed in ("tensorflow-cpu", "keras"):
        if needed not in oldest or needed not in pinned:
            raise ValueError(f"{needed} must be pinned with == in {runtimes[0].relative_to(root)} and pyproject.toml.")
    floor = {name: ".".join(oldest[key].split(".")[:2]) for name, key in (("TensorFlow", "tensorflow-cpu"),
                                                                          ("Keras", "keras"))}
    return {"url": url, "owner": match[1], "name": match[2], "branch": branch, "oldest": floor,
            "oldest_runtime": runtimes[0].name,
            "pinned": {"TensorFlow": pinned["tensorflow-cpu"], "Keras": pinned["keras"]}}


def badge(settings: dict, notebook: str) -> str:
    """The Markdown of the *Open in Colab* badge of ``notebooks/<notebook>``."""
    target = (f"https://colab.research.google.com/github/{settings['owner']}/{settings['name']}"
              f"/blob/{settings['branch']}/notebooks/{notebook}")
    return f"[![Open In Colab]({BADGE_IMAGE})]({target})"


# The Setup cell is collapsed (Colab: a form showing only its title; Jupyter: input hidden), so a
# student sees one line and its output; its code is there for whoever opens it.
SETUP_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}}
WHEEL_NAME = "convnet_xray-<version>-py3-none-any.whl"
# What a student reads of the Setup cell (its title, first comment and the line it prints), per
# language of the edition (the Chinese notebooks under notebooks/zh/: tools/translations.py).
SETUP_TITLE = {
    "en": ("run this cell first (on Colab it installs the course)",
           "The same cell opens every chapter: on Colab it installs the course, elsewhere it checks the versions."),
    "zh": ("先运行这个单元格（在 Colab 上它会安装课程）",
           "每一章都以这个单元格开始：在 Colab 上它安装课程，在其他地方它检查版本。"),
}
SETUP_NEEDS = {
    "en": "(the course needs TensorFlow >= {oldest['TensorFlow']}, Keras >= {oldest['Keras']})",
    "zh": "（本课程需要 TensorFlow >= {oldest['TensorFlow']}、Keras >= {oldest['Keras']}）",
}


def setup_source(settings: dict, language: str = "en") -> str:
    """The Setup cell (runs before the course is installed, so it imports nothing of it).

    On Colab, unless the course is already installed: clone the repository and install it with
    ``pip install --no-deps -e``; when the clone fails, install a course wheel from the working
    folder (``/content``) with ``pip install --no-deps``; with neither, say how to get and upload
    a wheel, offer Colab's upload button, and stop. ``--no-deps`` keeps Colab's TensorFlow, Keras,
    NumPy and ipywidgets as they are. Everywhere: print TensorFlow's and Keras' versions and stop
    when they are older than the oldest Colab runtime the course is tested on.
    """
    tf_min, keras_min = settings["oldest"]["TensorFlow"], settings["oldest"]["Keras"]
    title, comment = SETUP_TITLE[language]
    return f'''#@title {SETUP_MARK[2:]}: {title}
# {comment}
def _setup_course(url="{settings['url']}", folder="/content/{settings['name']}"):
    import glob, importlib, importlib.metadata, os, re, subprocess, sys
    def run(*command):
        env = {{**os.environ, "GIT_TERMINAL_PROMPT": "0"}}  # a missing repository fails, never asks for a password
        return subprocess.run(command, capture_output=True, text=True, env=env)
    def version(*names):
        for name in names:
            try:
                return importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                pass
        return "missing"
    if "google.colab" in sys.modules and version("convnet-xray") == "missing":
        wheel = "{WHEEL_NAME}"
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps"]
        clone = ["git", "clone", "-q", "--depth", "1", url + ".git", folder]
        cloned = os.path.isdir(os.path.join(folder, ".git"))
        if not cloned:
            result = run(*clone)
            cloned = result.returncode == 0
            if not cloned:
                why = (result.stderr.strip().splitlines() or ["git failed"])[-1]
                print(f"No course repository at {{url}} ({{why}}); looking for a course wheel in {{os.getcwd()}}.")
        wheels = lambda: sorted((p for p in glob.glob("convnet_xray-*.whl")
                                 if re.fullmatch(r"convnet_xray-[^-]+-py3-none-any\\.whl", p)), key=os.path.getmtime)
        if not cloned and not wheels():
            print(f"To run the course without its repository, upload the course wheel ({{wheel}}; "
                  f"your teacher has it, `make wheel` builds it) with the button below, or with the Files pane "
                  f"(folder icon on the left, then the upload icon) into {{os.getcwd()}}, then run this cell again.")
            try:
                from google.colab import files
                files.upload()
            except Exception as error:  # no browser to upload from
                print(f"(No upload: {{error}})")
            if not wheels():
                raise RuntimeError(f"Setup stopped: no course repository at {{url}} and no {{wheel}} in "
                                   f"{{os.getcwd()}}. Upload the wheel there (Files pane), then run this cell again.")
        step = pip + (["-e", folder] if cloned else [os.path.abspath(wheels()[-1])])
        result = run(*step)
        if result.returncode != 0:
            raise RuntimeError(f"Setup failed running: {{' '.join(step)}}\\n{{result.stderr[-2000:]}}\\nTo start "
                               f"over, first run: !rm -rf {{folder}}")
        if cloned and folder not in sys.path:
            sys.path.insert(0, folder)
        importlib.invalidate_caches()
        print(f"Installed the course ({{'cloned from ' + url if cloned else os.path.basename(step[-1])}}).")
    found = {{"TensorFlow": version("tensorflow", "tensorflow-cpu"), "Keras": version("keras")}}
    oldest = {{"TensorFlow": "{tf_min}", "Keras": "{keras_min}"}}
    numbers = lambda text: tuple(int(part) for part in re.findall(r"\\d+", text)[:2])
    print(f"TensorFlow {{found['TensorFlow']}}, Keras {{found['Keras']}} "
          f"{SETUP_NEEDS[language]}")
    old = [name for name in found if found[name] == "missing" or numbers(found[name]) < numbers(oldest[name])]
    if old:
        raise RuntimeError(f"This runtime's {{' and '.join(old)}} is older than the course supports. On Colab pick "
                           f"the latest runtime version (Runtime > Change runtime type), or run: %pip install "
                           f"\\"tensorflow>={tf_min}\\" \\"keras>={keras_min}\\" and restart the session.")

_setup_course()'''


def setup_output(settings: dict, language: str = "en") -> list[dict]:
    """What the Setup cell prints in the pinned environment (stored, so a fresh clone shows it)."""
    pinned, oldest = settings["pinned"], settings["oldest"]
    needs = SETUP_NEEDS[language].replace("{oldest['TensorFlow']}", oldest["TensorFlow"]).replace(
        "{oldest['Keras']}", oldest["Keras"])
    text = f"TensorFlow {pinned['TensorFlow']}, Keras {pinned['Keras']} {needs}\n"
    return [{"name": "stdout", "output_type": "stream", "text": [text]}]


def readme_block(settings: dict, notebooks: list[str], language: str = "en") -> str:
    """The README's Colab block: one badge per notebook and the address the Setup cell clones.

    ``notebooks`` are paths under ``notebooks/`` (``zh/01_….ipynb`` in README.zh-CN.md's block).
    """
    rows = "\n".join(f"| `{name}` | {badge(settings, name)} |" for name in notebooks)
    if language == "zh":
        return (f"课程仓库：<{settings['url']}>（分支 `{settings['branch']}`）。\n\n"
                f"| 笔记本 | 在 Colab 中打开 |\n| --- | --- |\n{rows}\n")
    return (f"Course repository: <{settings['url']}> (branch `{settings['branch']}`).\n\n"
            f"| Notebook | Open it on Colab |\n| --- | --- |\n{rows}\n")


def _source_lines(text: str) -> list[str]:
    """Notebook JSON stores a cell's source as lines that keep their newline (the last one not)."""
    return text.splitlines(keepends=True)


def updated_notebook(text: str, notebook: str, settings: dict, language: str = "en") -> str:
    """The notebook JSON ``text`` with its badge and Setup cell rewritten.

    ``notebook`` is its path under ``notebooks/`` (``zh/01_….ipynb`` for the Chinese edition, whose
    Setup cell speaks ``language``).

    Raises:
        ValueError: no Markdown cell before the first code cell, or no ``# Setup`` code cell.
    """
    data = json.loads(text)
    cells = data["cells"]
    code = next((i for i, cell in enumerate(cells) if cell["cell_type"] == "code"), None)
    if code is None or not SETUP_FIRST_LINE.match("".join(cells[code]["source"])):
        raise ValueError(f"{notebook}: its first code cell must be the Setup cell (starting with {SETUP_MARK!r}).")
    markdown = next((cell for cell in cells[:code] if cell["cell_type"] == "markdown"), None)
    if markdown is None:
        raise ValueError(f"{notebook}: no Markdown cell above the Setup cell to hold the Colab badge.")
    source = "".join(markdown["source"])
    new_badge = badge(settings, notebook)
    source = BADGE.sub(lambda _: new_badge, source) if BADGE.search(source) else f"{source.rstrip()}\n\n{new_badge}"
    markdown["source"] = _source_lines(source)
    setup = cells[code]
    setup["source"] = _source_lines(setup_source(settings, language))
    setup["outputs"] = setup_output(settings, language)
    setup["metadata"] = {**setup.get("metadata", {}), **SETUP_METADATA}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def planned_files(root: pathlib.Path = ROOT) -> dict[pathlib.Path, str]:
    """``{path: new text}`` of every file the script writes."""
    settings = read_settings(root)
    notebooks = sorted(path.name for path in (root / "notebooks").glob("*.ipynb"))
    files = {root / "notebooks" / name: updated_notebook((root / "notebooks" / name).read_text(encoding="utf-8"),
                                                         name, settings) for name in notebooks}
    readme = (root / "README.md").read_text(encoding="utf-8")
    if not README_BLOCK.search(readme):
        raise ValueError("README.md has no <!-- colab-links:start --> ... <!-- colab-links:end --> block.")
    block = readme_block(settings, notebooks)
    files[root / "README.md"] = README_BLOCK.sub(lambda m: m[1] + block + m[2], readme)
    # The Chinese README lists the Chinese edition (notebooks/zh/, built by tools/translations.py).
    readme_zh = root / "README.zh-CN.md"
    if readme_zh.exists():
        text = readme_zh.read_text(encoding="utf-8")
        if not README_BLOCK.search(text):
            raise ValueError("README.zh-CN.md has no <!-- colab-links:start --> ... <!-- colab-links:end --> block.")
        zh_block = readme_block(settings, [f"zh/{name}" for name in notebooks], language="zh")
        files[readme_zh] = README_BLOCK.sub(lambda m: m[1] + zh_block + m[2], text)
    return files


def stale_files(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """The files whose badge, Setup cell or README block differ from what the script writes."""
    return [path for path, text in planned_files(root).items() if path.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file is out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)} (run `make colab-links`)")
        return 1 if stale else 0
    for path, text in planned_files().items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
