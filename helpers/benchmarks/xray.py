"""How fast the X-Ray explorer updates (``python -m helpers.benchmarks --only xray``).

Opens :func:`helpers.xray` on ``vgg_gap`` (its widget built, as in a notebook), computes the
patterns of the channels it will visit (so they are cached, as after a first visit), then times
what a student does: switch the channel (list or number) and switch the class. Each update
redraws every panel and sends one JPEG to the browser; the issue's target is under 300 ms. A
channel whose pattern is not cached yet is timed too: the other panels arrive first (that time),
and the pattern follows from a background thread.

Taught in: ``06_xray`` (the explorer).
"""

from __future__ import annotations

import time

import numpy as np

TARGET_MS = 300


def _times(action, values) -> list[float]:
    out = []
    for value in values:
        start = time.perf_counter()
        action(value)
        out.append(time.perf_counter() - start)
    return out


def run(quick: bool = False, models: dict | None = None) -> str:
    """Time the X-Ray's updates; return a Markdown table.

    Args:
        quick: fewer switches.
        models: ``{"vgg_gap": model}`` to use instead of the bundled model.

    Returns:
        Markdown: median and worst update per action, in ms, against the 300 ms target.
    """
    from helpers.xray import XRay

    model = (models or {}).get("vgg_gap", "vgg_gap")
    x = XRay(model, pattern_steps=8 if quick else 40)
    x.build_widget()
    moves = 4 if quick else 10
    ranking = [int(c) for c in x.state["ranking"][:moves]]
    for channel in ranking:  # cache the patterns, as after a first visit
        x.pattern(x.layer, channel)
    x.select(channel=ranking[0])
    rows = [("switch channel (pattern cached)",
             _times(lambda c: x.select(channel=c, wait=False), ranking[1:] + ranking[:1]))]
    classes = [(x.state["class_index"] + 1 + i) % x.num_classes for i in range(x.num_classes - 1)]  # the others
    x.select(channel=ranking[0])
    first = _times(lambda c: x.select(class_index=c, wait=False), classes)
    rows.append(("switch class (first visit: forward + backward pass)", first))
    rows.append(("switch class (visited before)", _times(lambda c: x.select(class_index=c, wait=False), classes)))
    fresh = next(c for c in range(len(x.state["contributions"])) if c not in ranking)  # no pattern cached
    start = time.perf_counter()
    x.select(channel=fresh, wait=False)
    panels = time.perf_counter() - start
    x.wait()
    rows.append(("switch channel, pattern not cached: the other panels", [panels]))
    rows.append(("… then the pattern (background thread)", [time.perf_counter() - start]))
    out = [f"## X-Ray explorer updates on {x.model_name} (ms; target {TARGET_MS} ms)", "",
           "| action | updates | median (ms) | worst (ms) |", "|---|---:|---:|---:|"]
    out += [f"| {label} | {len(t)} | {1000 * float(np.median(t)):.0f} | {1000 * float(np.max(t)):.0f} |"
            for label, t in rows]
    return "\n".join(out) + "\n"
