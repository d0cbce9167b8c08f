"""Judicial's reads: one case's view, the case list, and the deadlines (from the read models)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from services.judicial.application import JudicialApplication
from services.judicial.domain import Case
from services.judicial.state import CaseState, Limit
from shared.kit.redaction import ALWAYS, Entries, Source, ViewSources
from shared.kit.scope import Scope, condition

__all__ = ["CASE_VIEW_SOURCES", "DEADLINE_STATUSES", "case_view", "deadlines", "list_cases"]

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


_T = "caseline.{}.{}.v1".format

CASE_VIEW_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    "version": ALWAYS,
    "arrested_at": ALWAYS,
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
                "voided": e.event_id in case.voided,
            }
            for e in case.entries
        ],
    }
    return view, case.version


def _payload(case: Case, event_id: UUID) -> dict[str, Any]:
    entry = next(e for e in case.entries if e.event_id == event_id)
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
        "max_total_days": rules.get("max_total_days"),
        "legal_source": rules.get("source"),
    }


def _status(expires_at: datetime, alert_from: datetime, now: datetime) -> str:
    if expires_at < now:
        return "overdue"
    return "due_soon" if alert_from <= now else "running"


def list_cases(
    app: JudicialApplication, scope: Scope, limit: int, offset: int, facility: str | None
) -> dict[str, Any]:
    """The cases judicial follows that the scope may see, newest arrest first, a page at a time."""
    # Qualified: inside the scope's subqueries a bare `case_id` is theirs.
    visible, params = condition(scope, "j.case_id")
    where = f"WHERE {visible}"
    if facility:
        where, params = f"{where} AND facility = %s", [*params, facility]
    rows = app.fetch(
        f"SELECT {_CASE_COLUMNS} FROM {{schema}}.judicial_cases j {where}"
        " ORDER BY arrested_at DESC, case_id LIMIT %s OFFSET %s",
        [*params, limit, offset],
    )
    total = app.fetch(f"SELECT count(*) FROM {{schema}}.judicial_cases j {where}", params)[0][0]
    keys = [k.strip() for k in _CASE_COLUMNS.split(",")]
    items = [{k: _json(v) for k, v in zip(keys, row, strict=True)} for row in rows]
    return {"items": items, "total": int(total), "limit": limit, "offset": offset}


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, UUID) else value


def _plain(values: dict[str, Any], leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: _json(v) for k, v in values.items() if k not in leave_out}


def deadlines(
    app: JudicialApplication,
    scope: Scope,
    status: str | None,
    facility: str | None,
    kind: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """The custody and detention limits of the people still held, soonest first."""
    now = app.clock.now()
    where, params = _deadline_filter(now, status, facility, kind)
    visible, visible_params = condition(scope, "d.case_id")
    where, params = f"({where}) AND {visible}", [*params, *visible_params]
    rows = app.fetch(
        "SELECT case_id, kind, facility, register_number, started_at, expires_at, alert_from,"
        f" renewals, breach_detected_at, legal_source FROM {{schema}}.deadlines d WHERE {where}"
        " ORDER BY expires_at, case_id LIMIT %s OFFSET %s",
        [*params, limit, offset],
    )
    total = app.fetch(f"SELECT count(*) FROM {{schema}}.deadlines d WHERE {where}", params)[0][0]
    items = [_deadline_item(row, now) for row in rows]
    return {
        "items": items,
        "total": int(total),
        "limit": limit,
        "offset": offset,
        "as_of": now.isoformat(),
    }


def _deadline_filter(
    now: datetime, status: str | None, facility: str | None, kind: str | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = ["ended_at IS NULL"]
    params: list[Any] = []
    if status == "overdue":
        clauses.append("expires_at < %s")
        params.append(now)
    elif status == "due_soon":
        clauses.append("expires_at >= %s AND alert_from <= %s")
        params += [now, now]
    elif status == "running":
        clauses.append("alert_from > %s")
        params.append(now)
    for column, value in (("facility", facility), ("kind", kind)):
        if value:
            clauses.append(f"{column} = %s")
            params.append(value)
    return " AND ".join(clauses), params


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
