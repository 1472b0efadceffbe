"""The exercises' checkers: they accept the solutions in notebooks/solutions/, reject the common
wrong answers with the right hint, and never print the expected values, in English and in Chinese."""

from __future__ import annotations

import ast
import inspect
import pathlib
import re
import runpy
import warnings

import numpy as np
import pytest

from helpers import exercises
from helpers.exercises import EXERCISES, Feedback
from helpers.i18n import get_language, localized, set_language, translate_text

SOLUTIONS = pathlib.Path(__file__).resolve().parent.parent / "notebooks" / "solutions"
CHAPTERS = (1, 2, 3, 4, 5, 6)
"""The chapters with exercises (chapter 5: the shortcut lab)."""
LANGUAGES = ("en", "zh")
"""The languages of the feedback (``helpers.set_language``)."""

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,}){2,}")


def english_left(text: str) -> list[str]:
    """The English phrases (three words in a row) of a Chinese text, code spans and quoted names left out."""
    return ENGLISH_SENTENCE.findall(re.sub(r"`[^`]*`|“[^”]*”", " ", text))


def is_guidance(message: str) -> bool:
    """The hint policy's test, in both languages: a question (? or ？), or a pointer to re-read a cell."""
    return any(mark in message for mark in ("?", "？", "Re-read", "重读", "再读"))


@pytest.fixture(autouse=True)
def english_afterwards():
    """Every test leaves the course in English, whatever it set."""
    yield
    set_language("en")


def _checked(language: str, check, answer) -> Feedback:
    """``check(answer)`` with the feedback in ``language`` (warnings of the wrong answers silenced)."""
    set_language(language)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return check(answer)
    finally:
        set_language("en")


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


def _side_after_blocks(side, n_blocks=4):
    for _ in range(n_blocks):
        side = (side - 2) // 2
    return side


WRONG = {  # name -> [(a common wrong answer, a word of the hint it must get)]
    "feature_map_side": [
        (lambda s, n: s // 2**n, "shrinks the map"),
        (lambda s, n: _halving_without_rounding(s, n), "whole number"),
        (lambda s, n: s - 2 * n, "halves the side"),
    ],
    "dense_params": [
        (lambda s: 512 * _side_after_blocks(s) ** 2 * 128, "bias"),
        (lambda s: 512 * (_side_after_blocks(s) ** 2 + 1), "every position of every channel"),
        (lambda s: 512 * (128 + 1), "not one number per channel"),
        (lambda s: 512 * ((s // 16) ** 2 * 128 + 1), "through the convolutions"),
        (lambda s: 512 * (_halving_without_rounding(s, 4) ** 2 * 128 + 1), "whole number"),
        (lambda s: 512 * (_side_after_blocks(s) ** 2 * 128 + 1) + 6 * 513, "alone"),
    ],
    "layer_sparsity": [
        (lambda m: (float((m == 0).mean()), float((m == 0).all(axis=-1).mean())), "classmate's version"),
        (lambda m: (float((m != 0).mean()), float((m != 0).any(axis=(0, 1)).mean())), "non-zero"),
        (lambda m: (100 * float((m == 0).mean()), 100 * float((m == 0).all(axis=(0, 1)).mean())), "percentages"),
        (lambda m: (float((m == 0).mean()), float((m == 0).any(axis=(0, 1)).mean())), "not at some position"),
        (lambda m: (float((m == 0).all(axis=(0, 1)).mean()), float((m == 0).mean())), "zero share first"),
    ],
    "filter_loss": [
        (lambda a, f, b: float(a[..., f].mean()), "Leave the border out"),
        (lambda a, f, b: float(a[b:a.shape[0] - b, b:a.shape[1] - b].mean()), "one channel only"),
        (lambda a, f, b: float(a[b:-b, b:-b, f].mean()), "border=0"),  # a[0:-0] is empty
        (lambda a, f, b: float(a[b:a.shape[0] - b, b:a.shape[1] - b, f].sum()), "mean, not the sum"),
    ],
    "ascent_step": [
        (lambda x, g, eta: x + eta * g / (np.sqrt(np.sum(g**2)) + 1e-8), "classmate's version"),
        (lambda x, g, eta: x - eta * g / (np.sqrt(np.mean(g**2)) + 1e-8), "*ascent*"),
        (lambda x, g, eta: x + eta * g, "Normalize the gradient"),
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
    "grad_cam_map": [
        (lambda A, g: _normalized(np.maximum((A * g.mean(axis=-1, keepdims=True)).sum(axis=-1), 0)), "the channels"),
        (lambda A, g: (A @ g.mean(axis=(0, 1))) / np.abs(A @ g.mean(axis=(0, 1))).max(), "ReLU"),
        (lambda A, g: np.maximum(A @ g.mean(axis=(0, 1)), 0), "Divide by the maximum"),
        (lambda A, g: _normalized(A @ np.abs(g).mean(axis=(0, 1))), "sign"),
    ],
    "grad_cam_fixed": [
        (lambda m, layer, x, c: _tf_grad_cam(m, layer, x, c, "probability"), "probability"),
        (lambda m, layer, x, c: _tf_grad_cam(m, layer, x, c, "log_probability"), "logarithm"),  # same map as p
        (lambda m, layer, x, c: _tf_grad_cam(m, layer, x, c, "logit", top=True), "which score"),
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
        (lambda n: 1 / 6, "?"),  # right for six classes only: no known mistake, a guiding question
    ],
    "model_contrast": [
        (lambda s, b, m: -_contrast(s, b, m), "reversed"),
        (lambda s, b, m: float(np.mean([x[k].mean() for x, k in zip(s, m)])
                               - np.mean([x[k].mean() for x, k in zip(b, m)])),
         "mean value"),
        (lambda s, b, m: float((s * m).sum() / s.sum() - (b * m).sum() / b.sum()), "per image"),
    ],
    "channel_ranking": [
        (lambda maps, weights, c: np.argsort(-weights[:, c], kind="stable"), "weight alone"),
        (lambda maps, weights, c: np.argsort(-maps.mean(axis=(0, 1)), kind="stable"), "push the logit down"),
        (lambda maps, weights, c: np.argsort(maps.mean(axis=(0, 1)) * weights[:, c], kind="stable"), "reverse"),
        (lambda maps, weights, c: np.argsort(-np.abs(maps.mean(axis=(0, 1)) * weights[:, c]), kind="stable"),
         "signed"),
    ],
    "first_order": [
        (lambda maps, grads: (maps * grads).mean(axis=(0, 1)), "mean divides"),
        (lambda maps, grads: grads.mean(axis=(0, 1)) * maps.mean(axis=(0, 1)), "position by position"),
        (lambda maps, grads: grads.sum(axis=(0, 1)), "multiply by the activation"),
        (lambda maps, grads: float((maps * grads).sum()), "two position axes"),
    ],
    "receptive_box": [
        (lambda r, c, size, jump, start: (int(round(start + jump * r)), int(round(start + jump * c)),
                                          int(round(start + jump * r)) + size, int(round(start + jump * c)) + size),
         "centre"),
        (lambda r, c, size, jump, start: _receptive_box_reference(c, r, size, jump, start), "Rows first"),
        (lambda r, c, size, jump, start: _receptive_box_reference(r / jump, c / jump, size, jump, start), "apart"),
    ],
}


def _receptive_box_reference(row, col, size, jump, start):
    """Exercise 6.3 done right (independently of the solution file), to build wrong answers from."""
    top, left = (int(round(start + jump * index - (size - 1) / 2)) for index in (row, col))
    return (top, left, top + size, left + size)


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


def _normalized(m):
    return m / m.max()


def _tf_grad_cam(model, layer, image, class_index, score, top=False):
    """A Grad-CAM differentiating ``score``; ``top``: always the top class (ignores the class asked)."""
    import tensorflow as tf

    from helpers import keras

    head = model.layers[-1]
    grad_model = keras.Model(model.input, [model.get_layer(layer).output, head.input])
    with tf.GradientTape() as tape:
        conv_out, head_in = grad_model(image[None])
        logits = tf.matmul(head_in, head.kernel) + head.bias
        if top:
            class_index = int(tf.argmax(logits[0]))
        scores = {"logit": logits, "probability": tf.nn.softmax(logits),
                  "log_probability": tf.nn.log_softmax(logits)}[score]
        target = scores[0, class_index]
    grads = tape.gradient(target, conv_out)[0]
    positive = tf.nn.relu(tf.reduce_sum(conv_out[0] * tf.reduce_mean(grads, axis=(0, 1)), axis=-1))
    return (positive / tf.reduce_max(positive)).numpy()


def test_the_probability_grad_cam_is_nan_on_a_confident_image():
    """Exercise 3.3's story: with a saturated softmax the probability's gradient is 0 and the map NaN."""
    model = exercises._tiny_softmax_classifier(2, confident=True)
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (16, 16, 3)).astype("float32")
    top = int(np.argmax(np.asarray(model(image[None]))[0]))
    with np.errstate(all="ignore"):
        assert np.isnan(_tf_grad_cam(model, "conv_b", image, top, "probability")).all()
    assert np.isfinite(exercises._grad_cam_reference(model, "conv_b", image, top, "logit")).all()


def _contrast(shape_maps, background_maps, masks):
    def share(maps):
        return np.mean([(x * k).sum() / x.sum() for x, k in zip(maps, masks)])

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


def test_an_unrecognised_wrong_answer_gets_a_guiding_question_not_the_recipe():
    recipe = "Weighted sum, then the ReLU, then divide by the maximum."  # a statement: the solution in words
    question = "Which of the maps' axes does the weighted sum run over?"
    cases = [((np.ones(3),), np.arange(3.0), {})]
    assert recipe not in exercises._judge(cases, lambda x: x, recipe).message
    assert "Re-read the cell on step ⑤" in exercises._judge(cases, lambda x: x, recipe,
                                                            reread="the cell on step ⑤").message
    assert question in exercises._judge(cases, lambda x: x, question).message


def test_an_unrecognised_wrong_answer_gets_the_general_hint():
    feedback = exercises.check_dense_params(lambda side: 7)
    assert not feedback and "Which array does `dense_1` read" in feedback.message


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", ["feature_map_side", "dense_params", "layer_sparsity", "filter_loss",
                                  "ascent_step", "silent_filters"])
def test_chapter_1_and_2_hints_guide_without_giving_the_recipe(name, language):
    """Unrecognised wrong answers (zeros, a constant, random values, the negated answer) get a guiding question,
    never the solution's expression; the find-the-bug exercises' given versions are named as such."""
    chapter, check = EXERCISES[name]
    right = runpy.run_path(str(SOLUTIONS / f"ch{chapter}_solutions.py"))[name]
    rng = np.random.default_rng(0)

    def negated(*args):
        result = right(*args)
        return tuple(-np.asarray(r) for r in result) if isinstance(result, tuple) else -np.asarray(result)

    wrong_answers = [lambda *args: 0, lambda *args: 12345, lambda *args: rng.normal(size=3), negated]
    recipes = ["(side - 2) // 2", "side * side * 128", "512 * (", "axis=(0, 1)", "zero.mean()", "np.sqrt(np.mean",
               "/ (rms", "height - border", "interior.mean", "~interior.any", "np.flatnonzero", "maps == 0",
               "step_size ×", "+ 1e-8)"]
    for wrong in wrong_answers:
        message = _checked(language, check, wrong).message
        assert "?" in message or "？" in message, (name, message)
        assert not any(recipe in message for recipe in recipes), (name, message)


@pytest.mark.parametrize("language", LANGUAGES)
def test_feedback_never_contains_the_expected_values(solutions, language):
    """A checker that printed the answer could be used to read it off (in either language)."""
    ch1 = solutions[1]
    expected = {str(ch1["dense_params"](s)) for s in (150, 200, 64, 101, 90)}
    expected |= {str(ch1["feature_map_side"](s, n)) for s, n in [(150, 1), (150, 4), (64, 2), (101, 3), (33, 2)]}
    messages = []
    for name, (_, check) in EXERCISES.items():
        for wrong, _ in WRONG[name]:
            messages.append(_checked(language, check, wrong).message)
        messages.append(_checked(language, check, lambda *args: 0).message)
    # Shapes may be named (they give no value away); apart from them only the numbers of the
    # hints' own wording appear ("3 × 3", "2 × 2", "1e-8", "1/Z", "border=0", "512 units", "150 pixels",
    # "exercise 1.1", "conv2d_2", "section 2", "the top-9 patches"), never a result.
    numbers = {number for message in messages
               for number in re.findall(r"\d+(?:\.\d+)?", re.sub(r"(?:shape|形状是) \([\d, ]*\)", "", message))}
    assert numbers <= {"0", "1", "2", "3", "5", "7", "8", "9", "1.1", "150", "512"}, numbers
    assert not numbers & {value for value in expected if len(value) > 1}


# --------------------------------------------------------------------------- hints never give the solution away
# Every checker (discovered, not listed) is fed wrong answers built from its own solution: zeros,
# a constant, random values, the negated and the transposed (for a vector: reversed) answer. No
# hint it gives may contain the solution's expression: neither a code expression of the solution
# function's body (found by parsing notebooks/solutions/chN_solutions.py) nor a fragment listed for
# that checker below or in the checker's attribute ``forbidden_in_hints`` (the same expression
# spelled another way: other variable names, the formula in words or symbols).

FORBIDDEN_IN_HINTS = {  # checker name -> fragments (compared without spaces, backticks or case)
    "check_conv_params": ["(k*k*c+1)", "f*(", "k×k×in_channels+1", "×filters"],
    "check_feature_map_side": ["(side-2)//2", "//2", "-2)//"],
    "check_layer_sparsity": ["maps==0", "==0).mean", ".all(axis=(0,1))"],
    "check_filter_loss": ["[border:height-border", "[border:h-border", ".mean()"],
    "check_ascent_step": ["image+step_size", "step_size×gradient", "step_size*gradient", "/(rms", "g/rms"],
    "check_silent_filters": ["~interior.any", "flatnonzero(~", ".any(axis=(0,1))"],
    "check_class_score": ["@weights[:,", "+bias[", "mean(axis=(0,1))@"],
    "check_cam_map": ["maps@weights", "@weights[:,class_index]", "@weights[:,c]", "positive/positive.max"],
    "check_grad_cam_weights": ["grads.mean(axis=(0,1))", "mean(axis=(0,1))"],
    "check_energy_share": ["(heatmap*mask).sum()/heatmap.sum()", "sum(map·mask)/sum(map)", "Σmap·mask/Σmap"],
    "check_smooth_grad_map": ["abs(gradients.mean(axis=0))", ".max(axis=-1)", "mean(axis=0)).max"],
    "check_ig_attributions": ["(image-baseline)*", "(image−baseline)×meangradient", "(x−x')·ḡ", "(x-x')*"],
    "check_mass_share": ["(heatmap*mask).sum()/heatmap.sum()", "heatmap[mask].sum()/heatmap.sum()"],
    "check_uninformative_agreement": ["1/num_classes", "1.0/num_classes", "1/n", "a=1/n"],
    "check_model_contrast": ["shares(shape_maps).mean()-shares(background_maps).mean()", "(m*k).sum()/m.sum()"],
    # checkers the chapter helpers are adding (their fragments apply once they land)
    "check_dense_params": ["512*(side*side*128+1)", "side*side*128", "512*("],
    "check_grad_cam_map": ["grads.mean(axis=(0,1))", "maps@alpha", "axis=(0,1)"],
    "check_logit_grad_cam": ["logits[0,class_index]", "head.kernel)+head.bias", "tf.matmul(head_in"],
    "check_ig_bound": ["max_gradient*np.abs(image-baseline)", "g·σ_c|x_c−x'_c|", "abs(image-baseline).sum"],
    "check_integrated_gradients": ["baseline[none]+alphas", "baseline+alpha*(image-baseline)", "x'+α(x−x')"],
    "check_cell_ceiling": ["reshape(h//cell,cell,w//cell,cell)", "mean(axis=(1,3))", "blocks.max()"],
}
"""Per checker, the solution's expression written the ways a hint could write it. A checker added
later is covered by the generic check (the solution body's own expressions); list it here, or give
it a ``forbidden_in_hints`` attribute, to cover the other spellings too."""


def _checkers() -> dict[str, object]:
    """Every ``check_*`` function of ``helpers.exercises``, whoever added it."""
    return {name: fn for name, fn in inspect.getmembers(exercises, inspect.isfunction) if name.startswith("check_")}


def _registered(check) -> tuple[str, int]:
    """The exercise (function name, chapter) a checker belongs to, from ``EXERCISES``."""
    for name, (chapter, registered) in EXERCISES.items():
        if registered is check:
            return name, chapter
    raise AssertionError(f"{check.__name__} is not registered in helpers.exercises.EXERCISES")


def _normal(text: str) -> str:
    return re.sub(r"[\s`]", "", text).lower()


def _solution_expressions(chapter: int, name: str, source: str | None = None) -> set[str]:
    """The code expressions of the solution function's body: operations, calls and subscripts
    (plain names, constants and attributes alone give nothing away), normalized. ``source``:
    the solution file's text (default: ``notebooks/solutions/ch{chapter}_solutions.py``)."""
    if source is None:
        source = (SOLUTIONS / f"ch{chapter}_solutions.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    function = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == name)
    expressions = set()
    for statement in function.body:
        for node in ast.walk(statement):
            if isinstance(node, (ast.BinOp, ast.Call, ast.Subscript, ast.Compare, ast.UnaryOp, ast.BoolOp)):
                text = _normal(ast.unparse(node))
                if len(text) >= 6 and not re.fullmatch(r"(float|int|np\.asarray|np\.array)\(\w+\)", text):
                    expressions.add(text)
    return expressions


def _wrong_answers(solution):
    """Wrong answers built by wrapping the solution; each records whether it ever differed from it."""
    def wrap(transform):
        def answer(*args):
            right = solution(*args)
            wrong = transform(right)
            if not exercises._close(wrong, right, rtol=0, atol=0):
                answer.differed = True
            return wrong
        answer.differed = False
        return answer

    rng = np.random.default_rng(0)

    def like(right, values):
        array = np.asarray(right)
        out = values(array.shape)
        if np.issubdtype(array.dtype, np.integer):
            out = np.round(out * 7).astype(array.dtype)
        return out.item() if array.ndim == 0 else out

    def transposed(right):
        array = np.asarray(right)
        return array[::-1] if array.ndim == 1 else array.T

    return {
        "zeros": wrap(lambda right: like(right, np.zeros)),
        "a constant": wrap(lambda right: like(right, lambda shape: np.full(shape, 0.37))),
        "random values": wrap(lambda right: like(right, lambda shape: rng.random(shape))),
        "the negated answer": wrap(lambda right: -np.asarray(right) if np.ndim(right) else -right),
        "the transposed answer": wrap(transposed),
    }


def _leaks(message: str, forbidden: set[str]) -> list[str]:
    text = _normal(message)
    return sorted(fragment for fragment in forbidden if fragment and fragment in text)


def test_every_checker_is_registered_and_has_a_solution(solutions):
    assert _checkers(), "no check_* function found"
    for check in _checkers().values():
        name, chapter = _registered(check)
        assert name in solutions[chapter], f"notebooks/solutions/ch{chapter}_solutions.py has no {name}()"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("checker", sorted(_checkers()))
def test_no_hint_contains_the_solution(checker, solutions, language):
    check = _checkers()[checker]
    name, chapter = _registered(check)
    forbidden = _solution_expressions(chapter, name)
    forbidden |= {_normal(f) for f in FORBIDDEN_IN_HINTS.get(checker, ())}
    forbidden |= {_normal(f) for f in getattr(check, "forbidden_in_hints", ())}
    leaks = {}
    for kind, wrong in _wrong_answers(solutions[chapter][name]).items():
        feedback = _checked(language, check, wrong)
        if not wrong.differed:
            continue  # this "wrong" answer happens to be the right one on every case
        if feedback.passed and kind == "the transposed answer":
            continue  # the order does not matter to this checker (a set of indices, reversed)
        assert not feedback.passed, (checker, kind)
        assert feedback.message.strip(), (checker, kind)
        if kind == "random values":  # matches no known mistake: the hint must guide (a question, or re-read)
            assert is_guidance(feedback.message), (checker, feedback.message)
        if language == "zh":
            assert CJK.search(feedback.message) and not english_left(feedback.message), (checker, feedback.message)
        found = _leaks(feedback.message, forbidden)
        if found:
            leaks[kind] = (found, feedback.message)
    assert not leaks, f"{checker}: hints that contain the solution's expression: {leaks}"


def test_the_leak_detector_catches_a_recipe_hint():
    """The check above can fail: a former generic hint of chapter 3, which gave the recipe, is caught
    by the generic check alone (the solution's own expressions)."""
    solution = (
        "def cam_map(maps, weights, class_index):\n"
        "    positive = np.maximum(maps @ weights[:, class_index], 0)\n"
        "    return positive / positive.max()\n")
    forbidden = _solution_expressions(3, "cam_map", source=solution)
    recipe = "Weighted sum over the maps (`maps @ weights[:, class_index]`), then the ReLU, then divide by the maximum."
    assert _leaks(recipe, forbidden)
    assert _leaks("Divide by the maximum: `positive / positive.max()`.", forbidden)
    assert not _leaks("Which axis does the weighted sum run over? Re-read step ④.", forbidden)
    # and the machinery does not show a statement as the generic hint
    cases = [((np.ones((2, 2, 3)), np.ones((3, 2)), 0), np.zeros((2, 2)) + 1.0, {})]
    assert recipe not in exercises._judge(cases, lambda *args: np.zeros((2, 2)), recipe).message


def test_the_solutions_readme_lists_every_exercise():
    readme = (SOLUTIONS / "README.md").read_text(encoding="utf-8")
    for name, (chapter, _) in EXERCISES.items():
        assert f"(ch{chapter}_solutions.py)" in readme, chapter
        assert f"`{name}`" in readme, f"notebooks/solutions/README.md does not list {name}"


@pytest.mark.parametrize("answer, words", [
    (lambda right: np.zeros_like(right), "only zeros"),
    (lambda right: -right, "opposite sign"),
    (lambda right: right.T, "wrong orientation"),
    (lambda right: 3 * right, "constant factor"),
    (lambda right: np.full_like(right, 0.5), "same number everywhere"),
    (lambda right: right * np.nan, "NaN"),
    (lambda right: right[:, :2], "shape (4, 2)"),
    (lambda right: "a map", "not a number"),
])
def test_an_unrecognised_answer_is_described_without_the_answer(answer, words):
    right = np.random.default_rng(1).normal(size=(4, 4))
    cases = [((right,), right, {})]
    with np.errstate(all="ignore"):
        feedback = exercises._judge(cases, answer, "Which step differs from the cell above?")
    assert not feedback and words in feedback.message, feedback.message
    assert "Which step differs from the cell above?" in feedback.message
    assert not re.search(r"-?\d+\.\d+", feedback.message)  # no value of the expected result


def test_a_compare_that_raises_does_not_crash_the_hint():
    def fussy(a, b):
        if np.any(np.asarray(a) < 0):
            raise ValueError("no negatives")
        return exercises._close(a, b)

    feedback = exercises._judge([((1,), np.arange(1.0, 4.0), {})], lambda x: np.ones(3) * 9, "Why?", compare=fussy)
    assert not feedback and feedback.message.endswith("Why?")


# --------------------------------------------------------------------------- the feedback in Chinese
# helpers.set_language("zh") (the Chinese notebooks' first cell) makes every checker answer in
# Chinese: every check_* function (discovered, as above) is run on a stub, an exception, a missing
# return, a non-function, its common wrong answers and its solution, in both languages.

def _stub(*args):
    raise NotImplementedError


def _raises(*args):
    raise KeyError(3)


def _forgot_return(*args):
    pass


@pytest.mark.parametrize("checker", sorted(_checkers()))
def test_every_checker_answers_in_the_language_set(checker, solutions):
    check = _checkers()[checker]
    name, chapter = _registered(check)
    answers = [_stub, _raises, _forgot_return, 42, lambda *args: 0]
    answers += [wrong for wrong, _ in WRONG.get(name, [])]
    for answer in answers:
        english, chinese = _checked("en", check, answer), _checked("zh", check, answer)
        assert not english and not chinese, (checker, answer)
        assert repr(english).startswith("❌ Not yet. ") and not CJK.search(repr(english)), repr(english)
        assert repr(chinese).startswith("❌ 还不对。"), repr(chinese)
        assert CJK.search(chinese.message) and not english_left(chinese.message), (checker, chinese.message)
        # the build tool turns the English notebooks' stored feedback into exactly what zh prints
        assert translate_text(repr(english)) == repr(chinese), (checker, repr(english))
    right_en, right_zh = (_checked("en", check, solutions[chapter][name]),
                          _checked("zh", check, solutions[chapter][name]))
    assert right_en and right_zh
    assert repr(right_en).startswith("✅ Correct. Your function gives the right result on all ")
    assert repr(right_zh).startswith("✅ 正确。你的函数在全部 ") and not english_left(repr(right_zh))
    assert translate_text(repr(right_en)) == repr(right_zh)
    assert get_language() == "en"


def test_the_stub_message_of_the_notebooks_is_unchanged_in_english():
    """The English notebooks store this output (nbval compares it): the catalogue must not change it."""
    assert repr(exercises.check_energy_share(_stub)) == (
        "❌ Not yet. Replace `raise NotImplementedError` with your code, then run this cell again.")


def test_the_hint_policy_reads_the_same_in_both_languages():
    """A hint that guides in English (a question, or "Re-read ...") guides in Chinese (？, 重读 ...), and a
    statement stays one: the machinery shows the same kind of hint whatever the language."""
    from helpers.exercises_zh import CATALOGUE

    for english, chinese in CATALOGUE.items():
        assert exercises._is_guidance(english) == exercises._is_guidance(chinese), (english, chinese)
    cases = [((np.ones(3),), np.arange(3.0), {})]
    set_language("zh")
    statement = localized("The tag is useless when, for every shape, every colour is equally likely. "
                          "`helpers.tag_information(agreement)` measures how many bits a tag still carries.")
    message = exercises._judge(cases, lambda x: x, statement).message
    assert statement not in message and "请重读这道练习正上方的说明" in message
    question = localized("Where does the largest gradient enter your bound?")
    assert question in exercises._judge(cases, lambda x: x, question).message
    assert exercises._is_guidance("重读第 1 节的单元格。") and not exercises._is_guidance("先求平均，再除以最大值。")
