"""Checked exercises: one checker per exercise of the chapters.

Each exercise asks the student to write a small function. Its checker calls that function on
inputs of its own (seeded, so the feedback is reproducible), compares the result with the
course's reference computation and returns a :class:`Feedback`: *correct*, or *not yet* with a
hint. Common mistakes (a missing bias, a sum instead of a mean, a descent instead of an ascent,
...) are recognised and named; the expected values are never printed, so a checker cannot be
used to read the answer off.

The hints follow one policy (:func:`_judge`). A known mistake is named ("Each filter also has one
bias: count it."). An answer that matches no known mistake gets what can be said without the
answer (a wrong shape, NaN, only zeros, a constant, the negated, transposed or rescaled result) and
then a guiding question or a pointer to the cell to re-read, never the recipe: a checker's generic
hint is shown only when it asks a question or starts with "Re-read"; a statement is replaced by the
machinery's own question. No hint contains the solution's expression (``tests/test_exercises.py``
feeds every checker zeros, a constant, random values, the negated and transposed answer, and looks
for it).

Every message and hint follows :func:`helpers.set_language`: English by default, Chinese after
``set_language("zh")`` (the Chinese notebooks' first cell); the Chinese is in
``helpers/exercises_zh.py`` and obeys the same hint policy (a question, ``？``, or 重读 …).

The solutions live apart, in ``notebooks/solutions/`` (the tests run the checkers on them).

Taught in: ``01_intermediate_activations`` (:func:`check_feature_map_side`,
:func:`check_dense_params`, :func:`check_layer_sparsity`), ``02_filter_visualization``
(:func:`check_filter_loss`, :func:`check_ascent_step`, :func:`check_silent_filters`),
``03_class_activation_maps`` (:func:`check_class_score`, :func:`check_grad_cam_map`,
:func:`check_logit_grad_cam`), ``04_beyond_grad_cam`` (:func:`check_energy_share`,
:func:`check_ig_bound`, :func:`check_integrated_gradients`) and ``05_shortcut_lab`` (:func:`check_cell_ceiling`,
:func:`check_uninformative_agreement`, :func:`check_model_contrast`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

import numpy as np

from helpers import exercises_zh as _exercises_zh
from helpers.i18n import add_translations, localized

__all__ = [
    "EXERCISES",
    "Feedback",
    "check_ascent_step",
    "check_cell_ceiling",
    "check_channel_ranking",
    "check_class_score",
    "check_dense_params",
    "check_energy_share",
    "check_feature_map_side",
    "check_filter_loss",
    "check_first_order_contributions",
    "check_grad_cam_map",
    "check_ig_bound",
    "check_integrated_gradients",
    "check_layer_sparsity",
    "check_logit_grad_cam",
    "check_model_contrast",
    "check_receptive_box",
    "check_silent_filters",
    "check_uninformative_agreement",
    "toy_score",
]


@dataclasses.dataclass(frozen=True)
class Feedback:
    """A checker's verdict.

    Attributes:
        passed: ``True`` when the function gave the right result on every test case.
        message: what to do next (a hint), or how many cases were checked. Never the answer.

    ``bool(feedback)`` is ``passed``; in a notebook the feedback shows as one line, in the language
    set when it was made (:func:`helpers.set_language`).

    Taught in: all three chapters (their exercises).
    """

    passed: bool
    message: str
    verdict: str = dataclasses.field(init=False, repr=False, compare=False, default="")
    """"✅ Correct. " or "❌ Not yet. " in the language of the message (the one set when it was made)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", localized("✅ Correct. ") if self.passed else localized("❌ Not yet. "))

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.verdict + self.message

    __str__ = __repr__


add_translations("zh", _exercises_zh.CATALOGUE)


def _not_started() -> str:
    return localized("Replace `raise NotImplementedError` with your code, then run this cell again.")


def _reread(where: str | None = None) -> str:
    """The machinery's own guiding question, for an answer that matches no known mistake.

    ``where``: the cell to re-read (already in the current language); default: the text just above
    the exercise.
    """
    return localized("Which quantity does the exercise ask for, and over which axes? Re-read {where}, then compare "
                     "it with your code one step at a time.",
                     where=where or localized("the text just above this exercise"))


def _call(fn: Callable, *args: Any) -> tuple[Any, Feedback | None]:
    """Call the student's function; turn an exception or a missing return into feedback."""
    if not callable(fn):
        return None, Feedback(False, localized("Pass your function itself (its name, without parentheses), "
                                               "not a {type}.", type=type(fn).__name__))
    try:
        result = fn(*args)
    except NotImplementedError:
        return None, Feedback(False, _not_started())
    except Exception as error:  # the student's code: report, do not crash the notebook
        return None, Feedback(False, localized("Your function raised {name}: {error}",
                                               name=type(error).__name__, error=error))
    if result is None:
        return None, Feedback(False, localized("Your function returned None: did you forget `return`?"))
    return result, None


def _close(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    try:
        a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _is_guidance(hint: str) -> bool:
    """True when a checker's generic hint guides (asks a question, or points to a cell to re-read).

    The policy for an answer that matches no known mistake: its hint asks a guiding question or
    points to the cell to re-read; it never states the recipe (a statement such as "weighted sum,
    then the ReLU, then divide by the maximum" *is* the solution). A generic hint that contains a
    question mark, or starts with "Re-read" / "Look again", is shown; any other is replaced by the
    machinery's own question (:func:`_reread`). The same rule holds for the Chinese hints: a
    question mark (``？`` or ``?``), or a start with 重读 / 再读 / 回看 / 再看.
    """
    text = hint.strip()
    return ("?" in text or "？" in text or text.lower().startswith(("re-read", "reread", "look again"))
            or text.startswith(("重读", "再读", "回看", "再看")))


def _as_array(value: Any) -> np.ndarray | None:
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        return None
    return array


def _diagnosis(result: Any, expected: Any, compare: Callable[[Any, Any], bool]) -> str:
    """What can be said about an unrecognised answer (see :func:`_describe`); never raises."""
    try:
        with np.errstate(all="ignore"):
            return _describe(result, expected, compare)
    except Exception:  # a checker's compare that cannot take a transformed result: say nothing more
        return ""


def _describe(result: Any, expected: Any, compare: Callable[[Any, Any], bool]) -> str:
    """What can be said about an unrecognised answer without giving the expected values away.

    Names its shape when it differs from the expected one, and recognises results that are NaN,
    only zeros, one constant value, the negated, transposed or rescaled right answer. Returns ""
    when nothing of that kind applies.
    """
    got, want = _as_array(result), _as_array(expected)
    if got is None:
        return localized("Your function returned a {type}, which is not a number or an array of numbers. ",
                         type=type(result).__name__)
    if want is None:
        return ""
    if got.shape != want.shape:
        swapped = got.ndim == want.ndim and got.ndim >= 2 and sorted(got.shape) == sorted(want.shape)
        if swapped:
            return localized("Your result has shape {got}; the expected result has shape {want} (the same axes in "
                             "another order?). ", got=got.shape, want=want.shape)
        return localized("Your result has shape {got}; the expected result has shape {want}. ",
                         got=got.shape, want=want.shape)
    if not np.all(np.isfinite(got)):
        return localized("Your result contains NaN or infinite values: is there a division by zero, or a mean of an "
                         "empty slice? ")
    if got.size and not np.any(got) and np.any(want):
        return (localized("Your function returns only zeros: does it use its inputs? ") if got.size > 1 else
                localized("Your function returns 0: does it use its inputs? "))
    with np.errstate(all="ignore"):
        if np.any(want) and compare(-got, want):
            return localized("Your result has the right size but the opposite sign: which term comes first, and in "
                             "which direction? ")
        if got.ndim >= 2 and got.shape == got.T.shape and compare(got.T, want):
            return localized("Your result has the right values in the wrong orientation: which axis is which? ")
        if got.size > 1 and np.ptp(got) == 0 and np.ptp(want) > 0:
            return localized("Your result is the same number everywhere: which part of the input should make it "
                             "vary? ")
        scale = float(np.vdot(got, want) / np.vdot(want, want)) if np.vdot(want, want) > 0 else 0.0
        if (got.size > 1 and np.isfinite(scale) and scale > 0 and not np.isclose(scale, 1.0)
                and compare(got / scale, want)):
            return localized("Your result is proportional to the right one, off by a constant factor: "
                             "which step sets the scale? ")
    return ""


def _judge(cases: Iterable[tuple[tuple, Any, dict[str, Any]]], fn: Callable, generic_hint: str,
           compare: Callable[[Any, Any], bool] = _close, *, reread: str | None = None) -> Feedback:
    """Run every case; the first wrong answer decides the hint (a known mistake, or the generic one).

    Each case is ``(arguments, expected, mistakes)`` where ``mistakes`` maps a hint to what that
    mistake would have returned. A known mistake's hint names the mistake. An answer that matches
    none gets what the machinery can say about it (:func:`_diagnosis`: a wrong shape, NaN, only
    zeros, a constant, the negated, transposed or rescaled answer), then ``generic_hint`` when it
    guides (:func:`_is_guidance`: a question, or a pointer to the cell to re-read), otherwise the
    machinery's own question pointing to ``reread`` (the cell to re-read, e.g. "the cell on step ⑤";
    default: the text just above the exercise). No hint contains the solution's expression: the
    tests feed every checker wrong answers and look for it.
    """
    cases = list(cases)
    for args, expected, mistakes in cases:
        result, problem = _call(fn, *(np.copy(a) if isinstance(a, np.ndarray) else a for a in args))
        if problem is not None:
            return problem
        if compare(result, expected):
            continue
        for hint, wrong in mistakes.items():
            if compare(result, wrong):
                return Feedback(False, hint)
        guidance = generic_hint if _is_guidance(generic_hint) else _reread(reread)
        return Feedback(False, _diagnosis(result, expected, compare) + guidance)
    return Feedback(True, localized("Your function gives the right result on all {n} test cases.", n=len(cases)))


# --------------------------------------------------------------------------- chapter 1
def _map_side(side: int, n: int, shrink: int = 2, floor: bool = True, pool: bool = True) -> float:
    """The side after ``n`` blocks of (3 × 3 'valid' convolution, 2 × 2 pooling), or a known mistake's."""
    for _ in range(n):
        side = side - shrink
        if pool:
            side = side // 2 if floor else side / 2
    return side


def check_feature_map_side(feature_map_side: Callable[[int, int], int]) -> Feedback:
    """Exercise 1.1: the side of the maps after ``n`` blocks of ``small_convnet``.

    Args:
        feature_map_side: the student's ``feature_map_side(input_side, n_blocks)``: the side of
            the feature maps after ``n_blocks`` blocks of (3 × 3 'valid' convolution, then 2 × 2
            max pooling), starting from a square image of ``input_side`` pixels.

    Returns:
        :class:`Feedback`.

    Taught in: ``01_intermediate_activations``.
    """
    cases = []
    for side, n in [(150, 1), (150, 4), (64, 2), (101, 3), (33, 2)]:
        cases.append(((side, n), _map_side(side, n), {
            localized("A 3 × 3 'valid' convolution has no position for the outermost pixel row and column on each "
                      "side: it shrinks the map before the pooling halves it."): _map_side(side, n, shrink=0),
            localized("Pooling 2 × 2 drops a last odd row or column: the side stays a whole number after every "
                      "halving."): _map_side(side, n, floor=False),
            localized("A 3 × 3 'valid' convolution loses one pixel on *each* side."): _map_side(side, n, shrink=1),
            localized("Each block ends with a 2 × 2 max pooling, which halves the side."):
                _map_side(side, n, pool=False),
        }))
    return _judge(cases, feature_map_side,
                  localized("Follow one block at a time on Step 1's table: what does the convolution do to 150, and "
                            "what does the pooling do to the result?"),
                  compare=lambda a, b: _close(a, b, rtol=0, atol=0))


def check_dense_params(dense_params: Callable[[int], int]) -> Feedback:
    """Exercise 1.2: the parameters of ``small_convnet``'s ``dense_1`` for images of another size.

    Args:
        dense_params: the student's ``dense_params(input_side)``: the number of parameters of a
            512-unit ``Dense`` layer (with bias) that reads the flattened output of four blocks of
            (3 × 3 'valid' convolution, 2 × 2 max pooling) with 128 channels at the end, for
            square images of ``input_side`` pixels.

    Returns:
        :class:`Feedback`.

    Taught in: ``01_intermediate_activations``.
    """
    def count(side: float, bias: bool = True, channels: bool = True) -> float:
        inputs = side * side * (128 if channels else 1)
        return 512 * (inputs + (1 if bias else 0))

    cases = []
    for side in (150, 200, 64, 101, 90):
        s4 = _map_side(side, 4)
        cases.append(((side,), count(s4), {
            localized("Each of the 512 units also has a bias."): count(s4, bias=False),
            localized("The flattened vector holds every position of every channel of the last pooling layer."):
                count(s4, channels=False),
            localized("The flattened vector holds every channel at every position of the last pooling layer, not one "
                      "number per channel."): count(1),
            localized("Did you follow the side through the convolutions too, not only the poolings? "
                      "Step 1's table shows where 150 pixels end up."): count(side // 16),
            localized("The side is a whole number after every pooling: exercise 1.1's function gives it."):
                count(_map_side(side, 4, floor=False)),
            localized("`dense_1` alone: the question leaves the other layers out."): count(s4) + 6 * 513,
        }))
    return _judge(cases, dense_params,
                  localized("Which array does `dense_1` read, and how many numbers does it hold for this image size? "
                            "Step 1's table answers both for 150 pixels, and its explanation says how a dense layer's "
                            "count follows."),
                  compare=lambda a, b: _close(a, b, rtol=0, atol=0))


def check_layer_sparsity(layer_sparsity: Callable[[np.ndarray], tuple[float, float]]) -> Feedback:
    """Exercise 1.3 (find the bug): a layer's sparsity, with NumPy.

    Args:
        layer_sparsity: the student's ``layer_sparsity(maps)`` taking one image's feature maps
            ``(height, width, channels)`` and returning ``(zero_fraction, blank_fraction)``: the
            share of activations that are exactly 0, and the share of channels that are 0 at
            every position (both between 0 and 1), as :func:`helpers.sparsity` defines them.

    Returns:
        :class:`Feedback`.

    Taught in: ``01_intermediate_activations``.
    """
    rng = np.random.default_rng(7)
    cases = []
    for h, w, c, p_zero, p_blank in [(6, 5, 8, 0.6, 0.25), (9, 9, 16, 0.85, 0.3), (4, 7, 5, 0.3, 0.2)]:
        maps = np.maximum(rng.normal(0, 1, (h, w, c)), 0) * (rng.random((h, w, c)) > p_zero - 0.5)
        maps[..., rng.permutation(c)[:max(1, int(p_blank * c))]] = 0
        maps[0, 0, np.flatnonzero(maps.any(axis=(0, 1)))[:1]] = -0.0  # a negative zero is a zero too
        zero = maps == 0
        expected = (zero.mean(), zero.all(axis=(0, 1)).mean())
        cases.append(((maps.astype("float32"),), expected, {
            localized("This is still the classmate's version: its first share is right, its second is not. For "
                      "`maps[\"conv2d_2\"]`, print the shape of the boolean array it averages: does one entry stand "
                      "for a channel or for a position?"): (expected[0], zero.all(axis=-1).mean()),
            localized("You measured the share of *non-zero* activations: count the zeros."):
                (1 - expected[0], 1 - expected[1]),
            localized("Give shares between 0 and 1, not percentages."): (100 * expected[0], 100 * expected[1]),
            localized("A blank channel is zero at every position of its map, not at some position."):
                (expected[0], zero.any(axis=(0, 1)).mean()),
            localized("Return the zero share first, then the blank-channel share."): (expected[1], expected[0]),
        }))
    return _judge(cases, layer_sparsity,
                  localized("Run your function on `maps[\"conv2d_2\"]` and compare both shares with Step 7's grid of "
                            "that layer: which of the two disagrees with the picture?"))


# --------------------------------------------------------------------------- chapter 2
def check_filter_loss(filter_loss: Callable[[np.ndarray, int, int], float]) -> Feedback:
    """Exercise 2.1: the chapter's loss, the mean activation of one filter, border left out.

    Args:
        filter_loss: the student's ``filter_loss(activation, filter_index, border)`` taking one
            image's layer output ``(height, width, filters)`` and returning the mean of channel
            ``filter_index`` over the map, the ``border`` outer rows and columns on every side
            left out (``border=0``: the whole map).

    Returns:
        :class:`Feedback`.

    Taught in: ``02_filter_visualization``.
    """
    rng = np.random.default_rng(11)
    cases = []
    for h, c, f, border in [(16, 8, 3, 2), (12, 5, 0, 1), (9, 4, 2, 0), (20, 6, 5, 3)]:
        a = rng.normal(0.5, 1.0, (h, h, c)).astype("float32")
        a[0, :, f] += 5  # the edge differs, as with zero padding
        inner = a[border:h - border, border:h - border]
        cases.append(((a, f, border), float(inner[..., f].mean()), {
            localized("Leave the border out: drop `border` rows and columns on *every* side before averaging."):
                float(a[..., f].mean()),
            localized("Average one channel only, the filter's own."): float(inner.mean()),
            localized("With border=0 your slice is empty: what does `a[0:-0]` contain? Try it."): float("nan"),
            localized("The loss is the mean, not the sum: the sum grows with the size of the image."):
                float(inner[..., f].sum()),
        }))
    return _judge(cases, filter_loss,
                  localized("Re-read section 1's loss cell: which positions and which channel does it average? Here "
                            "the border is an argument instead of 2."),
                  compare=lambda a, b: _close(a, b) or (np.ndim(a) == 0 and np.isnan(b) and np.isnan(float(a))))


def check_ascent_step(ascent_step: Callable[[np.ndarray, np.ndarray, float], np.ndarray]) -> Feedback:
    """Exercise 2.2 (find the bug): one step of gradient ascent, I ← I + η · g / RMS(g).

    Args:
        ascent_step: the student's ``ascent_step(image, gradient, step_size)`` returning the new
            image: the gradient divided by its root mean square (plus ``1e-8``, for a zero
            gradient), times ``step_size``, *added* to the image.

    Returns:
        :class:`Feedback`.

    Taught in: ``02_filter_visualization``.
    """
    rng = np.random.default_rng(5)
    cases = []
    for shape, eta, scale in [((8, 8, 3), 2.0, 1e-5), ((5, 7, 3), 0.5, 3.0), ((4, 4, 3), 1.0, 0.0)]:
        image = rng.uniform(100, 150, shape).astype("float32")
        g = (rng.normal(0, 1, shape) * scale).astype("float32")
        rms = np.sqrt(np.mean(g**2))
        expected = image + eta * g / (rms + 1e-8)
        mistakes = {
            localized("This is still the classmate's version: its steps are much smaller than step_size grey levels. "
                      "How does its divisor change when the image has more pixels? Compare it with section 2's "
                      "normalization."): image + eta * g / (np.sqrt(np.sum(g**2)) + 1e-8),
            localized("Gradient *ascent*: the step goes up the gradient, not down."): image - eta * g / (rms + 1e-8),
            localized("Normalize the gradient first: its raw size changes by orders of magnitude during the ascent "
                      "(section 2)."): image + eta * g,
        }
        if scale == 0.0:
            mistakes = {localized("A zero gradient must not give NaN: what keeps section 2's division finite?"):
                        np.full(shape, np.nan)}
        cases.append(((image, g, eta), expected, mistakes))
    return _judge(cases, ascent_step,
                  localized("Compare your step with section 3's formula term by term: which way does it move the "
                            "image, and what is the gradient divided by?"),
                  compare=lambda a, b: _close(a, b, rtol=1e-4, atol=1e-3) or (
                      np.shape(a) == np.shape(b) and bool(np.all(np.isnan(b))) and bool(np.any(np.isnan(a)))))


def check_silent_filters(silent_filters: Callable[[np.ndarray, int], np.ndarray]) -> Feedback:
    """Exercise 2.3: which filters are silent on their starting image (and would stay blank).

    Args:
        silent_filters: the student's ``silent_filters(activation, border)`` taking one image's
            layer output ``(height, width, filters)`` (after the ReLU) and returning the sorted
            indices of the filters that are 0 at every position of the interior (``border``
            outer rows and columns left out on every side): those whose gradient is zero.

    Returns:
        :class:`Feedback`.

    Taught in: ``02_filter_visualization``.
    """
    rng = np.random.default_rng(3)
    cases = []
    for h, c, border in [(12, 10, 2), (10, 16, 1), (8, 6, 0)]:
        a = np.maximum(rng.normal(-0.3, 1.0, (h, h, c)), 0).astype("float32")
        silent = rng.permutation(c)[: c // 3]
        a[..., silent] = 0
        edge_only = [i for i in range(c) if i not in silent][:1]
        if border:
            a[border:h - border, border:h - border, edge_only] = 0
            a[0, 0, edge_only] = 1.0  # fires at the edge only: silent for the loss
        inner = a[border:h - border, border:h - border]
        expected = np.flatnonzero(~inner.any(axis=(0, 1)))
        mistakes = {
            localized("Judge the interior only, the part the loss measures: a filter that fires only in the border has "
                      "zero gradient too."): np.flatnonzero(~a.any(axis=(0, 1))),
            localized("Return the *silent* filters (all zeros), not the ones that fire."):
                np.flatnonzero(inner.any(axis=(0, 1))),
            localized("A filter is silent when it is zero at *every* position, not at some position."):
                np.flatnonzero((inner == 0).any(axis=(0, 1))),
        }
        cases.append(((a, border), expected, mistakes))

    def same_indices(a: Any, b: Any) -> bool:
        try:
            return np.array_equal(np.sort(np.asarray(a, dtype=int).ravel()), np.asarray(b))
        except (TypeError, ValueError):
            return False

    return _judge(cases, silent_filters,
                  localized("Which positions does the loss look at (section 1), and what must be true of a filter "
                            "there for its gradient to be zero (section 5)? The result is a list of filter numbers."),
                  compare=same_indices)


# --------------------------------------------------------------------------- chapter 3
def _cam_inputs(seed: int, h: int, k: int, classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    maps = np.maximum(rng.normal(0.2, 1.0, (h, h, k)), 0).astype("float32")
    weights = rng.normal(0, 0.5, (k, classes)).astype("float32")
    bias = rng.normal(0, 1, classes).astype("float32")
    return maps, weights, bias


def check_class_score(class_score: Callable[[np.ndarray, np.ndarray, np.ndarray, int], float]) -> Feedback:
    """Exercise 3.1: the logit of a GAP model, from the last feature maps and the Dense layer.

    Args:
        class_score: the student's ``class_score(maps, weights, bias, class_index)`` taking the
            last convolution's maps ``A`` ``(height, width, K)``, the Dense layer's kernel
            ``(K, classes)`` and bias ``(classes,)``, and returning ``y^c``, the score of class
            ``class_index`` before the softmax.

    Returns:
        :class:`Feedback`.

    Taught in: ``03_class_activation_maps``.
    """
    cases = []
    for seed, h, k, classes, c in [(0, 9, 16, 6, 3), (1, 5, 8, 3, 0), (2, 7, 32, 10, 9)]:
        maps, weights, bias = _cam_inputs(seed, h, k, classes)
        gap = maps.mean(axis=(0, 1))
        expected = float(gap @ weights[:, c] + bias[c])
        logits = gap @ weights + bias
        cases.append(((maps, weights, bias, c), expected, {
            localized("Global *average* pooling: the mean of each map, not its sum."):
                float(maps.sum(axis=(0, 1)) @ weights[:, c] + bias[c]),
            localized("Add the class's bias."): float(gap @ weights[:, c]),
            localized("The score is before the softmax (the logit), not a probability."):
                float(np.exp(logits - logits.max())[c] / np.exp(logits - logits.max()).sum()),
            localized("Global average pooling, not global max pooling."):
                float(maps.max(axis=(0, 1)) @ weights[:, c] + bias[c]),
        }))
    return _judge(cases, class_score,
                  localized("Re-read the formula under 'The class score is a weighted sum of map means': which of its "
                            "parts does your function compute differently? Try it on section 1's A, W, b and c and "
                            "compare with the logit printed there."))


def check_grad_cam_map(grad_cam_map: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Feedback:
    """Exercise 3.2: find the bug in a Grad-CAM written with NumPy, and fix it.

    Args:
        grad_cam_map: the student's ``grad_cam_map(maps, grads)`` taking one image's feature maps
            ``A`` and the gradients ``∂y^c/∂A`` (both ``(height, width, K)``) and returning the
            ``(height, width)`` Grad-CAM: the channels weighted by their gradients averaged over the
            positions, summed, its positive part divided by its maximum. (A sum instead of the
            average gives the same normalized map and is accepted.)

    Returns:
        :class:`Feedback`.

    Taught in: ``03_class_activation_maps``.
    """
    rng = np.random.default_rng(11)
    cases = []
    for h, w, k in [(9, 9, 16), (6, 8, 12), (7, 7, 24)]:
        maps = np.maximum(rng.normal(0.2, 1.0, (h, w, k)), 0).astype("float32")
        # gradients with a per-channel trend (what the average keeps) plus position-wise noise
        grads = (rng.normal(0, 1.0, k)[None, None, :] + rng.normal(0, 0.7, (h, w, k))).astype("float32")
        alpha = grads.mean(axis=(0, 1))
        raw = maps @ alpha
        positive = np.maximum(raw, 0)
        expected = positive / positive.max()
        per_position = (maps * grads.mean(axis=-1, keepdims=True)).sum(axis=-1)
        abs_alpha = maps @ np.abs(grads).mean(axis=(0, 1))
        cases.append(((maps, grads), expected, {
            localized("Still the bug of the given function: its weights are averaged over the channels, so every "
                      "channel gets the same weight at a position. What should one weight α_k stand for: a channel, "
                      "or a position?"): np.maximum(per_position, 0) / max(np.maximum(per_position, 0).max(), 1e-12),
            localized("Your map has negative values: keep only the positive evidence (the ReLU) before normalizing."):
                raw / np.abs(raw).max(),
            localized("Your map keeps negative values after the division: the ReLU comes before it."): raw / raw.max(),
            localized("Divide by the maximum, so that the map ends at 1."): positive,
            localized("Keep the sign of the gradients: a channel whose gradient is negative argues against the class."):
                abs_alpha / abs_alpha.max(),
        }))
    return _judge(cases, grad_cam_map,
                  localized("Compare your function, line by line, with the 'Grad-CAM by hand' cell of section 2: over "
                            "which axes is each average taken, and what shape does each intermediate result have?"),
                  compare=lambda a, b: _close(a, b, atol=1e-4))


def _tiny_softmax_classifier(seed: int, confident: bool):
    """A small seeded Conv → Conv → Flatten → Dense(softmax) classifier (no GAP) for exercise 3.3."""
    from helpers._backend import keras

    def init(offset):
        return keras.initializers.GlorotUniform(seed=seed * 10 + offset)

    inputs = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(6, 3, activation="relu", kernel_initializer=init(1), name="conv_a")(x)
    x = keras.layers.MaxPooling2D(name="pool_a")(x)
    x = keras.layers.Conv2D(8, 3, activation="relu", kernel_initializer=init(2), name="conv_b")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(4, activation="softmax", kernel_initializer=init(3),
                                 bias_initializer=keras.initializers.RandomNormal(0, 0.5, seed=seed * 10 + 4),
                                 name="predictions")(x)
    model = keras.Model(inputs, outputs, name=f"tiny_{seed}")
    if confident:  # large logits: the top class's probability rounds to 1 in float32
        dense = model.get_layer("predictions")
        dense.kernel.assign(dense.kernel * 400.0)
    return model


def _grad_cam_reference(model, layer_name: str, image: np.ndarray, class_index: int, score: str) -> np.ndarray:
    """Grad-CAM of one image at the layer's resolution, differentiating the logit or the probability."""
    from helpers._backend import keras, tf

    head = model.layers[-1]
    grad_model = keras.Model(model.input, [model.get_layer(layer_name).output, head.input])
    with tf.GradientTape() as tape:
        conv_out, head_in = grad_model(tf.constant(image[None], "float32"))
        logits = tf.matmul(head_in, head.kernel) + head.bias
        scores = logits if score == "logit" else tf.nn.softmax(logits)
        target = scores[0, class_index]
    grads = tape.gradient(target, conv_out)[0]
    alpha = tf.reduce_mean(grads, axis=(0, 1))
    positive = tf.nn.relu(tf.reduce_sum(conv_out[0] * alpha, axis=-1)).numpy().astype("float64")
    peak = positive.max()
    return positive / peak if peak > 0 else np.full_like(positive, np.nan)


def check_logit_grad_cam(grad_cam_fixed: Callable[[Any, str, np.ndarray, int], np.ndarray]) -> Feedback:
    """Exercise 3.3: find the bug in a Grad-CAM that differentiates the probability, and fix it.

    Args:
        grad_cam_fixed: the student's ``grad_cam_fixed(model, layer_name, image, class_index)``
            taking a Keras classifier whose last layer is ``Dense`` with a softmax, the name of a
            convolutional layer, one image ``(H, W, 3)`` and a class, and returning the
            ``(h, w)`` Grad-CAM of the class score **before** the softmax (the logit), at the
            layer's resolution, ReLU'd and divided by its maximum.

    Returns:
        :class:`Feedback`.

    Taught in: ``03_class_activation_maps``.
    """
    rng = np.random.default_rng(13)
    cases = []
    for seed, confident, layer in [(1, False, "conv_b"), (2, True, "conv_b"), (3, False, "conv_a")]:
        model = _tiny_softmax_classifier(seed, confident)
        for _ in range(20):  # an image whose logit map has positive evidence for the class asked
            image = rng.uniform(0, 255, (16, 16, 3)).astype("float32")
            probabilities = np.asarray(model(image[None]))[0]
            class_index = int(np.argmax(probabilities)) if confident else int(np.argsort(probabilities)[-2])
            expected = _grad_cam_reference(model, layer, image, class_index, "logit")
            if np.isfinite(expected).all():
                break
        probability = _grad_cam_reference(model, layer, image, class_index, "probability")
        cases.append(((model, layer, image, class_index), expected, {
            localized("Your map is the same as the given function's: it still differentiates the probability (or "
                      "its logarithm, which gives the same map once normalized). Which number does the formula of "
                      "section 2 differentiate?"): probability,
        }))

    def same_map(a: Any, b: Any) -> bool:
        try:
            a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
        except (TypeError, ValueError):
            return False
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-3, atol=1e-4, equal_nan=True))

    return _judge(cases, grad_cam_fixed,
                  localized("Compare your function with the 'Grad-CAM by hand' cell of section 2, step by step: which "
                            "score does it differentiate, for which class, and over which axes does it average?"),
                  compare=same_map)


# --------------------------------------------------------------------------- chapter 4
def check_energy_share(energy_share: Callable[[np.ndarray, np.ndarray], float]) -> Feedback:
    """Exercise 4.1: the share of a heatmap's mass that lies on the object (energy in mask).

    Args:
        energy_share: the student's ``energy_share(heatmap, mask)`` taking a ``(H, W)`` map of
            non-negative values and a ``(H, W)`` boolean mask, returning ``Σ map·mask / Σ map``.

    Returns:
        :class:`Feedback`.

    Taught in: ``04_beyond_grad_cam``.
    """
    rng = np.random.default_rng(41)
    cases = []
    for h, w in [(10, 10), (12, 7), (20, 20)]:
        heatmap = rng.uniform(0, 1, (h, w)) ** 3
        mask = np.zeros((h, w), bool)
        mask[h // 4:h // 2 + 2, w // 5:w // 2 + 1] = True
        expected = float((heatmap * mask).sum() / heatmap.sum())
        cases.append(((heatmap, mask), expected, {
            localized("Divide by the mass of the whole map, not by the number of pixels inside the mask."):
                float((heatmap * mask).sum() / mask.sum()),
            localized("That is the share of the *image* the object covers: weigh each pixel by the heatmap."):
                float(mask.mean()),
            localized("Divide by the whole map's mass, not by the mass outside the object."):
                float((heatmap * mask).sum() / (heatmap * ~mask).sum()),
        }))
    return _judge(cases, energy_share,
                  localized("Re-read the table's \"energy in mask\" line: a share of what, and which part of it lies "
                            "on the object?"))


def _toy_score_and_gradient(weights: np.ndarray) -> tuple[Callable, Callable]:
    """A smooth toy class score ``y(x) = Σ w·tanh(x/100)`` over a ``(H, W, 3)`` image, and its gradient.

    Both take a batch ``(m, H, W, 3)``; the gradient is exact, so Integrated Gradients' midpoint
    sum can be compared with the score difference.
    """
    def score(batch: np.ndarray) -> np.ndarray:
        return (weights * np.tanh(np.asarray(batch, dtype="float64") / 100.0)).sum(axis=(-3, -2, -1))

    def gradient(batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype="float64")
        if batch.ndim != 4 or batch.shape[1:] != weights.shape:
            raise ValueError(localized("gradient_fn takes a batch of images (m, {shape}); got shape {got}.",
                                       shape=", ".join(map(str, weights.shape)), got=batch.shape))
        return weights * (1.0 - np.tanh(batch / 100.0) ** 2) / 100.0

    return score, gradient


def toy_score(shape: tuple[int, int, int] = (8, 8, 3), seed: int = 0) -> tuple[Callable, Callable]:
    """A toy class score on images of ``shape`` and its exact gradient, to test Integrated Gradients.

    Returns ``(score, gradient)``: ``score(batch)`` gives ``(m,)`` scores ``Σ w·tanh(x/100)`` of a
    batch ``(m, H, W, 3)`` in 0..255 (``w`` seeded), ``gradient(batch)`` their gradients
    ``(m, H, W, 3)``. Completeness can be tested on it without a model:
    ``attributions.sum() ≈ score(image[None])[0] − score(baseline[None])[0]``.

    Taught in: ``04_beyond_grad_cam`` (exercise 4.3).
    """
    return _toy_score_and_gradient(np.random.default_rng(seed).normal(0, 1, tuple(shape)))


def integrated_gradients_reference(image: np.ndarray, baseline: np.ndarray, gradient_fn: Callable,
                                   steps: int) -> np.ndarray:
    """The course's Integrated Gradients on one image (the midpoint sum), for the checkers."""
    alphas = (np.arange(steps) + 0.5) / steps
    path = baseline[None] + alphas[:, None, None, None] * (image - baseline)[None]
    return ((image - baseline) * gradient_fn(path).mean(axis=0)).sum(axis=-1)


def check_ig_bound(ig_bound: Callable[[np.ndarray, np.ndarray, float], np.ndarray]) -> Feedback:
    """Exercise 4.2: predict, from the formula alone, how large a pixel's attribution can be.

    Args:
        ig_bound: the student's ``ig_bound(image, baseline, max_gradient)``: ``image`` and
            ``baseline`` ``(H, W, 3)``, ``max_gradient`` the largest size any colour's gradient
            takes along the path; returns the ``(H, W)`` bound on ``|IG|`` of each pixel (the
            tightest one the formula gives without knowing the gradients' signs).

    Returns:
        :class:`Feedback`.

    Taught in: ``04_beyond_grad_cam``.
    """
    rng = np.random.default_rng(44)
    cases = []
    for (h, w), base, g in [((5, 5), 0.0, 0.02), ((8, 3), 127.5, 0.5), ((12, 12), 40.0, 3.0)]:
        image = rng.uniform(0, 255, (h, w, 3))
        image[0, 0] = base  # one pixel equal to the baseline
        baseline = np.full((h, w, 3), base)
        distance = np.abs(image - baseline)
        expected = g * distance.sum(axis=-1)
        cases.append(((image, baseline, g), expected, {
            localized("Can the three colours' terms cancel? Only if the gradients' signs are known, and they are not: "
                      "bound each colour's term on its own."): g * np.abs((image - baseline).sum(axis=-1)),
            localized("A pixel's attribution adds the terms of all its colours: how many terms does the bound need?"):
                g * distance.max(axis=-1),
            localized("The path starts at the baseline, not at black: what multiplies the mean gradient in the "
                      "formula?"): g * np.abs(image).sum(axis=-1),
            localized("Where does the largest gradient enter your bound?"): distance.sum(axis=-1),
        }))
    return _judge(cases, ig_bound,
                  localized("Re-read the Integrated Gradients formula: for one pixel, which factors can be bounded "
                            "without running the model, and by what?"))


def check_integrated_gradients(integrated_gradients: Callable[[np.ndarray, np.ndarray, Callable, int], np.ndarray]
                               ) -> Feedback:
    """Exercise 4.3: find and fix the bug in a given Integrated Gradients function.

    Args:
        integrated_gradients: the student's corrected ``integrated_gradients(image, baseline,
            gradient_fn, steps)``: ``image`` and ``baseline`` ``(H, W, 3)``, ``gradient_fn`` maps a
            batch ``(m, H, W, 3)`` to the class score's gradients at those images; returns the
            signed ``(H, W)`` attributions of the midpoint sum with ``steps`` points.

    Returns:
        :class:`Feedback`.

    Taught in: ``04_beyond_grad_cam``.
    """
    rng = np.random.default_rng(45)
    cases = []
    for (h, w), base, steps in [((6, 6), 127.5, 4), ((4, 7), 0.0, 3), ((9, 9), 60.0, 8)]:
        image = rng.uniform(0, 255, (h, w, 3))
        baseline = np.full((h, w, 3), base)
        _, gradient = _toy_score_and_gradient(rng.normal(0, 1, (h, w, 3)))
        expected = integrated_gradients_reference(image, baseline, gradient, steps)
        alphas = (np.arange(steps) + 0.5) / steps
        from_black = gradient(alphas[:, None, None, None] * image[None]).mean(axis=0)
        ends = np.arange(1, steps + 1) / steps
        right_ends = gradient(baseline[None] + ends[:, None, None, None] * (image - baseline)[None]).mean(axis=0)
        mistakes = {
            localized("Image times gradient is not measured from the baseline: is Σ of your attributions still "
                      "y(x) − y(x′) with the grey baseline?"):
                (image * _mean_path_gradient(image, baseline, gradient, steps)).sum(axis=-1),
            localized("Which α does the formula's sum use for its k-th point? Re-read the formula cell."):
                ((image - baseline) * right_ends).sum(axis=-1),
        }
        if base != 0.0:  # with a black baseline the given function is right, which is why the bug hid
            mistakes = {localized("This is what the given function computes: test its completeness with a grey "
                                  "baseline (the cell above the exercise). Which image is on the path at α = 0?"):
                            ((image - baseline) * from_black).sum(axis=-1), **mistakes}
        cases.append(((image, baseline, gradient, steps), expected, mistakes))
    return _judge(cases, integrated_gradients,
                  localized("Does Σ of your attributions equal y(x) − y(x′) for the toy score with a grey baseline "
                            "(the cell above)? If not, compare your function line by line with the formula cell."),
                  compare=lambda a, b: _close(a, b, atol=1e-8))


def _mean_path_gradient(image: np.ndarray, baseline: np.ndarray, gradient_fn: Callable, steps: int) -> np.ndarray:
    alphas = (np.arange(steps) + 0.5) / steps
    return gradient_fn(baseline[None] + alphas[:, None, None, None] * (image - baseline)[None]).mean(axis=0)


# --------------------------------------------------------------------------- chapter 5
def _heatmaps_and_masks(seed: int, n: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded heatmaps in [0, 1] (each with its maximum at 1) and bool masks covering 10-40 %."""
    rng = np.random.default_rng(seed)
    maps = rng.random((n, side, side)) ** 2
    maps /= maps.max(axis=(1, 2), keepdims=True)
    masks = rng.random((n, side, side)) < rng.uniform(0.1, 0.4, (n, 1, 1))
    masks[:, 0, 0] = True  # never empty
    return maps.astype("float32"), masks


def _share(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    return (maps * masks).reshape(len(maps), -1).sum(axis=1) / maps.reshape(len(maps), -1).sum(axis=1)


def _cell_shares(mask: np.ndarray, cell: int) -> np.ndarray:
    """The share of each ``cell``×``cell`` block of ``mask`` that is True."""
    h, w = mask.shape
    return mask.reshape(h // cell, cell, w // cell, cell).mean(axis=(1, 3))


def _ceiling_cases() -> list[tuple[np.ndarray, int]]:
    """Cue masks (tags, frames, a random blob) and cell sizes, the sizes multiples of the cells."""
    cases = []
    for size, cell, top, left, side in [(64, 8, 2, 2, 8), (64, 8, 54, 54, 8), (16, 4, 1, 1, 4), (16, 4, 4, 8, 4),
                                        (24, 6, 3, 14, 5)]:
        tag = np.zeros((size, size), bool)
        tag[top:top + side, left:left + side] = True
        cases.append((tag, cell))
    for size, cell, width in [(64, 8, 1), (32, 4, 2), (24, 8, 3)]:
        frame = np.ones((size, size), bool)
        frame[width:size - width, width:size - width] = False
        cases.append((frame, cell))
    blob = np.random.default_rng(31).random((20, 20)) < 0.2
    cases.append((blob, 5))
    return cases


def check_cell_ceiling(cell_ceiling: Callable[[np.ndarray, int], float]) -> Feedback:
    """Exercise 5.1: the largest share of a coarse map's mass that can lie on a cue.

    Args:
        cell_ceiling: the student's ``cell_ceiling(cue_mask, cell)`` taking one ``(H, W)`` bool
            mask of a cue and the side ``cell`` of the square cells a map is constant on (``H``
            and ``W`` multiples of ``cell``), and returning the largest share of such a map's
            mass that can lie on the cue (a number in [0, 1]).

    Returns:
        :class:`Feedback`.

    Taught in: ``05_shortcut_lab``.
    """
    cases = []
    for mask, cell in _ceiling_cases():
        blocks = _cell_shares(mask, cell)
        counts = blocks * cell * cell
        expected = float(blocks.max())
        cases.append(((mask, cell), expected, {
            localized("That is the cue's share of the whole image: what a map spread evenly over every pixel would "
                      "give. A coarse map can do better: where would you pour all of its mass?"): float(mask.mean()),
            localized("That is a number of pixels, not a share: a share lies between 0 and 1."): float(counts.max()),
            localized("That averages over the cells that touch the cue; the best map puts all of its mass into a "
                      "single cell. Which one?"): float(blocks[blocks > 0].mean()),
            localized("That is the share of the cue that one cell covers; the question is the other way round: what "
                      "share of one cell's mass lands on the cue?"): float(counts.max() / mask.sum()),
        }))
    return _judge(cases, cell_ceiling,
                  localized("Imagine a map that puts all of its mass into one cell, spread evenly over that cell's "
                            "pixels: what share of it lands on the cue, and which cell makes that share largest? "
                            "Section 2's paragraph on Grad-CAM's cells may help."))


def check_uninformative_agreement(uninformative_agreement: Callable[[int], float]) -> Feedback:
    """Exercise 5.2: design a tag the model cannot exploit.

    Args:
        uninformative_agreement: the student's ``uninformative_agreement(num_classes)``
            returning the ``agreement`` of ``helpers.make_tagged_shapes`` (the share of tags in
            their label's colour, the others in one of the other colours at random) at which a
            tag's colour tells nothing about the label, for ``num_classes`` classes.

    Returns:
        :class:`Feedback`.

    Taught in: ``05_shortcut_lab``.
    """
    cases = []
    for n in (6, 2, 10, 3):
        cases.append(((n,), 1.0 / n, {
            localized("A tag that is never right still informs: its colour rules one class out. Which agreement "
                      "makes every colour as likely as every other, whatever the shape?"): 0.0,
            localized("Half right is far from useless: a model that trusts the tag wins half the time, more than by "
                      "guessing."): 0.5,
            localized("That is where the tag gives the answer away."): 1.0,
            localized("Close: count the label's own colour among the colours too."): 1.0 / (n - 1),
        }))
    return _judge(cases, uninformative_agreement,
                  localized("The tag is useless when, for every shape, every colour is equally likely. "
                            "`helpers.tag_information(agreement)` measures how many bits a tag still carries."),
                  compare=lambda a, b: _close(a, b, rtol=1e-3, atol=1e-4))


def check_model_contrast(model_contrast: Callable[[np.ndarray, np.ndarray, np.ndarray], float]) -> Feedback:
    """Exercise 5.3: the model-contrast score of Yang & Kim (2019) on shape masks.

    Args:
        model_contrast: the student's ``model_contrast(shape_maps, background_maps, masks)``
            taking the heatmaps ``(N, H, W)`` of a model that uses the shape, those of a model
            that uses the background, on the same images, and the shapes' masks ``(N, H, W)``;
            returning the mean over images of the share of heatmap mass on the shape for the
            shape model, minus the same mean for the background model.

    Returns:
        :class:`Feedback`.

    Taught in: ``05_shortcut_lab``.
    """
    cases = []
    for seed, n, side in [(21, 4, 12), (22, 6, 8), (23, 3, 16)]:
        shape_maps, masks = _heatmaps_and_masks(seed, n, side)
        background_maps, _ = _heatmaps_and_masks(seed + 100, n, side)
        shape_maps = shape_maps * np.where(masks, 1.0, 0.3).astype("float32")  # the shape model looks at the shape
        background_maps = background_maps * np.where(masks, 0.3, 1.0).astype("float32")
        a, b = _share(shape_maps, masks), _share(background_maps, masks)
        expected = float(a.mean() - b.mean())
        pooled = float((shape_maps * masks).sum() / shape_maps.sum()
                       - (background_maps * masks).sum() / background_maps.sum())
        cases.append(((shape_maps, background_maps, masks), expected, {
            localized("The sign is reversed: the shape model's share comes first."): -expected,
            localized("Use each heatmap's share of mass on the shape, not its mean value on the shape."):
                float(np.mean([s[m].mean() for s, m in zip(shape_maps, masks)])
                      - np.mean([g[m].mean() for g, m in zip(background_maps, masks)])),
            localized("Take the share per image, then average over the images: every image counts the same."): pooled,
            localized("The score is a difference of the two models' shares, not a ratio."): float(a.mean() / b.mean()),
        }))
    return _judge(cases, model_contrast,
                  localized("Re-read the definition of the contrast above the table of every method: which two "
                            "numbers does it subtract, and what is each one averaged over?"))


# ---------------------------------------------------------------- 06_xray


def _channel_cases(seed: int, h: int, k: int, classes: int):
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
        maps, weights = _channel_cases(seed, h, k, classes)
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
    "feature_map_side": (1, check_feature_map_side),
    "dense_params": (1, check_dense_params),
    "layer_sparsity": (1, check_layer_sparsity),
    "filter_loss": (2, check_filter_loss),
    "ascent_step": (2, check_ascent_step),
    "silent_filters": (2, check_silent_filters),
    "class_score": (3, check_class_score),
    "grad_cam_map": (3, check_grad_cam_map),
    "grad_cam_fixed": (3, check_logit_grad_cam),
    "energy_share": (4, check_energy_share),
    "ig_bound": (4, check_ig_bound),
    "integrated_gradients": (4, check_integrated_gradients),
    "cell_ceiling": (5, check_cell_ceiling),
    "uninformative_agreement": (5, check_uninformative_agreement),
    "model_contrast": (5, check_model_contrast),
    "channel_ranking": (6, check_channel_ranking),
    "first_order": (6, check_first_order_contributions),
    "receptive_box": (6, check_receptive_box),
}
"""Every exercise: the name of the function the student writes -> (chapter, its checker)."""
