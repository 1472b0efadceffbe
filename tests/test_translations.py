"""The Chinese edition (notebooks/zh/): complete, current, Chinese, and built by tools/translations.py.

A maintainer who changes an English cell sees here which Chinese cells to revise: the test names
the notebook, the cell id and its position, and prints the English as it now reads.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import re
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import translations  # noqa: E402

ENGLISH = translations.english_notebooks()
CJK = translations.CJK
# The longest run of English words a Chinese sentence may keep outside code, maths and links: a
# method's name ("Integrated Gradients"), a figure's title quoted for the student to find.
LONGEST_ENGLISH_RUN = 7


def _cells(path: pathlib.Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _markdown(path: pathlib.Path) -> list[tuple[str, str]]:
    return [(cell["id"], translations.cell_source(cell)) for cell in _cells(path) if cell["cell_type"] == "markdown"]


# ---------------------------------------------------------------- the edition is complete and current


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.stem)
def test_every_cell_is_translated_from_the_current_english(notebook):
    problems = translations.translation_problems(notebook, translations.read_translation(notebook))
    assert not problems, ("the Chinese edition lags behind the English; revise these cells in "
                          "notebooks/zh/translations/ (then `make translations`):\n" + "\n".join(problems))


def test_the_chinese_notebooks_are_what_make_translations_builds():
    files, _ = translations.planned()
    assert sorted(path.name for path in files) == sorted(path.name for path in ENGLISH)
    differ = [str(path.relative_to(ROOT)) for path, text in files.items()
              if not path.exists() or path.read_text(encoding="utf-8") != text]
    assert not differ, f"run `make translations`; not what it builds: {differ}"
    extra = sorted(p.name for p in (ROOT / "notebooks" / "zh").glob("*.ipynb") if p.name not in
                   {n.name for n in ENGLISH})
    assert not extra, f"Chinese notebooks with no English notebook: {extra}"


@pytest.fixture
def copy(tmp_path) -> pathlib.Path:
    """What the tool reads, copied, so that an English sentence can be changed."""
    for name in ("pyproject.toml",):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "constraints", tmp_path / "constraints")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return tmp_path


def test_a_changed_english_sentence_names_its_chinese_cell(copy):
    notebook = copy / "notebooks" / ENGLISH[0].name
    data = json.loads(notebook.read_text(encoding="utf-8"))
    index, cell = next((i, c) for i, c in enumerate(data["cells"])
                       if c["cell_type"] == "markdown" and i > 3 and len(translations.cell_source(c)) > 200)
    sentence = translations.cell_source(cell).split(". ")[0]
    cell["source"] = translations.cell_source(cell).replace(sentence, sentence + " (a maintainer's new words)", 1)
    notebook.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    problems = translations.check(copy)
    stale = [line for line in problems if f"cell {cell['id']} " in line]
    assert len(stale) == 1 and f"cell {index} of notebooks/{notebook.name}" in stale[0], problems
    assert "the English changed since it was translated" in stale[0] and "a maintainer's new words" in stale[0]
    # the rebuilt Chinese notebook keeps its other cells; the changed cell is the only new complaint
    assert all(f"cell {cell['id']} " in line or "not what `make translations` builds" in line
               for line in problems if notebook.stem in line)

    # `update` marks it stale and keeps the old Chinese below the new English for the translator
    translations.update(copy)
    section = translations.read_translation(notebook, copy).sections[cell["id"]]
    assert section.status == "stale" and "a maintainer's new words" in section.text and CJK.search(section.text)


def test_a_new_english_cell_and_a_code_change_are_reported(copy):
    notebook = copy / "notebooks" / ENGLISH[0].name
    data = json.loads(notebook.read_text(encoding="utf-8"))
    data["cells"].insert(5, {"cell_type": "markdown", "id": "brand-new", "metadata": {"tags": ["core"]},
                             "source": ["A new paragraph."]})
    code = next(c for c in data["cells"] if c["cell_type"] == "code" and translations.needs_translation(c))
    notebook.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    translation = translations.read_translation(notebook, copy)
    section = translation.sections[code["id"]]
    section.status, section.text = None, section.text + "\nprint('changed code')"
    problems = translations.translation_problems(notebook, translation)
    assert any("cell brand-new" in line and "no translation" in line for line in problems), problems
    assert any(f"cell {code['id']}" in line and "more than comments" in line for line in problems), problems


def test_code_may_differ_only_in_comments():
    english = "x = f(1)  # the first value\n# a note\ny = x + 1\n%matplotlib inline\n"
    assert translations.same_code(english, "x = f(1)  # 第一个值\n# 说明\ny = x + 1\n%matplotlib inline\n")
    assert translations.same_code(english, "x = f(1)\ny = x + 1\n%matplotlib inline\n")
    assert not translations.same_code(english, "x = f(2)  # 第一个值\ny = x + 1\n%matplotlib inline\n")
    assert not translations.same_code(english, "x = f(1)\ny = x + 1\n")


def test_a_translation_file_survives_a_round_trip():
    for notebook in ENGLISH:
        path = translations.translation_path(notebook)
        parsed = translations.parse(path.read_text(encoding="utf-8"))
        assert not parsed.problems
        again = translations.parse(translations.render(notebook, parsed))
        assert {k: (s.text, s.english_hash, s.status) for k, s in again.sections.items()} == \
               {k: (s.text, s.english_hash, s.status) for k, s in parsed.sections.items()}


# ---------------------------------------------------------------- the edition is Chinese


def _english_runs(markdown: str) -> list[str]:
    text = translations.prose(markdown)
    text = re.sub(r"\"[^\"\n]*\"|“[^”\n]*”|'[^'\n]*'|\*\*[^*\n]*\*\*", " ", text)  # quoted figure words, names
    return [run.strip() for run in re.findall(r"(?:[A-Za-z][A-Za-z'’-]*[\s,;:]+){%d,}[A-Za-z]+" % LONGEST_ENGLISH_RUN,
                                              text)]


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.stem)
def test_the_chinese_markdown_is_chinese(notebook):
    chinese = translations.chinese_path(notebook)
    english = dict(_markdown(notebook))
    untranslated = []
    for cell_id, text in _markdown(chinese):
        if len(re.findall(r"[A-Za-z]{2,}", translations.prose(english[cell_id]))) < 3:
            continue  # a title or a heading that is a name ("Grad-CAM")
        cjk = len(CJK.findall(translations.prose(text)))
        latin = len(re.findall(r"[A-Za-z]", translations.prose(text)))
        runs = _english_runs(text)
        if cjk < 0.3 * (cjk + latin) or runs:
            untranslated.append(f"cell {cell_id}: {cjk} Chinese characters, {latin} Latin letters; "
                                f"English left: {runs[:2]}")
    assert not untranslated, f"{chinese.name} has English prose:\n" + "\n".join(untranslated)


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.stem)
def test_the_glossary_terms_a_chapter_uses_appear_in_its_chinese(notebook):
    problems = translations.glossary_problems(notebook, translations.read_translation(notebook))
    assert not problems, "\n".join(problems)


def test_the_glossary_is_read_as_terms_and_their_chinese():
    rows = {tuple(english): chinese for english, chinese in translations.glossary()}
    assert rows[("feature map",)] == ["特征图"]
    assert "过滤器" in rows[("filter", "kernel")] and "卷积核" in rows[("filter", "kernel")]
    assert len(rows) >= 50


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.stem)
def test_code_outputs_and_the_language_switch(notebook):
    english, chinese = _cells(notebook), _cells(translations.chinese_path(notebook))
    assert [c["id"] for c in english] == [c["id"] for c in chinese]
    switched = False
    for en, zh in zip(english, chinese):
        if en["cell_type"] != "code":
            continue
        zh_source = translations.cell_source(zh)
        if translations.SET_LANGUAGE in zh_source:
            switched = True
            zh_source = zh_source.replace("\n" + translations.SET_LANGUAGE, "")
        if not translations.is_setup(en):
            assert translations.same_code(translations.cell_source(en), zh_source), en["id"]
        tags = en.get("metadata", {}).get("tags", [])
        if "exercise" not in tags and "check" not in tags and not translations.is_setup(en):
            assert zh.get("outputs") == en.get("outputs"), f"cell {en['id']}: outputs differ from the English run"
    assert switched, "the Chinese notebook never calls helpers.set_language('zh')"
    first_import = next(c for c in chinese if c["cell_type"] == "code" and not translations.is_setup(c)
                        and translations.IMPORTS_HELPERS.search(translations.cell_source(c)))
    assert translations.SET_LANGUAGE in translations.cell_source(first_import)


def test_exercise_feedback_is_stored_in_chinese():
    seen = 0
    for notebook in ENGLISH:
        for cell in _cells(translations.chinese_path(notebook)):
            if "exercise" in cell.get("metadata", {}).get("tags", []):
                for output in cell.get("outputs", []):
                    text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
                    # a checker's verdict starts with ✅ or ❌; what the cell's own code prints stays English
                    for line in text.splitlines():
                        if line.lstrip("'\"").startswith(("✅", "❌")):
                            seen += 1
                            assert CJK.search(line), f"{notebook.stem} cell {cell['id']}: {line[:120]!r}"
    assert seen >= 10


LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)\s]+)\)")


@pytest.mark.parametrize("path", [*(translations.chinese_path(n) for n in ENGLISH),
                                  ROOT / "notebooks" / "zh" / "00_teachers_guide.md", ROOT / "README.zh-CN.md"],
                         ids=lambda p: p.name)
def test_relative_links_of_the_chinese_edition_resolve(path):
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        text = "\n".join(src for _, src in _markdown(path))
    broken = [target for target in LINK.findall(text)
              if not (path.parent / target.split("#")[0]).exists()]
    assert not broken, f"{path.relative_to(ROOT)}: links that lead nowhere: {broken}"


# ---------------------------------------------------------------- the guide and the README


def test_the_chinese_teachers_guide_translates_the_current_english():
    english = (ROOT / "notebooks" / "00_teachers_guide.md").read_bytes()
    chinese = (ROOT / "notebooks" / "zh" / "00_teachers_guide.md").read_text(encoding="utf-8")
    first = chinese.splitlines()[0]
    digest = hashlib.sha256(english).hexdigest()[:12]
    assert first == f"<!-- translates notebooks/00_teachers_guide.md en:{digest} -->", (
        f"notebooks/00_teachers_guide.md changed since notebooks/zh/00_teachers_guide.md translated it "
        f"(its first line says {first!r}; the English is now en:{digest}): revise the Chinese, then update that line")
    assert len(CJK.findall(chinese)) > 3000
    english_headings = len(re.findall(r"^#+ ", english.decode("utf-8"), re.MULTILINE))
    assert len(re.findall(r"^#+ ", chinese, re.MULTILINE)) == english_headings


def test_the_readmes_link_each_other():
    english = (ROOT / "README.md").read_text(encoding="utf-8")
    chinese = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "(README.zh-CN.md)" in "\n".join(english.splitlines()[:5])
    assert "(README.md)" in "\n".join(chinese.splitlines()[:5])
    for notebook in ENGLISH:
        assert f"notebooks/zh/{notebook.name}" in chinese
    assert len(CJK.findall(chinese)) > 300
