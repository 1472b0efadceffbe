"""How long the 90-minute core path takes: the notebooks' [Core] cells, run and read.

``python -m helpers.benchmarks --only core_path`` executes each chapter once (as ``make test``
does) and adds up, per notebook, the execution time of its cells tagged ``core`` and the time to
read them, from stated rates: prose at :data:`RATES` ``words_per_minute``, code skimmed at
``seconds_per_code_line``, each figure looked at for ``seconds_per_figure``, and the exercises
given in class (cells tagged ``exercise``, two per chapter) at ``minutes_per_exercise`` each.
Cells tagged ``deep-dive`` are homework and are reported apart. ``--quick`` skips the execution
(it then counts the reading only).

Taught in: the teacher's guide (``notebooks/00_teachers_guide.md``), which quotes the result.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import time

NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent.parent / "notebooks"
CHAPTERS: tuple[str, ...] = ("01_intermediate_activations", "02_filter_visualization", "03_class_activation_maps")
BEYOND_THE_CLASS: tuple[str, ...] = ("04_beyond_grad_cam",)
"""Chapters after the 90-minute class (a second session or homework): same structure, not in the core path."""

LABS: tuple[str, ...] = ("05_shortcut_lab", "06_xray")
"""Notebooks beyond the book's three chapters (the shortcut lab, the X-Ray; homework or a second session): not part
of the 90-minute core path, but built the same way (objectives, [Core] and [Deep dive], exercises)."""
RATES = {"words_per_minute": 150, "seconds_per_code_line": 2.0, "seconds_per_figure": 30.0,
         "minutes_per_exercise": 5.0, "exercises_in_class": 2}
"""Reading rates: careful reading of technical English, code skimmed (it is explained in the prose)."""

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+(?:[.,]\d+)*")


def _part(cell: dict) -> str:
    tags = cell.get("metadata", {}).get("tags", [])
    if "exercise" in tags:
        return "exercise"
    return "deep-dive" if "deep-dive" in tags else "core"


def reading_counts(notebook: dict) -> dict[str, dict[str, float]]:
    """Per part (``core``, ``deep-dive``, ``exercise``): prose words, code lines, figures, cells.

    Untagged cells (the title and the Colab setup) count as core. A cell whose source is collapsed
    (``"jupyter": {"source_hidden": true}``: the Setup cell, the claim checks) is not read: only its
    figures count.
    """
    counts: dict[str, dict[str, float]] = {}
    for cell in notebook["cells"]:
        c = counts.setdefault(_part(cell), {"words": 0, "code_lines": 0, "figures": 0, "cells": 0})
        hidden = cell.get("metadata", {}).get("jupyter", {}).get("source_hidden", False)
        source = "" if hidden else "".join(cell["source"])
        c["cells"] += 1
        if cell["cell_type"] == "markdown":
            c["words"] += len(_WORD.findall(re.sub(r"\$[^$]*\$|`[^`]*`|\(http[^)]*\)", " x ", source)))
        elif cell["cell_type"] == "code":
            c["code_lines"] += sum(1 for line in source.splitlines()
                                   if line.strip() and not line.strip().startswith("#"))
            c["figures"] += sum(1 for output in cell.get("outputs", [])
                                if {"image/png", "image/jpeg"} & set(output.get("data", {})))
    return counts


def execution_seconds(path: pathlib.Path) -> dict[str, float]:
    """Run the notebook top to bottom (a fresh kernel, as ``make test`` does); seconds per part."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    client = NotebookClient(notebook, timeout=1800, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    seconds: dict[str, float] = {}
    for cell in notebook.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            from datetime import datetime

            start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            part = _part(cell)
            seconds[part] = seconds.get(part, 0.0) + (end - start).total_seconds()
    return seconds


def minutes(counts: dict[str, float], run_seconds: float, rates: dict = RATES) -> float:
    """Reading and running time of one part, in minutes, at the given rates."""
    return (counts["words"] / rates["words_per_minute"] + counts["code_lines"] * rates["seconds_per_code_line"] / 60
            + counts["figures"] * rates["seconds_per_figure"] / 60 + run_seconds / 60)


def run(quick: bool = False, notebooks: dict[str, pathlib.Path] | None = None, rates: dict = RATES) -> str:
    """Measure the core path and the deep dives of every chapter; return a Markdown table.

    Args:
        quick: count the reading only, do not execute the notebooks.
        notebooks: ``{title: path}`` instead of the three chapters.
        rates: reading rates (see :data:`RATES`).

    Returns:
        Markdown: per chapter, the core's words, code lines, figures, execution seconds and
        minutes; the in-class exercises; the deep dives' minutes; and the totals.
    """
    notebooks = notebooks or {name: NOTEBOOKS / f"{name}.ipynb" for name in CHAPTERS}
    out = [f"## The core path, read and run ({rates['words_per_minute']} words a minute, "
           f"{rates['seconds_per_code_line']:.0f} s a code line, {rates['seconds_per_figure']:.0f} s a figure, "
           f"{rates['exercises_in_class']} exercises a chapter in class at "
           f"{rates['minutes_per_exercise']:.0f} min)", "",
           "| chapter | core words | code lines | figures | run (s) | core (min) | exercises in class (min) "
           "| deep dives (min) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    total_core = total_exercises = total_deep = 0.0
    for title, path in notebooks.items():
        counts = reading_counts(json.loads(pathlib.Path(path).read_text(encoding="utf-8")))
        start = time.perf_counter()
        seconds = {} if quick else execution_seconds(pathlib.Path(path))
        del start
        core = counts.get("core", {"words": 0, "code_lines": 0, "figures": 0})
        deep = counts.get("deep-dive", {"words": 0, "code_lines": 0, "figures": 0})
        core_min = minutes(core, seconds.get("core", 0.0), rates)
        exercise_min = rates["exercises_in_class"] * rates["minutes_per_exercise"] if "exercise" in counts else 0.0
        deep_min = minutes(deep, seconds.get("deep-dive", 0.0), rates)
        total_core, total_exercises = total_core + core_min, total_exercises + exercise_min
        total_deep = total_deep + deep_min
        run_s = "—" if quick else f"{seconds.get('core', 0.0):.0f}"
        out.append(f"| {title} | {core['words']:,} | {core['code_lines']} | {core['figures']} | {run_s} | "
                   f"{core_min:.0f} | {exercise_min:.0f} | {deep_min:.0f} |")
    out.append(f"| **total** | | | | | **{total_core:.0f}** | **{total_exercises:.0f}** | {total_deep:.0f} |")
    out += ["", f"Core path with the in-class exercises: **{total_core + total_exercises:.0f} minutes**; "
                f"deep dives (homework): {total_deep:.0f} minutes."]
    return "\n".join(out) + "\n"
