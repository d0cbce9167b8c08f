"""Programmes' `CaseFile`, built directly and driven by random command sequences (no store).

A plain model predicts whether the rules allow each command. After every step the case file
agrees with it and keeps what the domain promises: a referral is answered once (accepted or
declined, by then no longer pending) until that answer is voided, one pending referral per
receiving agency, an accepted referral cannot be revoked, a revoked one is settled; a plan is
agreed no later than the release and a follow-up recorded only after it; the facts learnt from
other services count until their service voids them (the risk is the latest standing
countersigned submission's), and replay rebuilds the same case file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from services.programmes.domain import CaseFile
from services.programmes.domain.errors import ProgrammesError
from shared.events import (
    FollowUpRecorded,
    ProgrammesEntryVoided,
    ReferralAccepted,
    ReferralDeclined,
    ReferralMade,
    ReintegrationPlanAgreed,
    RiskLevel,
)
from shared.kit.errors import NotFoundError
from tests.unit.machines import T0, Events, attempt, meta

AGENCIES = ("ONG Jeunesse et Avenir", "Ministère de la Justice", "Centre de santé")
REFUSALS = (ProgrammesError, NotFoundError)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


@dataclass
class Referral:
    made_event: UUID
    to_agency: str
    status: str = "pending"
    answer: UUID | None = None


@dataclass
class Model:
    """What the rules say the case file is, from the commands that were allowed."""

    facts: list[tuple[UUID, str, Any]] = field(default_factory=list)
    """Facts learnt, in order: (event id, kind, value)."""
    voided_facts: set[UUID] = field(default_factory=set)
    referrals: dict[UUID, Referral] = field(default_factory=dict)
    plans: list[UUID] = field(default_factory=list)
    entries: list[tuple[UUID, str, UUID | None]] = field(default_factory=list)
    """The case's own entries, voided or not: (event id, kind, its referral)."""
    voided: set[UUID] = field(default_factory=set)

    def latest(self, kind: str) -> Any:
        standing = [v for e, k, v in self.facts if k == kind and e not in self.voided_facts]
        return standing[-1] if standing else None

    def risk(self) -> RiskLevel | None:
        submissions = {v[0]: (e, v[1]) for e, k, v in self.facts if k == "submission"}
        for event_id, kind, assessment_id in reversed(self.facts):
            if kind != "countersignature" or event_id in self.voided_facts:
                continue
            submitted = submissions.get(assessment_id)
            if submitted is not None and submitted[0] not in self.voided_facts:
                return RiskLevel(submitted[1])
        return None


class CaseFileMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.events = Events()
        self.model = Model()
        self.clock = 0

    def meta(self, agency: str = AGENCIES[0]) -> Any:
        self.clock += 1
        return meta("worker", T0 + timedelta(hours=self.clock), agency)

    def attempt(self, allowed: bool, command: Any) -> bool:
        if not attempt(allowed, command, REFUSALS):
            return False
        self.events.collect(self.case)
        return True

    @initialize()
    def open_file(self) -> None:
        self.case = CaseFile(case_id=uuid4(), opened_at=T0)
        self.events.collect(self.case)

    # --- facts from other services ---------------------------------------------------------

    def learn(self, kind: str, value: Any, note: Any) -> None:
        event_id = uuid4()
        assert not self.case.knows(event_id)
        note(event_id)
        assert self.case.knows(event_id)
        self.events.collect(self.case)
        self.model.facts.append((event_id, kind, value))

    @rule(facility=st.sampled_from(["Bamako", "Koulikoro"]))
    def learn_location(self, facility: str) -> None:
        self.learn("location", facility, lambda e: self.case.note_location(e, facility, day(1)))

    @rule(days=st.integers(0, 60))
    def learn_release(self, days: int) -> None:
        self.learn("release", day(days), lambda e: self.case.note_release(e, day(days)))

    @rule(risk=st.sampled_from(RiskLevel), countersigned=st.booleans())
    def learn_assessment(self, risk: RiskLevel, countersigned: bool) -> None:
        """A submission, and its countersignature now and then (each a fact of its own)."""
        aid = uuid4()
        self.learn(
            "submission", (aid, risk.value), lambda e: self.case.note_submission(e, aid, risk)
        )
        if countersigned:
            self.learn("countersignature", aid, lambda e: self.case.note_countersignature(e, aid))

    @rule(name=st.sampled_from(["Amadou", "Moussa"]))
    def learn_name(self, name: str) -> None:
        self.learn("name", name, lambda e: self.case.note_name(e, name))

    @precondition(lambda self: bool(self.model.facts))
    @rule(pick=st.integers(0, 30), known=st.sampled_from([True, True, True, False]))
    def learn_a_voiding(self, pick: int, known: bool) -> None:
        """Another service voided one of its entries: a fact learnt of it stops counting."""
        m = self.model
        target = m.facts[pick % len(m.facts)][0] if known else uuid4()
        expected = known and target not in m.voided_facts
        assert self.case.note_voided(target) is expected
        if expected:
            self.events.collect(self.case)
            m.voided_facts.add(target)

    # --- referrals -------------------------------------------------------------------------

    @rule(to=st.sampled_from(AGENCIES))
    def refer(self, to: str) -> None:
        m, referral_id = self.model, uuid4()
        allowed = not any(r.status == "pending" and r.to_agency == to for r in m.referrals.values())
        data = ReferralMade(
            referral_id=referral_id, to_agency=to, reason="Vocational training", consent="given"
        )
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.refer(data, made)):
            m.referrals[referral_id] = Referral(made.event_id, to)
            m.entries.append((made.event_id, "ReferralMade", referral_id))

    @rule(pick=st.integers(0, 20), accept=st.booleans())
    def answer(self, pick: int, accept: bool) -> None:
        m = self.model
        known = list(m.referrals)
        referral_id = known[pick % len(known)] if known and pick < 18 else uuid4()
        referral = m.referrals.get(referral_id)
        allowed = referral is not None and referral.status == "pending"
        by = referral.to_agency if referral else AGENCIES[0]
        model = ReferralAccepted if accept else ReferralDeclined
        data = model(referral_id=referral_id, by_agency=by)
        made = self.meta(by)
        if self.attempt(allowed, lambda: self.case.answer(data, made)):
            assert referral is not None
            referral.status, referral.answer = ("accepted" if accept else "declined"), made.event_id
            kind = "ReferralAccepted" if accept else "ReferralDeclined"
            m.entries.append((made.event_id, kind, referral_id))

    # --- reintegration ---------------------------------------------------------------------

    @rule(days=st.integers(0, 60))
    def agree_plan(self, days: int) -> None:
        released = self.model.latest("release")
        allowed = released is None or day(days) <= released
        data = ReintegrationPlanAgreed(
            goals=["Work"], community_contact="Imam of the quarter", agreed_at=day(days)
        )
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.agree_plan(data, made)):
            self.model.plans.append(made.event_id)
            self.model.entries.append((made.event_id, "ReintegrationPlanAgreed", None))

    @rule(days=st.integers(0, 90))
    def follow_up(self, days: int) -> None:
        released = self.model.latest("release")
        allowed = released is not None and day(days) >= released
        data = FollowUpRecorded(at=day(days), status="on_track", note="Working at the garage")
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.follow_up(data, made)):
            self.model.entries.append((made.event_id, "FollowUpRecorded", None))

    # --- voiding ---------------------------------------------------------------------------

    @precondition(lambda self: bool(self.model.entries))
    @rule(pick=st.integers(0, 40))
    def void(self, pick: int) -> None:
        m = self.model
        target, kind, referral_id = m.entries[pick % len(m.entries)]
        referral = m.referrals.get(referral_id) if referral_id else None
        waiting = [r for r in m.referrals.values() if r.status == "pending"]
        allowed = (
            target not in m.voided
            and not (referral is not None and referral.status == "revoked")
            and not (
                kind == "ReferralMade" and referral is not None and referral.status == "accepted"
            )
            and not (
                kind in ("ReferralAccepted", "ReferralDeclined")
                and referral is not None
                and any(r.to_agency == referral.to_agency for r in waiting)
            )
        )
        data = ProgrammesEntryVoided(voided_event_id=target, reason="Recorded by mistake")
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.void(data, made)):
            m.voided.add(target)
            m.plans = [p for p in m.plans if p != target]
            if referral is not None and kind == "ReferralMade":
                referral.status = "revoked"
            elif referral is not None:
                referral.status, referral.answer = "pending", None

    # --- what must hold after every step --------------------------------------------------

    @invariant()
    def agrees_with_the_model(self) -> None:
        m, case = self.model, self.case
        assert case.facility == m.latest("location")
        assert case.released_at == m.latest("release")
        assert case.risk == m.risk()
        assert case.full_name == next((v for _, k, v in reversed(m.facts) if k == "name"), None)
        assert {r.id: (r.status, r.answer_event) for r in case.referrals.values()} == {
            i: (r.status, r.answer) for i, r in m.referrals.items()
        }
        assert (case.plan[0] if case.plan else None) == (m.plans[-1] if m.plans else None)
        assert set(case.voided_by) == m.voided

    @invariant()
    def a_referral_is_answered_once_and_waits_once_per_agency(self) -> None:
        pending = [r.to_agency for r in self.case.referrals.values() if r.status == "pending"]
        assert len(pending) == len(set(pending))
        for referral in self.case.referrals.values():
            # Answered: accepted or declined, and still so once a declined one is revoked.
            if referral.status in ("accepted", "declined"):
                assert referral.answer_event is not None
            if referral.status == "pending":
                assert referral.answer_event is None
            answers = [
                line
                for line in referral.history
                if line["event"] in ("ReferralAccepted", "ReferralDeclined")
            ]
            voided_answers = [
                line
                for line in referral.history
                if line.get("voided") in ("ReferralAccepted", "ReferralDeclined")
            ]
            assert len(answers) - len(voided_answers) == (1 if referral.answer_event else 0)

    @invariant()
    def replay_rebuilds_the_same_case_file(self) -> None:
        self.events.assert_replay_equals(self.case)


TestCaseFile = CaseFileMachine.TestCase
TestCaseFile.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
