"""What a caller may see of the ledger: the one place where read rules apply (SPEC §8).

Routes pass stored entries through `visible_entries`; field-level rules belong there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.kit.auth import User
from shared.kit.errors import ForbiddenError

__all__ = ["FULL_RECORD_ROLES", "require_full_record", "visible_entries"]

FULL_RECORD_ROLES = frozenset({"auditor", "judge"})
"""Roles that may take the stored bytes of a whole case away (evidence bundles)."""


def visible_entries(user: User, entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries as `user` may see them (today: all of each entry to every authenticated role)."""
    return list(entries)


def require_full_record(user: User) -> None:
    """403 unless the caller may receive a case's complete stored record."""
    if user.role not in FULL_RECORD_ROLES:
        raise ForbiddenError(f"role {user.role!r} may not export a case's full record")
