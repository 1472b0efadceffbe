"""The language of the course's messages: English (the default) or Chinese (中文).

The English text of a message is its key: code writes ``localized("No file was uploaded.")``, and
each module that shows words to students (the exercise checkers, the explorers) registers its
Chinese catalogue with :func:`add_translations`. A Chinese notebook's first cell calls
``helpers.set_language("zh")``; from then on the checkers' feedback and hints and the explorers'
labels are Chinese. A message with no translation stays English (the tests list every one).

The Chinese notebooks are built from the executed English ones: their build tool passes every
stored output of an exercise cell through :func:`translate_text`, which turns a checker's English
message (``"❌ Not yet. Replace `raise NotImplementedError` with ..."``) into its Chinese and leaves
any other text as it is.

For maintainers: a new message is written ``localized("The English text {field}.", field=value)``,
its English a string literal (``tests/test_i18n.py`` finds every call with ``ast`` and fails when
the Chinese entry is missing, or when an entry is no longer used), and its Chinese goes into the
module's catalogue (``helpers/exercises_zh.py``, ``helpers/widgets_zh.py``). The Chinese notebooks
start with ``helpers.set_language("zh")``; the tool that builds ``notebooks/zh/`` adds that call.

Taught in: every notebook of the Chinese edition (``notebooks/zh/``).
"""

from __future__ import annotations

import functools
import importlib
import re
import string
from typing import Mapping

__all__ = ["LANGUAGES", "set_language", "get_language", "localized", "add_translations", "translate_text"]

LANGUAGES: tuple[str, ...] = ("en", "zh")
_ALIASES = {"en": "en", "english": "en", "zh": "zh", "zh-cn": "zh", "zh_cn": "zh", "chinese": "zh", "中文": "zh"}
_language = "en"
_CATALOGUES: dict[str, dict[str, str]] = {"zh": {}}

CATALOGUE_MODULES: tuple[str, ...] = ("helpers.exercises", "helpers.widgets", "helpers.xray")
"""The modules that register a catalogue when imported; :func:`translate_text` imports them first
(a module that does not exist in this version of the course is skipped)."""


_VERDICTS = ("✅", "❌")
"""How a checker's verdict line starts (:class:`helpers.exercises.Feedback`); only such lines are translated."""


def _language_of(language: object) -> str:
    """``"en"`` or ``"zh"`` for an accepted spelling of a language; a clear error otherwise."""
    key = language.strip().lower() if isinstance(language, str) else None
    if key not in _ALIASES:
        raise ValueError(f"The course speaks {' and '.join(repr(x) for x in LANGUAGES)}, not {language!r}: "
                         f"call set_language('en') or set_language('zh').")
    return _ALIASES[key]


def set_language(language: str) -> None:
    """Show the checkers' feedback and the explorers' labels in ``language``.

    Args:
        language: ``"en"`` (English, the default) or ``"zh"`` (Chinese; ``"zh-CN"``, ``"中文"``
            are accepted too).

    Raises:
        ValueError: another language; the message lists the ones the course has.
    """
    global _language
    _language = _language_of(language)


def get_language() -> str:
    """The current language: ``"en"`` or ``"zh"``."""
    return _language


def localized(text: str, /, **fields: object) -> str:
    """``text`` (English, the catalogue key) in the current language, formatted with ``fields``.

    ``localized("Expected {n} channels.", n=3)`` gives ``"Expected 3 channels."`` in English and the
    registered Chinese template filled with ``n=3`` in Chinese. Without ``fields`` the text is
    returned as registered (braces in it need no escaping).
    """
    template = _CATALOGUES.get(_language, {}).get(text, text) if _language != "en" else text
    return template.format(**fields) if fields else template


def add_translations(language: str, catalogue: Mapping[str, str]) -> None:
    """Register translations: ``{English text: text in language}`` (templates keep their fields).

    Raises:
        ValueError: an unknown language, a translation whose ``{fields}`` differ from its English, or
            an English text another module already translates differently (the English is the key:
            one text, one translation; give the new meaning its own English).
    """
    if language not in _CATALOGUES:
        raise ValueError(f"No catalogue for {language!r}: the languages are {', '.join(_CATALOGUES)}.")

    for english, translation in catalogue.items():
        if _fields_of(english) != _fields_of(translation):
            raise ValueError(f"The translation of {english!r} must keep the fields {sorted(_fields_of(english))}, "
                             f"it has {sorted(_fields_of(translation))}.")
        known = _CATALOGUES[language].get(english, translation)
        if known != translation:
            raise ValueError(f"{english!r} is already translated as {known!r}, not {translation!r}: one English "
                             f"text has one translation; give the other meaning its own English text.")
    _CATALOGUES[language].update(catalogue)
    _patterns.cache_clear()


def _fields_of(template: str) -> set[str]:
    """The ``{fields}`` of a template (none for a text with a lone brace, which is never formatted)."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError:
        return set()


@functools.lru_cache(maxsize=None)
def _patterns(language: str) -> tuple[tuple[str, str, re.Pattern | None, str], ...]:
    """``(english, translation, regex or None, first literal)`` for every entry, longest English first.

    A template's regex matches its English with any text in place of each field (a repeated field
    must repeat its text); a text without fields is compared as it is. The translation of a
    template comes without its format specifications (``{peak:.2f}`` -> ``{peak}``): it is filled
    with the text the English output already shows.
    """
    entries = []
    for english, translation in _CATALOGUES[language].items():
        fields = _fields_of(english)
        if not fields:
            entries.append((english, translation, None, english))
            continue
        parts, seen, first = [], set(), None
        for literal, name, _, _ in string.Formatter().parse(english):
            parts.append(re.escape(literal))
            first = literal if first is None else first
            if name:
                parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.*?)")
                seen.add(name)
        plain = "".join(literal.replace("{", "{{").replace("}", "}}") + (f"{{{name}}}" if name is not None else "")
                        for literal, name, _, _ in string.Formatter().parse(translation))
        entries.append((english, plain, re.compile("".join(parts), re.DOTALL), first or ""))
    return tuple(sorted(entries, key=lambda entry: -len(entry[0])))


def _translate_whole(text: str, language: str) -> tuple[int, str] | None:
    """``text`` in ``language`` when it is a sequence of catalogue entries (a checker's prefix, a
    diagnosis, a hint, ...), each template's fields translated the same way where they can be.

    Returns ``(score, translation)``, the score being how many characters of ``text`` the
    catalogue's own words cover (the split that translates the most wins: ``"layer {layer}"``
    followed by another entry is not read as one long layer name); ``None`` when some part of
    ``text`` is not in the catalogue.
    """
    patterns = _patterns(language)
    memo: dict[int, tuple[int, str] | None] = {}

    def rest(start: int) -> tuple[int, str] | None:  # the best translation of text[start:], or None
        if start == len(text):
            return 0, ""
        if start in memo:
            return memo[start]
        memo[start] = None  # no entry matches an empty text: no loop back to this start
        best: tuple[int, str] | None = None
        for english, translation, regex, first in patterns:
            if not text.startswith(first, start):
                continue
            if regex is None:
                tail = rest(start + len(english))
                if tail is not None and (best is None or len(english) + tail[0] > best[0]):
                    best = (len(english) + tail[0], translation + tail[1])
                continue
            for end in range(len(text), start, -1):
                match = regex.fullmatch(text, start, end)
                if match is None:
                    continue
                tail = rest(end)
                if tail is None:
                    continue
                score, values = end - start, {}
                for name, value in match.groupdict().items():
                    inner = _translate_whole(value, language) if value.strip() else None
                    score -= len(value) - (inner[0] if inner else 0)
                    values[name] = inner[1] if inner else value
                if best is None or score + tail[0] > best[0]:
                    best = (score + tail[0], translation.format(**values) + tail[1])
        memo[start] = best
        return best

    return rest(0)


def translate_text(text: str, language: str = "zh") -> str:
    """A stored output of an exercise cell in ``language``: the checkers' messages translated.

    The Chinese notebooks keep the English notebooks' outputs; their build tool calls this on every
    text output (``text/plain`` and streams) of the cells tagged ``exercise`` or ``check``. Each
    line that is a checker's verdict (it starts with ✅ or ❌, as a :class:`helpers.exercises.Feedback`
    shows) and is made of the catalogues' entries (the verdict, a diagnosis, a hint, an error
    message) becomes that language's text, its values (numbers, shapes, names, Python's own error
    text) kept; any other line (what the notebook's own code prints) is returned unchanged.

    Args:
        text: the English output, e.g. ``"❌ Not yet. Replace `raise NotImplementedError` with your
            code, then run this cell again."``.
        language: ``"zh"`` (the default) or ``"en"`` (which returns ``text`` as it is).

    Returns:
        The translated text, or ``text`` itself where nothing in it is a course message.

    Raises:
        ValueError: an unknown language.
        TypeError: ``text`` is not a string.
    """
    target = _language_of(language)
    if not isinstance(text, str):
        raise TypeError(f"translate_text translates a string (a cell's text output), not a {type(text).__name__}.")
    if target == "en":
        return text
    for module in CATALOGUE_MODULES:  # each registers its catalogue when imported
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise
    lines = text.split("\n")
    for i, line in enumerate(lines):
        body = line.strip()
        if body.startswith(_VERDICTS):
            found = _translate_whole(body, target)
            if found is not None:
                translated = found[1]
                lead = line[:len(line) - len(line.lstrip())]
                trail = line[len(line.rstrip()):]
                lines[i] = lead + translated + trail
    return "\n".join(lines)
