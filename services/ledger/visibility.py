"""What a caller may see of the ledger: the one place where read rules apply (SPEC §8).

Routes pass stored entries through `visible_entries` (or `timeline_json`, the same rules written
straight to JSON bytes): event types the caller's role may not see are left out, and voidings of
entries of such types (`shared.permissions.may_see_entry`); personal fields are decrypted with the
case's key (or shown as erased once the key is destroyed); fields the role may not see are removed
and the entry lists them under `redacted`. The hashes stay those of the stored form, which
auditors (who see everything) can verify.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from services.ledger.stored import StoredEntry
from shared.events import EVENT_TYPES
from shared.events.personal import CaseCipher, reveal_document
from shared.kit.auth import User
from shared.kit.errors import ForbiddenError
from shared.kit.scope import CaseAccess, Scope, scope_of
from shared.permissions import ALL, REDACTED_FIELDS, VISIBLE_TYPES, is_voiding, may_see_entry

__all__ = [
    "FULL_RECORD_ROLES",
    "PLACEMENT",
    "feed_view",
    "in_scope",
    "require_full_record",
    "timeline_json",
    "unseen_cases",
    "visible_entries",
    "visible_types",
]

FULL_RECORD_ROLES = frozenset({"auditor", "judge"})
"""Roles that may take the stored bytes of a whole case away (evidence bundles)."""


def visible_entries(
    user: User,
    entries: Sequence[dict[str, Any]],
    cipher: CaseCipher | None = None,
    unseen: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """The entries as `user` may see them; `unseen`: cases not to name (`unseen_cases`)."""
    hidden = REDACTED_FIELDS.get(user.role, {})
    out = []
    for entry in entries:
        event = entry["event"]
        if not may_see_entry(user.role, str(event.get("type")), event.get("data")):
            continue
        shown, removed = _shown(event, hidden.get(str(event.get("type")), ()), cipher)
        _unname(shown, unseen)
        out.append({**entry, "event": shown, "redacted": removed})
    return out


PLACEMENT = "caseline.assessment.PlacementDecided.v1"
"""The one type whose payload names other cases (`keep_separate_from`)."""


def unseen_cases(
    scope: Scope, events: Sequence[tuple[str, Any]], access: CaseAccess
) -> frozenset[str]:
    """The cases that the (type, data) of `events` name besides their own and that the scope
    may not see: a placement must not tell who else is held, or that a sealed case exists."""
    named = {
        str(other)
        for type_, data in events
        if type_ == PLACEMENT and isinstance(data, dict)
        for other in data.get("keep_separate_from") or ()
    }
    return frozenset(named - access.visible_set(scope, named)) if named else frozenset()


def _unname(event: dict[str, Any], unseen: frozenset[str]) -> None:
    data = event.get("data")
    if unseen and event.get("type") == PLACEMENT and isinstance(data, dict):
        others = data.get("keep_separate_from") or []
        data["keep_separate_from"] = [c for c in others if str(c) not in unseen]


_OTHER_SUBJECTS = frozenset(m.type_name() for m in EVENT_TYPES if m.subject_name != "case_id")
"""Types whose subject is not a case (the programme catalogue, the instruments)."""


def in_scope(
    scope: Scope, entries: Sequence[dict[str, Any]], access: CaseAccess
) -> list[dict[str, Any]]:
    """The entries about cases the scope may see, and those about no case at all."""
    cases = {
        str(e["event"]["subject"]) for e in entries if e["event"].get("type") not in _OTHER_SUBJECTS
    }
    seen = access.visible_set(scope, cases)
    return [
        e
        for e in entries
        if e["event"].get("type") in _OTHER_SUBJECTS or str(e["event"]["subject"]) in seen
    ]


def feed_view(
    user: User, entries: Sequence[dict[str, Any]], access: CaseAccess, cipher: Any
) -> list[dict[str, Any]]:
    """The entries as `user`'s `GET /events` shows them — and the NATS deliveries of their
    agency: only cases they may see (sealed, or not linked to their agency, facility or
    organisation, are left out), no other case named, the types and fields of their role."""
    scope = scope_of(user)
    mine = in_scope(scope, entries, access)
    named = [(e["event"].get("type"), e["event"].get("data")) for e in mine]
    unseen = unseen_cases(scope, named, access)
    return visible_entries(user, mine, cipher, unseen)


def visible_types(role: str) -> frozenset[str] | None:
    """The event types `role` may see, None for all: lets the store leave the others unread."""
    visible = VISIBLE_TYPES.get(role, frozenset())
    return None if visible == ALL else frozenset(visible)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_DECODER = json.JSONDecoder()
# Only an envelope that has the key can differ from its stored form once revealed; the bytes can
# contain it elsewhere too (a payload's own key), which costs a parse and changes nothing.
_PERSONAL = b'"personaldata":'


def timeline_json(
    user: User,
    case_id: str,
    entries: Sequence[StoredEntry],
    cipher: CaseCipher | None = None,
    unseen: frozenset[str] = frozenset(),
) -> bytes:
    """`{"case_id": …, "entries": visible_entries(…)}` as JSON bytes, built without the dicts.

    An entry the role sees as stored (no personal field to reveal, no field to remove) is written
    around the envelope's stored canonical bytes; in the others only `data` and `personaldata` are
    parsed and written again, by the rules of `_shown`.
    """
    hidden = REDACTED_FIELDS.get(user.role, {})
    parts = [
        _entry_json(entry, hidden.get(entry.type, ()), cipher, unseen)
        for entry in entries
        if may_see_entry(user.role, entry.type, _voiding_data(entry))
    ]
    return b'{"case_id":%s,"entries":[%s]}' % (_ENCODER.encode(case_id).encode(), b",".join(parts))


def _voiding_data(entry: StoredEntry) -> Any:
    """The payload of a voiding (its visibility depends on it), None for any other entry."""
    if not is_voiding(entry.type):
        return None
    stored = entry.event_bytes()
    event = json.loads(stored) if stored is not None else entry.as_dict()["event"]
    return event.get("data")


def _entry_json(
    entry: StoredEntry,
    paths: Sequence[str],
    cipher: CaseCipher | None,
    unseen: frozenset[str] = frozenset(),
) -> bytes:
    head = b'{"ledger_seq":%d,"case_seq":%d,"hash":"%s","prev_hash":"%s","appended_at":"%s"' % (
        entry.ledger_seq,
        entry.case_seq,
        bytes(entry.hash).hex().encode(),
        bytes(entry.prev_hash).hex().encode(),
        entry.appended_at.isoformat().encode(),
    )
    stored = entry.event_bytes()
    unname = bool(unseen) and entry.type == PLACEMENT
    if (
        stored is not None
        and not paths
        and not unname
        and (cipher is None or _PERSONAL not in stored)
    ):
        return head + b',"event":' + stored + b',"redacted":[]}'
    changed = (
        _changed_json(stored, paths, cipher)
        if stored and cipher is not None and not unname
        else None
    )
    if changed is None:
        event = json.loads(stored) if stored is not None else entry.as_dict()["event"]
        shown, removed = _shown(event, paths, cipher, owned=True)
        _unname(shown, unseen)
        changed = _ENCODER.encode(shown).encode(), _ENCODER.encode(removed).encode()
    return head + b',"event":%s,"redacted":%s}' % changed


def _changed_json(
    stored: bytes, paths: Sequence[str], cipher: CaseCipher
) -> tuple[bytes, bytes] | None:
    """`_shown` of a stored envelope as JSON bytes (the envelope, the paths removed), parsing only
    its `data` and `personaldata`; None where the bytes are not laid out as expected.

    The canonical form sorts the envelope's attributes and the ones between these are strings,
    whose quotes are escaped: the first `,"name":` after the attribute before is the attribute.
    """
    text = stored.decode()
    at = text.find(',"data":{')
    if at < 0:
        return None
    data, data_end = _DECODER.raw_decode(text, at + 8)
    # Looked for after `data`, whose nested objects may have an `id` of their own.
    id_at = text.find(',"id":"', data_end)
    if id_at < 0:
        return None
    event_id, id_end = _DECODER.raw_decode(text, id_at + 6)
    personal_at = text.find(',"personaldata":', id_end)
    rest = text[data_end:]
    if personal_at >= 0:
        if text[personal_at + 16] != "{":
            return None
        personal, personal_end = _DECODER.raw_decode(text, personal_at + 16)
        subject_at = text.find(',"subject":"', personal_end)
        if not personal or subject_at < 0:
            return None
        subject, _ = _DECODER.raw_decode(text, subject_at + 11)
        erased = reveal_document(data, personal, str(subject), str(event_id), cipher)
        # As `_revealed` does: the ciphertext goes, the mark comes last.
        mark = "erased" if erased else "revealed"
        rest = f'{text[data_end:personal_at]}{text[personal_end:-1]},"personaldata":"{mark}"}}'
    removed = [path for path in paths if _remove(data, path)]
    shown = text[: at + 8] + _ENCODER.encode(data) + rest
    return shown.encode(), _ENCODER.encode(removed).encode()


def _shown(
    event: dict[str, Any], paths: Sequence[str], cipher: CaseCipher | None, *, owned: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """The envelope as shown (revealed, `paths` removed) and the paths removed; `owned`: the
    envelope was parsed for this answer alone, so it is changed in place rather than copied."""
    shown = _revealed(event, cipher, owned=owned) if cipher is not None else dict(event)
    removed = [path for path in paths if _remove(shown["data"], path)]
    return shown, removed


def _revealed(event: dict[str, Any], cipher: CaseCipher, *, owned: bool = False) -> dict[str, Any]:
    """The envelope with its personal fields decrypted (or marked erased), without the ciphertext."""
    shown = event if owned else dict(event)
    personal = shown.pop("personaldata", None)
    data = event.get("data") or {}
    shown["data"] = data if owned else copy.deepcopy(data)
    if not personal:
        return shown
    erased = reveal_document(
        shown["data"], personal, str(event["subject"]), str(event["id"]), cipher
    )
    shown["personaldata"] = "erased" if erased else "revealed"
    return shown


def _remove(document: dict[str, Any], path: str) -> bool:
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    return False


def require_full_record(user: User) -> None:
    """403 unless the caller may receive a case's complete stored record."""
    if user.role not in FULL_RECORD_ROLES:
        raise ForbiddenError("role {role!r} may not export a case's full record", role=user.role)
