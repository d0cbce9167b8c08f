"""What a role may see of a service's own view of a case: the ledger's table, applied to views.

A service's view is built from catalogue events; each service declares, for every top-level key
of its view, the event type the key is made from (`Source`), and `redact_view` leaves out what
the caller's role may not see by `shared.permissions` (`VISIBLE_TYPES`, `REDACTED_FIELDS`): a
key whose type is hidden is removed, and the payload fields hidden for the role are removed
inside it. A key no `Source` declares is left out (fail closed), and a test checks that every
key of every view is declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.permissions import REDACTED_FIELDS, may_see

__all__ = ["ALWAYS", "Entries", "Source", "ViewSources", "redact_view", "undeclared_keys"]


@dataclass(frozen=True)
class Source:
    """A view key made from the payloads of `type`: the key's value is the payload's subtree at
    `within` ("" for the payload itself; a list holds one such value per item). `parts` names
    keys inside it (in each item) made from other types, e.g. a hearing's outcome."""

    type: str
    within: str = ""
    parts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Entries:
    """A list of a service's entries, each naming its event `type` (`EventName` or full type)."""

    service: str


ALWAYS = None
"""A view key every reader of the view may see (the case's id, its version, its stage)."""

ViewSources = Mapping[str, Source | Entries | None]


def redact_view(view: Mapping[str, Any], role: str, sources: ViewSources) -> dict[str, Any]:
    """The view as `role` may see it."""
    hidden = REDACTED_FIELDS.get(role, {})
    out: dict[str, Any] = {}
    for key, value in view.items():
        if key not in sources:
            continue
        source = sources[key]
        if source is None:
            out[key] = value
        elif isinstance(source, Entries):
            out[key] = [e for e in value if may_see(role, _full(source.service, e))]
        elif may_see(role, source.type):
            shown = _without(value, _paths(hidden.get(source.type, ()), source.within))
            if shown is not _GONE:
                out[key] = _parts(shown, role, source.parts)
    return out


def undeclared_keys(view: Mapping[str, Any], sources: ViewSources) -> set[str]:
    """The keys of a view that no source declares (a test keeps this empty)."""
    return set(view) - set(sources)


_GONE = object()


def _full(service: str, entry: Mapping[str, Any]) -> str:
    name = str(entry.get("type", ""))
    return name if name.startswith("caseline.") else f"caseline.{service}.{name}.v1"


def _paths(hidden: tuple[str, ...], within: str) -> list[str] | object:
    """The hidden payload paths, relative to `within`; `_GONE` when `within` itself is hidden."""
    out: list[str] = []
    for path in hidden:
        if not within:
            out.append(path)
        elif path == within or within.startswith(path + "."):
            return _GONE
        elif path.startswith(within + "."):
            out.append(path[len(within) + 1 :])
    return out


def _without(value: Any, paths: list[str] | object) -> Any:
    if paths is _GONE:
        return _GONE
    if not isinstance(paths, list):
        raise TypeError(f"redaction paths must be a list, not {type(paths).__name__}")
    if not paths or value is None:
        return value
    if isinstance(value, list):
        return [_without(item, paths) for item in value]
    if isinstance(value, dict):
        copy = dict(value)
        for path in paths:
            _remove(copy, path.split("."))
        return copy
    return value


def _remove(node: dict[str, Any], parts: list[str]) -> None:
    head, *rest = parts
    if head not in node:
        return
    if not rest:
        del node[head]
    elif isinstance(node[head], dict):
        node[head] = dict(node[head])
        _remove(node[head], rest)


def _parts(value: Any, role: str, parts: Mapping[str, str]) -> Any:
    if not parts or value is None:
        return value
    if isinstance(value, list):
        return [_parts(item, role, parts) for item in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in parts or may_see(role, parts[k])}
    return value
