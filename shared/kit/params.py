"""Path and query texts as every service declares them: what the read guard refuses, stated."""

from __future__ import annotations

from typing import Any

from fastapi import Query

__all__ = ["QUERY_TEXT_PATTERN", "has_control", "query_text"]

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
