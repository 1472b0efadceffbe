"""How fast the interactive explorers redraw (the timing that used to sit in the notebooks).

``python -m helpers.benchmarks --only widgets``: moves the channel slider of chapter 1's
:class:`~helpers.widgets.ActivationExplorer` and the opacity slider of chapter 3's
:class:`~helpers.widgets.CAMExplorer`, and reports the median redraw time and how many times the
activations were computed (once per image: a redraw must not recompute them).

Taught in: ``01_intermediate_activations`` and ``03_class_activation_maps`` (their explorers).
"""

from __future__ import annotations

import time

import numpy as np

from helpers.models import load_model


def redraw_times(explorer, slider, values) -> list[float]:
    """Seconds per redraw while ``slider`` takes each of ``values`` (the explorer redraws on change)."""
    times = []
    for value in values:
        start = time.perf_counter()
        slider.value = value
        times.append(time.perf_counter() - start)
    return times


def run(quick: bool = False, models: dict | None = None) -> str:
    """Time both explorers' redraws; return a Markdown table.

    Args:
        quick: fewer slider moves.
        models: ``{"small_convnet": model, "vgg_gap": model}`` to use instead of the bundled ones.

    Returns:
        Markdown: per explorer, the median redraw in ms and the number of activation computations.
    """
    from helpers.widgets import ActivationExplorer, CAMExplorer

    models = models or {name: load_model(name) for name in ("small_convnet", "vgg_gap")}
    moves = 4 if quick else 10
    activation = ActivationExplorer(models["small_convnet"])
    channel_times = redraw_times(activation, activation.channel, [(i + 1) % (activation.channel.max + 1)
                                                                  for i in range(moves)])
    cam = CAMExplorer(models["vgg_gap"])
    alpha_times = redraw_times(cam, cam.alpha, np.linspace(0.1, 0.9, moves).round(2).tolist())
    rows = [("chapter 1, `ActivationExplorer`: channel slider", channel_times, activation.computations),
            ("chapter 3, `CAMExplorer`: opacity slider", alpha_times, getattr(cam, "computations", "—"))]
    out = ["## Explorer redraws (ms, median of the slider moves)", "",
           "| explorer | moves | median redraw (ms) | activations computed |", "|---|---:|---:|---:|"]
    out += [f"| {label} | {len(times)} | {1000 * float(np.median(times)):.0f} | {computed} |"
            for label, times, computed in rows]
    return "\n".join(out) + "\n"
