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
    "smooth_grad_map": [
        (lambda g: np.abs(g).mean(axis=0).max(axis=-1), "tf-keras-vis"),
        (lambda g: np.abs(g.sum(axis=0)).max(axis=-1), "do not sum them"),
        (lambda g: np.abs(g.mean(axis=0)).sum(axis=-1), "largest of the three colours"),
        (lambda g: g.mean(axis=0).max(axis=-1), "absolute value"),
    ],
    "ig_attributions": [
        (lambda x, b, g: (x * g).sum(axis=-1), "not by the image alone"),
        (lambda x, b, g: g.sum(axis=-1), "gradients alone are saliency"),
        (lambda x, b, g: np.abs((x - b) * g).sum(axis=-1), "keeping the signs"),
        (lambda x, b, g: ((x - b) * g).mean(axis=-1), "do not average them"),
    ],
    "cell_ceiling": [
        (lambda k, c: float(k.mean()), "share of the whole image"),
        (lambda k, c: float(k.reshape(k.shape[0] // c, c, -1, c).sum(axis=(1, 3)).max()), "number of pixels"),
        (lambda k, c: float(k.reshape(k.shape[0] // c, c, -1, c).sum(axis=(1, 3)).max() / k.sum()), "other way round"),
        (lambda k, c: float(np.mean([b for b in k.reshape(k.shape[0] // c, c, -1, c).mean(axis=(1, 3)).ravel() if b])),
         "single cell"),
        (lambda k, c: float(k.reshape(k.shape[0] // c, c, -1, c).mean(axis=(1, 3)).min()), "which cell makes"),
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
