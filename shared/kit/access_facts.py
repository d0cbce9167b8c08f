"""Who is linked to a case (SPEC §8): the facts kept from events, in each service's own tables.

Every service, the ledger included, keeps two tables in its own schema: `case_access`, rows that
link a case to a principal, and `sealed_cases`. The rows come from the catalogue events that
create those links — the agency whose officers recorded intake's entries (police), the facility
that holds the person (prison staff), the organisation a person was referred to and accepted by,
or enrolled with (civil society, religious counsellors) — and a voiding takes them away again
(only the rows of its own service's events, in its own case).
A service writes the rows of its own events in the command's transaction (`CaseAccessView`) and
learns the others' from the bus (`shared.kit.runtime.access_reactions`), so its reads never wait
for itself. Every fold is idempotent: an event applied twice, or after its voiding, changes
nothing. What the rows allow is decided in `shared.kit.scope`.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID, uuid5

from shared.kit.domain import Meta
from shared.kit.recorder import Op, View
from shared.kit.scope import facility_key

__all__ = [
    "ACCESS_TABLES",
    "ACCESS_TYPES",
    "CREATE_STATEMENTS",
    "CaseAccessView",
    "access_ops",
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
_DECLINED = _t("programmes", "ReferralDeclined")
_ENROLLED = _t("programmes", "ParticipantEnrolled")
_VOIDED = frozenset(
    _t(s, "EntryVoided") for s in ("intake", "judicial", "assessment", "programmes")
)

ACCESS_TYPES: frozenset[str] = (
    _POLICE_LINKS
    | {_ADMITTED, _TRANSFERRED, _RELEASED, _SEALED, _PROGRAMME, _REFERRED, _ACCEPTED, _DECLINED}
    | {_ENROLLED}
    | _VOIDED
)
"""The catalogue types that change who may see a case."""


_OWN_ROWS = {
    "intake": "(kind IN ('stay', 'former') OR starts_with(principal, 'agency:'))",
    "judicial": "kind = 'seal'",
    "programmes": "(starts_with(principal, 'referred:') OR starts_with(principal, 'org:')"
    " OR kind = 'referral')",
}
"""The `case_access` rows each service's events write (above): the police agencies' links, the
stays, former stays and release are intake's; the seals judicial's; the referred and accepting
organisations' links programmes'. The rows name no service: their kind and principal tell it."""

_VOIDING = UUID("8f1f6f3e-3c55-4d7a-9a51-6b0c2f1de7a4")


def _voiding_key(service: str, case_id: str, event_id: str) -> str:
    """What `access_voided` holds for a voided event: its id, with its service and case. Only a
    voiding by the same service, about the same case, ever writes the key an event checks for, so
    that no other service's voiding holds back a row (before or after it is written)."""
    return str(uuid5(_VOIDING, f"{service}/{case_id}/{event_id}"))


_NOT_VOIDED = "NOT EXISTS (SELECT 1 FROM {schema}.access_voided v WHERE v.event_id = %s)"
"""The row's event is not voided: its `_voiding_key` is the statement's last parameter. The same
text for every event, so that each statement is parsed and planned once per connection
(prepared)."""


def _row(case_id: str, principal: str, kind: str, event_id: str, voiding: str) -> Op:
    return (
        "INSERT INTO {schema}.case_access (case_id, principal, kind, event_id)"
        f" SELECT %s, %s, %s, %s WHERE {_NOT_VOIDED} ON CONFLICT DO NOTHING",
        (case_id, principal, kind, event_id, voiding),
    )


def _stay_after_admission(case_id: str, principal: str, event_id: str, voiding: str) -> Op:
    return (
        "INSERT INTO {schema}.case_access (case_id, principal, kind, event_id)"
        " SELECT %s, %s, 'stay', %s WHERE EXISTS (SELECT 1 FROM {schema}.case_access a"
        " WHERE a.case_id = %s AND a.kind = 'stay' AND a.event_id <> %s)"
        f" AND {_NOT_VOIDED} ON CONFLICT DO NOTHING",
        (case_id, principal, event_id, case_id, event_id, voiding),
    )


def _former(case_id: str, event_id: str, voiding: str) -> Op:
    """The facility the person leaves (the latest stay) becomes a former one."""
    return (
        "INSERT INTO {schema}.case_access (case_id, principal, kind, event_id)"
        " SELECT a.case_id, a.principal, 'former', %s FROM {schema}.case_access a"
        " WHERE a.case_id = %s AND a.kind = 'stay' AND a.event_id <> %s"
        f" AND {_NOT_VOIDED} ORDER BY a.ord DESC LIMIT 1 ON CONFLICT DO NOTHING",
        (event_id, case_id, event_id, voiding),
    )


def access_ops(
    type_name: str, subject: str, event_id: UUID | str, agency: str, data: Any
) -> list[Op]:
    """The SQL that one catalogue event makes to the access tables (none for most types)."""
    if type_name not in ACCESS_TYPES:
        return []
    eid, case, service = str(UUID(str(event_id))), str(subject), type_name.split(".")[1]
    key = _voiding_key(service, case, eid)
    if type_name in _POLICE_LINKS:
        return [_row(case, f"agency:{agency}", "link", eid, key)]
    if type_name == _ADMITTED:
        return [_row(case, f"facility:{facility_key(data.facility)}", "stay", eid, key)]
    if type_name == _TRANSFERRED:
        # A prison's stay begins with the admission; moves in police custody before it are
        # not stays (the prison admits a person from wherever the police bring them).
        facility = f"facility:{facility_key(data.to_facility)}"
        return [
            _row(case, f"agency:{agency}", "link", eid, key),
            _former(case, eid, key),
            _stay_after_admission(case, facility, eid, key),
        ]
    if type_name == _RELEASED:
        return [_former(case, eid, key), _row(case, "released", "stay", eid, key)]
    if type_name == _SEALED:
        return [
            _row(case, "sealed", "seal", eid, key),
            (
                "INSERT INTO {schema}.sealed_cases (case_id, sealed_at, event_id)"
                f" SELECT %s, now(), %s WHERE {_NOT_VOIDED} ON CONFLICT (case_id) DO NOTHING",
                (case, eid, key),
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
        # The link lets the organisation read and answer the referral; the `referral` row
        # (no link: no scope reads it) names which referral made it, for its decline.
        return [
            _row(case, f"referred:{data.to_agency}", "link", eid, key),
            _row(case, f"referral:{data.referral_id}", "referral", eid, key),
        ]
    if type_name == _DECLINED:
        # An organisation that declined a referral no longer reads it (nor the case through it).
        return [
            (
                "DELETE FROM {schema}.case_access WHERE case_id = %s AND kind = 'link'"
                " AND principal = %s AND event_id IN (SELECT r.event_id FROM"
                " {schema}.case_access r WHERE r.case_id = %s AND r.kind = 'referral'"
                " AND r.principal = %s)",
                (case, f"referred:{data.by_agency}", case, f"referral:{data.referral_id}"),
            )
        ]
    if type_name == _ACCEPTED:
        return [_row(case, f"org:{data.by_agency}", "link", eid, key)]
    if type_name == _ENROLLED:
        return [
            (
                "INSERT INTO {schema}.case_access (case_id, principal, kind, event_id)"
                " SELECT %s, 'org:' || p.agency, 'link', %s FROM {schema}.programme_providers p"
                f" WHERE p.programme_id = %s AND {_NOT_VOIDED} ON CONFLICT DO NOTHING",
                (case, eid, str(data.programme_id), key),
            )
        ]
    return _voiding_ops(service, case, str(UUID(str(data.voided_event_id))))


def _voiding_ops(service: str, case_id: str, voided: str) -> list[Op]:
    """What `service`'s voiding of its entry `voided` about `case_id` takes away: that service's
    rows of that case only (SPEC §5: only the service that recorded an entry voids it), so only
    judicial's voiding of its own seal unseals a case."""
    own = _OWN_ROWS.get(service)
    if own is None:  # a service none of whose events writes access rows
        return []
    ops: list[Op] = [
        (
            "INSERT INTO {schema}.access_voided (event_id) VALUES (%s) ON CONFLICT DO NOTHING",
            (_voiding_key(service, case_id, voided),),
        ),
        (
            f"DELETE FROM {{schema}}.case_access WHERE event_id = %s AND case_id = %s AND {own}",
            (voided, case_id),
        ),
    ]
    if service == "judicial":
        ops += [
            (
                "DELETE FROM {schema}.sealed_cases WHERE event_id = %s AND case_id = %s",
                (voided, case_id),
            ),
            # Another seal of the same case, not voided, keeps it sealed.
            (
                "INSERT INTO {schema}.sealed_cases (case_id, sealed_at, event_id)"
                " SELECT a.case_id, now(), a.event_id FROM {schema}.case_access a"
                " WHERE a.case_id = %s AND a.kind = 'seal' ORDER BY a.ord LIMIT 1"
                " ON CONFLICT (case_id) DO NOTHING",
                (case_id,),
            ),
        ]
    return ops


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
