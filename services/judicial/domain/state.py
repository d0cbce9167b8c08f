"""The state of a judicial case, folded from its live entries: judicial's own and those learnt
from intake. A voided entry is left out of the fold, so rules and deadlines ignore it.

`snapshot` turns the state into what the read models store (register row and deadlines).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

__all__ = [
    "CUSTODY",
    "PRE_TRIAL",
    "CaseState",
    "Detention",
    "Entry",
    "Hearing",
    "Limit",
    "Order",
    "fold",
    "release_date",
    "snapshot",
]

CUSTODY, PRE_TRIAL = "custody", "pre_trial"


@dataclass(frozen=True)
class Entry:
    """One entry: its event id (intake's, for what was learnt), name, payload and extras."""

    event_id: UUID
    name: str
    data: Any
    recorded_at: datetime
    extras: Mapping[str, Any] = field(default_factory=dict)
    actor: str = ""


@dataclass
class Limit:
    """A legal limit on detention: from when, until when, and how it ended (if it did)."""

    kind: str
    started_at: datetime
    expires_at: datetime
    source_event_id: UUID
    alert_from: datetime
    legal_source: str = ""
    renewals: int = 0
    ended_at: datetime | None = None
    ended_by: str | None = None


@dataclass
class Detention:
    """Pre-trial detention: the order, its renewals and the figures that applied to it."""

    order_event_id: UUID
    ordered_at: datetime
    limits: Mapping[str, Any]
    renewals: list[UUID] = field(default_factory=list)


@dataclass
class Hearing:
    hearing_id: UUID
    court: str
    scheduled_for: datetime
    purpose: str
    scheduled_event_id: UUID
    status: str = "scheduled"
    closed_event_id: UUID | None = None


@dataclass
class Order:
    """A release order: its kind, when it takes effect, and whether intake executed it."""

    release_order_id: UUID
    kind: str
    effective_at: datetime
    event_id: UUID
    caused_by: UUID | None = None
    executed: bool = False


@dataclass
class CaseState:
    arrested_at: datetime
    minor_at_facts: bool = False
    facility: str | None = None
    facility_at: datetime | None = None
    register_number: str | None = None
    custody: Limit | None = None
    detention: Detention | None = None
    pre_trial: Limit | None = None
    charges: list[UUID] = field(default_factory=list)
    offence_class: str | None = None
    hearings: dict[UUID, Hearing] = field(default_factory=dict)
    verdict: Entry | None = None
    sentence: Entry | None = None
    orders: dict[UUID, Order] = field(default_factory=dict)
    released_at: datetime | None = None
    breaches: dict[tuple[str, datetime], datetime] = field(default_factory=dict)
    sealed: Entry | None = None

    def limit(self, kind: str) -> Limit | None:
        return self.custody if kind == CUSTODY else self.pre_trial

    def breach_of(self, limit: Limit) -> datetime | None:
        """When the breach of this limit was recorded, if it was."""
        return self.breaches.get((limit.kind, limit.expires_at))

    def overdue(self, limit: Limit, now: datetime) -> bool:
        """The person was (or is) held past the limit: still held at `now`, or freed late."""
        return limit.expires_at < (limit.ended_at or now)

    @property
    def stage(self) -> str:
        for stage, reached in (
            ("sealed", self.sealed is not None),
            ("released", self.released_at is not None),
            ("sentenced", self.sentence is not None),
            ("judged", self.verdict is not None),
            ("pre_trial_detention", self.detention is not None),
            ("charged", bool(self.charges)),
            ("in_custody", self.custody is not None),
        ):
            if reached:
                return stage
        return "arrested"


def fold(entries: Iterable[Entry]) -> CaseState:
    """The case's state after the given entries (the first is the opening learnt from intake)."""
    state: CaseState | None = None
    for entry in entries:
        if state is None:
            state = CaseState(entry.data["arrested_at"], bool(entry.data.get("minor_at_facts")))
            continue
        _FOLD.get(entry.name, _ignore)(state, entry)
    if state is None:
        raise ValueError("a judicial case opens with what intake recorded of the arrest")
    return state


def release_date(starts_on: date, term_days: int, credit_days: int) -> date:
    """The day a sentence ends: its start, plus the term, less the time already served."""
    return starts_on + timedelta(days=max(0, term_days - credit_days))


def _end(limit: Limit | None, at: datetime, by: str) -> None:
    # The earliest end counts, whatever order the facts were learnt in.
    if limit is not None and (limit.ended_at is None or at < limit.ended_at):
        limit.ended_at, limit.ended_by = at, by


def _ignore(state: CaseState, entry: Entry) -> None:
    return None


def _custody_noted(state: CaseState, entry: Entry) -> None:
    data = entry.data
    expires = data["started_at"] + timedelta(hours=data["max_hours"])
    state.custody = Limit(
        CUSTODY,
        data["started_at"],
        expires,
        entry.event_id,
        alert_from=expires - timedelta(hours=data["alert_hours"]),
    )


def _custody_extension_noted(state: CaseState, entry: Entry) -> None:
    custody = state.custody
    if custody is None:
        return
    custody.renewals += 1
    # Extensions only move the end later: the latest one counts, in whatever order learnt.
    if entry.data["extended_until"] > custody.expires_at:
        alert = custody.expires_at - custody.alert_from
        custody.expires_at = entry.data["extended_until"]
        custody.alert_from = custody.expires_at - alert
        custody.source_event_id = entry.event_id


def _admission_noted(state: CaseState, entry: Entry) -> None:
    _move(state, entry.data["facility"], entry.data["admitted_at"])
    state.register_number = entry.data.get("register_number")
    _end(state.custody, entry.data["admitted_at"], "admission")


def _transfer_noted(state: CaseState, entry: Entry) -> None:
    _move(state, entry.data["to_facility"], entry.data["transferred_at"])


def _move(state: CaseState, facility: str, at: datetime) -> None:
    # The latest move in the world's time says where the person is, whatever order learnt.
    if state.facility_at is None or at >= state.facility_at:
        state.facility, state.facility_at = facility, at


def _release_noted(state: CaseState, entry: Entry) -> None:
    at = entry.data["released_at"]
    state.released_at = at
    _end(state.custody, at, "release")
    _end(state.pre_trial, at, "release")
    order = state.orders.get(entry.data["release_order_id"])
    if order is not None:
        order.executed = True


def _charges_filed(state: CaseState, entry: Entry) -> None:
    state.charges.append(entry.event_id)
    state.offence_class = entry.extras.get("offence_class", state.offence_class)


def _detention_ordered(state: CaseState, entry: Entry) -> None:
    data, limits = entry.data, entry.extras
    state.detention = Detention(entry.event_id, data.ordered_at, limits)
    state.pre_trial = Limit(
        PRE_TRIAL,
        data.ordered_at,
        data.expires_at,
        entry.event_id,
        alert_from=data.expires_at - timedelta(days=int(limits.get("review_window_days", 0))),
        legal_source=str(limits.get("source", "")),
    )
    _end(state.custody, data.ordered_at, "detention_order")


def _detention_renewed(state: CaseState, entry: Entry) -> None:
    if state.detention is None or state.pre_trial is None:
        return
    window = timedelta(days=int(state.detention.limits.get("review_window_days", 0)))
    state.detention.renewals.append(entry.event_id)
    limit = state.pre_trial
    limit.expires_at, limit.alert_from = entry.data.expires_at, entry.data.expires_at - window
    limit.source_event_id = entry.event_id
    limit.renewals += 1


def _breached(state: CaseState, entry: Entry) -> None:
    data = entry.data
    state.breaches[(data.deadline_kind.value, data.expired_at)] = data.detected_at


def _hearing_scheduled(state: CaseState, entry: Entry) -> None:
    d = entry.data
    state.hearings[d.hearing_id] = Hearing(
        d.hearing_id, d.court, d.scheduled_for, d.purpose, entry.event_id
    )


def _hearing_closed(status: str) -> Callable[[CaseState, Entry], None]:
    def close(state: CaseState, entry: Entry) -> None:
        hearing = state.hearings.get(entry.data.hearing_id)
        if hearing is not None:
            hearing.status, hearing.closed_event_id = status, entry.event_id

    return close


def _verdict(state: CaseState, entry: Entry) -> None:
    state.verdict = entry
    _end(state.custody, entry.data.delivered_at, "verdict")
    _end(state.pre_trial, entry.data.delivered_at, "verdict")


def _sentence(state: CaseState, entry: Entry) -> None:
    state.sentence = entry


def _release_ordered(state: CaseState, entry: Entry) -> None:
    d = entry.data
    caused_by = entry.extras.get("caused_by")
    state.orders[d.release_order_id] = Order(
        d.release_order_id, d.kind.value, d.effective_at, entry.event_id, caused_by
    )


def _sealed(state: CaseState, entry: Entry) -> None:
    state.sealed = entry


_FOLD: dict[str, Callable[[CaseState, Entry], None]] = {
    "CustodyNoted": _custody_noted,
    "CustodyExtensionNoted": _custody_extension_noted,
    "AdmissionNoted": _admission_noted,
    "TransferNoted": _transfer_noted,
    "ReleaseNoted": _release_noted,
    "ChargesFiled": _charges_filed,
    "PreTrialDetentionOrdered": _detention_ordered,
    "PreTrialDetentionRenewed": _detention_renewed,
    "DetentionDeadlineBreached": _breached,
    "HearingScheduled": _hearing_scheduled,
    "HearingHeld": _hearing_closed("held"),
    "HearingAdjourned": _hearing_closed("adjourned"),
    "VerdictDelivered": _verdict,
    "SentenceImposed": _sentence,
    "ReleaseOrdered": _release_ordered,
    "CaseSealed": _sealed,
}


def snapshot(state: CaseState) -> dict[str, Any]:
    """What the read models keep of the case: its register row and its two deadlines."""
    verdict = state.verdict
    register = {
        "arrested_at": state.arrested_at,
        "facility": state.facility,
        "register_number": state.register_number,
        "stage": state.stage,
        "offence_class": state.offence_class,
        "verdict_outcome": verdict.data.outcome.value if verdict else None,
        "verdict_at": verdict.data.delivered_at if verdict else None,
        "sealed": state.sealed is not None,
        "released_at": state.released_at,
    }
    deadlines = {kind: _deadline(state, state.limit(kind)) for kind in (CUSTODY, PRE_TRIAL)}
    return {"register": register, "deadlines": deadlines}


def _deadline(state: CaseState, limit: Limit | None) -> dict[str, Any] | None:
    if limit is None:
        return None
    return {
        "source_event_id": limit.source_event_id,
        "started_at": limit.started_at,
        "expires_at": limit.expires_at,
        "alert_from": limit.alert_from,
        "renewals": limit.renewals,
        "ended_at": limit.ended_at,
        "ended_by": limit.ended_by,
        "breach_detected_at": state.breach_of(limit),
        "legal_source": limit.legal_source,
    }
