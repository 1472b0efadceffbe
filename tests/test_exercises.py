"""The exercises' checkers: they accept the solutions in notebooks/solutions/, reject the common
wrong answers with the right hint, and never print the expected values."""

from __future__ import annotations

import pathlib
import re
import runpy
import warnings

import numpy as np
import pytest

from helpers import exercises
from helpers.exercises import EXERCISES, Feedback

SOLUTIONS = pathlib.Path(__file__).resolve().parent.parent / "notebooks" / "solutions"
CHAPTERS = (1, 2, 3, 4, 5)
"""The chapters with exercises (chapter 5: the shortcut lab)."""


@pytest.fixture(scope="module")
def solutions() -> dict[str, dict]:
    """Each chapter's solution file, executed: {chapter: its global names}."""
    return {chapter: runpy.run_path(str(SOLUTIONS / f"ch{chapter}_solutions.py")) for chapter in CHAPTERS}


def test_every_exercise_has_a_solution_and_the_checker_accepts_it(solutions):
    assert {chapter for chapter, _ in EXERCISES.values()} == set(CHAPTERS)
    for chapter in CHAPTERS:
        assert sum(c == chapter for c, _ in EXERCISES.values()) >= 3
    for name, (chapter, check) in EXERCISES.items():
        feedback = check(solutions[chapter][name])
        assert isinstance(feedback, Feedback)
        assert feedback.passed, (name, feedback.message)
        assert bool(feedback) and repr(feedback).startswith("✅")


def test_the_solution_files_run_as_scripts(capsys):
    for chapter in CHAPTERS:
        runpy.run_path(str(SOLUTIONS / f"ch{chapter}_solutions.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("✅ Correct") == len(EXERCISES) and "Not yet" not in out


@pytest.mark.parametrize("name", list(EXERCISES))
def test_a_stub_an_exception_and_a_missing_return_get_guidance(name):
    _, check = EXERCISES[name]

    def stub(*args):
        raise NotImplementedError

    def broken(*args):
        return 1 / 0

    def forgot_return(*args):
        pass

    assert "Replace `raise NotImplementedError`" in check(stub).message and not check(stub)
    assert "ZeroDivisionError" in check(broken).message and not check(broken)
    assert "returned None" in check(forgot_return).message
    assert "without parentheses" in check(42).message


def _halving_without_rounding(side, n_blocks):
    for _ in range(n_blocks):
        side = (side - 2) / 2
    return side


WRONG = {  # name -> [(a common wrong answer, a word of the hint it must get)]
    "conv_params": [
        (lambda k, c, f: f * k * k * c, "bias"),
        (lambda k, c, f: f * (k * k + 1), "all the input channels"),
        (lambda k, c, f: f * k * k * c + 1, "One bias per filter"),
        (lambda k, c, f: f * (k * c + 1), "square it"),
    ],
    "feature_map_side": [
        (lambda s, n: s // 2**n, "shrinks the map"),
        (lambda s, n: _halving_without_rounding(s, n), "round down"),
        (lambda s, n: s - 2 * n, "halves the side"),
    ],
    "layer_sparsity": [
        (lambda m: (float((m != 0).mean()), float((m != 0).any(axis=(0, 1)).mean())), "non-zero"),
        (lambda m: (100 * float((m == 0).mean()), 100 * float((m == 0).all(axis=(0, 1)).mean())), "percentages"),
        (lambda m: (float((m == 0).mean()), float((m == 0).any(axis=(0, 1)).mean())), "`.all`, not `.any`"),
        (lambda m: (float((m == 0).all(axis=(0, 1)).mean()), float((m == 0).mean())), "zero share first"),
    ],
    "filter_loss": [
        (lambda a, f, b: float(a[..., f].mean()), "Leave the border out"),
        (lambda a, f, b: float(a[b:a.shape[0] - b, b:a.shape[1] - b].mean()), "one channel only"),
        (lambda a, f, b: float(a[b:-b, b:-b, f].mean()), "border=0"),  # a[0:-0] is empty
        (lambda a, f, b: float(a[b:a.shape[0] - b, b:a.shape[1] - b, f].sum()), "mean, not the sum"),
    ],
    "ascent_step": [
        (lambda x, g, eta: x - eta * g / (np.sqrt(np.mean(g**2)) + 1e-8), "*ascent*"),
        (lambda x, g, eta: x + eta * g, "Normalize the gradient"),
        (lambda x, g, eta: x + eta * g / (np.sqrt(np.sum(g**2)) + 1e-8), "root *mean* square"),
    ],
    "silent_filters": [
        (lambda a, b: np.flatnonzero(~a.any(axis=(0, 1))), "interior only"),
        (lambda a, b: np.flatnonzero(a[b:a.shape[0] - b, b:a.shape[1] - b].any(axis=(0, 1))), "*silent*"),
    ],
    "class_score": [
        (lambda A, W, b, c: float(A.sum(axis=(0, 1)) @ W[:, c] + b[c]), "*average*"),
        (lambda A, W, b, c: float(A.mean(axis=(0, 1)) @ W[:, c]), "bias"),
        (lambda A, W, b, c: float(A.max(axis=(0, 1)) @ W[:, c] + b[c]), "max pooling"),
    ],
    "cam_map": [
        (lambda A, W, c: (A @ W[:, c]) / (A @ W[:, c]).max(), "positive part"),
        (lambda A, W, c: np.maximum(A @ W[:, c], 0), "Divide by the maximum"),
        (lambda A, W, c: np.maximum(A @ W[:, (c + 1) % W.shape[1]], 0) / np.maximum(A @ W[:, (c + 1) % W.shape[1]], 0).max(),
         "asked class"),
    ],
    "grad_cam_weights": [
        (lambda g: g.sum(axis=(0, 1)), "Average over the positions"),
        (lambda g: np.abs(g).mean(axis=(0, 1)), "sign"),
        (lambda g: np.maximum(g.mean(axis=(0, 1)), 0), "ReLU comes later"),
        (lambda g: g.mean(axis=-1), "shape"),
    ],
    "energy_share": [
        (lambda m, k: float((m * k).sum() / k.sum()), "not by the number of pixels"),
        (lambda m, k: float(k.mean()), "weigh each pixel"),
        (lambda m, k: float((m * k).sum() / (m * ~k).sum()), "not by the mass outside"),
    ],
    "ig_bound": [
        (lambda x, b, g: g * np.abs((x - b).sum(axis=-1)), "cancel"),
        (lambda x, b, g: g * np.abs(x - b).max(axis=-1), "how many terms"),
        (lambda x, b, g: g * np.abs(x).sum(axis=-1), "not at black"),
        (lambda x, b, g: np.abs(x - b).sum(axis=-1), "largest gradient"),
    ],
    "integrated_gradients": [
        (lambda x, b, f, m: _buggy_integrated_gradients(x, b, f, m), "what the given function computes"),
        (lambda x, b, f, m: (x * f(b[None] + ((np.arange(m) + 0.5) / m)[:, None, None, None] * (x - b)[None])
                             .mean(axis=0)).sum(axis=-1), "measured from the baseline"),
        (lambda x, b, f, m: ((x - b) * f(b[None] + (np.arange(1, m + 1) / m)[:, None, None, None] * (x - b)[None])
                             .mean(axis=0)).sum(axis=-1), "Which α"),
    ],
    "mass_share": [
        (lambda h, m: float(h[m].mean()), "mean heat"),
        (lambda h, m: float(h[m].sum()), "not yet a share"),
        (lambda h, m: float(m.mean()), "area"),
        (lambda h, m: float(h[m].sum() / m.sum()), "number of pixels"),  # the same as the mean heat
        (lambda h, m: float(h[~m].sum() / h.sum()), "outside"),
    ],
    "uninformative_agreement": [
        (lambda n: 0.0, "rules one class out"),
        (lambda n: 0.5, "Half right"),
        (lambda n: 1.0, "gives the answer away"),
        (lambda n: 1 / (n - 1), "own colour"),
        (lambda n: 1 / 6, "equally likely"),  # right for six classes only
    ],
    "model_contrast": [
        (lambda s, b, m: -_contrast(s, b, m), "reversed"),
        (lambda s, b, m: float(np.mean([x[k].mean() for x, k in zip(s, m)]) - np.mean([x[k].mean() for x, k in zip(b, m)])),
         "mean value"),
        (lambda s, b, m: float((s * m).sum() / s.sum() - (b * m).sum() / b.sum()), "per image"),
    ],
}


def _buggy_integrated_gradients(image, baseline, gradient_fn, steps):
    """The function notebook 04 gives for exercise 4.3, bug included (its path starts at black)."""
    alphas = (np.arange(steps) + 0.5) / steps
    path = alphas[:, None, None, None] * image[None]
    return ((image - baseline) * gradient_fn(path).mean(axis=0)).sum(axis=-1)


def test_the_toy_score_of_exercise_4_3_is_complete_under_the_solution(solutions):
    """Exercise 4.3's toy score: the midpoint sum adds up to the score difference, the given bug does not."""
    score, gradient = exercises.toy_score((6, 5, 3), seed=1)
    image = np.random.default_rng(2).uniform(0, 255, (6, 5, 3))
    fixed = solutions[4]["integrated_gradients"]
    for value, bug_complete in ((0.0, True), (127.5, False)):
        baseline = np.full_like(image, value)
        difference = score(image[None])[0] - score(baseline[None])[0]
        np.testing.assert_allclose(fixed(image, baseline, gradient, 64).sum(), difference, rtol=1e-3)
        buggy = _buggy_integrated_gradients(image, baseline, gradient, 64).sum()
        assert np.isclose(buggy, difference, rtol=1e-3) == bug_complete
    with pytest.raises(ValueError, match="batch of images"):
        gradient(image)


def test_chapter_4_generic_hints_do_not_give_the_solution_away():
    """A wrong answer no mistake matches gets a question, never the expression to type."""
    for check, wrong in ((exercises.check_energy_share, lambda m, k: 0.5),
                         (exercises.check_ig_bound, lambda x, b, g: -g * np.abs(x - b).sum(axis=-1)),
                         (exercises.check_integrated_gradients, lambda x, b, f, m: np.zeros(x.shape[:2]))):
        message = check(wrong).message
        assert not check(wrong) and "?" in message
        for giveaway in ("sum()", "abs(", "alphas", "(image - baseline)", "image − baseline", "/ heatmap"):
            assert giveaway not in message, (giveaway, message)


def _contrast(shape_maps, background_maps, masks):
    share = lambda maps: np.mean([(x * k).sum() / x.sum() for x, k in zip(maps, masks)])
    return float(share(shape_maps) - share(background_maps))


@pytest.mark.parametrize("name", list(EXERCISES))
def test_common_wrong_answers_fail_with_their_hint(name):
    _, check = EXERCISES[name]
    assert len(WRONG[name]) >= 2
    for wrong, hint in WRONG[name]:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the mean of an empty slice
            feedback = check(wrong)
        assert not feedback.passed, (name, hint)
        assert hint in feedback.message, (name, hint, feedback.message)
        assert repr(feedback).startswith("❌ Not yet.")


def test_an_unrecognised_wrong_answer_gets_the_general_hint():
    feedback = exercises.check_conv_params(lambda k, c, f: 7)
    assert not feedback and "multiply by the number of filters" in feedback.message


def test_feedback_never_contains_the_expected_values(solutions):
    """A checker that printed the answer could be used to read it off."""
    ch1 = solutions[1]
    expected = {str(ch1["conv_params"](k, c, f)) for k, c, f in [(3, 3, 32), (5, 64, 16), (1, 7, 10), (3, 128, 128)]}
    expected |= {str(ch1["feature_map_side"](s, n)) for s, n in [(150, 1), (150, 4), (64, 2), (101, 3), (33, 2)]}
    messages = []
    for name, (_, check) in EXERCISES.items():
        for wrong, _ in WRONG[name]:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                messages.append(check(wrong).message)
        messages.append(check(lambda *args: 0).message)
    # Shapes may be named (they give no value away); apart from them only the numbers of the
    # hints' own wording appear ("3 × 3", "2 × 2", "1e-8", "1/Z", "border=0"), never a result.
    numbers = {number for message in messages
               for number in re.findall(r"\d+(?:\.\d+)?", re.sub(r"shape \([\d, ]*\)", "", message))}
    assert numbers <= {"0", "1", "2", "3", "8"}, numbers
    assert not numbers & {value for value in expected if len(value) > 1}
