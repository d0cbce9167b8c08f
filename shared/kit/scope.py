"""Which cases a caller may see (SPEC §8): facts kept from events, one decision for every path.

Every service, the ledger included, keeps two tables in its own schema: `case_access`, rows that
link a case to a principal, and `sealed_cases`. The rows come from the catalogue events that
create those links — the agency whose officers recorded intake's entries (police), the facility
that holds the person (prison staff), the organisation a person was referred to and accepted by,
or enrolled with (civil society, religious counsellors) — and a voiding takes them away again.
A service writes the rows of its own events in the command's transaction (`CaseAccessView`) and
learns the others' from the bus (`access_reactions`), so its reads never wait for itself. Every
fold is idempotent: an event applied twice, or after its voiding, changes nothing.

`scope_of(user)` turns a caller into a `Scope` by the table in `shared.permissions`; `CaseAccess`
answers for one case (`visible`) and gives lists their SQL condition (`condition`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

from shared.kit.errors import CaselineError, ForbiddenError, NotFoundError
from shared.kit.recorder import Meta, Op, View
from shared.permissions import ARRIVAL_TYPES, CASE_SCOPE, COMMAND_LINKS, SEALED_CASE_READERS

__all__ = [
    "ACCESS_TABLES",
    "ACCESS_TYPES",
    "CREATE_STATEMENTS",
    "CaseAccess",
    "CaseAccessView",
    "InvalidIdError",
    "Scope",
    "access_ops",
    "access_reactions",
    "canonical_id",
    "condition",
    "facility_key",
    "former_condition",
    "require_own_facility",
    "scope_of",
]

CREATE_STATEMENTS: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS {schema}.case_access ("
    " ord bigserial, case_id text NOT NULL, principal text NOT NULL, kind text NOT NULL,"
    " event_id uuid NOT NULL, PRIMARY KEY (case_id, principal, kind, event_id))",
    "CREATE INDEX IF NOT EXISTS case_access_principal ON {schema}.case_access (principal, case_id)",
    "CREATE INDEX IF NOT EXISTS case_access_event ON {schema}.case_access (event_id)",
    "CREATE TABLE IF NOT EXISTS {schema}.access_voided (event_id uuid PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS {schema}.programme_providers ("
    " programme_id text PRIMARY KEY, agency text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {schema}.sealed_cases ("
    " case_id text PRIMARY KEY, sealed_at timestamptz NOT NULL, event_id uuid NOT NULL)",
)
"""The tables, made with the service's other tables (and by the ledger with its own)."""

ACCESS_TABLES = ("case_access", "access_voided", "programme_providers", "sealed_cases")


def _t(service: str, name: str) -> str:
    return f"caseline.{service}.{name}.v1"


_POLICE_LINKS = frozenset(
    _t("intake", n)
    for n in ("ArrestRecorded", "CustodyStarted", "CustodyExtended", "EvidenceLogged")
)
_ADMITTED = _t("intake", "DetaineeAdmitted")
_TRANSFERRED = _t("intake", "DetaineeTransferred")
_RELEASED = _t("intake", "DetaineeReleased")
_SEALED = _t("judicial", "CaseSealed")
_PROGRAMME = _t("programmes", "ProgrammeCreated")
_REFERRED = _t("programmes", "ReferralMade")
_ACCEPTED = _t("programmes", "ReferralAccepted")
_ENROLLED = _t("programmes", "ParticipantEnrolled")
_VOIDED = frozenset(
    _t(s, "EntryVoided") for s in ("intake", "judicial", "assessment", "programmes")
)

ACCESS_TYPES: frozenset[str] = (
    _POLICE_LINKS
    | {_ADMITTED, _TRANSFERRED, _RELEASED, _SEALED, _PROGRAMME, _REFERRED, _ACCEPTED, _ENROLLED}
    | _VOIDED
)
"""The catalogue types that change who may see a case."""


def facility_key(name: str) -> str:
    """A facility's name as compared: NFKC, case folded, white space collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _not_voided(event_id: str) -> str:
    return f"NOT EXISTS (SELECT 1 FROM {{schema}}.access_voided v WHERE v.event_id = '{event_id}')"


def _row(case_id: str, principal: str, kind: str, event_id: str) -> Op:
    return (
        "INSERT INTO {schema}.case_access (case_id, principal, kind, event_id)"
        f" SELECT %s, %s, %s, %s WHERE {_not_voided(event_id)} ON CONFLICT DO NOTHING",
        (case_id, principal, kind, event_id),
    )


def _stay_after_admission(case_id: str, principal: str, event_id: str) -> Op:
    return (
        "INSERT INTO {schema}.case_access (case_id, principal, kind, event_id)"
        " SELECT %s, %s, 'stay', %s WHERE EXISTS (SELECT 1 FROM {schema}.case_access a"
        " WHERE a.case_id = %s AND a.kind = 'stay' AND a.event_id <> %s)"
        f" AND {_not_voided(event_id)} ON CONFLICT DO NOTHING",
        (case_id, principal, event_id, case_id, event_id),
    )


def _former(case_id: str, event_id: str) -> Op:
    """The facility the person leaves (the latest stay) becomes a former one."""
    return (
        "INSERT INTO {schema}.case_access (case_id, principal, kind, event_id)"
        " SELECT a.case_id, a.principal, 'former', %s FROM {schema}.case_access a"
        " WHERE a.case_id = %s AND a.kind = 'stay' AND a.event_id <> %s"
        f" AND {_not_voided(event_id)} ORDER BY a.ord DESC LIMIT 1 ON CONFLICT DO NOTHING",
        (event_id, case_id, event_id),
    )


def access_ops(
    type_name: str, subject: str, event_id: UUID | str, agency: str, data: Any
) -> list[Op]:
    """The SQL that one catalogue event makes to the access tables (none for most types)."""
    if type_name not in ACCESS_TYPES:
        return []
    eid, case = str(UUID(str(event_id))), str(subject)
    if type_name in _POLICE_LINKS:
        return [_row(case, f"agency:{agency}", "link", eid)]
    if type_name == _ADMITTED:
        return [_row(case, f"facility:{facility_key(data.facility)}", "stay", eid)]
    if type_name == _TRANSFERRED:
        # A prison's stay begins with the admission; moves in police custody before it are
        # not stays (the prison admits a person from wherever the police bring them).
        return [
            _row(case, f"agency:{agency}", "link", eid),
            _former(case, eid),
            _stay_after_admission(case, f"facility:{facility_key(data.to_facility)}", eid),
        ]
    if type_name == _RELEASED:
        return [_former(case, eid), _row(case, "released", "stay", eid)]
    if type_name == _SEALED:
        return [
            _row(case, "sealed", "seal", eid),
            (
                "INSERT INTO {schema}.sealed_cases (case_id, sealed_at, event_id)"
                f" SELECT %s, now(), %s WHERE {_not_voided(eid)} ON CONFLICT (case_id) DO NOTHING",
                (case, eid),
            ),
        ]
    if type_name == _PROGRAMME:
        return [
            (
                "INSERT INTO {schema}.programme_providers (programme_id, agency) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                (case, data.provider_agency),
            )
        ]
    if type_name == _REFERRED:
        return [_row(case, f"referred:{data.to_agency}", "link", eid)]
    if type_name == _ACCEPTED:
        return [_row(case, f"org:{data.by_agency}", "link", eid)]
    if type_name == _ENROLLED:
        return [
            (
                "INSERT INTO {schema}.case_access (case_id, principal, kind, event_id)"
                " SELECT %s, 'org:' || p.agency, 'link', %s FROM {schema}.programme_providers p"
                f" WHERE p.programme_id = %s AND {_not_voided(eid)} ON CONFLICT DO NOTHING",
                (case, eid, str(data.programme_id)),
            )
        ]
    return _voiding_ops(case, str(UUID(str(data.voided_event_id))))


def _voiding_ops(case_id: str, voided: str) -> list[Op]:
    return [
        (
            "INSERT INTO {schema}.access_voided (event_id) VALUES (%s) ON CONFLICT DO NOTHING",
            (voided,),
        ),
        ("DELETE FROM {schema}.case_access WHERE event_id = %s", (voided,)),
        ("DELETE FROM {schema}.sealed_cases WHERE event_id = %s", (voided,)),
        # Another seal of the same case, not voided, keeps it sealed.
        (
            "INSERT INTO {schema}.sealed_cases (case_id, sealed_at, event_id)"
            " SELECT a.case_id, now(), a.event_id FROM {schema}.case_access a"
            " WHERE a.case_id = %s AND a.kind = 'seal' ORDER BY a.ord LIMIT 1"
            " ON CONFLICT (case_id) DO NOTHING",
            (case_id,),
        ),
    ]


class CaseAccessView(View):
    """The access rows of the service's own events, written in the command's transaction.

    Its tables are not the view's to truncate on a replay: they also hold what the bus brought.
    """

    tables: ClassVar[tuple[str, ...]] = ()
    create_statements: ClassVar[tuple[str, ...]] = CREATE_STATEMENTS

    def apply(self, event: Any) -> list[Op]:
        data, meta = getattr(event, "data", None), getattr(event, "meta", None)
        if not isinstance(meta, Meta) or data is None or not hasattr(data, "type_name"):
            return []
        return access_ops(data.type_name(), meta.subject, meta.event_id, meta.agency, data)


def access_reactions(app: Any) -> Any:
    """Every event-sourced service learns the access facts of the others' events from the bus."""
    from shared.events import by_type
    from shared.kit.subscriber import Reactions

    def on_event(envelope: Any, event: Any, inbound: tuple[str, UUID]) -> None:
        ops = access_ops(
            envelope.type, str(envelope.subject), envelope.id, str(envelope.agency or ""), event
        )
        app.record_inbound_only(inbound[0], inbound[1], ops)

    return Reactions(app, "access", {by_type(t): on_event for t in sorted(ACCESS_TYPES)})


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
        super().__init__(f"invalid fields: {name}")
        self.name = name


_MAX_ID_TEXT = 64


def canonical_id(value: str, name: str = "case_id") -> str:
    """The canonical spelling of a UUID (lowercase, hyphenated), from any spelling Python's
    `UUID` accepts (capitals, no hyphens, braces, `urn:uuid:`); 422 for anything else."""
    if not isinstance(value, str) or len(value) > _MAX_ID_TEXT or not value.isprintable():
        raise InvalidIdError(name)
    try:
        return str(UUID(value))
    except ValueError:
        raise InvalidIdError(name) from None


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
            raise NotFoundError(f"no case {case_id}")


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
        raise ForbiddenError(f"your token is for {own or 'no facility'}, not {facility}")
