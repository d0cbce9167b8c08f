"""RFC 8785 (JSON Canonicalization Scheme) bytes, fast where the standard library gives them.

What an origin signature signs and what the ledger hashes: the same canonical bytes, made here.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

__all__ = ["canonical_json"]

_MAX_EXACT_INT = 2**53 - 1


def _json_plain(value: Any) -> bool:
    """No float, no integer beyond IEEE 754's exact range, no key outside the BMP: JSON whose
    sorted, compact `json.dumps` is byte for byte its RFC 8785 form."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for key, inner in item.items():
                if type(key) is not str or (not key.isascii() and max(key) > "\uffff"):
                    return False
                stack.append(inner)
        elif kind is list:
            stack.extend(item)
        elif kind is int:
            if not -_MAX_EXACT_INT <= item <= _MAX_EXACT_INT:
                return False
        elif kind not in (str, bool, type(None)):
            return False
    return True


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value; the standard library's encoder where it gives the same.

    RFC 8785 differs from sorted compact JSON only in number formatting and in sorting keys by
    UTF-16 code units; the `rfc8785` package (ten times slower) handles those values.
    """
    if _json_plain(value):
        try:
            return json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode()
        except UnicodeEncodeError:  # a lone surrogate: let rfc8785 refuse it as it does
            pass
    return rfc8785.dumps(value)
