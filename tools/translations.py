"""The Chinese edition: build ``notebooks/zh/`` from the English notebooks and the translation files.

Each English chapter ``notebooks/NN_name.ipynb`` has a translation file
``notebooks/zh/translations/NN_name.md``: one section per cell that needs translating (every
Markdown cell, and every code cell that has comments), in the notebook's order. A section starts
with a marker line naming the English cell's ``id``, its type and the hash of the English source
it translates::

    <!-- cell 3f2a9c01 markdown en:0123456789ab -->
    ## 第 1 步：……

    <!-- cell 7d4e5b22 code en:ba9876543210 -->
    ````python
    x = model(images)  # 中文注释
    ````

A code section must equal the English cell except in its comments (the script compares the
Python tokens). A marker ending in ``todo`` holds English still waiting for its translation;
``update`` appends such sections for new cells and re-marks changed ones. A line
``<!-- note: ... -->`` is a note to translators and is left out of the notebook;
``<!-- not-a-term: filter — why -->`` excuses one glossary term from the glossary check of that chapter
(for example where the English uses "filter" as a verb).

Commands (``make translations`` runs ``build``):

* ``python tools/translations.py build``   write ``notebooks/zh/*.ipynb``; fails, listing the cells,
  when a translation is missing, stale, marked todo, or a code section changes more than comments
  (``--draft`` writes anyway, keeping English where a translation is not ready);
* ``python tools/translations.py update``  add ``todo`` sections (the English source) for cells
  that have none, mark changed cells ``stale`` (the Chinese is kept below the new English for the
  translator to revise), and report;
* ``python tools/translations.py check``   write nothing; list every problem (the stale-translation
  test runs this), including a Chinese notebook that differs from what ``build`` would write and
  glossary terms missing from a chapter's Chinese; exit 1 when there is any.

The Chinese notebooks keep the English notebooks' outputs (the same code prints the same numbers
and draws the same figures); the stored feedback of exercise cells is translated with
``helpers.i18n.translate_text``; the cell that imports the course gets ``helpers.set_language("zh")``;
badges and Setup cells come from ``tools/colab_links.py`` (the one URL source).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import io
import json
import pathlib
import re
import sys
import tokenize

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import colab_links  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
LANGUAGE = "zh"
MARKER = re.compile(r"^<!-- cell (?P<id>\S+) (?P<type>markdown|code) en:(?P<hash>[0-9a-f]{12})"
                    r"(?: (?P<status>todo|stale))? -->$")
NOT_A_TERM = re.compile(r"^<!-- not-a-term: (?P<term>[^>]*?) -->$")
NOTE_TO_TRANSLATOR = re.compile(r"^<!-- note: .*-->$")
FENCE_OPEN, FENCE_CLOSE = "````python", "````"
SET_LANGUAGE = 'helpers.set_language("zh")  # 练习的反馈和探索器的标签用中文显示'
IMPORTS_HELPERS = re.compile(r"^(import helpers\b|from helpers\b)", re.MULTILINE)
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def english_notebooks(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """The chapters of the English edition, in order."""
    return sorted((root / "notebooks").glob("[0-9]*.ipynb"))


def translation_path(notebook: pathlib.Path, root: pathlib.Path = ROOT) -> pathlib.Path:
    return root / "notebooks" / LANGUAGE / "translations" / f"{notebook.stem}.md"


def chinese_path(notebook: pathlib.Path, root: pathlib.Path = ROOT) -> pathlib.Path:
    return root / "notebooks" / LANGUAGE / notebook.name


def source_hash(source: str) -> str:
    """The first 12 hex digits of the SHA-256 of a cell's source (what a translation is pinned to)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]


def cell_source(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _code_tokens(source: str) -> list[tuple[int, str]] | None:
    """The Python tokens of a cell without comments (IPython ``%``/``!`` lines kept as text)."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append(repr(line) if stripped.startswith(("%", "!")) else line)
    try:
        tokens = tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline)
        return [(tok.type, tok.string) for tok in tokens
                if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None


def has_comments(source: str) -> bool:
    """Whether a code cell has a comment to translate."""
    try:
        return any(tok.type == tokenize.COMMENT
                   for tok in tokenize.generate_tokens(io.StringIO(source + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return "#" in source


def same_code(english: str, chinese: str) -> bool:
    """Whether two code cells differ at most in their comments."""
    a, b = _code_tokens(english), _code_tokens(chinese)
    if a is None or b is None:
        def strip(text: str) -> list[str]:
            return [re.sub(r"\s+#.*$|^\s*#.*$", "", line).rstrip() for line in text.splitlines()]
        return [x for x in strip(english) if x] == [x for x in strip(chinese) if x]
    return a == b


def is_setup(cell: dict) -> bool:
    return cell["cell_type"] == "code" and bool(colab_links.SETUP_FIRST_LINE.match(cell_source(cell)))


def needs_translation(cell: dict) -> bool:
    """Markdown cells, and code cells with comments (the Setup cell is generated: colab_links)."""
    if cell["cell_type"] == "markdown":
        return True
    return cell["cell_type"] == "code" and not is_setup(cell) and has_comments(cell_source(cell))


@dataclasses.dataclass
class Section:
    """One translated cell of a translation file."""

    cell_id: str
    cell_type: str
    english_hash: str
    status: str | None  # None (translated), "todo" (English placeholder) or "stale" (English changed)
    text: str

    def render(self) -> str:
        status = f" {self.status}" if self.status else ""
        body = f"{FENCE_OPEN}\n{self.text}\n{FENCE_CLOSE}" if self.cell_type == "code" else self.text
        return f"<!-- cell {self.cell_id} {self.cell_type} en:{self.english_hash}{status} -->\n{body}\n"


@dataclasses.dataclass
class TranslationFile:
    """A parsed translation file: its header (notes), sections by cell id, glossary exemptions."""

    header: str
    sections: dict[str, Section]
    not_terms: list[str]
    problems: list[str]


def parse(text: str, name: str = "translation") -> TranslationFile:
    """Parse a translation file (see the module's docstring for the format)."""
    header, sections, not_terms, problems = [], {}, [], []
    current: dict | None = None

    def close():
        if current is None:
            return
        body = "\n".join(current["lines"]).strip("\n")
        if current["type"] == "code":
            lines = body.split("\n")
            if lines and lines[0].strip() == FENCE_OPEN and lines[-1].strip() == FENCE_CLOSE and len(lines) >= 2:
                body = "\n".join(lines[1:-1])
            else:
                problems.append(f"{name}: cell {current['id']}: a code section must be fenced by {FENCE_OPEN} "
                                f"and {FENCE_CLOSE} lines")
        if current["id"] in sections:
            problems.append(f"{name}: cell {current['id']} has two sections")
        sections[current["id"]] = Section(current["id"], current["type"], current["hash"], current["status"], body)

    in_fence = False
    for line in text.split("\n"):
        match = MARKER.match(line.strip()) if not in_fence else None
        if match:
            close()
            current = {"id": match["id"], "type": match["type"], "hash": match["hash"], "status": match["status"],
                       "lines": []}
            continue
        if current is not None and current["type"] == "code" and line.strip() in (FENCE_OPEN, FENCE_CLOSE):
            in_fence = line.strip() == FENCE_OPEN
        term = NOT_A_TERM.match(line.strip()) if not in_fence else None
        if term:
            not_terms.append(term["term"].strip())  # "filter — why", kept whole (the why is for readers)
            continue
        if current is None:
            header.append(line)
        elif not in_fence and NOTE_TO_TRANSLATOR.match(line.strip()):
            continue
        else:
            current["lines"].append(line)
    close()
    return TranslationFile("\n".join(header).strip("\n"), sections, not_terms, problems)


def _default_header(notebook: pathlib.Path) -> str:
    return (f"<!-- 中文版 notebooks/zh/{notebook.name}: translation of notebooks/{notebook.name}. -->\n"
            f"<!-- One section per cell, keyed by the English cell's id and the hash of the English it translates; "
            f"format and commands: tools/translations.py. -->")


def render(notebook: pathlib.Path, translation: TranslationFile) -> str:
    """A translation file's text: header, then the sections in the notebook's order, then orphans."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    order = [cell["id"] for cell in cells]
    sections = sorted(translation.sections.values(),
                      key=lambda s: (order.index(s.cell_id) if s.cell_id in order else len(order)))
    header = translation.header or _default_header(notebook)
    terms = "".join(f"<!-- not-a-term: {term} -->\n" for term in translation.not_terms)
    return header + "\n" + terms + "\n" + "\n".join(section.render() for section in sections)


def read_translation(notebook: pathlib.Path, root: pathlib.Path = ROOT) -> TranslationFile:
    path = translation_path(notebook, root)
    if not path.exists():
        return TranslationFile("", {}, [], [])
    return parse(path.read_text(encoding="utf-8"), str(path.relative_to(root)))


def translation_problems(notebook: pathlib.Path, translation: TranslationFile) -> list[str]:
    """What keeps a chapter's translation from being complete and current, one line per cell."""
    name = f"notebooks/{LANGUAGE}/translations/{notebook.stem}.md"
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    problems = list(translation.problems)
    ids = set()
    for index, cell in enumerate(cells):
        ids.add(cell["id"])
        if not needs_translation(cell):
            continue
        where = f"{name}: cell {cell['id']} (cell {index} of notebooks/{notebook.name}, {cell['cell_type']})"
        section = translation.sections.get(cell["id"])
        english = cell_source(cell)
        if section is None:
            problems.append(f"{where}: no translation (run `python tools/translations.py update`)")
        elif section.cell_type != cell["cell_type"]:
            problems.append(f"{where}: the section is {section.cell_type}, the cell is {cell['cell_type']}")
        elif section.status == "todo":
            problems.append(f"{where}: marked todo (still English)")
        elif section.english_hash != source_hash(english) or section.status == "stale":
            problems.append(f"{where}: the English changed since it was translated (en:{section.english_hash}, "
                            f"now en:{source_hash(english)}); revise the Chinese, then set the marker's hash. "
                            f"The English now reads:\n    " + english[:600].replace("\n", "\n    "))
        elif cell["cell_type"] == "code" and not same_code(english, section.text):
            problems.append(f"{where}: the Chinese code differs from the English in more than comments")
        elif cell["cell_type"] == "markdown" and not CJK.search(section.text) and _words(english) >= 3:
            problems.append(f"{where}: the translation has no Chinese")
    for cell_id in translation.sections:
        if cell_id not in ids:
            problems.append(f"{name}: cell {cell_id}: no such cell in notebooks/{notebook.name} any more "
                            f"(delete the section, or run `update --prune`)")
    return problems


def _words(markdown: str) -> int:
    return len(re.findall(r"[A-Za-z]{2,}", prose(markdown)))


def prose(markdown: str) -> str:
    """A Markdown cell's words for a reader: code, maths, URLs, HTML and link targets removed."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.DOTALL)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    return text


def translate_outputs(cell: dict) -> None:
    """Translate the stored feedback of an exercise or check cell (helpers.i18n.translate_text)."""
    from helpers.i18n import translate_text

    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            text = "".join(output["text"]) if isinstance(output["text"], list) else output["text"]
            output["text"] = colab_links._source_lines(translate_text(text, LANGUAGE))
        elif "data" in output and "text/plain" in output["data"]:
            plain = output["data"]["text/plain"]
            text = "".join(plain) if isinstance(plain, list) else plain
            output["data"]["text/plain"] = colab_links._source_lines(translate_text(text, LANGUAGE))


def build_notebook(notebook: pathlib.Path, translation: TranslationFile, settings: dict,
                   draft: bool = False) -> tuple[str, list[str]]:
    """The Chinese notebook's JSON text and the problems found.

    In ``draft``, English stands where no translation is ready (``todo``); a stale one is used.
    """
    data = json.loads(notebook.read_text(encoding="utf-8"))
    problems = translation_problems(notebook, translation)
    zh = copy.deepcopy(data)
    set_language_added = False
    for cell in zh["cells"]:
        section = translation.sections.get(cell["id"])
        english = cell_source(cell)
        usable = (section is not None and section.status is None and section.english_hash == source_hash(english)
                  and section.cell_type == cell["cell_type"]
                  and (cell["cell_type"] != "code" or same_code(english, section.text)))
        if needs_translation(cell) and (usable or (draft and section is not None and section.status != "todo")):
            cell["source"] = colab_links._source_lines(section.text)
        if cell["cell_type"] == "code" and not set_language_added and not is_setup(cell):
            source = cell_source(cell)
            found = IMPORTS_HELPERS.search(source)
            if found:
                end = source.find("\n", found.start())
                end = len(source) if end < 0 else end
                # after the whole import statement (a parenthesized import may continue over lines)
                if "(" in source[found.start():end] and ")" not in source[found.start():end]:
                    end = source.find(")", end)
                    end = source.find("\n", end) if source.find("\n", end) >= 0 else len(source)
                source = source[:end] + "\n" + SET_LANGUAGE + source[end:]
                cell["source"] = colab_links._source_lines(source)
                set_language_added = True
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] == "code" and ("exercise" in tags or "check" in tags):
            translate_outputs(cell)
    if not set_language_added:
        problems.append(f"notebooks/{notebook.name}: no code cell imports helpers, so nowhere to call set_language")
    zh.setdefault("metadata", {})["convnet_xray"] = {"language": LANGUAGE, "translates": f"notebooks/{notebook.name}"}
    text = json.dumps(zh, indent=1, ensure_ascii=False) + "\n"
    text = colab_links.updated_notebook(text, f"{LANGUAGE}/{notebook.name}", settings, language=LANGUAGE)
    return text, problems


def planned(root: pathlib.Path = ROOT, draft: bool = False) -> tuple[dict[pathlib.Path, str], list[str]]:
    """``{path: text}`` of the Chinese notebooks, and every problem found."""
    settings = colab_links.read_settings(root)
    files, problems = {}, []
    for notebook in english_notebooks(root):
        text, found = build_notebook(notebook, read_translation(notebook, root), settings, draft=draft)
        files[chinese_path(notebook, root)] = text
        problems += found
    return files, problems


# ---------------------------------------------------------------- glossary


def glossary(root: pathlib.Path = ROOT) -> list[tuple[list[str], list[str]]]:
    """The glossary's rows: ``([English terms], [Chinese alternatives])``, from notebooks/00_glossary.md."""
    rows = []
    for line in (root / "notebooks" / "00_glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("English", "") or set(cells[0]) <= {"-", " "}:
            continue
        english = re.sub(r"\([^)]*\)", "", cells[0])  # "(`Conv2D`)", "(here: ...)": explanations, not terms
        english_terms = [t.strip(" `*\"") for t in re.split(r",", english) if t.strip(" `*\"")]
        chinese = cells[1].replace("〔书〕", "").replace("†", "")
        alternatives = [t.strip(" `*") for t in re.split(r"[,，/()（）、]", chinese) if t.strip(" `*")]
        rows.append((english_terms, alternatives))
    return rows


def _term_pattern(term: str) -> re.Pattern:
    words = [re.escape(word) for word in term.split()]
    return re.compile(r"(?<![A-Za-z-])" + r"\s+".join(words) + r"(?:e?s)?(?![A-Za-z])", re.IGNORECASE)


def glossary_problems(notebook: pathlib.Path, translation: TranslationFile, root: pathlib.Path = ROOT) -> list[str]:
    """Glossary terms the chapter's English uses whose glossary Chinese its translation never uses."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    english = "\n".join(prose(cell_source(c)) for c in cells if c["cell_type"] == "markdown")
    chinese = "\n".join(s.text for s in translation.sections.values() if s.cell_type == "markdown")
    excused = {term.split(" — ")[0].strip().lower() for term in translation.not_terms}
    problems = []
    for terms, alternatives in glossary(root):
        used = [t for t in terms if t.lower() not in excused and _term_pattern(t).search(english)]
        if used and not any(alt.lower() in chinese.lower() for alt in alternatives):
            problems.append(f"notebooks/{LANGUAGE}/translations/{notebook.stem}.md: the English uses "
                            f"{', '.join(repr(t) for t in used)}; the Chinese has none of the glossary's "
                            f"{' / '.join(alternatives)} (or excuse it: <!-- not-a-term: {used[0]} -->)")
    return problems


# ---------------------------------------------------------------- commands


def update(root: pathlib.Path = ROOT, prune: bool = False) -> list[str]:
    """Add todo sections for cells without one, mark changed cells stale; returns what it did."""
    done = []
    for notebook in english_notebooks(root):
        translation = read_translation(notebook, root)
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        ids = {cell["id"] for cell in cells}
        for cell in cells:
            if not needs_translation(cell):
                continue
            english, section = cell_source(cell), translation.sections.get(cell["id"])
            if section is None:
                translation.sections[cell["id"]] = Section(cell["id"], cell["cell_type"], source_hash(english),
                                                           "todo", english)
                done.append(f"{notebook.stem}: cell {cell['id']}: added (todo)")
            elif section.english_hash != source_hash(english) and section.status != "todo":
                if section.status != "stale":
                    section.status = "stale"
                    note = (f"<!-- note: ↑ the English now; ↓ the old Chinese: revise it, delete the English, "
                            f"set the marker's hash to en:{source_hash(english)} and drop 'stale' -->")
                    if cell["cell_type"] == "markdown":
                        section.text = f"{english}\n\n{note}\n\n{section.text}"
                    done.append(f"{notebook.stem}: cell {cell['id']}: English changed (stale)")
            elif section.status == "todo" and section.english_hash != source_hash(english):
                section.english_hash, section.text = source_hash(english), english
        if prune:
            for cell_id in [c for c in translation.sections if c not in ids]:
                del translation.sections[cell_id]
                done.append(f"{notebook.stem}: cell {cell_id}: removed (no such cell)")
        path = translation_path(notebook, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = render(notebook, translation)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return done


def check(root: pathlib.Path = ROOT) -> list[str]:
    """Every problem of the Chinese edition (nothing written)."""
    files, problems = planned(root)
    for path, text in files.items():
        if not path.exists():
            problems.append(f"{path.relative_to(root)}: missing (run `make translations`)")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path.relative_to(root)}: not what `make translations` builds from the English "
                            f"notebook and its translation (run `make translations`)")
    for path in sorted((root / "notebooks" / LANGUAGE).glob("*.ipynb")):
        if path not in files:
            problems.append(f"{path.relative_to(root)}: no English notebook of that name (delete it)")
    for notebook in english_notebooks(root):
        problems += glossary_problems(notebook, read_translation(notebook, root), root)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["build", "update", "check"])
    parser.add_argument("--draft", action="store_true", help="build: keep English where no translation is ready")
    parser.add_argument("--prune", action="store_true", help="update: drop sections of cells that no longer exist")
    args = parser.parse_args(argv)
    if args.command == "update":
        for line in update(prune=args.prune):
            print(line)
        return 0
    if args.command == "check":
        problems = check()
        for line in problems:
            print(line)
        print(f"{len(problems)} problem(s)" if problems else "The Chinese edition is complete and current.")
        return 1 if problems else 0
    files, problems = planned(draft=args.draft)
    if problems and not args.draft:
        for line in problems:
            print(line)
        print(f"Not written: {len(problems)} problem(s) above (`--draft` writes anyway, keeping English).")
        return 1
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
