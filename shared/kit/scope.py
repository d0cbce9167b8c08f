"""Which cases a caller may see (SPEC §8): one decision for every path.

`scope_of(user)` turns a caller into a `Scope` by the table in `shared.permissions`; `CaseAccess`
answers for one case (`visible`) and gives lists their SQL condition (`condition`), from the rows
each service keeps of who is linked to a case (`shared.kit.access_facts`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from shared.kit.errors import CaselineError, ForbiddenError, NotFoundError
from shared.permissions import ARRIVAL_TYPES, CASE_SCOPE, COMMAND_LINKS, SEALED_CASE_READERS

__all__ = [
    "ID_PATTERN",
    "CaseAccess",
    "InvalidIdError",
    "Scope",
    "canonical_id",
    "condition",
    "facility_key",
    "former_condition",
    "require_own_facility",
    "scope_of",
]


def facility_key(name: str) -> str:
    """A facility's name as compared: NFKC, case folded, white space collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


# --- the caller's scope ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What cases a caller may see: all of them but sealed ones (`all`; sealed ones too when
    `sees_sealed`), those linked to one of `principals` (`linked`), or those whose person is held
    now at the caller's facility (`facility`)."""

    role: str
    kind: str
    agency: str = ""
    principals: tuple[str, ...] = ()
    sees_sealed: bool = False

    @property
    def unscoped(self) -> bool:
        return self.kind == "all"

    def command_principals(self, event_type: str | None) -> tuple[str, ...]:
        """The principals that let the caller record `event_type` on a case (a pending
        referral lets the organisation answer it, nothing more)."""
        extra = COMMAND_LINKS.get(event_type or "", ())
        return self.principals + tuple(f"{link}:{self.agency}" for link in extra)


def scope_of(user: Any) -> Scope:
    """The scope of an authenticated caller (`User`), by `shared.permissions.CASE_SCOPE`."""
    kind = CASE_SCOPE.get(user.role, "all")
    sees_sealed = user.role in SEALED_CASE_READERS
    if kind == "facility":
        facility = getattr(user, "facility", None)
        # A prison officer's token names the facility; without it, no detainee is theirs.
        principals = (f"facility:{facility_key(facility)}",) if facility else ()
        return Scope(user.role, kind, user.agency, principals, sees_sealed)
    if kind in ("agency", "org"):
        return Scope(user.role, "linked", user.agency, (f"{kind}:{user.agency}",), sees_sealed)
    return Scope(user.role, "all", user.agency, (), sees_sealed)


class InvalidIdError(CaselineError):
    """An id in a path or query that is not an id: a 422 naming the parameter."""

    status = 422
    title = "Invalid fields"
    slug = "invalid-fields"

    def __init__(self, name: str) -> None:
        super().__init__("invalid fields: {name}", name=name)
        self.name = name


_HEX_ID = "[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}"
# `(?!\n)`: in Python's regular expressions, and so for Python generators, `$` also matches
# before a final line feed.
ID_PATTERN = rf"^(?:(?:urn:uuid:)?{_HEX_ID}|\{{{_HEX_ID}\}})(?!\n)$"
"""The spellings of a UUID that `canonical_id` reads, as a JSON Schema `pattern`: hyphenated or
not, in capitals or not, with `urn:uuid:` before it or in braces."""

_ID = re.compile(ID_PATTERN)


def canonical_id(value: str, name: str = "case_id") -> str:
    """The canonical spelling of a UUID (lowercase, hyphenated), from any spelling `ID_PATTERN`
    states (capitals, no hyphens, braces, `urn:uuid:`); 422 for anything else."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidIdError(name)
    return str(UUID(value))


# --- the one decision ------------------------------------------------------------------------


Fetch = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


class CaseAccess:
    """Answers, from one service's access tables, whether a scope may see (or act on) a case."""

    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch

    def visible(self, scope: Scope, case_id: str, *, command: str | None = None) -> bool:
        """Whether the scope may see the case; with `command` (an event type), record it."""
        if scope.unscoped and scope.sees_sealed:
            return True
        where, params = condition(scope, "c.id", command=command)
        rows = self.fetch(
            f"SELECT 1 FROM (SELECT %s::text AS id) c WHERE {where}", (case_id, *params)
        )
        return bool(rows)

    def visible_set(self, scope: Scope, case_ids: Iterable[str]) -> set[str]:
        wanted = sorted({str(c) for c in case_ids})
        if not wanted or (scope.unscoped and scope.sees_sealed):
            return set(wanted)
        where, params = condition(scope, "c.id")
        rows = self.fetch(
            f"SELECT c.id FROM unnest(%s::text[]) AS c(id) WHERE {where}", (wanted, *params)
        )
        return {str(r[0]) for r in rows}

    def require(self, scope: Scope, case_id: str, *, command: str | None = None) -> None:
        """404, as for a case that does not exist, unless the scope may see (or act on) it."""
        if not self.visible(scope, case_id, command=command):
            raise NotFoundError("no case {case_id}", case_id=case_id)


def condition(scope: Scope, column: str, *, command: str | None = None) -> tuple[str, list[Any]]:
    """SQL (with `{schema}`) true where `column` is a case the scope may see — or, with
    `command` (an event type), act on — and its parameters, for a list's WHERE clause."""
    parts: list[str] = []
    params: list[Any] = []
    if not scope.sees_sealed:
        parts.append(
            "NOT EXISTS (SELECT 1 FROM {schema}.sealed_cases s"
            f" WHERE s.case_id = ({column})::text)"
        )
    if scope.kind == "linked":
        parts.append(
            "EXISTS (SELECT 1 FROM {schema}.case_access a WHERE a.case_id = "
            f"({column})::text AND a.kind = 'link' AND a.principal = ANY(%s))"
        )
        params.append(list(scope.command_principals(command) if command else scope.principals))
    elif scope.kind == "facility":
        here = list(scope.principals)
        if command in ARRIVAL_TYPES:
            # Admitting a person no facility holds yet (or already held here) is how a prison
            # comes to hold them; one held elsewhere must be transferred first.
            here.append("none")
        parts.append(
            "COALESCE((SELECT a.principal FROM {schema}.case_access a WHERE a.case_id = "
            f"({column})::text AND a.kind = 'stay' ORDER BY a.ord DESC LIMIT 1), 'none')"
            " = ANY(%s)"
        )
        params.append(here)
    return " AND ".join(parts) or "TRUE", params


def former_condition(scope: Scope, column: str) -> tuple[str, list[Any]]:
    """SQL true where `column` is a case whose person the scope's facility held before (a
    transfer out or a release): the facility keeps a history entry of them, nothing more."""
    if scope.kind != "facility" or not scope.principals:
        return "FALSE", []
    sealed = (
        ""
        if scope.sees_sealed
        else " AND NOT EXISTS (SELECT 1 FROM {schema}.sealed_cases s"
        f" WHERE s.case_id = ({column})::text)"
    )
    return (
        "EXISTS (SELECT 1 FROM {schema}.case_access a WHERE a.case_id = "
        f"({column})::text AND a.kind = 'former' AND a.principal = ANY(%s)){sealed}",
        [list(scope.principals)],
    )


def require_own_facility(user: Any, facility: str) -> None:
    """403 unless a facility-scoped caller (prison staff) records for the facility of their
    token: a prison admits into itself, never into another prison."""
    if CASE_SCOPE.get(user.role) != "facility":
        return
    own = getattr(user, "facility", None)
    if not own or facility_key(own) != facility_key(facility):
        if not own:
            raise ForbiddenError("your token is for no facility, not {facility}", facility=facility)
        raise ForbiddenError("your token is for {own}, not {facility}", own=own, facility=facility)
