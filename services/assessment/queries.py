"""Assessment's reads: one case's record and one assessment (from the `Case` aggregate), the case
list, the reviews due, placement conflicts and the instruments (from the read models).

The time of `reviews` and of a case's review statuses is the application's (injectable) clock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from services.assessment.application import AssessmentApplication
from services.assessment.domain import Case
from shared.kit.errors import NotFoundError
from shared.kit.paging import Page, TimeText, Where, fetch_page
from shared.kit.redaction import ALWAYS, Entries, Source, ViewSources
from shared.kit.scope import Scope

__all__ = [
    "ASSESSMENT_VIEW_SOURCES",
    "CASE_FILTER_SOURCES",
    "CASE_ITEM_SOURCES",
    "CASE_VIEW_SOURCES",
    "DUE_SOON_DAYS",
    "REVIEW_FILTER_SOURCES",
    "REVIEW_ITEM_SOURCES",
    "CaseItem",
    "CasePage",
    "Review",
    "ReviewPage",
    "assessment_view",
    "case_view",
    "instrument_version",
    "instruments",
    "list_cases",
    "placement_conflicts",
    "reviews",
]

REVIEW_STATUSES = ("open", "overdue", "due_soon", "satisfied")

DUE_SOON_DAYS = 14
"""How far ahead a review counts as 'due soon' unless the caller says otherwise."""


_HIDDEN = "Left out for a role that may not see it (`{}`)."


class CaseItem(BaseModel):
    """A case known to assessment: its current risk and security level, as the role may see them."""

    case_id: UUID
    status: str
    facility: str | None = Field(None, description=_HIDDEN.format("DetaineeAdmitted"))
    current_risk: str | None = Field(None, description=_HIDDEN.format("AssessmentSubmitted"))
    risk_assessment_id: UUID | None = Field(None, description=_HIDDEN.format("AssessmentSubmitted"))
    risk_countersigned_at: TimeText | None = Field(
        None, description=_HIDDEN.format("AssessmentCountersigned")
    )
    security_level: str | None = Field(None, description=_HIDDEN.format("PlacementDecided"))
    version: int


class CasePage(Page[CaseItem]):
    """A page of the cases known to assessment."""


class Review(BaseModel):
    """An assessment due, and whether (and, for who may see it, by which assessment) it was met."""

    event_id: UUID
    case_id: UUID
    assessment_kind: str
    due_by: TimeText
    trigger: str
    caused_by: UUID | None
    recorded_at: TimeText
    satisfied_by: UUID | None = Field(None, description=_HIDDEN.format("AssessmentCountersigned"))
    facility: str | None = Field(None, description=_HIDDEN.format("DetaineeAdmitted"))
    overdue: bool


class ReviewPage(Page[Review]):
    """A page of the assessments due, and the moment they were computed at."""

    as_of: TimeText


_T = "caseline.assessment.{}.v1".format
_ADMITTED = "caseline.intake.DetaineeAdmitted.v1"

CASE_VIEW_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    "version": ALWAYS,
    "status": ALWAYS,
    "facility": Source(_ADMITTED, "facility"),
    "current_risk": Source(_T("AssessmentSubmitted")),
    "needs": Source(_T("NeedsAssessed")),
    "placement": Source(_T("PlacementDecided")),
    # A review names the assessment that met it: for those who may see countersignatures.
    "reviews": Source(_T("AssessmentDue"), parts={"satisfied_by": _T("AssessmentCountersigned")}),
    "assessments": Source(_T("AssessmentStarted"), parts={"ratings": _T("IndicatorRated")}),
    "entries": Entries("assessment"),
}
"""Where each key of assessment's case view comes from (`shared.kit.redaction`)."""

ASSESSMENT_VIEW_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    "version": ALWAYS,
    "assessment_id": ALWAYS,
    "instrument_id": ALWAYS,
    "instrument_version": ALWAYS,
    "status": ALWAYS,
    "assessor": Source(_T("AssessmentStarted"), "assessor"),
    "started_at": Source(_T("AssessmentStarted")),
    "ratings": Source(_T("IndicatorRated")),
    "unrated": Source(_T("IndicatorRated")),
    "overall_risk": Source(_T("AssessmentSubmitted"), "overall_risk"),
    "rationale": Source(_T("AssessmentSubmitted"), "rationale"),
    "next_review_by": Source(_T("AssessmentSubmitted"), "next_review_by"),
    "submitted_at": Source(_T("AssessmentSubmitted")),
    "countersigned_by": Source(_T("AssessmentCountersigned"), "countersigned_by"),
    "countersigned_at": Source(_T("AssessmentCountersigned")),
}
"""Where each key of one assessment's view comes from."""

CASE_ITEM_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    "version": ALWAYS,
    "status": ALWAYS,
    "facility": Source(_ADMITTED, "facility"),
    "current_risk": Source(_T("AssessmentSubmitted"), "overall_risk"),
    "risk_assessment_id": Source(_T("AssessmentSubmitted"), "assessment_id"),
    "risk_countersigned_at": Source(_T("AssessmentCountersigned")),
    "security_level": Source(_T("PlacementDecided"), "security_level"),
}
"""Where each key of an item of the case list (`GET /cases`) comes from."""

CASE_FILTER_SOURCES: ViewSources = {
    "facility": CASE_ITEM_SOURCES["facility"],
    "risk": CASE_ITEM_SOURCES["current_risk"],
}
"""What each filter of the case list selects by (`shared.kit.redaction.require_filters`)."""

_DUE = _T("AssessmentDue")

REVIEW_ITEM_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    "event_id": Source(_DUE),
    "recorded_at": Source(_DUE),
    "assessment_kind": Source(_DUE, "assessment_kind"),
    "due_by": Source(_DUE, "due_by"),
    "trigger": Source(_DUE, "trigger"),
    "caused_by": Source(_DUE),
    "overdue": Source(_DUE),
    "satisfied_by": Source(_T("AssessmentCountersigned"), "assessment_id"),
    "facility": Source(_ADMITTED, "facility"),
}
"""Where each key of an item of the reviews due (`GET /reviews`) comes from. Whether a due is
still open is the due's own state (its `status` filter, `overdue`); which assessment met it is
the countersignature's."""

REVIEW_FILTER_SOURCES: ViewSources = {
    # Always given (they have defaults): a role that may not see dues is refused the list.
    "status": Source(_DUE),
    "within_days": Source(_DUE, "due_by"),
    "facility": Source(_ADMITTED, "facility"),
}
"""What each filter of the reviews due selects by."""


def case_view(app: AssessmentApplication, case_id: UUID) -> tuple[dict[str, Any], int]:
    """The whole assessment record of one case, as `GET /cases/{id}` shows it, and its version."""
    case = app.load(Case, case_id)
    now, soon = app.clock.now(), timedelta(days=DUE_SOON_DAYS)
    current = case.current_assessment
    needs, placement = case.current_needs, case.current_placement
    view = {
        "case_id": str(case.id),
        "status": case.status,
        "facility": case.facility,
        "current_risk": None
        if current is None or current.submission is None
        else {
            "overall_risk": current.submission.overall_risk.value,
            "assessment_id": str(current.assessment_id),
            "instrument_id": str(current.instrument_id),
            "instrument_version": current.instrument_version,
            "assessor": current.assessor,
            "countersigned_by": current.countersigned_by,
            "countersigned_at": current.countersigned_at.isoformat()
            if current.countersigned_at
            else None,
            "next_review_by": current.submission.next_review_by.isoformat(),
        },
        "needs": needs.as_view() if needs else None,
        "placement": placement.as_view() if placement else None,
        "reviews": [
            {
                "event_id": str(due.event_id),
                "assessment_kind": due.kind,
                "due_by": due.due_by.isoformat(),
                "trigger": due.trigger,
                "caused_by": str(due.cause) if due.cause else None,
                "status": status,
                "satisfied_by": str(due.satisfied_by) if due.satisfied_by else None,
            }
            for due, status in case.reviews(now, soon)
        ],
        "assessments": [a.as_view() for a in case.assessments.values()],
        "entries": [
            {
                "type": e.type,
                "event_id": str(i),
                "voided_by": str(case.voided_by[i]) if case.is_voided(i) else None,
            }
            for i, e in case.entry_log.items()
        ],
    }
    return view, case.version


def assessment_view(
    app: AssessmentApplication, case_id: UUID, assessment_id: UUID
) -> tuple[dict[str, Any], int]:
    """One assessment of the case, and the case's version."""
    case = app.load(Case, case_id)
    return {"case_id": str(case_id), **case.assessment(assessment_id).as_view()}, case.version


def list_cases(
    app: AssessmentApplication,
    limit: int,
    offset: int,
    facility: str | None = None,
    risk: str | None = None,
    *,
    scope: Scope,
) -> dict[str, Any]:
    where = Where().given(facility, "c.facility = %s").given(risk, "c.current_risk = %s")
    page = fetch_page(
        app.fetch,
        select="SELECT c.case_id, c.status, c.facility, c.current_risk, c.risk_assessment_id,"
        " c.risk_countersigned_at, (SELECT security_level FROM {schema}.placements"
        "  WHERE case_id = c.case_id AND NOT voided ORDER BY seq DESC LIMIT 1), c.version",
        source="FROM {schema}.assessed_cases c",
        where=where.visible(scope, "c.case_id"),
        order_by="c.opened_at DESC, c.case_id",
        limit=limit,
        offset=offset,
    )
    items = [
        {
            "case_id": str(r[0]),
            "status": r[1],
            "facility": r[2],
            "current_risk": r[3],
            "risk_assessment_id": str(r[4]) if r[4] else None,
            "risk_countersigned_at": r[5].isoformat() if r[5] else None,
            "security_level": r[6],
            "version": r[7],
        }
        for r in page.rows
    ]
    return page.answer(items)


def reviews(
    app: AssessmentApplication,
    status: str,
    limit: int,
    offset: int,
    facility: str | None = None,
    within_days: int = DUE_SOON_DAYS,
    *,
    scope: Scope,
) -> dict[str, Any]:
    """Due assessments by status; those of released persons are not listed."""
    now = app.clock.now()
    soon = now + timedelta(days=within_days)
    by_status: dict[str, tuple[str, list[Any]]] = {
        "open": ("r.satisfied_by IS NULL", []),
        "overdue": ("r.satisfied_by IS NULL AND r.due_by < %s", [now]),
        "due_soon": ("r.satisfied_by IS NULL AND r.due_by >= %s AND r.due_by < %s", [now, soon]),
        "satisfied": ("r.satisfied_by IS NOT NULL", []),
    }
    clause, params = by_status[status]
    where = Where().add("c.status <> 'released'").add(clause, *params)
    page = fetch_page(
        app.fetch,
        select="SELECT r.event_id, r.case_id, r.kind, r.due_by, r.trigger, r.caused_by,"
        " r.recorded_at, r.satisfied_by, c.facility",
        source="FROM {schema}.review_schedule r JOIN {schema}.assessed_cases c USING (case_id)",
        where=where.given(facility, "c.facility = %s").visible(scope, "c.case_id"),
        order_by="r.due_by, r.event_id",
        limit=limit,
        offset=offset,
    )
    items = [
        {
            "event_id": str(r[0]),
            "case_id": str(r[1]),
            "assessment_kind": r[2],
            "due_by": r[3].isoformat(),
            "trigger": r[4],
            "caused_by": str(r[5]) if r[5] else None,
            "recorded_at": r[6].isoformat(),
            "satisfied_by": str(r[7]) if r[7] else None,
            "facility": r[8],
            "overdue": r[7] is None and r[3] < now,
        }
        for r in page.rows
    ]
    return page.answer(items, as_of=now.isoformat())


def placement_conflicts(
    app: AssessmentApplication, facility: str | None, *, scope: Scope
) -> dict[str, Any]:
    """Pairs of people held in one facility although a standing placement keeps them apart
    (only pairs whose two people the caller may see), then minors held with adults."""
    pairs = _separation_conflicts(app, facility, scope=scope)
    minors = _minors_with_adults(app, facility, scope=scope)
    items = pairs + minors
    return {"items": items, "total": len(items)}


def _minors_with_adults(
    app: AssessmentApplication, facility: str | None, *, scope: Scope
) -> list[dict[str, Any]]:
    """People who were minors at the facts, held where the facility or wing is not known to be
    for minors (`quarter` adults, or not stated on the admission or transfer)."""
    where = Where().add("minor_at_facts").add("status IN ('admitted', 'transferred')")
    where.add("quarter IS DISTINCT FROM 'minors'")
    where.given(facility, "facility = %s")
    where.visible(scope, "case_id")
    rows = app.fetch(
        f"SELECT case_id, facility, quarter FROM {{schema}}.assessed_cases{where.sql}"
        " ORDER BY facility, case_id",
        where.params,
    )
    return [
        {
            "kind": "minor_with_adults",
            "case_ids": [str(r[0])],
            "facility": r[1],
            "quarter": r[2],
            "reason": "a minor at the time of the facts is held in a facility or wing "
            + ("for adults" if r[2] == "adults" else "not stated to be for minors")
            + ": children are held apart from adults (CRC art. 37(c), Mandela Rule 11(d))",
        }
        for r in rows
    ]


def _separation_conflicts(
    app: AssessmentApplication, facility: str | None, *, scope: Scope
) -> list[dict[str, Any]]:
    """Pairs held in one facility although a standing placement keeps them apart."""
    where = Where().add("a.facility = b.facility")
    where.add("a.status <> 'released'").add("b.status <> 'released'")
    where.given(facility, "a.facility = %s")
    where.visible(scope, "a.case_id").visible(scope, "b.case_id")
    rows = app.fetch(
        "WITH standing AS (SELECT DISTINCT ON (case_id) case_id, keep_separate_from, event_id"
        "  FROM {schema}.placements WHERE NOT voided ORDER BY case_id, seq DESC),"
        " demands AS (SELECT s.case_id AS by_case, o AS other, s.event_id"
        "  FROM standing s, unnest(s.keep_separate_from) AS o)"
        " SELECT LEAST(d.by_case, d.other), GREATEST(d.by_case, d.other), a.facility,"
        "  array_agg(DISTINCT d.by_case), array_agg(DISTINCT d.event_id)"
        " FROM demands d JOIN {schema}.assessed_cases a ON a.case_id = d.by_case"
        f" JOIN {{schema}}.assessed_cases b ON b.case_id = d.other{where.sql}"
        " GROUP BY 1, 2, 3 ORDER BY 3, 1, 2",
        where.params,
    )
    return [
        {
            "kind": "keep_separate",
            "case_ids": [str(r[0]), str(r[1])],
            "facility": r[2],
            "required_by": sorted(str(c) for c in r[3]),
            "placement_event_ids": sorted(str(e) for e in r[4]),
        }
        for r in rows
    ]


def instruments(app: AssessmentApplication) -> dict[str, Any]:
    """Every instrument and its published versions, and the one in force."""
    rows = app.fetch(
        "SELECT instrument_id, version, title, kind, event_id, published_by, published_at"
        " FROM {schema}.instrument_versions ORDER BY instrument_id, version"
    )
    by_id: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = by_id.setdefault(str(r[0]), {"instrument_id": str(r[0]), "versions": []})
        entry.update(title=r[2], assessment_kind=r[3], latest_version=r[1])
        entry["versions"].append(
            {
                "version": r[1],
                "title": r[2],
                "event_id": str(r[4]),
                "published_by": r[5],
                "published_at": r[6].isoformat(),
            }
        )
    default = app.default_instrument()
    return {
        "items": list(by_id.values()),
        "default_instrument_id": str(default) if default else None,
    }


def instrument_version(
    app: AssessmentApplication, instrument_id: UUID, version: int
) -> dict[str, Any]:
    """One instrument version exactly as published."""
    rows = app.fetch(
        "SELECT document, event_id, published_by, published_at FROM {schema}.instrument_versions"
        " WHERE instrument_id = %s AND version = %s",
        (instrument_id, version),
    )
    if not rows:
        raise NotFoundError(
            "no version {version} of instrument {instrument_id}",
            version=version,
            instrument_id=instrument_id,
        )
    document, event_id, by, at = rows[0]
    return {
        **document,
        "event_id": str(event_id),
        "published_by": by,
        "published_at": at.isoformat(),
    }
