"""RFC 8785 (JSON Canonicalization Scheme) bytes, fast where the standard library gives them.

What an origin signature signs and what the ledger hashes: the same canonical bytes, made here.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

__all__ = ["canonical_json"]

_MAX_EXACT_INT = 2**53 - 1
_TEXT = frozenset({str})


def _json_plain(value: Any) -> bool:
    """No float, no integer beyond IEEE 754's exact range, no key outside the BMP: JSON whose
    sorted, compact `json.dumps` is byte for byte its RFC 8785 form.

    Only containers go on the stack; scalars are looked at where they stand (this runs on every
    envelope signed, checked and hashed)."""
    kind = type(value)
    if kind is not dict and kind is not list:
        return _plain_scalar(value, kind)
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            if not _TEXT.issuperset(map(type, item)):
                return False
            keys = "".join(item)
            if not keys.isascii() and max(keys) > "\uffff":
                return False
            inner = item.values()
        else:
            inner = item
        for element in inner:
            kind = type(element)
            if kind is str or kind is bool or element is None:
                continue
            if kind is dict or kind is list:
                stack.append(element)
            elif kind is not int or not -_MAX_EXACT_INT <= element <= _MAX_EXACT_INT:
                return False
    return True


def _plain_scalar(value: Any, kind: type) -> bool:
    if kind is int:
        return bool(-_MAX_EXACT_INT <= value <= _MAX_EXACT_INT)
    return kind is str or kind is bool or value is None


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value; the standard library's encoder where it gives the same.

    RFC 8785 differs from sorted compact JSON only in number formatting and in sorting keys by
    UTF-16 code units; the `rfc8785` package (ten times slower) handles those values. A value it
    cannot encode raises `rfc8785.CanonicalizationError` (a ValueError), one nested too deeply
    for either encoder included.
    """
    try:
        return _encoded(value)
    except RecursionError:
        # Both encoders recurse: a value nested near the interpreter's limit has no canonical
        # form here. Its depth is measured only now, off the hot path.
        raise rfc8785.CanonicalizationError(
            f"nested too deeply to canonicalise ({_depth(value)} levels)"
        ) from None


def _encoded(value: Any) -> bytes:
    if _json_plain(value):
        try:
            return json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode()
        except UnicodeEncodeError:  # a lone surrogate: let rfc8785 refuse it as it does
            pass
    return rfc8785.dumps(value)


def _depth(value: Any) -> int:
    """How deep objects and arrays nest in `value` (walked without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if type(node) is dict or type(node) is list:
            deepest = max(deepest, level)
            stack.extend(
                (child, level + 1) for child in (node.values() if type(node) is dict else node)
            )
    return deepest
