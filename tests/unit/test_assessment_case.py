"""Assessment's `Case`, built directly and driven by random command sequences (no store, no
server).

A plain model predicts whether the rules allow each command. After every step the case agrees
with it and keeps what the domain promises: an assessment is submitted only when every indicator
is rated on its scale, countersigned by someone else than its assessor and only once submitted,
a countersigned assessment stands, the current risk is that of the latest countersignature, a
countersignature meets the risk assessments due and sets the next review, a voided entry no
longer counts, and replay rebuilds the same case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from services.assessment.domain import Case, InstrumentVersion
from services.assessment.domain.errors import AssessmentError
from shared.events.assessment import (
    AssessmentCountersigned,
    AssessmentDue,
    AssessmentKind,
    AssessmentStarted,
    AssessmentSubmitted,
    IndicatorRated,
    InstrumentPublished,
    NeedsAssessed,
    PlacementDecided,
    RiskLevel,
)
from shared.events.voiding import AssessmentEntryVoided
from shared.kit.errors import NotFoundError
from tests.unit.machines import T0, Events, at, attempt, meta

PEOPLE = ("assessor-awa", "assessor-boubacar", "director-coulibaly")
INDICATORS = ("R1", "R2", "R3")
REFUSALS = (AssessmentError, NotFoundError)


def instrument(kind: AssessmentKind | None, scale: tuple[int, int] = (0, 2)) -> InstrumentVersion:
    return InstrumentVersion.of(
        InstrumentPublished.model_validate(
            {
                "instrument_id": str(uuid4()),
                "version": 1,
                "title": f"A {kind or 'general'} instrument",
                "assessment_kind": kind,
                "domains": [
                    {
                        "id": "D",
                        "title": "Domain",
                        "indicators": [
                            {"id": i, "text": i, "scale": {"min": scale[0], "max": scale[1]}}
                            for i in INDICATORS
                        ],
                    }
                ],
            }
        )
    )


INSTRUMENTS = {
    "risk": instrument(AssessmentKind.RISK),
    "general": instrument(None, (1, 5)),
    "needs": instrument(AssessmentKind.NEEDS),
}


@dataclass
class Assessment:
    assessor: str
    scales: dict[str, list[int]]
    started_event: UUID
    ratings: dict[str, list[tuple[UUID, int]]] = field(default_factory=dict)
    submitted: tuple[UUID, RiskLevel, Any] | None = None
    countersigned: tuple[UUID, str] | None = None
    abandoned: bool = False

    @property
    def status(self) -> str:
        if self.abandoned:
            return "abandoned"
        if self.countersigned is not None:
            return "countersigned"
        return "submitted" if self.submitted is not None else "in_progress"

    def rated(self) -> dict[str, int]:
        return {i: history[-1][1] for i, history in self.ratings.items() if history}


@dataclass
class Model:
    """What the rules say the record is, from the commands that were allowed."""

    assessments: dict[UUID, Assessment] = field(default_factory=dict)
    countersigned: list[UUID] = field(default_factory=list)
    dues: list[list[Any]] = field(default_factory=list)
    """[event id, kind, due by, satisfied by] in the order they fell due."""
    decisions: dict[str, list[UUID]] = field(default_factory=lambda: {"needs": [], "placement": []})
    """Live needs assessments and placement decisions, in order."""
    entries: list[tuple[UUID, str, UUID | None]] = field(default_factory=list)
    """Every entry, voided or not: (event id, type, its assessment)."""
    voided: set[UUID] = field(default_factory=set)
    released_at: Any = None


class AssessmentCase(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.events = Events()
        self.model = Model()
        self.clock = 0

    def meta(self, actor: str = "system") -> Any:
        self.clock += 1
        return meta(actor, at(self.clock))

    def attempt(self, allowed: bool, command: Any) -> bool:
        if not attempt(allowed, command, REFUSALS):
            return False
        self.events.collect(self.case)
        return True

    def pick(self, pick: int) -> UUID:
        """One of the case's assessments (-1: the newest), now and then one it does not have."""
        known = list(self.model.assessments)
        return known[pick % len(known)] if known and pick < 18 else uuid4()

    def person(self, aid: UUID, other: bool) -> str:
        """The assessment's assessor, or (when `other`) someone else."""
        found = self.model.assessments.get(aid)
        assessor = found.assessor if found else PEOPLE[0]
        return next(p for p in PEOPLE if p != assessor) if other else assessor

    @initialize(admitted=st.booleans())
    def open_case(self, admitted: bool) -> None:
        self.case = Case(case_id=uuid4(), opened_at=T0, cause=None)
        if admitted:
            self.case.note_custody("admitted", "Bamako", T0, None)
            self.schedule(30)
        self.events.collect(self.case)

    # --- what intake tells us, and dues ---------------------------------------------------

    @rule(status=st.sampled_from(["admitted", "transferred", "released"]))
    def note_custody(self, status: str) -> None:
        self.case.note_custody(status, "Koulikoro", at(self.clock), uuid4())
        self.events.collect(self.case)
        if status == "released":
            self.model.released_at = at(self.clock)
        assert (self.case.status, self.case.facility) == (status, "Koulikoro")
        assert self.case.released_at == self.model.released_at

    @rule(days=st.integers(1, 90))
    def schedule(self, days: int) -> None:
        data = AssessmentDue(
            assessment_kind=AssessmentKind.RISK,
            due_by=at(self.clock) + timedelta(days=days),
            trigger="admission",
        )
        made = self.meta()
        self.case.schedule(data, made)
        self.events.collect(self.case)
        self.model.dues.append([made.event_id, "risk", data.due_by, None])
        self.model.entries.append((made.event_id, "AssessmentDue", None))

    # --- risk assessments -----------------------------------------------------------------

    @rule(by=st.sampled_from(PEOPLE), kind=st.sampled_from(sorted(INSTRUMENTS)))
    def start(self, by: str, kind: str) -> None:
        version, aid = INSTRUMENTS[kind], uuid4()
        data = AssessmentStarted(
            assessment_id=aid,
            instrument_id=version.instrument_id,
            instrument_version=version.version,
            assessor=by,
        )
        made = self.meta(by)
        if self.attempt(
            version.kind is not AssessmentKind.NEEDS, lambda: self.case.start(data, version, made)
        ):
            self.model.assessments[aid] = Assessment(by, dict(version.scales), made.event_id)
            self.model.entries.append((made.event_id, "AssessmentStarted", aid))

    @rule(
        pick=st.integers(0, 20),
        other=st.sampled_from([False, False, False, True]),
        indicators=st.sampled_from([INDICATORS, ("R1",), ("R2",), ("R3",), ("X9",)]),
        rating=st.integers(-1, 6),
    )
    def rate(self, pick: int, other: bool, indicators: tuple[str, ...], rating: int) -> None:
        aid = self.pick(pick)
        by, found = self.person(aid, other), self.model.assessments.get(aid)
        for indicator in indicators:
            scale = found.scales.get(indicator) if found else None
            allowed = (
                found is not None
                and found.assessor == by
                and found.status == "in_progress"
                and scale is not None
                and scale[0] <= rating <= scale[1]
            )
            data = IndicatorRated(assessment_id=aid, indicator_id=indicator, rating=rating)
            made = self.meta(by)
            if self.attempt(allowed, lambda d=data, m=made: self.case.rate(d, by, m)):
                assert found is not None
                found.ratings.setdefault(indicator, []).append((made.event_id, rating))
                self.model.entries.append((made.event_id, "IndicatorRated", aid))

    @rule(
        pick=st.integers(0, 20),
        other=st.sampled_from([False, False, False, True]),
        risk=st.sampled_from(RiskLevel),
        days=st.integers(-5, 200),
    )
    def submit(self, pick: int, other: bool, risk: RiskLevel, days: int) -> None:
        aid = self.pick(pick)
        by, found = self.person(aid, other), self.model.assessments.get(aid)
        made = self.meta(by)
        review_by = made.recorded_at + timedelta(days=days)
        allowed = (
            found is not None
            and found.assessor == by
            and found.status == "in_progress"
            and set(found.rated()) == set(found.scales)
            and days > 0
        )
        data = AssessmentSubmitted(
            assessment_id=aid,
            overall_risk=risk,
            rationale="Structured judgement",
            next_review_by=review_by,
        )
        if self.attempt(allowed, lambda: self.case.submit(data, by, made)):
            assert found is not None
            found.submitted = (made.event_id, risk, review_by)
            self.model.entries.append((made.event_id, "AssessmentSubmitted", aid))

    @rule(pick=st.integers(0, 20), by=st.sampled_from(PEOPLE))
    def countersign(self, pick: int, by: str) -> None:
        m, aid = self.model, self.pick(pick)
        found = m.assessments.get(aid)
        allowed = found is not None and found.status == "submitted" and found.assessor != by
        data = AssessmentCountersigned(assessment_id=aid, countersigned_by=by)
        made, review = self.meta(by), self.meta()
        if self.attempt(allowed, lambda: self.case.countersign(data, made, review)):
            assert found is not None and found.submitted is not None
            found.countersigned = (made.event_id, by)
            m.countersigned.append(aid)
            for due in m.dues:
                if due[1] == "risk" and due[3] is None:
                    due[3] = aid
            m.dues.append([review.event_id, "risk", found.submitted[2], None])
            m.entries += [
                (made.event_id, "AssessmentCountersigned", aid),
                (review.event_id, "AssessmentDue", None),
            ]

    @rule(
        by=st.sampled_from(PEOPLE),
        countersigner=st.sampled_from(PEOPLE),
        risk=st.sampled_from(RiskLevel),
    )
    def assess_through(self, by: str, countersigner: str, risk: RiskLevel) -> None:
        """Start, rate every indicator, submit, countersign: each step still checked."""
        self.start(by, "risk")
        self.rate(-1, False, INDICATORS, 1)
        self.submit(-1, False, risk, 90)
        self.countersign(-1, countersigner)

    # --- needs and placement --------------------------------------------------------------

    @rule()
    def record_needs(self) -> None:
        data = NeedsAssessed(
            literacy="basic",
            languages=["Bambara"],
            education_level="koranic",
            vocational_interests=[],
            skills=[],
        )
        made = self.meta("assessor-awa")
        self.case.record_needs(data, made)
        self.events.collect(self.case)
        self.model.decisions["needs"].append(made.event_id)
        self.model.entries.append((made.event_id, "NeedsAssessed", None))

    @rule(apart_from_self=st.booleans())
    def decide_placement(self, apart_from_self: bool) -> None:
        apart = [uuid4(), self.case.id] if apart_from_self else [uuid4()]
        data = PlacementDecided(
            security_level="high",
            keep_separate_from=apart,
            rationale="Recruiter",
            decided_by="director-coulibaly",
        )
        made = self.meta("director-coulibaly")
        if self.attempt(not apart_from_self, lambda: self.case.decide_placement(data, made)):
            self.model.decisions["placement"].append(made.event_id)
            self.model.entries.append((made.event_id, "PlacementDecided", None))

    # --- voiding --------------------------------------------------------------------------

    @precondition(lambda self: bool(self.model.entries))
    @rule(pick=st.integers(0, 60), other=st.sampled_from([False, False, False, True]))
    def void(self, pick: int, other: bool) -> None:
        m = self.model
        target, kind, aid = m.entries[pick % len(m.entries)]
        found = m.assessments.get(aid) if aid else None
        by = self.person(aid, other) if aid else PEOPLE[0]
        allowed = target not in m.voided and kind not in ("EntryVoided", "AssessmentDue")
        if found is not None:
            allowed = (
                allowed
                and found.status != "countersigned"
                and kind != "AssessmentCountersigned"
                and found.assessor == by
                and not found.abandoned
                and not (kind == "IndicatorRated" and found.status == "submitted")
            )
        data = AssessmentEntryVoided(voided_event_id=target, reason="Entered by mistake")
        made = self.meta(by)
        if self.attempt(allowed, lambda: self.case.void(data, by, made)):
            m.voided.add(target)
            m.entries.append((made.event_id, "EntryVoided", None))
            self._forget(target, kind, found)

    def _forget(self, target: UUID, kind: str, found: Assessment | None) -> None:
        for decisions in self.model.decisions.values():
            decisions[:] = [d for d in decisions if d != target]
        if found is None:
            return
        if kind == "AssessmentStarted":
            found.abandoned = True
        elif kind == "AssessmentSubmitted":
            found.submitted = None
        elif kind == "IndicatorRated":
            for history in found.ratings.values():
                history[:] = [r for r in history if r[0] != target]

    # --- what must hold after every step --------------------------------------------------

    @invariant()
    def agrees_with_the_model(self) -> None:
        m, case = self.model, self.case
        assert set(case.assessments) == set(m.assessments)
        for aid, expected in m.assessments.items():
            record = case.assessments[aid]
            assert record.status == expected.status
            assert {
                i: r.value for i in record.scales if (r := record.rating(i))
            } == expected.rated()
            assert record.unrated() == [i for i in record.scales if i not in expected.rated()]
        assert case.countersigned == m.countersigned
        assert [(d.event_id, d.due_by, d.satisfied_by) for d in case.dues] == [
            (d[0], d[2], d[3]) for d in m.dues
        ]
        needs, placement = m.decisions["needs"], m.decisions["placement"]
        assert (case.current_needs.event_id if case.current_needs else None) == (
            needs[-1] if needs else None
        )
        assert (case.current_placement.event_id if case.current_placement else None) == (
            placement[-1] if placement else None
        )

    @invariant()
    def the_current_risk_is_the_latest_countersigned(self) -> None:
        latest = (
            self.model.assessments[self.model.countersigned[-1]]
            if self.model.countersigned
            else None
        )
        expected = latest.submitted[1] if latest and latest.submitted else None
        assert self.case.current_risk == expected

    @invariant()
    def countersigned_means_rated_submitted_and_four_eyes(self) -> None:
        for record in self.case.assessments.values():
            if record.status != "countersigned":
                continue
            assert record.submission is not None
            assert record.unrated() == []
            for indicator, (low, high) in record.scales.items():
                rating = record.rating(indicator)
                assert rating is not None and low <= rating.value <= high
            assert record.countersigned_by != record.assessor

    @invariant()
    def replay_rebuilds_the_same_case(self) -> None:
        self.events.assert_replay_equals(self.case)


TestAssessmentCase = AssessmentCase.TestCase
TestAssessmentCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
