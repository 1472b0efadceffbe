"""helpers.i18n: the language setting, the catalogues (complete, none unused, fields kept, no English
left in the Chinese) and translate_text on the English notebooks' stored exercise outputs."""

from __future__ import annotations

import ast
import importlib
import json
import pathlib
import re

import pytest

from helpers import i18n

ROOT = pathlib.Path(__file__).resolve().parent.parent
HELPERS = ROOT / "helpers"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-5]_*.ipynb"))

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,}){2,}")
"""Three English words in a row: a sentence left untranslated (names and code are one or two words,
symbols one letter: ``(h, w, c)``)."""


def english_left(text: str) -> list[str]:
    """The English phrases of a Chinese text, code spans (`...`), {fields} and quoted names left out."""
    text = re.sub(r"`[^`]*`|\{[^}]*\}|“[^”]*”", " ", text)
    return ENGLISH_SENTENCE.findall(text)


@pytest.fixture(autouse=True)
def english_afterwards():
    """Every test leaves the course in English, whatever it set."""
    yield
    i18n.set_language("en")


def _load_catalogues() -> None:
    for module in i18n.CATALOGUE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise


def _localized_keys() -> dict[str, list[str]]:
    """Every English text passed to ``localized(...)`` in helpers/: {text: [where]}, found with ast.

    A call whose text is not a string literal fails here: the catalogue could not be checked."""
    keys: dict[str, list[str]] = {}
    for path in sorted(HELPERS.rglob("*.py")):
        if path.name == "i18n.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "localized":
                first = node.args[0] if node.args else None
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                    f"{path.name}:{node.lineno}: localized() needs the English text itself, a string literal "
                    f"(the catalogue test finds it so), not {ast.unparse(first) if first else 'nothing'}")
                keys.setdefault(first.value, []).append(f"{path.name}:{node.lineno}")
    return keys


# --------------------------------------------------------------------------- the setting
def test_the_language_defaults_to_english_and_accepts_its_spellings():
    assert i18n.get_language() == "en"
    for spelling, language in (("zh", "zh"), ("zh-CN", "zh"), ("中文", "zh"), (" Chinese ", "zh"), ("EN", "en"),
                               ("english", "en")):
        i18n.set_language(spelling)
        assert i18n.get_language() == language, spelling


@pytest.mark.parametrize("bad", ["fr", "", None, 3, ["zh"]])
def test_an_unknown_language_is_a_clear_error(bad):
    i18n.set_language("zh")
    with pytest.raises(ValueError, match=r"speaks 'en' and 'zh'.*set_language\('en'\) or set_language\('zh'\)"):
        i18n.set_language(bad)
    assert i18n.get_language() == "zh"  # unchanged by the failed call


def test_the_package_exports_the_setting():
    import helpers

    assert helpers.set_language is i18n.set_language and helpers.translate_text is i18n.translate_text
    helpers.set_language("zh")
    assert helpers.get_language() == "zh"


def test_localized_fills_fields_in_both_languages_and_keeps_an_untranslated_text(monkeypatch):
    monkeypatch.setitem(i18n._CATALOGUES, "zh", dict(i18n._CATALOGUES["zh"]))
    i18n.add_translations("zh", {"Expected {n} channels.": "应有 {n} 个通道。"})
    assert i18n.localized("Expected {n} channels.", n=3) == "Expected 3 channels."
    i18n.set_language("zh")
    assert i18n.localized("Expected {n} channels.", n=3) == "应有 3 个通道。"
    assert i18n.localized("A text nobody translated {x}.") == "A text nobody translated {x}."


def test_add_translations_refuses_changed_fields_and_unknown_languages(monkeypatch):
    monkeypatch.setitem(i18n._CATALOGUES, "zh", dict(i18n._CATALOGUES["zh"]))
    with pytest.raises(ValueError, match=r"must keep the fields \['n'\], it has \['m'\]"):
        i18n.add_translations("zh", {"Expected {n} channels.": "应有 {m} 个通道。"})
    with pytest.raises(ValueError, match="No catalogue for 'fr'"):
        i18n.add_translations("fr", {"Yes": "Oui"})


def test_one_english_text_has_one_translation_across_modules(monkeypatch):
    """Two modules that translate one English label differently would override each other in import order."""
    monkeypatch.setitem(i18n._CATALOGUES, "zh", dict(i18n._CATALOGUES["zh"]))
    i18n.add_translations("zh", {"A label only this test uses": "甲"})
    i18n.add_translations("zh", {"A label only this test uses": "甲"})  # the same again: fine
    with pytest.raises(ValueError, match="already translated as '甲', not '乙'"):
        i18n.add_translations("zh", {"A label only this test uses": "乙"})


# --------------------------------------------------------------------------- the catalogues
def test_every_localized_text_has_a_chinese_entry_and_every_entry_is_used():
    _load_catalogues()
    keys = _localized_keys()
    catalogue = i18n._CATALOGUES["zh"]
    assert len(keys) >= 100, len(keys)  # the checkers' and the explorers' texts were found
    missing = {key: where for key, where in keys.items() if key not in catalogue}
    assert not missing, f"localized() texts without a Chinese entry: {missing}"
    unused = sorted(set(catalogue) - set(keys))
    assert not unused, f"Chinese entries whose English no localized() call uses (stale?): {unused}"


def test_every_chinese_entry_is_chinese_with_no_english_sentence_left():
    _load_catalogues()
    for english, chinese in i18n._CATALOGUES["zh"].items():
        assert CJK.search(chinese), (english, chinese)
        assert not english_left(chinese), (english, chinese, english_left(chinese))
        assert chinese != english


def test_english_left_finds_an_untranslated_sentence():
    """The check above can fail: it finds a sentence left in English, not names or code."""
    assert english_left("请重读 the text just above this exercise。")
    assert not english_left("把 `raise NotImplementedError` 换成你的代码；Grad-CAM 的 logit，ReLU 之后。")


def test_numbers_and_code_are_those_of_the_english():
    """A translation keeps the English's numbers and code spans (a number is a claim; code is typed)."""
    _load_catalogues()
    for english, chinese in i18n._CATALOGUES["zh"].items():
        assert sorted(re.findall(r"\d+(?:\.\d+)?", english)) == sorted(re.findall(r"\d+(?:\.\d+)?", chinese)), \
            (english, chinese)
        assert re.findall(r"`[^`]*`", english) == re.findall(r"`[^`]*`", chinese), (english, chinese)


# --------------------------------------------------------------------------- translate_text
def _exercise_outputs() -> list[tuple[str, str, list[str]]]:
    """(notebook, the cell's source, its stored text outputs) of every cell tagged exercise or check."""
    found = []
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            tags = cell.get("metadata", {}).get("tags", [])
            if cell["cell_type"] != "code" or not {"exercise", "check"} & set(tags):
                continue
            texts = []
            for output in cell.get("outputs", []):
                if output["output_type"] == "stream":
                    texts.append("".join(output["text"]))
                elif "text/plain" in output.get("data", {}):
                    texts.append("".join(output["data"]["text/plain"]))
            found.append((path.name, "".join(cell["source"]), texts))
    return found


def test_translate_text_translates_every_stored_checker_output_of_the_notebooks():
    """Each checker's verdict stored in the English notebooks becomes Chinese, with no English sentence
    left; what the notebooks' own code prints is returned unchanged."""
    cells = _exercise_outputs()
    checked = [(name, texts) for name, source, texts in cells if re.search(r"\bcheck_\w+\(", source)]
    assert {name for name, _ in checked} == {path.name for path in NOTEBOOKS} and len(checked) >= 15, checked
    for name, source, texts in cells:
        verdicts = 0
        for text in texts:
            translated = i18n.translate_text(text)
            if text.lstrip().startswith(("✅", "❌")):
                verdicts += 1
                assert CJK.search(translated), (name, text)
                assert not english_left(translated), (name, translated)
                assert translated.startswith(("✅ 正确。", "❌ 还不对。")), translated
            else:
                assert translated == text, (name, text)
        if re.search(r"\bcheck_\w+\(", source):
            assert verdicts == 1, f"{name}: a cell that calls a checker stores {verdicts} verdicts: {texts}"


def test_translate_text_keeps_lines_values_and_other_text():
    stub = "❌ Not yet. Replace `raise NotImplementedError` with your code, then run this cell again."
    chinese = "❌ 还不对。把 `raise NotImplementedError` 换成你的代码，然后重新运行这个单元格。"
    assert i18n.translate_text(stub) == chinese
    assert i18n.translate_text(f"{stub}\nshape 0: plus\n") == f"{chinese}\nshape 0: plus\n"
    assert i18n.translate_text(stub, "en") == stub
    shape = ("❌ Not yet. Your result has shape (4, 2); the expected result has shape (4, 4). "
             "Which step differs from the cell above?")  # a hint not in the catalogue: the line stays
    assert i18n.translate_text(shape) == shape
    raised = "❌ Not yet. Your function raised ZeroDivisionError: division by zero"
    assert i18n.translate_text(raised) == "❌ 还不对。你的函数抛出了 ZeroDivisionError：division by zero"
    right = "✅ Correct. Your function gives the right result on all 5 test cases."
    assert i18n.translate_text(right) == "✅ 正确。你的函数在全部 5 个测试用例上都给出了正确结果。"
    for other in ("", "Layer", "layer conv2d_2: 32 channels", "{not a template}", "❌ a verdict of someone else"):
        assert i18n.translate_text(other) == other
    with pytest.raises(ValueError, match="not 'fr'"):
        i18n.translate_text(stub, "fr")
    with pytest.raises(TypeError, match="not a list"):
        i18n.translate_text([stub])


def test_two_checker_texts_never_share_a_translation():
    """A checker keys its known mistakes by their (localized) hints: two hints translated alike would
    merge two mistakes into one in Chinese. (Labels elsewhere may share one: "channel", "Channels".)"""
    from helpers.exercises_zh import CATALOGUE

    seen: dict[str, str] = {}
    for english, chinese in CATALOGUE.items():
        assert chinese not in seen, (english, seen.get(chinese), chinese)
        seen[chinese] = english
