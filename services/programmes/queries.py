"""Programmes' reads: lists from the read models, one record from its aggregate. Agency-bound
roles (civil society, religious counsellors) see only their own people: a read takes the `Reader`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field

from services.programmes.application import AGENCY_BOUND_ROLES, ProgrammesApplication
from services.programmes.domain import CaseFile, Programme, Referral
from services.programmes.views import CaseRegister, Referrals
from shared.events import ProgrammeCreated
from shared.kit.errors import NotFoundError
from shared.kit.paging import Page, TimeText, Where, fetch_page
from shared.kit.redaction import ALWAYS, Source, ViewSources, redact_items, redact_view
from shared.kit.scope import Scope
from shared.permissions import ROLES, may_see

__all__ = [
    "CASE_FILTER_SOURCES",
    "CASE_ITEM_SOURCES",
    "CASE_VIEW_SOURCES",
    "FOLLOW_UP_FILTER_SOURCES",
    "FOLLOW_UP_ITEM_SOURCES",
    "PROGRAMME_FILTER_SOURCES",
    "PROGRAMME_ITEM_SOURCES",
    "PROGRAMME_VIEW_SOURCES",
    "REFERRAL_FILTER_SOURCES",
    "REFERRAL_ITEM_SOURCES",
    "REFERRAL_VIEW_SOURCES",
    "RISK_READERS",
    "CaseItem",
    "CasePage",
    "FollowUpDue",
    "FollowUpPage",
    "ProgrammeItem",
    "ProgrammePage",
    "Reader",
    "ReferralItem",
    "ReferralPage",
    "case_view",
    "follow_ups",
    "list_cases",
    "list_programmes",
    "list_referrals",
    "programme_view",
    "referral_view",
    "summary",
]


RISK_READERS = frozenset(
    role for role in ROLES if may_see(role, "caseline.assessment.AssessmentSubmitted.v1")
)
"""Roles that may see a person's risk level and separation orders, by the visibility table
(SPEC §8: not civil society)."""

_ALL_REFERRALS = frozenset({"auditor", "admin"})

_T = "caseline.{}.{}.v1".format

CASE_VIEW_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    "version": ALWAYS,
    "full_name": Source(_T("intake", "ArrestRecorded"), "person.full_name"),
    "facility": Source(_T("intake", "DetaineeAdmitted"), "facility"),
    "released_at": Source(_T("intake", "DetaineeReleased"), "released_at"),
    "enrolments": Source(_T("programmes", "ParticipantEnrolled")),
    "referrals": Source(_T("programmes", "ReferralMade")),
    "proposed_referrals": Source(_T("intake", "ArrestRecorded"), "minor_at_facts"),
    "reintegration_plan": Source(_T("programmes", "ReintegrationPlanAgreed")),
    "follow_ups": Source(_T("programmes", "FollowUpRecorded")),
    "next_follow_up_due": Source(_T("programmes", "FollowUpRecorded")),
    "risk": Source(_T("assessment", "AssessmentSubmitted"), "overall_risk"),
    "keep_separate_from": Source(_T("assessment", "PlacementDecided"), "keep_separate_from"),
}
"""Where each key of programmes' case view comes from (`shared.kit.redaction`)."""

REFERRAL_VIEW_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    "referral_id": ALWAYS,
    "from_agency": ALWAYS,
    "to_agency": ALWAYS,
    "status": ALWAYS,
    "history": ALWAYS,
    "reason": Source(_T("programmes", "ReferralMade"), "reason"),
    "consent": Source(_T("programmes", "ReferralMade"), "consent"),
    "legal_basis": Source(_T("programmes", "ReferralMade"), "legal_basis"),
}
"""Where each key of one referral's view comes from."""

_PROGRAMME = _T("programmes", "ProgrammeCreated")
_ENROLLED = _T("programmes", "ParticipantEnrolled")

PROGRAMME_VIEW_SOURCES: ViewSources = {
    **{name: Source(_PROGRAMME, name) for name in ProgrammeCreated.model_fields},
    "programme_id": ALWAYS,
    "version": ALWAYS,
    "voided": ALWAYS,
    "created_at": Source(_PROGRAMME),
    "places_taken": Source(_ENROLLED),
    "places_left": Source(_ENROLLED),
}
"""Where each key of one programme's view comes from: its catalogue entry, and the places its
participants take (sealed ones counted only for those who may see sealed cases)."""

PROGRAMME_ITEM_SOURCES: ViewSources = {
    key: source
    for key, source in PROGRAMME_VIEW_SOURCES.items()
    if key not in ("voided", "created_at", "description")
}
"""Where each key of an item of the programme catalogue (`GET /programmes`) comes from."""

PROGRAMME_FILTER_SOURCES: ViewSources = {
    "kind": PROGRAMME_VIEW_SOURCES["kind"],
    "facility": PROGRAMME_VIEW_SOURCES["facility"],
}
"""What each filter of the programme catalogue selects by (the facility where it runs)."""

CASE_ITEM_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    "version": ALWAYS,
    "full_name": CASE_VIEW_SOURCES["full_name"],
    "facility": CASE_VIEW_SOURCES["facility"],
    "released_at": CASE_VIEW_SOURCES["released_at"],
    # Of the programmes the view's enrolments show the reader (its own, for an organisation).
    "active_programmes": CASE_VIEW_SOURCES["enrolments"],
}
"""Where each key of an item of the case list (`GET /cases`) comes from."""

CASE_FILTER_SOURCES: ViewSources = {"released": CASE_VIEW_SOURCES["released_at"]}
"""What each filter of the case list selects by (`shared.kit.redaction.require_filters`)."""

REFERRAL_ITEM_SOURCES: ViewSources = {
    **{k: REFERRAL_VIEW_SOURCES[k] for k in ("referral_id", "from_agency", "to_agency", "status")},
    "case_id": ALWAYS,
    "reason": REFERRAL_VIEW_SOURCES["reason"],
    "made_at": Source(_T("programmes", "ReferralMade")),
    # Accepted or declined: both are answers, and a role sees both or neither.
    "answered_at": Source(_T("programmes", "ReferralAccepted")),
}
"""Where each key of an item of the referrals (`GET /referrals`) comes from."""

REFERRAL_FILTER_SOURCES: ViewSources = {"direction": ALWAYS, "status": ALWAYS}
"""What each filter of the referrals selects by: their agencies and state, as the view shows."""

_FOLLOW_UP = _T("programmes", "FollowUpRecorded")

FOLLOW_UP_ITEM_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    "full_name": CASE_VIEW_SOURCES["full_name"],
    "released_at": CASE_VIEW_SOURCES["released_at"],
    "last_follow_up_at": Source(_FOLLOW_UP),
    "last_status": Source(_FOLLOW_UP, "status"),
    "due_by": Source(_FOLLOW_UP),
    "overdue": Source(_FOLLOW_UP),
}
"""Where each key of an item of the follow-ups due (`GET /follow-ups`) comes from."""

FOLLOW_UP_FILTER_SOURCES: ViewSources = {"status": Source(_FOLLOW_UP)}
"""What each filter of the follow-ups due selects by."""

_ANSWER = "caseline.programmes.ReferralAccepted.v1"
"""Who may answer a referral may read it, and find it in their incoming referrals."""


_UNSEALED_P = "NOT EXISTS (SELECT 1 FROM {schema}.sealed_cases s WHERE s.case_id = p.case_id::text)"
"""Counts leave sealed cases out (SPEC §8: for everyone; a count is not a way to find one)."""


class Reader:
    """Who reads: role and agency decide what a read shows; `scope` which people."""

    def __init__(self, role: str, agency: str, scope: Scope) -> None:
        self.role, self.agency, self.kit_scope = role, agency, scope

    @property
    def bound(self) -> bool:
        return self.role in AGENCY_BOUND_ROLES

    def sees_referral(self, referral: Referral) -> bool:
        return self.role in _ALL_REFERRALS or self.agency in (
            referral.from_agency,
            referral.to_agency,
        )


DateText = Annotated[str, Field(json_schema_extra={"format": "date"})]


class ProgrammeItem(BaseModel):
    """A programme of the catalogue, with the places taken and left."""

    programme_id: UUID
    kind: str
    title: str
    provider_agency: str
    capacity: int
    max_risk_level: str | None
    facility: str | None
    attendance_threshold: int
    starts_on: DateText | None
    ends_on: DateText | None
    version: int
    places_taken: int
    places_left: int


class ProgrammePage(Page[ProgrammeItem]):
    """A page of the programme catalogue."""


class CaseItem(BaseModel):
    """A person programmes knows, and how many programmes they take part in now."""

    case_id: UUID
    full_name: str | None
    facility: str | None = Field(
        None, description="Left out for a role that may not see it (`DetaineeAdmitted`)."
    )
    released_at: TimeText | None
    version: int
    active_programmes: int = Field(
        description="Programmes the person takes part in now: for an organisation, its own."
    )


class CasePage(Page[CaseItem]):
    """A page of the people programmes knows."""


class ReferralItem(BaseModel):
    """A referral made or received by the caller's agency."""

    referral_id: UUID
    case_id: UUID
    from_agency: str
    to_agency: str
    reason: str
    status: str
    made_at: TimeText | None
    answered_at: TimeText | None


class ReferralPage(Page[ReferralItem]):
    """A page of the caller's agency's referrals."""


class FollowUpDue(BaseModel):
    """A released person, their last follow-up and when the next one is due."""

    case_id: UUID
    full_name: str | None
    released_at: TimeText | None
    last_follow_up_at: TimeText | None
    last_status: str | None
    due_by: TimeText | None
    overdue: bool


class FollowUpPage(Page[FollowUpDue]):
    """A page of the released people due a follow-up, and the interval between follow-ups."""

    interval_days: int


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


# --- programmes ------------------------------------------------------------------------


def _counted(reader: Reader) -> str:
    """The participations a count shows the reader: a sealed case's only to those who may see
    sealed cases (SPEC §8: a count is not a way to find one). A programme's capacity, a rule of
    the domain and not a read, still counts every participant."""
    return "" if reader.kit_scope.sees_sealed else f" AND {_UNSEALED_P}"


def list_programmes(
    app: ProgrammesApplication,
    limit: int,
    offset: int,
    kind: str | None = None,
    facility: str | None = None,
    *,
    reader: Reader,
) -> dict[str, Any]:
    """The programmes of the catalogue, newest first, with the places taken and left in each."""
    where = Where().add("NOT c.voided").given(kind, "c.kind = %s")
    page = fetch_page(
        app.fetch,
        select="SELECT c.programme_id, c.kind, c.title, c.provider_agency, c.capacity,"
        " c.max_risk_level, c.facility, c.attendance_threshold, c.starts_on, c.ends_on,"
        " c.version, (SELECT count(*) FROM {schema}.participations p"
        "  WHERE p.programme_id = c.programme_id AND p.status = 'active' AND NOT p.voided"
        f"{_counted(reader)})",
        source="FROM {schema}.programme_catalogue c",
        where=where.given(facility, "c.facility = %s"),
        order_by="c.created_at DESC, c.programme_id",
        limit=limit,
        offset=offset,
    )
    keys: tuple[str, ...] = ("programme_id", "kind", "title", "provider_agency", "capacity")
    keys += ("max_risk_level",)
    keys += ("facility", "attendance_threshold", "starts_on", "ends_on", "version")
    items = []
    for row in page.rows:
        item = {
            k: (str(v) if k == "programme_id" else _iso(v) if "_on" in k else v)
            for k, v in zip(keys, row, strict=False)
        }
        item["places_taken"] = int(row[-1])
        item["places_left"] = max(0, int(row[4]) - int(row[-1]))
        items.append(item)
    return page.answer(redact_items(items, reader.role, PROGRAMME_ITEM_SOURCES))


def programme_view(
    app: ProgrammesApplication, programme_id: UUID, *, reader: Reader
) -> tuple[dict[str, Any], int]:
    """One programme as the reader may see it (its places counted as the list counts them), and
    its version."""
    programme = app.load(Programme, programme_id)
    active = [str(p.case_id) for p in programme.active()]
    if active and not reader.kit_scope.sees_sealed:
        sealed = app.fetch(
            "SELECT count(*) FROM {schema}.sealed_cases WHERE case_id = ANY(%s)", (active,)
        )[0][0]
        taken = len(active) - int(sealed)
    else:
        taken = len(active)
    view = {
        **programme.info.model_dump(mode="json"),
        "voided": programme.voided,
        "created_at": programme.created_at.isoformat(),
        "places_taken": taken,
        "places_left": max(0, programme.info.capacity - taken),
    }
    return redact_view(view, reader.role, PROGRAMME_VIEW_SOURCES), programme.version


def summary(app: ProgrammesApplication, programme_id: UUID) -> dict[str, Any]:
    """Outcome figures of one programme: counts and averages, naming nobody."""
    found = app.fetch(
        "SELECT title, kind, capacity FROM {schema}.programme_catalogue WHERE programme_id = %s",
        (programme_id,),
    )
    if not found:
        raise NotFoundError("no programme {programme_id}", programme_id=programme_id)
    title, kind, capacity = found[0]
    enrolled, attending, completed, withdrawn, average = app.fetch(
        "SELECT count(*), count(*) FILTER (WHERE status = 'active'),"
        " count(*) FILTER (WHERE status = 'completed'),"
        " count(*) FILTER (WHERE status = 'withdrawn'), avg(sessions_attended)"
        " FROM {schema}.participations p WHERE programme_id = %s AND NOT voided"
        f" AND {_UNSEALED_P}",
        (programme_id,),
    )[0]
    sessions = app.fetch(
        "SELECT count(DISTINCT session_date) FROM {schema}.attendance"
        " WHERE programme_id = %s AND NOT voided",
        (programme_id,),
    )[0][0]
    ended = int(completed) + int(withdrawn)
    return {
        "programme_id": str(programme_id),
        "title": title,
        "kind": kind,
        "capacity": capacity,
        "enrolled": int(enrolled),
        "attending": int(attending),
        "completed": int(completed),
        "withdrawn": int(withdrawn),
        "sessions_held": int(sessions),
        "average_attendance": round(float(average), 2) if average is not None else 0.0,
        "completion_rate": round(int(completed) / ended, 3) if ended else None,
    }


# --- cases -----------------------------------------------------------------------------


def _full_name(
    app: ProgrammesApplication, case_id: Any, key_id: str | None, ciphertext: bytes | None
) -> str | None:
    """The register's sealed name (None: not learnt yet; `[erased]` once its key is gone)."""
    if key_id is None:
        return None
    return app.view_object(CaseRegister).name.open(case_id, key_id, ciphertext)


def list_cases(
    app: ProgrammesApplication,
    limit: int,
    offset: int,
    released: bool | None = None,
    *,
    reader: Reader,
) -> dict[str, Any]:
    """The people programmes knows (civil society: only those it works with), newest first;
    each with the programmes it takes part in now that the view's enrolments show the reader
    (an organisation's own)."""
    where = Where().visible(reader.kit_scope, "r.case_id")
    if released is not None:
        where.add("r.released_at IS " + ("NOT NULL" if released else "NULL"))
    # An organisation counts its own programmes, as its view of the case shows its own only.
    own, own_params = (
        (
            " AND EXISTS (SELECT 1 FROM {schema}.programme_catalogue g"
            "  WHERE g.programme_id = p.programme_id AND g.provider_agency = %s)",
            [reader.agency],
        )
        if reader.bound
        else ("", [])
    )
    page = fetch_page(
        app.fetch,
        select="SELECT r.case_id, r.name_kid, r.name_ct, r.facility, r.released_at, r.version,"
        " (SELECT count(*) FROM {schema}.participations p WHERE p.case_id = r.case_id"
        f"  AND p.status = 'active' AND NOT p.voided{own})",
        select_params=own_params,
        source="FROM {schema}.case_register r",
        where=where,
        order_by="r.opened_at DESC, r.case_id",
        limit=limit,
        offset=offset,
    )
    items = [
        {
            "case_id": str(r[0]),
            "full_name": _full_name(app, r[0], r[1], r[2]),
            "facility": r[3],
            "released_at": _iso(r[4]),
            "version": r[5],
            "active_programmes": int(r[6]),
        }
        for r in page.rows
    ]
    return page.answer(redact_items(items, reader.role, CASE_ITEM_SOURCES))


def _visible_case(app: ProgrammesApplication, case_id: UUID, reader: Reader) -> CaseFile:
    try:
        case = app.load(CaseFile, case_id)
    except NotFoundError:
        case = None
    if case is not None and not app.access.visible(reader.kit_scope, str(case_id)):
        case = None
    if case is None:
        raise NotFoundError("no case {case_id} known to programmes", case_id=case_id)
    return case


def case_view(
    app: ProgrammesApplication, case_id: UUID, *, reader: Reader
) -> tuple[dict[str, Any], int]:
    """Programmes' view of one case as the reader may see it, and its version."""
    case = _visible_case(app, case_id, reader)
    view: dict[str, Any] = {
        "case_id": str(case_id),
        "full_name": case.full_name,
        "facility": case.facility,
        "released_at": _iso(case.released_at),
        "enrolments": _enrolments(app, case_id, reader),
        "referrals": [_referral(r) for r in case.referrals.values() if reader.sees_referral(r)],
        "proposed_referrals": _proposals(case),
        "reintegration_plan": _plan(case),
        "follow_ups": [
            {"event_id": str(e), **d.model_dump(mode="json"), "recorded_by": m.agency}
            for e, d, m in case.follow_ups
            if not case.is_voided(e)
        ],
        "next_follow_up_due": _iso(_next_due(app, case)),
    }
    if reader.role in RISK_READERS:
        view["risk"] = case.risk.value if case.risk else None
        # Only the people the reader may see: a sealed or unlinked case is not named.
        others = app.access.visible_set(reader.kit_scope, [str(c) for c in case.keep_separate_from])
        view["keep_separate_from"] = sorted(others)
    return redact_view(view, reader.role, CASE_VIEW_SOURCES), case.version


def _proposals(case: CaseFile) -> list[dict[str, Any]]:
    """Referrals the case calls for but nobody has made: a proposal records nothing, and the
    referral itself still needs consent or a stated legal basis (SPEC §5)."""
    if case.minority is None:
        return []
    source, arrested_at = case.minority
    return [
        {
            "kind": "child_protection",
            "reason": "the person was under 18 at the arrest: a child recruited by an armed group "
            "is first a victim (Paris Principles); refer to the child-protection services",
            "because_of": str(source),
            "since": _iso(arrested_at),
            "requires": "the consent of the person or their guardian, or a stated legal basis",
        }
    ]


def _enrolments(app: ProgrammesApplication, case_id: UUID, reader: Reader) -> list[dict[str, Any]]:
    condition, params = (
        ("", []) if not reader.bound else (" AND g.provider_agency = %s", [reader.agency])
    )
    rows = app.fetch(
        "SELECT p.programme_id, g.title, g.kind, p.status, p.enrolled_at,"
        " p.sessions_attended, p.ended_at FROM {schema}.participations p"
        " JOIN {schema}.programme_catalogue g ON g.programme_id = p.programme_id"
        f" WHERE p.case_id = %s AND NOT p.voided{condition} ORDER BY p.enrolled_at",
        [case_id, *params],
    )
    keys = ("programme_id", "title", "kind", "status", "enrolled_at", "sessions_attended")
    return [
        {
            **dict(zip(keys, (str(r[0]), r[1], r[2], r[3], _iso(r[4]), r[5]), strict=True)),
            "ended_at": _iso(r[6]),
        }
        for r in rows
    ]


def _next_due(app: ProgrammesApplication, case: CaseFile) -> datetime | None:
    released = case.released_at
    if released is None:
        return None
    seen = [d.at for e, d, _ in case.follow_ups if not case.is_voided(e)]
    return max([released, *seen]) + timedelta(days=app.settings.follow_up_interval_days)


# --- referrals -------------------------------------------------------------------------


def referral_view(
    app: ProgrammesApplication, case_id: UUID, referral_id: UUID, *, reader: Reader
) -> dict[str, Any]:
    """A referral and its history, for the referring and the receiving agency."""
    try:
        case = app.load(CaseFile, case_id)
        referral = case.referral(referral_id)
    except NotFoundError:
        referral = None
    if (
        referral is None
        or not reader.sees_referral(referral)
        or not app.access.visible(reader.kit_scope, str(case_id), command=_ANSWER)
    ):
        raise NotFoundError(
            "no referral {referral_id} of case {case_id} visible to you",
            referral_id=referral_id,
            case_id=case_id,
        )
    view = {"case_id": str(case_id), **_referral(referral)}
    return redact_view(view, reader.role, REFERRAL_VIEW_SOURCES)


def list_referrals(
    app: ProgrammesApplication,
    direction: str,
    limit: int,
    offset: int,
    status: str | None = None,
    *,
    reader: Reader,
) -> dict[str, Any]:
    """The reader's agency's referrals: received (`incoming`) or made (`outgoing`)."""
    column = "to_agency" if direction == "incoming" else "from_agency"
    # A referral made to the reader's organisation is theirs to answer before the person is.
    command = _ANSWER if direction == "incoming" else None
    where = Where().add(f"r.{column} = %s", reader.agency)
    where.visible(reader.kit_scope, "r.case_id", command=command)
    page = fetch_page(
        app.fetch,
        select="SELECT r.referral_id, r.case_id, r.from_agency, r.to_agency, r.reason_kid,"
        " r.reason_ct, r.status, r.made_at, r.answered_at",
        source="FROM {schema}.referrals r",
        where=where.given(status, "r.status = %s"),
        order_by="r.made_at DESC, r.referral_id",
        limit=limit,
        offset=offset,
    )
    reason = app.view_object(Referrals).reason.open
    items = [
        {
            "referral_id": str(r[0]),
            "case_id": str(r[1]),
            "from_agency": r[2],
            "to_agency": r[3],
            "reason": reason(r[1], r[4], r[5]),
            "status": r[6],
            "made_at": _iso(r[7]),
            "answered_at": _iso(r[8]),
        }
        for r in page.rows
    ]
    return page.answer(redact_items(items, reader.role, REFERRAL_ITEM_SOURCES))


# --- follow-up -------------------------------------------------------------------------


def follow_ups(
    app: ProgrammesApplication,
    limit: int,
    offset: int,
    overdue_only: bool = False,
    *,
    reader: Reader,
) -> dict[str, Any]:
    """Released people and when each is next due a follow-up; overdue ones if asked."""
    now, days = app.clock.now(), app.settings.follow_up_interval_days
    due = "greatest(r.released_at, coalesce(f.at, r.released_at)) + make_interval(days => %s)"
    where = Where().add("r.released_at IS NOT NULL").visible(reader.kit_scope, "r.case_id")
    if overdue_only:
        where.add(f"{due} < %s", days, now)
    page = fetch_page(
        app.fetch,
        select=f"SELECT r.case_id, r.name_kid, r.name_ct, r.released_at, f.at, f.status, {due}",
        select_params=[days],
        source="FROM {schema}.case_register r LEFT JOIN LATERAL (SELECT at, status"
        " FROM {schema}.follow_ups WHERE case_id = r.case_id AND NOT voided"
        " ORDER BY at DESC LIMIT 1) f ON true",
        where=where,
        order_by=f"{due}, r.case_id",
        order_params=[days],
        limit=limit,
        offset=offset,
    )
    items = [_due((r[0], _full_name(app, *r[:3]), *r[3:]), now) for r in page.rows]
    return page.answer(redact_items(items, reader.role, FOLLOW_UP_ITEM_SOURCES), interval_days=days)


def _due(row: tuple[Any, ...], now: datetime) -> dict[str, Any]:
    return {
        "case_id": str(row[0]),
        "full_name": row[1],
        "released_at": _iso(row[2]),
        "last_follow_up_at": _iso(row[3]),
        "last_status": row[4],
        "due_by": _iso(row[5]),
        "overdue": row[5] < now,
    }


def _referral(r: Referral) -> dict[str, Any]:
    return {
        "referral_id": str(r.id),
        "from_agency": r.from_agency,
        "to_agency": r.to_agency,
        "reason": r.reason,
        "consent": r.consent,
        "legal_basis": r.legal_basis,
        "status": r.status,
        "history": list(r.history),
    }


def _plan(case: CaseFile) -> dict[str, Any] | None:
    current = case.plan
    if current is None:
        return None
    event_id, data, meta = current
    return {"event_id": str(event_id), **data.model_dump(mode="json"), "recorded_by": meta.agency}
