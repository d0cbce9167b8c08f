"""What a caller may see of the ledger: the one place where read rules apply (SPEC §8).

Routes pass stored entries through `visible_entries`: event types the caller's role may not see
are left out; personal fields are decrypted with the case's key (or shown as erased once the key
is destroyed); fields the role may not see are removed and the entry lists them under `redacted`.
The hashes stay those of the stored form, which auditors (who see everything) can verify.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from shared.events.personal import CaseCipher, reveal_document
from shared.kit.auth import User
from shared.kit.errors import ForbiddenError
from shared.permissions import REDACTED_FIELDS, may_see

__all__ = ["FULL_RECORD_ROLES", "require_full_record", "visible_entries"]

FULL_RECORD_ROLES = frozenset({"auditor", "judge"})
"""Roles that may take the stored bytes of a whole case away (evidence bundles)."""


def visible_entries(
    user: User, entries: Sequence[dict[str, Any]], cipher: CaseCipher | None = None
) -> list[dict[str, Any]]:
    """The entries as `user` may see them."""
    hidden = REDACTED_FIELDS.get(user.role, {})
    out = []
    for entry in entries:
        event = entry["event"]
        if not may_see(user.role, str(event.get("type"))):
            continue
        shown = _revealed(event, cipher) if cipher is not None else dict(event)
        removed = [
            path for path in hidden.get(str(event.get("type")), ()) if _remove(shown["data"], path)
        ]
        out.append({**entry, "event": shown, "redacted": removed})
    return out


def _revealed(event: dict[str, Any], cipher: CaseCipher) -> dict[str, Any]:
    """The envelope with its personal fields decrypted (or marked erased), without the ciphertext."""
    shown = dict(event)
    personal = shown.pop("personaldata", None)
    shown["data"] = copy.deepcopy(event.get("data") or {})
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
        raise ForbiddenError(f"role {user.role!r} may not export a case's full record")
