"""A programme of the catalogue and its participants: enrolment, attendance, completion, exits.

Enrolments live on the `Programme` aggregate, so that the store's optimistic concurrency keeps the
number of active participants within the programme's capacity, whatever the number of writers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.programmes.domain.errors import (
    AlreadyAttendedError,
    AlreadyCompletedError,
    AlreadyEnrolledError,
    AlreadyVoidedError,
    AttendanceThresholdNotMetError,
    CapacityFullError,
    KeepApartError,
    NotEnrolledError,
    NotVoidableError,
    OtherFacilityError,
    PersonReleasedError,
    ProgrammeVoidedError,
    RiskAboveMaximumError,
    RiskNotAssessedError,
    TimeOrderError,
)
from shared.events import (
    ParticipantCompleted,
    ParticipantEnrolled,
    ParticipantWithdrawn,
    ProgrammeCreated,
    ProgrammeKind,
    ProgrammesEntryVoided,
    RiskLevel,
    SessionAttended,
)
from shared.kit.domain import Meta, VoidableEntries

__all__ = ["ACTIVE", "COMPLETED", "VOIDED", "WITHDRAWN", "CaseFacts", "Participation", "Programme"]

ACTIVE, COMPLETED, WITHDRAWN, VOIDED = "active", "completed", "withdrawn", "voided"


@dataclass(frozen=True)
class CaseFacts:
    """What programmes knows of a person from other services, as eligibility needs it."""

    risk: RiskLevel | None = None
    facility: str | None = None
    released_at: datetime | None = None
    keep_apart: frozenset[UUID] = frozenset()


@dataclass
class Participation:
    """One enrolment of a person in the programme, from enrolment to completion or withdrawal."""

    id: UUID
    case_id: UUID
    enrolled_at: datetime
    status: str = ACTIVE
    sessions: dict[date, UUID] = field(default_factory=dict)
    exit_event: UUID | None = None
    ended_at: datetime | None = None


class Programme(Aggregate, VoidableEntries[tuple[str, UUID]]):
    """A programme and who takes part in it. Invariant: active participants ≤ capacity.

    Its log holds the programme's entries: each one's kind and participation (for its creation,
    the programme's id).
    """

    record_name = "programme"
    unknown_entry_error = NotVoidableError
    voided_twice_error = AlreadyVoidedError
    not_voidable_error = NotVoidableError

    @staticmethod
    def create_id(programme_id: UUID, **_: object) -> UUID:
        return programme_id

    @event("ProgrammeCreated")
    def __init__(self, programme_id: UUID, data: ProgrammeCreated, meta: Meta) -> None:
        self.info = data
        self.created_event = meta.event_id
        self.created_at = meta.recorded_at
        self.voided = False
        self.participations: dict[UUID, Participation] = {}
        self._open_log()
        self._log_entry(meta.event_id, ("ProgrammeCreated", programme_id))

    # --- reading ---------------------------------------------------------------------------

    def current(self, case_id: UUID) -> Participation | None:
        """The person's latest enrolment that was not voided, if any."""
        found = None
        for p in self.participations.values():
            if p.case_id == case_id and p.status != VOIDED:
                found = p
        return found

    def active(self) -> list[Participation]:
        return [p for p in self.participations.values() if p.status == ACTIVE]

    def _current_of(self, case_id: UUID) -> Participation:
        p = self.current(case_id)
        if p is None:  # pragma: no cover - the command checked it before recording
            raise LookupError(f"no participation of case {case_id}")
        return p

    def _taking_part(self, case_id: UUID) -> Participation:
        p = self.current(case_id)
        if p is None or p.status != ACTIVE:
            raise NotEnrolledError(
                "case {case_id} is not taking part in this programme now", case_id=case_id
            )
        return p

    def _open(self) -> None:
        if self.voided:
            raise ProgrammeVoidedError("this programme's creation was voided: it takes no one")

    # --- enrolment -------------------------------------------------------------------------

    def enrol(self, case_id: UUID, data: ParticipantEnrolled, facts: CaseFacts, meta: Meta) -> None:
        """Enrol the person if every eligibility rule allows it."""
        self._open()
        current = self.current(case_id)
        if current is not None and current.status == ACTIVE:
            raise AlreadyEnrolledError("the person is already taking part in this programme")
        if current is not None and current.status == COMPLETED:
            raise AlreadyCompletedError("the person already completed this programme")
        self._check_eligibility(facts)
        if facts.keep_apart & {p.case_id for p in self.active()}:
            raise KeepApartError(
                "a placement decision keeps the person apart from someone already enrolled"
            )
        if len(self.active()) >= self.info.capacity:
            raise CapacityFullError(
                "capacity full: all {capacity} places of this programme are taken",
                capacity=self.info.capacity,
            )
        self._enrolled(case_id=case_id, data=data, meta=meta)

    def _check_eligibility(self, facts: CaseFacts) -> None:
        released = facts.released_at is not None
        if released and self.info.kind is not ProgrammeKind.REINTEGRATION:
            raise PersonReleasedError(
                "the person was released: only reintegration programmes take released people"
            )
        if self.info.facility and not released and facts.facility != self.info.facility:
            raise OtherFacilityError(
                "the programme runs at {facility}, where the person is not held",
                facility=self.info.facility,
            )
        maximum = self.info.max_risk_level
        if maximum is None:
            return
        if facts.risk is None:
            raise RiskNotAssessedError(
                "the programme admits risk up to {maximum}, and the person has no countersigned "
                "risk assessment",
                maximum=maximum.value,
            )
        if facts.risk.is_above(maximum):
            raise RiskAboveMaximumError(
                "the person's latest countersigned risk is above this programme's maximum "
                "({maximum})",
                maximum=maximum.value,
            )

    @event("ParticipantEnrolled")
    def _enrolled(self, case_id: UUID, data: ParticipantEnrolled, meta: Meta) -> None:
        self.participations[meta.event_id] = Participation(
            id=meta.event_id, case_id=case_id, enrolled_at=data.enrolled_at
        )
        self._log_entry(meta.event_id, ("ParticipantEnrolled", meta.event_id))

    # --- attendance and exits --------------------------------------------------------------

    def attend(
        self, lines: Sequence[tuple[UUID, SessionAttended, Meta]], zone: tzinfo = UTC
    ) -> None:
        """Record one session's attendance lines: all or none; `zone` is the jurisdiction's, whose
        calendar the session dates follow."""
        self._open()
        for case_id, data, _ in lines:
            p = self._taking_part(case_id)
            if data.session_date in p.sessions:
                raise AlreadyAttendedError(
                    "attendance of case {case_id} on {session_date} is already recorded",
                    case_id=case_id,
                    session_date=data.session_date,
                )
            if data.session_date < p.enrolled_at.astimezone(zone).date():
                raise TimeOrderError(
                    "case {case_id} was enrolled after {session_date}: no attendance before",
                    case_id=case_id,
                    session_date=data.session_date,
                )
        for case_id, data, meta in lines:
            self._attended(case_id=case_id, data=data, meta=meta)

    @event("SessionAttended")
    def _attended(self, case_id: UUID, data: SessionAttended, meta: Meta) -> None:
        p = self._current_of(case_id)
        p.sessions[data.session_date] = meta.event_id
        self._log_entry(meta.event_id, ("SessionAttended", p.id))

    def complete(self, case_id: UUID, data: ParticipantCompleted, meta: Meta) -> None:
        """Record completion once the person attended the programme's threshold of sessions."""
        self._open()
        p = self._taking_part(case_id)
        if data.completed_at < p.enrolled_at:
            raise TimeOrderError("completion cannot precede the enrolment")
        threshold = self.info.attendance_threshold
        if len(p.sessions) < threshold:
            raise AttendanceThresholdNotMetError(
                "completion needs {threshold} attended sessions; {count} recorded",
                threshold=threshold,
                count=len(p.sessions),
            )
        self._completed(case_id=case_id, data=data, meta=meta)

    @event("ParticipantCompleted")
    def _completed(self, case_id: UUID, data: ParticipantCompleted, meta: Meta) -> None:
        self._ended(case_id, COMPLETED, data.completed_at, meta.event_id)

    def withdraw(self, case_id: UUID, data: ParticipantWithdrawn, meta: Meta) -> None:
        """Record that the person left before completing, and why."""
        self._open()
        p = self._taking_part(case_id)
        if data.withdrawn_at < p.enrolled_at:
            raise TimeOrderError("a withdrawal cannot precede the enrolment")
        self._withdrawn(case_id=case_id, data=data, meta=meta)

    @event("ParticipantWithdrawn")
    def _withdrawn(self, case_id: UUID, data: ParticipantWithdrawn, meta: Meta) -> None:
        self._ended(case_id, WITHDRAWN, data.withdrawn_at, meta.event_id)

    def _ended(self, case_id: UUID, status: str, at: datetime, event_id: UUID) -> None:
        p = self._current_of(case_id)
        p.status, p.ended_at, p.exit_event = status, at, event_id
        self._log_entry(event_id, (status, p.id))

    # --- voiding ---------------------------------------------------------------------------

    def void(self, data: ProgrammesEntryVoided, meta: Meta) -> None:
        """Void a mistaken entry of this programme, if nothing recorded since rests on it."""
        kind, pid = self.voidable(data.voided_event_id)
        if kind == "ProgrammeCreated":
            if any(p.status != VOIDED for p in self.participations.values()):
                raise NotVoidableError("the programme has enrolments: void them first")
        else:
            self._check_line_voidable(kind, pid)
        self._entry_voided(data=data, meta=meta)

    def _check_line_voidable(self, kind: str, pid: UUID) -> None:
        p = self.participations[pid]
        if self.current(p.case_id) is not p:
            raise NotVoidableError("the person was enrolled again since: this entry is settled")
        if kind == "ParticipantEnrolled" and (p.status != ACTIVE or p.sessions):
            raise NotVoidableError("attendance or an exit rests on this enrolment: void them first")
        if kind == "SessionAttended" and p.status != ACTIVE:
            raise NotVoidableError("the person has left the programme: void the exit first")
        if kind in (COMPLETED, WITHDRAWN) and len(self.active()) >= self.info.capacity:
            raise CapacityFullError("voiding this exit would take a place, and none is free")

    @event("EntryVoided")
    def _entry_voided(self, data: ProgrammesEntryVoided, meta: Meta) -> None:
        target = data.voided_event_id
        kind, pid = self.entry_log[target]
        self._log_voiding(target, meta.event_id, ("EntryVoided", pid))
        if kind == "ProgrammeCreated":
            self.voided = True
            return
        p = self.participations[pid]
        if kind == "ParticipantEnrolled":
            p.status = VOIDED
        elif kind == "SessionAttended":
            p.sessions = {d: e for d, e in p.sessions.items() if e != target}
        else:
            p.status, p.ended_at, p.exit_event = ACTIVE, None, None
