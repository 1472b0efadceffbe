"""The checked exercises of ``06_xray``: rank channels, estimate contributions, find a patch.

Same contract as :mod:`helpers.exercises` (whose :class:`~helpers.exercises.Feedback` they return):
each checker calls the student's function on seeded cases of its own, compares it with the
reference, names a known mistake or asks a guiding question, and never prints the answer. The
solutions live in ``notebooks/solutions/ch6_solutions.py``.

Taught in: ``06_xray`` (:func:`check_channel_ranking`, :func:`check_first_order_contributions`,
:func:`check_receptive_box`).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from helpers.exercises import Feedback
from helpers.i18n import localized

__all__ = ["EXERCISES", "check_channel_ranking", "check_first_order_contributions", "check_receptive_box"]

def _same(a: Any, b: Any) -> bool:
    try:
        a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-4, atol=1e-6))


def _judge(cases: Iterable[tuple[tuple, Any, dict[str, Any]]], fn: Callable, question: str) -> Feedback:
    """The first wrong case decides: a known mistake's hint, or the guiding question."""
    cases = list(cases)
    if not callable(fn):
        return Feedback(False, localized("Pass your function itself (its name, without parentheses), not a {kind}.",
                                         kind=type(fn).__name__))
    for args, expected, mistakes in cases:
        try:
            result = fn(*(np.copy(a) if isinstance(a, np.ndarray) else a for a in args))
        except NotImplementedError:
            return Feedback(False, localized("Replace `raise NotImplementedError` with your code, then run this cell "
                                             "again."))
        except Exception as error:  # the student's code: report, do not crash the notebook
            return Feedback(False, localized("Your function raised {kind}: {error}", kind=type(error).__name__,
                                             error=error))
        if result is None:
            return Feedback(False, localized("Your function returned None: did you forget `return`?"))
        if _same(result, expected):
            continue
        for hint, wrong in mistakes.items():
            if _same(result, wrong):
                return Feedback(False, hint)
        shape = np.shape(result)
        if shape != np.shape(expected):
            return Feedback(False, localized("Your result has shape {got}, the exercise asks for shape {want}. ",
                                             got=shape, want=np.shape(expected)) + question)
        return Feedback(False, question)
    return Feedback(True, localized("Your function gives the right result on all {n} test cases.", n=len(cases)))


def _cases(seed: int, h: int, k: int, classes: int):
    rng = np.random.default_rng(seed)
    maps = np.maximum(rng.normal(0.3, 1.0, (h, h, k)), 0).astype("float32")
    weights = rng.normal(0, 0.5, (k, classes)).astype("float32")
    return maps, weights


def check_channel_ranking(channel_ranking: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> Feedback:
    """Exercise 6.1: rank a GAP → Dense layer's channels by what they add to one class's logit.

    Args:
        channel_ranking: the student's ``channel_ranking(maps, weights, class_index)`` taking the
            maps ``A`` ``(h, w, K)`` and the Dense kernel ``(K, classes)`` and returning the ``K``
            channel indices, largest contribution first.

    Taught in: ``06_xray``.
    """
    cases = []
    for seed, h, k, classes, c in [(0, 6, 12, 4, 1), (1, 4, 9, 3, 0), (2, 5, 20, 6, 5)]:
        maps, weights = _cases(seed, h, k, classes)
        means = maps.astype(np.float64).mean(axis=(0, 1))
        contributions = means * weights[:, c]
        expected = np.argsort(-contributions, kind="stable")
        cases.append(((maps, weights, c), expected, {
            localized("A channel's weight alone does not say what it adds: how strongly did it fire on this image?"):
                np.argsort(-weights[:, c], kind="stable"),
            localized("A strongly firing channel can push the logit down: what does its weight do to its "
                      "contribution?"):
                np.argsort(-means, kind="stable"),
            localized("Largest first: your order is the reverse."): expected[::-1],
            localized("Rank the contributions themselves, signed: a large negative one pulls the logit down, it "
                      "does not help the class."): np.argsort(-np.abs(contributions), kind="stable"),
        }))
    return _judge(cases, channel_ranking, localized("Which number does each channel add to the logit? Re-read the "
                                                    "cell on the exact decomposition, compute that number per "
                                                    "channel, then sort."))


def check_first_order_contributions(first_order: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Feedback:
    """Exercise 6.2: the first-order contribution of each channel, from its maps and the gradient.

    Args:
        first_order: the student's ``first_order(maps, gradients)`` taking ``A`` and ``∂y/∂A``, both
            ``(h, w, K)``, and returning ``(K,)``: each channel's gradient × activation, summed over
            positions.

    Taught in: ``06_xray``.
    """
    cases = []
    for seed, h, k in [(3, 5, 7), (4, 3, 4), (5, 8, 16)]:
        rng = np.random.default_rng(seed)
        maps = np.maximum(rng.normal(0.2, 1.0, (h, h, k)), 0)
        gradients = rng.normal(0, 0.3, (h, h, k))
        expected = (maps * gradients).sum(axis=(0, 1))
        cases.append(((maps, gradients), expected, {
            localized("Sum over the positions: a mean divides the estimate by the number of positions."):
                (maps * gradients).mean(axis=(0, 1)),
            localized("That is Grad-CAM's weight times the mean activation: the product must be taken position "
                      "by position, before adding up."): gradients.mean(axis=(0, 1)) * maps.mean(axis=(0, 1)),
            localized("The gradient alone says how sensitive the score is, not how much the channel gave: "
                      "multiply by the activation."): gradients.sum(axis=(0, 1)),
            localized("One number per channel: add up over the two position axes only."):
                float((maps * gradients).sum()),
        }))
    return _judge(cases, first_order, localized("What does a first-order Taylor term look like for one position? "
                                                "Re-read the cell on other heads, then add those terms up per "
                                                "channel."))


def check_receptive_box(receptive_box: Callable[[int, int, int, int, float], tuple]) -> Feedback:
    """Exercise 6.3: the input pixels one position of a feature map sees (its top-9 patch).

    Args:
        receptive_box: the student's ``receptive_box(row, col, size, jump, start)`` returning
            ``(top, left, bottom, right)`` of the ``size × size`` window (bottom and right
            excluded) whose centre is at ``start + jump × index`` on each axis, rounded to a pixel.

    Taught in: ``06_xray``.
    """
    cases = []
    for row, col, size, jump, start in [(3, 1, 5, 2, 2.0), (0, 4, 9, 4, 4.0), (7, 7, 3, 1, 1.0), (2, 0, 14, 8, 6.5)]:
        def box(offset: float, half: float) -> tuple:
            top = int(round(start + jump * row - half + offset))
            left = int(round(start + jump * col - half + offset))
            return (top, left, top + size, left + size)

        expected = box(0.0, (size - 1) / 2)
        no_jump_top = int(round(start + row - (size - 1) / 2))
        no_jump_left = int(round(start + col - (size - 1) / 2))
        cases.append(((row, col, size, jump, start), expected, {
            localized("Neighbouring positions are `jump` input pixels apart, not one."):
                (no_jump_top, no_jump_left, no_jump_top + size, no_jump_left + size),
            localized("`start + jump × index` is the window's centre, not its top-left corner."): box(0.0, 0.0),
            localized("Rows first, then columns: check which index goes with which axis."):
                (expected[1], expected[0], expected[3], expected[2]),
        }))
    return _judge(cases, receptive_box, localized("Where is the window's centre for this position, and how far is "
                                                  "its top edge from the centre? Re-read the cell on the top-9 "
                                                  "patches."))


EXERCISES: dict[str, tuple[int, Callable[[Callable], Feedback]]] = {
    "channel_ranking": (6, check_channel_ranking),
    "first_order": (6, check_first_order_contributions),
    "receptive_box": (6, check_receptive_box),
}
"""``{solution function name: (chapter, checker)}`` for ``06_xray``."""
