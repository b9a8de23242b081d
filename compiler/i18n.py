"""One ``_()`` for every message a person reads: English, or Simplified Chinese.

The language is Chinese when ``zongheng --lang zh`` says so, or, without
``--lang``, when the locale asks for it (``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``, first one set, e.g. ``zh_CN.UTF-8``). Messages are
looked up when they are made, so the choice holds for every message after it.
Machine formats (JSON, SARIF, JUnit) stay English: the command line switches
to English for them (``cli/common.py``).

The catalog is ``locale/zh_CN/LC_MESSAGES/zongheng.po`` (gettext, managed with
Babel: ``make locale``); its compiled ``.mo`` is committed next to it so a
clean clone speaks Chinese without a build step. A message missing from it is
shown in English, and ``tests/project/test_i18n.py`` fails on it.
"""

from __future__ import annotations

import contextlib
import gettext
import os
from collections.abc import Iterator
from pathlib import Path

DOMAIN = "zongheng"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("en", "zh")

_state: dict[str, gettext.NullTranslations | None] = {"tr": None}


def language_from_environment(env: dict[str, str] | None = None) -> str:
    """``zh`` when the first locale variable that is set names Chinese, else ``en``."""
    env = dict(os.environ) if env is None else env
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def translations(language: str) -> gettext.NullTranslations:
    """The catalog of ``language`` (``en``: none, every message as written)."""
    if language == "zh":
        return gettext.translation(DOMAIN, LOCALE_DIR, languages=["zh_CN"], fallback=True)
    return gettext.NullTranslations()


def set_language(language: str | None) -> None:
    """``en`` or ``zh``; None: from the environment."""
    lang = language_from_environment() if language is None else language
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    _state["tr"] = translations(lang)


@contextlib.contextmanager
def english() -> Iterator[None]:
    """English inside the block (for code that reads a message it made), then as before."""
    before = current()
    _state["tr"] = gettext.NullTranslations()
    try:
        yield
    finally:
        _state["tr"] = before


def current() -> gettext.NullTranslations:
    tr = _state["tr"]
    if tr is None:
        set_language(None)
        tr = _state["tr"]
    assert tr is not None
    return tr


def language() -> str:
    """``zh`` when Chinese is in force, else ``en``."""
    return "zh" if isinstance(current(), gettext.GNUTranslations) else "en"


def _(message: str) -> str:
    """``message`` in the current language (as written when the catalog lacks it)."""
    return current().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return current().ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark, translate later"
    """Marks a message for the catalog where it is defined, translated where shown."""
    return message
