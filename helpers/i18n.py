"""The language of the course's messages: English (the default) or Chinese (中文).

The English text of a message is its key: code writes ``localized("No file was uploaded.")``, and
each module that shows words to students (the exercise checkers, the explorers) registers its
Chinese catalogue with :func:`add_translations`. A Chinese notebook's first cell calls
``helpers.set_language("zh")``; from then on the checkers' feedback and hints and the explorers'
labels are Chinese. A message with no translation stays English (the tests list every one).

Taught in: every notebook of the Chinese edition (``notebooks/zh/``).
"""

from __future__ import annotations

from typing import Mapping

__all__ = ["LANGUAGES", "set_language", "get_language", "localized", "add_translations"]

LANGUAGES: tuple[str, ...] = ("en", "zh")
_ALIASES = {"en": "en", "english": "en", "zh": "zh", "zh-cn": "zh", "zh_cn": "zh", "chinese": "zh", "中文": "zh"}
_language = "en"
_CATALOGUES: dict[str, dict[str, str]] = {"zh": {}}


def set_language(language: str) -> None:
    """Show the checkers' feedback and the explorers' labels in ``language``.

    Args:
        language: ``"en"`` (English, the default) or ``"zh"`` (Chinese; ``"zh-CN"``, ``"中文"``
            are accepted too).

    Raises:
        ValueError: another language; the message lists the ones the course has.
    """
    global _language
    key = str(language).strip().lower() if isinstance(language, str) else None
    if key not in _ALIASES:
        raise ValueError(f"The course speaks {' and '.join(repr(x) for x in LANGUAGES)}, not {language!r}: "
                         f"call set_language('en') or set_language('zh').")
    _language = _ALIASES[key]


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
        ValueError: an unknown language, or a translation whose ``{fields}`` differ from its English.
    """
    import string

    if language not in _CATALOGUES:
        raise ValueError(f"No catalogue for {language!r}: the languages are {', '.join(_CATALOGUES)}.")

    def fields_of(template: str) -> set[str]:
        try:
            return {name for _, name, _, _ in string.Formatter().parse(template) if name}
        except ValueError:  # a lone brace: a text that is never formatted
            return set()

    for english, translation in catalogue.items():
        if fields_of(english) != fields_of(translation):
            raise ValueError(f"The translation of {english!r} must keep the fields {sorted(fields_of(english))}, "
                             f"it has {sorted(fields_of(translation))}.")
    _CATALOGUES[language].update(catalogue)
