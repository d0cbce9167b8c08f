"""Every message a person reads, in French, Arabic and English.

The English text written in the code is the message's key (the gettext `msgid`); problem details
add the problem's stable type (its rule or slug) as the `msgctxt`. The French and Arabic texts are
in `shared/locale/{fr,ar}/LC_MESSAGES/caseline.po`, read at first use with Babel (no compile step:
a fresh checkout works as is). Variable parts are named placeholders (`{case_id}`), filled after
translation, so a translation moves them where its grammar wants them.

- `translate(msgid, language, context=..., **params)`: one message in one language.
- `negotiate(accept_language, default)`: the language of an HTTP answer (RFC 9110 §12.5.4).
- `current_language()` / `use_language()`: the language of the request or command under way.
- `N_(msgid, context)`: marks a message for extraction where it is defined and translated later.

Adding a message is writing it in English (as a literal, with named placeholders), then
`make translations` and filling its French and Arabic in the two `.po` files; the test of the
catalogues names each message that lacks one.
"""

from __future__ import annotations

import contextvars
import functools
import os
import re
import string
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Final

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "catalogue",
    "cli_language",
    "current_language",
    "language_of",
    "negotiate",
    "placeholders",
    "set_language",
    "translate",
    "use_language",
]

LANGUAGES: Final = ("en", "fr", "ar")
# An API client that sends no Accept-Language gets English: a stable answer for the programs of
# the agencies (people read through the console or a browser, which always send the header).
DEFAULT_LANGUAGE: Final = "en"
LOCALE_DIR: Final = Path(__file__).resolve().parent.parent / "locale"
DOMAIN: Final = "caseline"

_language: contextvars.ContextVar[str] = contextvars.ContextVar(
    "caseline_language", default=DEFAULT_LANGUAGE
)


def N_(msgid: str, context: str | None = None) -> str:  # noqa: N802 - the gettext convention
    """`msgid` unchanged: marks it for extraction where it is translated later."""
    return msgid


@functools.cache
def catalogue(language: str) -> Mapping[tuple[str | None, str], str]:
    """The translations of `language`: (context, English) → translation; empty for English."""
    if language == "en":
        return {}
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        parsed = read_po(f, locale=language, domain=DOMAIN)
    out: dict[tuple[str | None, str], str] = {}
    for message in parsed:
        translated = isinstance(message.string, str) and message.string and not message.fuzzy
        if message.id and isinstance(message.id, str) and translated:
            out[(message.context, message.id)] = str(message.string)
    return out


def translate(
    msgid: str, language: str | None = None, /, *, context: str | None = None, **params: object
) -> str:
    """`msgid` in `language` (the current one by default), its placeholders filled from `params`
    (any name but `context`).

    A message without a translation stays English; a translation whose placeholders do not match
    the English (the catalogue test forbids it) falls back to the English too."""
    lang = language or _language.get()
    text = catalogue(lang).get((context, msgid), msgid)
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return msgid.format(**params)


def placeholders(text: str) -> set[str]:
    """The placeholders of a message: named ones with their conversion and format (`{role!r}`),
    and argparse's printf-style ones (`%(prog)s`, `%s`)."""
    out = set(re.findall(r"%(?:\(\w+\))?[sdr]", text))
    try:
        for _, name, spec, conversion in string.Formatter().parse(text):
            if name is not None:
                out.add(
                    f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
                )
    except ValueError:
        out.add("<malformed>")
    return out


def negotiate(header: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The best of Caseline's languages for an `Accept-Language` header; `default` when it names
    none of them (or is absent, or only `*`)."""
    if not header:
        return default
    ranked: list[tuple[float, int, str]] = []
    for i, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if q <= 0 or not primary:
            continue
        if primary == "*":
            ranked.append((q, i, default))
        elif primary in LANGUAGES:
            ranked.append((q, i, primary))
    if not ranked:
        return default
    ranked.sort(key=lambda r: (-r[0], r[1]))
    return ranked[0][2]


def language_of(value: str | None) -> str | None:
    """One of Caseline's languages for a tag or a POSIX locale (`fr_ML.UTF-8` → `fr`), else None."""
    if not value:
        return None
    primary = value.strip().lower().replace("_", "-").split(".")[0].split("-")[0]
    return primary if primary in LANGUAGES else None


def cli_language(flag: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The CLI's language: `--lang`, else `CASELINE_LANG`, else the locale (`LC_ALL`,
    `LC_MESSAGES`, `LANG`), else English."""
    env = os.environ if environ is None else environ
    for value in (flag, env.get("CASELINE_LANG"), env.get("LC_ALL"), env.get("LC_MESSAGES")):
        if found := language_of(value):
            return found
    return language_of(env.get("LANG")) or "en"


def current_language() -> str:
    return _language.get()


def set_language(language: str) -> None:
    """The language of what follows in this context (a request, a CLI command)."""
    _language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


@contextmanager
def use_language(language: str) -> Iterator[None]:
    token = _language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _language.reset(token)
