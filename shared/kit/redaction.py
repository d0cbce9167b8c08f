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

from shared.kit.errors import ForbiddenError
from shared.permissions import REDACTED_FIELDS, is_voiding, may_see, may_see_entry

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
    """A list of a service's entries, each naming its event `type` (`EventName` or full type) and
    `event_id`; a voided one names its voiding in `voided_by` (or only says `voided`)."""

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
            out[key] = _entries(value, role, source.service)
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


def _entries(items: list[Mapping[str, Any]], role: str, service: str) -> list[Mapping[str, Any]]:
    """The entries `role` may see (`may_see_entry`): a voiding is judged by the type of the entry
    whose `voided_by` names it; where none names it (a list that says only `voided`), by every
    voided entry no voiding is named for, so that it is shown only if all of them could be."""
    linked = {str(e["voided_by"]): _full(service, e) for e in items if e.get("voided_by")}
    unlinked = {_full(service, e) for e in items if e.get("voided") and not e.get("voided_by")}

    def voided(item: Mapping[str, Any]) -> set[str | None]:
        named = linked.get(str(item.get("event_id")))
        return {named} if named is not None else set(unlinked) or {None}

    return [
        item
        for item in items
        if all(
            may_see_entry(role, _full(service, item), {"voided_event_type": kind})
            for kind in (voided(item) if is_voiding(_full(service, item)) else {None})
        )
    ]


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


# --- lists: the same table, item by item, and the filters that choose the items ----------------
# A list's item is a small view: each list declares its items' sources as a view does (a key
# hidden from the role, or no source declares, is left out: the item models make such keys
# optional and the routes answer without unset keys). A filter selects by what it names: a role
# may filter only by what it may see, or the items a filter keeps would tell what it hides.


def redact_items(
    items: list[dict[str, Any]], role: str, sources: ViewSources
) -> list[dict[str, Any]]:
    """Each item of a list as `role` may see it, as `redact_view` shows a view."""
    return [redact_view(item, role, sources) for item in items]


def sees_key(role: str, sources: ViewSources, key: str) -> bool:
    """Whether `role` sees `key` whole by `sources`: declared, of a type it may see, and not a
    field the table removes for it; never a list of entries (`Entries`), filtered per role."""
    source = sources.get(key, _GONE)
    if source is None:
        return True
    if not isinstance(source, Source) or not may_see(role, source.type):
        return False
    return _paths(REDACTED_FIELDS.get(role, {}).get(source.type, ()), source.within) is not _GONE


def require_filters(role: str, sources: ViewSources, **given: object) -> None:
    """403 unless `role` sees what each filter given (not None) selects by: `sources` names, for
    each filter of a list, the source it selects by (`sees_key`; an undeclared filter is refused)."""
    for name, value in given.items():
        if value is not None and not sees_key(role, sources, name):
            raise ForbiddenError("role {role!r} may not filter by {field}", role=role, field=name)


__all__ += ["redact_items", "require_filters", "sees_key"]
