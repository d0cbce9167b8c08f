"""The console's message catalogues: every message in French and Arabic, every key used exists."""

from __future__ import annotations

import json
import re

import pytest

from services.ledger.console_api import CONSOLE_FILES, LANGUAGES

SOURCE = "en"
"""The catalogue messages are written in first; the others translate it."""


def catalogue(lang: str) -> dict[str, str]:
    return json.loads((CONSOLE_FILES / "messages" / f"{lang}.json").read_text(encoding="utf-8"))


def used_keys() -> set[str]:
    """The message keys the pages and scripts name."""
    keys: set[str] = set()
    for path in CONSOLE_FILES.iterdir():
        if path.suffix not in (".js", ".html"):
            continue
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r'data-i18n="([a-z_.]+)"', text))
        keys |= set(re.findall(r'\b(?:t|withIds)\(\s*"([a-z_]+\.[a-z_.]+)"', text))
    return keys


def verifier_failures() -> set[str]:
    text = (CONSOLE_FILES / "verify.js").read_text(encoding="utf-8")
    return {f"fail.{code}" for code in re.findall(r'new Failure\("([a-z_0-9]+)"', text)}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != SOURCE])
def test_every_console_message_is_translated(lang):
    source, translated = catalogue(SOURCE), catalogue(lang)

    missing = sorted(k for k in source if not translated.get(k, "").strip())
    stray = sorted(set(translated) - set(source))

    assert not missing, f"{lang}.json lacks {missing}"
    assert not stray, f"{lang}.json has keys the {SOURCE} catalogue has not: {stray}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_translation_keeps_the_placeholders(lang):
    source, translated = catalogue(SOURCE), catalogue(lang)

    def names(text: str) -> set[str]:
        return set(re.findall(r"\{(\w+)\}", text))

    differ = [k for k in source if names(source[k]) != names(translated.get(k, ""))]

    assert not differ, f"{lang}.json changes the placeholders of {differ}"


def test_every_message_the_console_uses_is_in_the_catalogue():
    used = used_keys() | verifier_failures()

    missing = sorted(used - set(catalogue(SOURCE)))

    assert used
    assert not missing, f"messages used but not in {SOURCE}.json: {missing}"


def test_no_arabic_message_is_left_in_latin_script():
    arabic = catalogue("ar")
    source = catalogue(SOURCE)

    untranslated = [k for k, text in arabic.items() if text == source[k]]

    assert not untranslated, f"ar.json copies English for {untranslated}"
