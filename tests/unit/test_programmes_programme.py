"""Programmes' `Programme`, built directly and driven by random command sequences (no store).

A plain model predicts whether the rules allow each command. After every step the programme
agrees with it and keeps what the domain promises: never more active participants than places,
nobody enrolled who is ineligible (released into a prison programme, held elsewhere, of unknown
or too high a risk, kept apart from a participant), nobody twice at once, attendance only while
taking part and once a day, completion only past the attendance threshold, a voided entry no
longer counts (a voided exit takes a place back, and only if one is free), a voided programme
takes no one, and replay rebuilds the same programme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from services.programmes.domain import CaseFacts, Programme
from services.programmes.domain.errors import ProgrammesError
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
from tests.unit.machines import T0, Events, attempt, meta

PEOPLE = tuple(uuid4() for _ in range(5))
PRISON, ELSEWHERE = "Bamako", "Koulikoro"


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


@dataclass
class Participation:
    event_id: UUID
    case_id: UUID
    enrolled_at: datetime
    status: str = "active"
    sessions: dict[date, UUID] = field(default_factory=dict)
    exit_event: UUID | None = None


@dataclass
class Model:
    """What the rules say the programme is, from the commands that were allowed."""

    participations: list[Participation] = field(default_factory=list)
    lines: dict[UUID, tuple[str, Participation]] = field(default_factory=dict)
    """Each enrolment, attendance and exit: (its kind, its participation)."""
    voided: set[UUID] = field(default_factory=set)
    programme_voided: bool = False

    def current(self, case_id: UUID) -> Participation | None:
        live = [p for p in self.participations if p.case_id == case_id and p.status != "voided"]
        return live[-1] if live else None

    def active(self) -> list[Participation]:
        return [p for p in self.participations if p.status == "active"]


facts = st.builds(
    CaseFacts,
    risk=st.none() | st.sampled_from(RiskLevel),
    facility=st.sampled_from([PRISON, PRISON, ELSEWHERE]),
    released_at=st.sampled_from([None, None, None, day(1)]),
    keep_apart=st.sampled_from([frozenset(), frozenset(), frozenset(PEOPLE[:1])]),
)


class ProgrammeMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.events = Events()
        self.model = Model()

    def attempt(self, allowed: bool, command: Any) -> bool:
        if not attempt(allowed, command, ProgrammesError):
            return False
        self.events.collect(self.programme)
        return True

    @initialize(
        kind=st.sampled_from([ProgrammeKind.VOCATIONAL, ProgrammeKind.REINTEGRATION]),
        capacity=st.integers(1, 3),
        max_risk=st.none() | st.sampled_from(RiskLevel),
        facility=st.none() | st.just(PRISON),
        threshold=st.integers(0, 3),
        enrolled=st.integers(0, 3),
    )
    def create(
        self,
        kind: ProgrammeKind,
        capacity: int,
        max_risk: RiskLevel | None,
        facility: str | None,
        threshold: int,
        enrolled: int,
    ) -> None:
        """The programme, and the first `enrolled` people who fit it enrolled on day 0."""
        data = ProgrammeCreated(
            programme_id=uuid4(),
            kind=kind,
            title="Carpentry",
            provider_agency="ONG Jeunesse et Avenir",
            capacity=capacity,
            max_risk_level=max_risk,
            facility=facility,
            attendance_threshold=threshold,
        )
        made = meta()
        self.programme = Programme(programme_id=data.programme_id, data=data, meta=made)
        self.events.collect(self.programme)
        self.info = data
        for person in PEOPLE[:enrolled]:
            self.enrol(person, True, CaseFacts(), 0)

    def eligible(self, case_id: UUID, f: CaseFacts) -> bool:
        info, released = self.info, f.released_at is not None
        current = self.model.current(case_id)
        return (
            not self.model.programme_voided
            and (current is None or current.status == "withdrawn")
            and not (released and info.kind is not ProgrammeKind.REINTEGRATION)
            and not (info.facility and not released and f.facility != info.facility)
            and (
                info.max_risk_level is None
                or (f.risk is not None and not f.risk.is_above(info.max_risk_level))
            )
            and not (f.keep_apart & {p.case_id for p in self.model.active()})
            and len(self.model.active()) < info.capacity
        )

    @rule(
        person=st.sampled_from(PEOPLE),
        fitting=st.sampled_from([True, True, False]),
        case_facts=facts,
        days=st.integers(0, 5),
    )
    def enrol(self, person: UUID, fitting: bool, case_facts: CaseFacts, days: int) -> None:
        """Enrol someone, whose facts are mostly what the programme asks (else drawn at will)."""
        if fitting:
            case_facts = CaseFacts(risk=RiskLevel.LOW, facility=self.info.facility or PRISON)
        data = ParticipantEnrolled(programme_id=self.programme.id, enrolled_at=day(days))
        made = meta()
        allowed = self.eligible(person, case_facts)
        if self.attempt(allowed, lambda: self.programme.enrol(person, data, case_facts, made)):
            p = Participation(made.event_id, person, day(days))
            self.model.participations.append(p)
            self.model.lines[made.event_id] = ("enrolment", p)

    @rule(
        people=st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3, unique=True),
        days=st.integers(-1, 12),
    )
    def record_session(self, people: list[UUID], days: int) -> None:
        """One session's attendance: every line is recorded, or none."""
        m, when = self.model, day(days).date()
        lines = [
            (
                c,
                SessionAttended(programme_id=self.programme.id, session_date=when, facilitator="F"),
                meta(),
            )
            for c in people
        ]
        allowed = not m.programme_voided
        for case_id in people:
            p = m.current(case_id)
            allowed = allowed and p is not None and p.status == "active"
            allowed = (
                allowed
                and p is not None
                and when not in p.sessions
                and when >= p.enrolled_at.date()
            )
        if self.attempt(allowed, lambda: self.programme.attend(lines)):
            for case_id, _, made in lines:
                p = m.current(case_id)
                assert p is not None
                p.sessions[when] = made.event_id
                m.lines[made.event_id] = ("session", p)

    @rule(person=st.sampled_from(PEOPLE), completed=st.booleans(), days=st.integers(-1, 15))
    def leave(self, person: UUID, completed: bool, days: int) -> None:
        """Completion (past the threshold) or withdrawal, dated `days` after T0."""
        m, p = self.model, self.model.current(person)
        allowed = (
            not m.programme_voided
            and p is not None
            and p.status == "active"
            and day(days) >= p.enrolled_at
        )
        made = meta()
        command: Any
        if completed:
            allowed = (
                allowed and p is not None and len(p.sessions) >= self.info.attendance_threshold
            )
            done = ParticipantCompleted(programme_id=self.programme.id, completed_at=day(days))
            command = lambda: self.programme.complete(person, done, made)  # noqa: E731
        else:
            gone = ParticipantWithdrawn(
                programme_id=self.programme.id, withdrawn_at=day(days), reason="Moved"
            )
            command = lambda: self.programme.withdraw(person, gone, made)  # noqa: E731
        if self.attempt(allowed, command):
            assert p is not None
            p.status, p.exit_event = ("completed" if completed else "withdrawn"), made.event_id
            m.lines[made.event_id] = ("exit", p)

    @precondition(lambda self: bool(self.model.lines))
    @rule(pick=st.integers(0, 40), creation=st.sampled_from([False] * 7 + [True]))
    def void(self, pick: int, creation: bool) -> None:
        m = self.model
        target = self.programme.created_event if creation else list(m.lines)[pick % len(m.lines)]
        if creation:
            allowed = all(p.status == "voided" for p in m.participations)
        else:
            kind, p = m.lines[target]
            allowed = m.current(p.case_id) is p and not (
                (kind == "enrolment" and (p.status != "active" or p.sessions))
                or (kind == "session" and p.status != "active")
                or (kind == "exit" and len(m.active()) >= self.info.capacity)
            )
        allowed = allowed and target not in m.voided
        data = ProgrammesEntryVoided(voided_event_id=target, reason="Recorded by mistake")
        if self.attempt(allowed, lambda: self.programme.void(data, meta())):
            m.voided.add(target)
            self._forget(target, creation)

    def _forget(self, target: UUID, creation: bool) -> None:
        if creation:
            self.model.programme_voided = True
            return
        kind, p = self.model.lines[target]
        if kind == "enrolment":
            p.status = "voided"
        elif kind == "session":
            p.sessions = {d: e for d, e in p.sessions.items() if e != target}
        else:
            p.status, p.exit_event = "active", None

    @invariant()
    def agrees_with_the_model(self) -> None:
        live = {
            p.id: (p.case_id, p.status, p.sessions) for p in self.programme.participations.values()
        }
        assert live == {
            p.event_id: (p.case_id, p.status, p.sessions) for p in self.model.participations
        }
        assert self.programme.voided == self.model.programme_voided

    @invariant()
    def active_participants_fit_the_places(self) -> None:
        active = self.programme.active()
        assert len(active) <= self.info.capacity
        assert len({p.case_id for p in active}) == len(active), "nobody takes part twice at once"

    @invariant()
    def a_completion_met_the_threshold(self) -> None:
        for p in self.programme.participations.values():
            if p.status == "completed":
                assert len(p.sessions) >= self.info.attendance_threshold

    @invariant()
    def a_voided_programme_has_no_participant(self) -> None:
        if self.programme.voided:
            assert all(p.status == "voided" for p in self.programme.participations.values())

    @invariant()
    def replay_rebuilds_the_same_programme(self) -> None:
        self.events.assert_replay_equals(self.programme)


TestProgramme = ProgrammeMachine.TestCase
TestProgramme.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
