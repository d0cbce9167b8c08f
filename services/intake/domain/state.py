"""The state of an intake case, computed from its live (not voided) entries in recording order.

Rules read this state; a voided entry is simply left out of the fold, so that views and rules
ignore it and the case reads as if it had never been recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

__all__ = [
    "CaseState",
    "Custody",
    "Entry",
    "ErasureOrder",
    "ErasureRequest",
    "EvidenceTrail",
    "ReleaseOrder",
    "fold",
]


@dataclass(frozen=True)
class Entry:
    """One recorded entry: its event id and name, its payload and any figures applied to it."""

    event_id: UUID
    name: str
    data: Any
    recorded_at: datetime
    limits: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReleaseOrder:
    """A release order learnt from judicial; `order_event_id` is its `ReleaseOrdered` event."""

    release_order_id: UUID
    kind: str
    effective_at: datetime
    order_event_id: UUID
    withdrawn: bool = False


@dataclass(frozen=True)
class ErasureOrder:
    """An erasure order learnt from judicial; `order_event_id` is its `ErasureOrdered` event."""

    erasure_order_id: UUID
    order_reference: str
    legal_basis: str
    order_event_id: UUID
    withdrawn: bool = False


@dataclass(frozen=True)
class ErasureRequest:
    """The first of the four eyes: who asked to execute which erasure order, and why."""

    erasure_order_id: UUID
    reason: str
    requested_by: str
    requested_at: datetime


@dataclass
class Custody:
    """Police custody (garde à vue): when it started, until when it runs, how far it may go."""

    started_event_id: UUID
    regime: str
    started_at: datetime
    until: datetime
    latest_until: datetime
    extension_hours: int
    max_extensions: int
    source: str
    extensions: list[UUID] = field(default_factory=list)
    ended_at: datetime | None = None


@dataclass
class EvidenceTrail:
    """One item's chain of custody: who holds it now, and its entries in order."""

    item_id: str
    description: str
    holder: str
    last_logged_at: datetime
    entries: list[UUID] = field(default_factory=list)


@dataclass
class CaseState:
    """What intake knows of the person now."""

    arrested_at: datetime
    status: str = "arrested"
    facility: str | None = None
    admitted_at: datetime | None = None
    released_at: datetime | None = None
    release_order_id: UUID | None = None
    custody: Custody | None = None
    evidence: dict[str, EvidenceTrail] = field(default_factory=dict)
    placements: list[UUID] = field(default_factory=list)
    """Live admissions and transfers, in order: the last one says where the person is."""
    family_contacts: int = 0


def fold(entries: Iterable[Entry]) -> CaseState:
    """The case's state after the given entries (the first must be the arrest)."""
    state: CaseState | None = None
    for entry in entries:
        if state is None:
            state = CaseState(arrested_at=entry.data.arrested_at)
            continue
        _FOLD.get(entry.name, _ignore)(state, entry)
    if state is None:
        raise ValueError("a case starts with its arrest")
    return state


def _ignore(state: CaseState, entry: Entry) -> None:
    return None


def _custody_started(state: CaseState, entry: Entry) -> None:
    data, limits = entry.data, entry.limits
    until = data.started_at + timedelta(hours=data.max_hours)
    state.custody = Custody(
        started_event_id=entry.event_id,
        regime=str(limits.get("regime", "")),
        started_at=data.started_at,
        until=until,
        latest_until=until
        + timedelta(
            hours=int(limits.get("extension_hours", 0)) * int(limits.get("max_extensions", 0))
        ),
        extension_hours=int(limits.get("extension_hours", 0)),
        max_extensions=int(limits.get("max_extensions", 0)),
        source=str(limits.get("source", "")),
    )
    state.status = "in_custody"


def _custody_extended(state: CaseState, entry: Entry) -> None:
    if state.custody is not None:
        state.custody.until = entry.data.extended_until
        state.custody.extensions.append(entry.event_id)


def _evidence_logged(state: CaseState, entry: Entry) -> None:
    data = entry.data
    holder = data.handed_to or data.collected_by
    trail = state.evidence.get(data.item_id)
    if trail is None:
        trail = EvidenceTrail(data.item_id, data.description, holder, data.collected_at)
        state.evidence[data.item_id] = trail
    trail.holder, trail.last_logged_at = holder, data.collected_at
    trail.entries.append(entry.event_id)


def _transferred(state: CaseState, entry: Entry) -> None:
    state.facility = entry.data.to_facility
    state.status = "transferred"
    state.placements.append(entry.event_id)


def _admitted(state: CaseState, entry: Entry) -> None:
    state.facility = entry.data.facility
    state.admitted_at = entry.data.admitted_at
    state.status = "admitted"
    state.placements.append(entry.event_id)
    _end_custody(state, entry.data.admitted_at)


def _family_contact(state: CaseState, entry: Entry) -> None:
    state.family_contacts += 1


def _released(state: CaseState, entry: Entry) -> None:
    state.released_at = entry.data.released_at
    state.release_order_id = entry.data.release_order_id
    state.status = "released"
    _end_custody(state, entry.data.released_at)


def _end_custody(state: CaseState, at: datetime) -> None:
    if state.custody is not None and state.custody.ended_at is None:
        state.custody.ended_at = at


_FOLD: dict[str, Callable[[CaseState, Entry], None]] = {
    "CustodyStarted": _custody_started,
    "CustodyExtended": _custody_extended,
    "EvidenceLogged": _evidence_logged,
    "DetaineeTransferred": _transferred,
    "DetaineeAdmitted": _admitted,
    "FamilyContactRecorded": _family_contact,
    "DetaineeReleased": _released,
}
