"""Judicial's reads: one case's view, the case list, and the deadlines (from the read models)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from services.judicial.application import JudicialApplication
from services.judicial.domain import Case
from services.judicial.domain.state import CaseState, Limit
from shared.kit.paging import Page, TimeText, Where, fetch_page
from shared.kit.redaction import ALWAYS, Entries, Source, ViewSources, redact_items, redact_view
from shared.kit.scope import Scope
from shared.permissions import may_see

__all__ = [
    "CASE_FILTER_SOURCES",
    "CASE_ITEM_SOURCES",
    "CASE_VIEW_SOURCES",
    "DEADLINE_FILTER_SOURCES",
    "DEADLINE_ITEM_SOURCES",
    "DEADLINE_STATUSES",
    "LIMIT_TYPES",
    "STAGES",
    "CaseItem",
    "CasePage",
    "Deadline",
    "DeadlinePage",
    "case_view",
    "deadlines",
    "list_cases",
    "redact_case",
    "redact_cases",
    "redact_deadlines",
    "shown_stage",
]

DEADLINE_STATUSES = ("overdue", "due_soon", "running")
_CASE_COLUMNS = (
    "case_id, arrested_at, facility, register_number, stage, offence_class, verdict_outcome,"
    " sealed, version"
)

_ACTIONS = {
    "custody": "custody ran past its legal limit: release the person or bring them before the "
    "prosecutor or investigating judge now",
    "pre_trial": "no renewal order: the prison administration must bring the detainee before "
    "the prosecutor",
}


_HIDDEN = "Left out for a role that may not see it (`{}`)."


class CaseItem(BaseModel):
    """A case judicial follows, as the caller's role may see it."""

    case_id: UUID
    arrested_at: TimeText
    facility: str | None
    register_number: str | None
    stage: str | None = Field(
        None,
        description="The latest stage the role may see the case reach (`shown_stage`); left "
        "out when there is none.",
    )
    offence_class: str | None = Field(None, description=_HIDDEN.format("ChargesFiled"))
    verdict_outcome: str | None
    sealed: bool
    version: int


class CasePage(Page[CaseItem]):
    """A page of the cases judicial follows."""


class Deadline(BaseModel):
    """A custody or pre-trial detention limit of a person held; an overdue one says what to do."""

    case_id: UUID
    kind: str
    facility: str | None
    register_number: str | None
    started_at: TimeText
    expires_at: TimeText
    status: str
    renewals: int
    breach_recorded: bool
    breach_detected_at: TimeText | None
    legal_source: str | None
    hours_past_limit: float | None = Field(default=None, description="Only when overdue.")
    action: str | None = Field(default=None, description="Only when overdue.")


class DeadlinePage(Page[Deadline]):
    """A page of the limits, and the moment they were computed at."""

    as_of: TimeText


_T = "caseline.{}.{}.v1".format

CASE_VIEW_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    "version": ALWAYS,
    "arrested_at": ALWAYS,
    # Narrowed to a stage the role may see first (`shown_stage`), by `redact_case`.
    "stage": ALWAYS,
    "sealed": ALWAYS,
    "facility": Source(_T("intake", "DetaineeAdmitted"), "facility"),
    "register_number": Source(_T("intake", "DetaineeAdmitted"), "warrant_ref"),
    "offence_class": Source(_T("judicial", "ChargesFiled")),
    "custody": Source(_T("intake", "CustodyStarted")),
    "pre_trial_detention": Source(_T("judicial", "PreTrialDetentionOrdered")),
    "charges": Source(_T("judicial", "ChargesFiled")),
    "hearings": Source(_T("judicial", "HearingScheduled")),
    "verdict": Source(_T("judicial", "VerdictDelivered")),
    "sentence": Source(_T("judicial", "SentenceImposed")),
    "release_orders": Source(_T("judicial", "ReleaseOrdered")),
    "released_at": Source(_T("intake", "DetaineeReleased"), "released_at"),
    "breaches": Source(_T("judicial", "DetentionDeadlineBreached")),
    "entries": Entries("judicial"),
}
"""Where each key of judicial's case view comes from (`shared.kit.redaction`)."""

CASE_ITEM_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    "version": ALWAYS,
    "arrested_at": ALWAYS,
    # As in the view: narrowed first (`shown_stage`), by `redact_cases`.
    "stage": ALWAYS,
    "sealed": ALWAYS,
    "facility": CASE_VIEW_SOURCES["facility"],
    "register_number": CASE_VIEW_SOURCES["register_number"],
    "offence_class": CASE_VIEW_SOURCES["offence_class"],
    "verdict_outcome": Source(_T("judicial", "VerdictDelivered"), "outcome"),
}
"""Where each key of an item of the case list (`GET /cases`) comes from."""

CASE_FILTER_SOURCES: ViewSources = {"facility": CASE_ITEM_SOURCES["facility"]}
"""What each filter of the case list selects by (`shared.kit.redaction.require_filters`)."""

LIMIT_TYPES = {
    "custody": _T("intake", "CustodyStarted"),
    "pre_trial": _T("judicial", "PreTrialDetentionOrdered"),
}
"""A deadline's kind → the event type that sets the limit: a role that may not see it is given
no deadline of that kind (`deadlines` leaves them out of the page and the count)."""

DEADLINE_ITEM_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    # The limit itself: listed only for a role that may see its kind's type (`LIMIT_TYPES`).
    "kind": ALWAYS,
    "started_at": ALWAYS,
    "expires_at": ALWAYS,
    "status": ALWAYS,
    "renewals": ALWAYS,
    "legal_source": ALWAYS,
    "hours_past_limit": ALWAYS,
    "action": ALWAYS,
    "facility": CASE_VIEW_SOURCES["facility"],
    "register_number": CASE_VIEW_SOURCES["register_number"],
    "breach_recorded": Source(_T("judicial", "DetentionDeadlineBreached")),
    "breach_detected_at": Source(_T("judicial", "DetentionDeadlineBreached")),
}
"""Where each key of an item of the deadlines (`GET /deadlines`) comes from."""

DEADLINE_FILTER_SOURCES: ViewSources = {
    "status": ALWAYS,
    "kind": ALWAYS,
    "facility": CASE_ITEM_SOURCES["facility"],
}
"""What each filter of the deadlines selects by."""

STAGES: dict[str, tuple[str, str | None]] = {
    "sealed": (_T("judicial", "CaseSealed"), "arrested"),
    "released": (_T("intake", "DetaineeReleased"), "arrested"),
    # A sentence follows a conviction; a verdict, and a detention order, follow charges.
    "sentenced": (_T("judicial", "SentenceImposed"), "judged"),
    "judged": (_T("judicial", "VerdictDelivered"), "charged"),
    "pre_trial_detention": (_T("judicial", "PreTrialDetentionOrdered"), "charged"),
    "charged": (_T("judicial", "ChargesFiled"), "arrested"),
    "in_custody": (_T("intake", "CustodyStarted"), "arrested"),
    # Judicial opens a case on the arrest intake recorded.
    "arrested": (_T("intake", "ArrestRecorded"), None),
}
"""A case's stage → the event type that sets it, and the stage before it that the domain's rules
say every case at this stage has passed through (None: none)."""


def shown_stage(stage: str, role: str) -> str | None:
    """The stage `role` may know the case at: the case's stage when the role may see the event
    type that sets it, else the first of the stages the case has necessarily passed through
    (`STAGES`) that the role may see; None (the key is left out) when there is none, or the stage
    is not in `STAGES` (fail closed). A social worker, who may not see custody, charges or
    detention orders, reads `arrested` for a person detained pending trial: true, and no more
    than the table lets them know."""
    current: str | None = stage
    while current is not None and current in STAGES:
        event_type, before = STAGES[current]
        if may_see(role, event_type):
            return current
        current = before
    return None


def _with_stage(item: dict[str, Any], role: str) -> dict[str, Any]:
    shown = {k: v for k, v in item.items() if k != "stage"}
    stage = shown_stage(str(item["stage"]), role) if "stage" in item else None
    return shown if stage is None else {**shown, "stage": stage}


def redact_case(view: dict[str, Any], role: str) -> dict[str, Any]:
    """The case view as `role` may see it (its stage narrowed by `shown_stage`)."""
    return redact_view(_with_stage(view, role), role, CASE_VIEW_SOURCES)


def redact_cases(items: list[dict[str, Any]], role: str) -> list[dict[str, Any]]:
    """The case list's items as `role` may see them, as `redact_case` shows the view."""
    return redact_items([_with_stage(i, role) for i in items], role, CASE_ITEM_SOURCES)


def redact_deadlines(items: list[dict[str, Any]], role: str) -> list[dict[str, Any]]:
    """The deadlines' items as `role` may see them."""
    return redact_items(items, role, DEADLINE_ITEM_SOURCES)


def case_view(app: JudicialApplication, case_id: UUID) -> tuple[dict[str, Any], int]:
    """Judicial's current view of one case, and its version."""
    case = app.load(Case, case_id)
    state = case.state()
    now = app.clock.now()
    view = {
        "case_id": str(case.id),
        "arrested_at": state.arrested_at.isoformat(),
        "stage": state.stage,
        "facility": state.facility,
        "register_number": state.register_number,
        "offence_class": state.offence_class,
        "custody": _limit(state, state.custody, now),
        "pre_trial_detention": _detention(state, now),
        "charges": [_payload(case, e) for e in state.charges],
        "hearings": [
            _plain(asdict(h), leave_out=("scheduled_event_id", "closed_event_id"))
            for h in state.hearings.values()
        ],
        "verdict": _data(state.verdict.data) if state.verdict else None,
        "sentence": _data(state.sentence.data) if state.sentence else None,
        "release_orders": [
            _plain(asdict(o), leave_out=("caused_by",)) for o in state.orders.values()
        ],
        "released_at": _iso(state.released_at),
        "breaches": [
            {"deadline_kind": kind, "expired_at": _iso(expired), "detected_at": _iso(detected)}
            for (kind, expired), detected in state.breaches.items()
        ],
        "sealed": state.sealed is not None,
        "entries": [
            {
                "type": e.name,
                "event_id": str(e.event_id),
                "learnt_from_intake": not e.actor,
                "voided": case.is_voided(e.event_id),
            }
            for e in case.entries
        ],
    }
    return view, case.version


def _payload(case: Case, event_id: UUID) -> dict[str, Any]:
    entry = case.entry_log[event_id]
    return {
        "event_id": str(event_id),
        **_data(entry.data),
        "offence_class": entry.extras.get("offence_class"),
    }


def _data(data: Any) -> dict[str, Any]:
    return dict(data.model_dump(mode="json"))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _limit(state: CaseState, limit: Limit | None, now: datetime) -> dict[str, Any] | None:
    if limit is None:
        return None
    breach = state.breach_of(limit)
    return {
        "started_at": limit.started_at.isoformat(),
        "expires_at": limit.expires_at.isoformat(),
        "renewals": limit.renewals,
        "ended_at": _iso(limit.ended_at),
        "ended_by": limit.ended_by,
        "status": _status(limit.expires_at, limit.alert_from, now)
        if limit.ended_at is None
        else "ended",
        "breach_detected_at": _iso(breach),
    }


def _detention(state: CaseState, now: datetime) -> dict[str, Any] | None:
    limit = _limit(state, state.pre_trial, now)
    if limit is None or state.detention is None:
        return limit
    rules = state.detention.limits
    return {
        **limit,
        "ordered_at": state.detention.ordered_at.isoformat(),
        "offence_class": rules.get("offence_class"),
        "juvenile": bool(rules.get("juvenile")),
        "max_total_days": rules.get("max_total_days"),
        "legal_source": rules.get("source"),
    }


def _status(expires_at: datetime, alert_from: datetime, now: datetime) -> str:
    if expires_at < now:
        return "overdue"
    return "due_soon" if alert_from <= now else "running"


def list_cases(
    app: JudicialApplication,
    limit: int,
    offset: int,
    facility: str | None = None,
    *,
    scope: Scope,
) -> dict[str, Any]:
    """The cases judicial follows that the scope may see, newest arrest first, a page at a time."""
    # Qualified: inside the scope's subqueries a bare `case_id` is theirs.
    where = Where().visible(scope, "j.case_id").given(facility or None, "facility = %s")
    page = fetch_page(
        app.fetch,
        select=f"SELECT {_CASE_COLUMNS}",
        source="FROM {schema}.judicial_cases j",
        where=where,
        order_by="arrested_at DESC, case_id",
        limit=limit,
        offset=offset,
    )
    keys = [k.strip() for k in _CASE_COLUMNS.split(",")]
    return page.answer([{k: _json(v) for k, v in zip(keys, row, strict=True)} for row in page.rows])


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, UUID) else value


def _plain(values: dict[str, Any], leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: _json(v) for k, v in values.items() if k not in leave_out}


def deadlines(
    app: JudicialApplication,
    limit: int,
    offset: int,
    status: str | None = None,
    facility: str | None = None,
    kind: str | None = None,
    *,
    scope: Scope,
) -> dict[str, Any]:
    """The custody and detention limits of the people still held, soonest first."""
    now = app.clock.now()
    where = _deadline_filter(now, status, facility, kind).visible(scope, "d.case_id")
    where.add("d.kind = ANY(%s)", [k for k, t in LIMIT_TYPES.items() if may_see(scope.role, t)])
    page = fetch_page(
        app.fetch,
        select="SELECT case_id, kind, facility, register_number, started_at, expires_at,"
        " alert_from, renewals, breach_detected_at, legal_source",
        source="FROM {schema}.deadlines d",
        where=where,
        order_by="expires_at, case_id",
        limit=limit,
        offset=offset,
    )
    return page.answer([_deadline_item(row, now) for row in page.rows], as_of=now.isoformat())


def _deadline_filter(
    now: datetime, status: str | None, facility: str | None, kind: str | None
) -> Where:
    where = Where().add("ended_at IS NULL")
    if status == "overdue":
        where.add("expires_at < %s", now)
    elif status == "due_soon":
        where.add("expires_at >= %s AND alert_from <= %s", now, now)
    elif status == "running":
        where.add("alert_from > %s", now)
    return where.given(facility or None, "facility = %s").given(kind or None, "kind = %s")


def _deadline_item(row: tuple[Any, ...], now: datetime) -> dict[str, Any]:
    case_id, kind, facility, register, started, expires, alert_from, renewals, breach, source = row
    status = _status(expires, alert_from, now)
    item = {
        "case_id": str(case_id),
        "kind": kind,
        "facility": facility,
        "register_number": register,
        "started_at": started.isoformat(),
        "expires_at": expires.isoformat(),
        "status": status,
        "renewals": renewals,
        "breach_recorded": breach is not None,
        "breach_detected_at": _iso(breach),
        "legal_source": source or None,
    }
    if status == "overdue":
        item["hours_past_limit"] = round((now - expires).total_seconds() / 3600, 1)
        item["action"] = _ACTIONS[kind]
    return item
