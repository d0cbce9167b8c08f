"""Path and query texts as every service declares them: what the read guard refuses, stated."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Query
from pydantic import AwareDatetime, BeforeValidator

__all__ = ["QUERY_TEXT_PATTERN", "InstantQuery", "has_control", "query_text", "rfc3339_text"]

# `(?!\n)` before `$`: in Python's regular expressions (and so for Python clients and generators)
# `$` also matches before a final line feed, which is refused like any control character.
QUERY_TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*(?!\n)$"
"""The JSON Schema `pattern` of a text in a path or query: no control character at all, as
`shared.kit.access.refuse_control_characters` refuses (400) before any route sees the value."""


def has_control(text: str) -> bool:
    """Whether `text` holds a C0 control character or DEL."""
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def query_text(max_length: int) -> Any:
    """A text query parameter of at most `max_length` characters, its refusals declared."""
    return Query(max_length=max_length, json_schema_extra={"pattern": QUERY_TEXT_PATTERN})


_DATE_TIME_START = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]")


def rfc3339_text(value: Any) -> Any:
    """`value`, unless it is a text that does not start as an RFC 3339 date-time does."""
    # pydantic would read `0.5` or `1700000000` as seconds since 1970; the schema's `date-time`
    # is RFC 3339, so a number is refused rather than guessed at (as `Instant` in bodies does).
    if isinstance(value, str) and not _DATE_TIME_START.match(value):
        raise ValueError("a time must be an RFC 3339 date-time with a timezone offset")
    return value


InstantQuery = Annotated[AwareDatetime | None, BeforeValidator(rfc3339_text), Query()]
"""An optional time in a query: an RFC 3339 date-time with an offset, never a number."""
