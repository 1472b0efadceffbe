"""The classroom structure of the three chapters, read from the stored notebooks (no kernel).

Each notebook opens (after its title and Colab setup) with learning objectives, the time it
takes and a link to the glossary; tags every other cell ``core`` or ``deep-dive``; has at least
three exercises checked by ``helpers.exercises``; ends with at most five key takeaways; and keeps
maintainers' material (timings, test talk, machine paths) out of the student's path.
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from helpers.benchmarks import core_path

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
SETUP_CELLS = 3  # the title with the Colab badge, the Setup note, the Setup cell


def _load(path: pathlib.Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def test_the_three_chapters_are_there():
    # the three chapters of the 90-minute class, then the chapter beyond it (4) and the lab (5), same structure
    assert [p.stem for p in NOTEBOOKS] == [*core_path.CHAPTERS, *core_path.BEYOND_THE_CLASS, *core_path.LABS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_objectives_time_and_glossary_open_the_notebook(path):
    cells = _load(path)["cells"]
    assert "colab.research.google.com" in _source(cells[0]) and "google.colab" in _source(cells[SETUP_CELLS - 1])
    opening = _source(cells[SETUP_CELLS])
    assert "What you will learn" in opening and "**Time.**" in opening and "minutes" in opening
    assert "(00_glossary.md)" in opening and "[Core]" in opening and "[Deep dive]" in opening


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_is_core_or_deep_dive_and_core_comes_first(path):
    cells = _load(path)["cells"][SETUP_CELLS:]
    parts = []
    for cell in cells:
        tags = cell.get("metadata", {}).get("tags", [])
        assert ("core" in tags) != ("deep-dive" in tags), _source(cell)[:80]
        parts.append("core" if "core" in tags else "deep-dive")
    # one block of core, one of deep dives, and the takeaways (core) at the very end
    assert parts[-1] == "core"
    body = parts[:-1]
    assert body == sorted(body, key=lambda part: part != "core"), "core cells must come before the deep dives"
    headings = [_source(c) for c in cells if c["cell_type"] == "markdown" and _source(c).startswith("## ")]
    for heading in headings:
        if not heading.startswith(("## What you will learn", "## Key takeaways")):
            assert heading.startswith(("## [Core]", "## [Deep dive]")), heading[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_at_least_three_checked_exercises_with_solutions(path):
    cells = _load(path)["cells"]
    chapter = int(path.stem[:2])
    checks = [c for c in cells if c["cell_type"] == "code" and "exercise" in c.get("metadata", {}).get("tags", [])]
    assert len(checks) >= 3
    solutions = (ROOT / "notebooks" / "solutions" / f"ch{chapter}_solutions.py").read_text(encoding="utf-8")
    for cell in checks:
        source = _source(cell)
        assert "raise NotImplementedError" in source and re.search(r"exercises\.check_\w+\(", source)
        name = re.search(r"def (\w+)\(", source).group(1)
        assert f"def {name}(" in solutions
        text = "".join("".join(o.get("data", {}).get("text/plain", [])) for o in cell["outputs"])
        assert text.startswith("❌ Not yet. Replace `raise NotImplementedError`")  # the stub, stored executed


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_ends_with_at_most_five_key_takeaways(path):
    last = _source(_load(path)["cells"][-1])
    takeaways = last.split("## Key takeaways", 1)[1]
    items = re.findall(r"^\d+\. ", takeaways, flags=re.M)
    assert 1 <= len(items) <= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_maintainers_material_in_the_students_path(path):
    notebook = _load(path)
    for cell in notebook["cells"]:
        source = _source(cell)
        assert "NBVAL" not in source  # a cell tag (nbval-ignore-output) instead
        if cell["cell_type"] == "markdown":
            maintainer_talk = r"nbval|pytest|make test|the tests\b|is tested|checked when"
            assert not re.search(maintainer_talk, source, flags=re.I), source[:80]
        else:
            assert "perf_counter" not in source and "%time" not in source  # timings live in the benchmarks
            for output in cell.get("outputs", []):
                text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
                assert not re.search(r"(/home/|/work/|/usr/|site-packages|\\Users\\)", text), text[:120]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_widget_cells_show_a_stored_picture_and_ignore_their_output(path):
    for cell in _load(path)["cells"]:
        outputs = cell.get("outputs", [])
        if any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs):
            assert "nbval-ignore-output" in cell["metadata"].get("tags", [])
            assert any({"image/png", "image/jpeg"} & set(o.get("data", {})) for o in outputs)


def test_core_path_fits_90_minutes_with_the_exercises():
    report = core_path.run(quick=True)  # reading and exercises; running the core cells adds about a minute
    minutes = int(re.search(r"Core path with the in-class exercises: \*\*(\d+) minutes", report).group(1))
    assert 60 <= minutes <= 88, report


def test_reading_counts_split_core_deep_dives_and_exercises():
    notebook = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Title with `code` and $x$"]},
        {"cell_type": "markdown", "metadata": {"tags": ["core"]}, "source": ["one two three"]},
        {"cell_type": "code", "metadata": {"tags": ["core"]}, "source": ["x = 1\n", "# note\n", "y = 2"],
         "outputs": [{"data": {"image/png": "..."}}]},
        {"cell_type": "markdown", "metadata": {"tags": ["deep-dive"]}, "source": ["four five"]},
        {"cell_type": "code", "metadata": {"tags": ["core", "exercise"]}, "source": ["def f():\n", "    pass"],
         "outputs": []},
    ]}
    counts = core_path.reading_counts(notebook)
    assert counts["core"] == {"words": 8, "code_lines": 2, "figures": 1, "cells": 3}
    assert counts["deep-dive"]["words"] == 2 and counts["exercise"]["code_lines"] == 2
    assert core_path.minutes(counts["core"], 60.0) == pytest.approx(8 / 150 + 4 / 60 + 0.5 + 1.0)


def test_glossary_and_teachers_guide_are_linked():
    glossary = (ROOT / "notebooks" / "00_glossary.md").read_text(encoding="utf-8")
    for term in ("feature map", "receptive field", "gradient ascent", "global average pooling",
                 "class activation map", "logit"):
        assert re.search(rf"^\| {term}", glossary, flags=re.M | re.I), term
    rows = [line for line in glossary.splitlines()
            if line.startswith("| ") and not line.startswith(("| English", "| ---"))]
    assert all(re.search(r"[\u4e00-\u9fff]", row) for row in rows)  # every term has its Chinese
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "notebooks/00_teachers_guide.md" in readme and "notebooks/00_glossary.md" in readme
    guide = (ROOT / "notebooks" / "00_teachers_guide.md").read_text(encoding="utf-8")
    for exercise in ("1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "3.1", "3.2", "3.3"):
        assert exercise in guide
