"""Random sequences of assessment commands against the application on real PostgreSQL.

After every sequence: the current risk is that of the latest countersigned assessment; no
assessment is countersigned without a standing submission; the overdue reviews are exactly the
dues past their date with no countersignature recorded after them; every refusal was predicted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from services.assessment import queries
from services.assessment.application import AssessmentApplication
from services.assessment.domain import Case
from shared.events.assessment import InstrumentPublished
from shared.kit.clock import Clock
from shared.kit.errors import CaselineError
from shared.kit.scope import Scope
from shared.kit.settings import Settings
from shared.kit.store import CommandContext

EVERY_CASE = Scope("auditor", "all", sees_sealed=True)
"""An auditor's scope: every case, sealed ones too."""

INDICATORS = ("I1", "I2", "I3")
PEOPLE = ("ass-1", "ass-2", "dir-1")
TINY = InstrumentPublished.model_validate(
    {
        "instrument_id": str(uuid4()),
        "version": 1,
        "title": "Three-item test instrument",
        "domains": [
            {
                "id": "D",
                "title": "Test domain",
                "indicators": [
                    {"id": i, "text": f"Item {i}", "scale": {"min": 0, "max": 2}}
                    for i in INDICATORS
                ],
            }
        ],
    }
)


@pytest.fixture(scope="module")
def app(module_settings: Settings) -> Iterator[AssessmentApplication]:
    application = AssessmentApplication(module_settings, Clock())
    application.publish(TINY, CommandContext.system())
    yield application
    application.shutdown()


def ctx(person: str) -> CommandContext:
    return CommandContext(actor=person, agency="prison-service", role="assessor")


@dataclass
class Expected:
    """What the rules say the record should be, from the commands that succeeded."""

    assessor: str
    ratings: set[str] = field(default_factory=set)
    risk: str | None = None
    review_by: datetime | None = None
    countersigned: bool = False


@dataclass
class Model:
    case_id: UUID
    assessments: dict[UUID, Expected] = field(default_factory=dict)
    order: list[UUID] = field(default_factory=list)
    current_risk: str | None = None
    dues: list[list[Any]] = field(default_factory=list)
    """[due_by, satisfied] in the order they were recorded."""

    def pick(self, slot: int) -> UUID:
        return self.order[slot % len(self.order)] if self.order else uuid4()


@dataclass(frozen=True)
class Start:
    person: str

    def run(self, app: AssessmentApplication, m: Model) -> None:
        recorded: list[Any] = []
        if outcome(
            lambda: recorded.append(app.start_assessment(m.case_id, ctx(self.person))), True
        ):
            assessment_id = UUID(str(recorded[0].ids["assessment_id"]))
            m.assessments[assessment_id] = Expected(self.person)
            m.order.append(assessment_id)


def acting(m: Model, aid: UUID, other: bool) -> str:
    """The assessor of the assessment, or (when `other`) someone else."""
    e = m.assessments.get(aid)
    assessor = e.assessor if e else PEOPLE[0]
    return next(p for p in PEOPLE if p != assessor) if other else assessor


@dataclass(frozen=True)
class Rate:
    slot: int
    other: bool
    indicators: tuple[str, ...]
    rating: int

    def run(self, app: AssessmentApplication, m: Model) -> None:
        aid = m.pick(self.slot)
        e, person = m.assessments.get(aid), acting(m, aid, self.other)
        for indicator in self.indicators:
            predicted = (
                e is not None
                and e.risk is None
                and not e.countersigned
                and e.assessor == person
                and 0 <= self.rating <= 2
            )
            fields = {"indicator_id": indicator, "rating": self.rating}
            if outcome(lambda f=fields: app.rate(m.case_id, aid, f, ctx(person)), predicted):
                assert e is not None
                e.ratings.add(indicator)


@dataclass(frozen=True)
class Submit:
    slot: int
    other: bool
    risk: str
    days: int

    def run(self, app: AssessmentApplication, m: Model) -> None:
        aid = m.pick(self.slot)
        e, person = m.assessments.get(aid), acting(m, aid, self.other)
        predicted = (
            e is not None
            and e.risk is None
            and e.assessor == person
            and e.ratings == set(INDICATORS)
            and self.days > 0
        )
        review_by = app.clock.now() + timedelta(days=self.days)
        fields = {"overall_risk": self.risk, "rationale": "Because.", "next_review_by": review_by}
        if outcome(lambda: app.submit(m.case_id, aid, fields, ctx(person)), predicted):
            assert e is not None
            e.risk, e.review_by = self.risk, review_by


@dataclass(frozen=True)
class Countersign:
    slot: int
    person: str

    def run(self, app: AssessmentApplication, m: Model) -> None:
        aid = m.pick(self.slot)
        e = m.assessments.get(aid)
        predicted = (
            e is not None
            and e.risk is not None
            and not e.countersigned
            and e.assessor != self.person
        )
        if outcome(lambda: app.countersign(m.case_id, aid, None, ctx(self.person)), predicted):
            assert e is not None
            e.countersigned, m.current_risk = True, e.risk
            note("countersigned")
            for due in m.dues:
                due[1] = True
            m.dues.append([e.review_by, False])


@dataclass(frozen=True)
class VoidSubmission:
    slot: int
    other: bool

    def run(self, app: AssessmentApplication, m: Model) -> None:
        aid = m.pick(self.slot)
        e, person = m.assessments.get(aid), acting(m, aid, self.other)
        predicted = (
            e is not None and e.risk is not None and not e.countersigned and e.assessor == person
        )
        record = app.load(Case, m.case_id).assessments.get(aid)
        submitted = record.submitted_event if record else None
        if submitted is None:
            assert not predicted
            return
        if outcome(lambda: app.void_entry(submitted, "Wrong date.", ctx(person)), predicted):
            assert e is not None
            e.risk, e.review_by = None, None


@dataclass(frozen=True)
class Through:
    """Rate every indicator, submit and countersign: the whole way, each step still checked."""

    slot: int
    risk: str
    days: int
    countersigner: str

    def run(self, app: AssessmentApplication, m: Model) -> None:
        Rate(self.slot, False, INDICATORS, 1).run(app, m)
        Submit(self.slot, False, self.risk, self.days).run(app, m)
        Countersign(self.slot, self.countersigner).run(app, m)


@dataclass(frozen=True)
class Travel:
    days: int

    def run(self, app: AssessmentApplication, m: Model) -> None:
        app.clock.travel(timedelta(days=self.days))


def note(label: str) -> None:
    """Count what the examples reached (`--hypothesis-show-statistics`)."""
    if currently_in_test_context():
        event(label)


def outcome(command: Any, predicted: bool) -> bool:
    refusal: CaselineError | None = None
    try:
        command()
    except CaselineError as error:
        refusal = error
    if refusal is not None:
        assert not predicted, f"refused although the rules allow it: {refusal.detail}"
        note(f"refused: {getattr(refusal, 'rule', refusal.slug)}")
        return False
    assert predicted, "recorded although a rule forbids it"
    return True


people = st.sampled_from(PEOPLE)
slots = st.integers(0, 2)
others = st.sampled_from([False, False, False, True])
risks = st.sampled_from(["low", "moderate", "high"])
ratings = st.one_of(st.integers(0, 2), st.integers(0, 2), st.integers(-1, 3))
commands = st.one_of(
    st.builds(Start, people),
    st.builds(Rate, slots, others, st.tuples(st.sampled_from(INDICATORS)), ratings),
    st.builds(Rate, slots, others, st.just(INDICATORS), st.integers(0, 2)),
    st.builds(
        Submit, slots, others, st.sampled_from(["low", "moderate", "high"]), st.integers(-5, 120)
    ),
    st.builds(Countersign, slots, people),
    st.builds(VoidSubmission, slots, others),
    st.builds(Travel, st.integers(0, 60)),
    st.builds(Through, slots, risks, st.integers(1, 120), people),
)
sequences = st.tuples(st.builds(Start, people), st.lists(commands, max_size=30)).map(
    lambda first_and_rest: [first_and_rest[0], *first_and_rest[1]]
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # The explain phase re-runs a failure hundreds of times against the database: minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
@given(sequences)
def test_random_command_sequences_keep_the_invariants(
    app: AssessmentApplication, cmds: list[Any]
) -> None:
    model, admitted = Model(uuid4()), app.clock.now()
    app.open_case(model.case_id, admitted, CommandContext.system())
    app.note_custody(
        model.case_id,
        "admitted",
        "Prison P",
        admitted,
        CommandContext.system(),
        due_on_admission=True,
    )
    model.dues.append([admitted + timedelta(days=app.settings.assessment_due_days), False])

    for command in cmds:
        command.run(app, model)

    case = app.load(Case, model.case_id)
    assert (case.current_risk.value if case.current_risk else None) == model.current_risk
    listed = queries.list_cases(app, 500, 0, facility="Prison P", scope=EVERY_CASE)["items"]
    assert [c["current_risk"] for c in listed if c["case_id"] == str(model.case_id)] == [
        model.current_risk
    ]
    for record in case.assessments.values():
        assert not (record.countersigned_event is not None and record.submission is None)
    now = app.clock.now()
    due = queries.reviews(app, "overdue", 500, 0, facility="Prison P", scope=EVERY_CASE)
    overdue = [
        datetime.fromisoformat(r["due_by"])
        for r in due["items"]
        if r["case_id"] == str(model.case_id)
    ]
    assert sorted(overdue) == sorted(d for d, satisfied in model.dues if not satisfied and d < now)


def test_rebuilt_views_answer_as_before(app: AssessmentApplication) -> None:
    case_id, other = uuid4(), uuid4()
    for case in (case_id, other):
        app.open_case(case, app.clock.now(), CommandContext.system())
        app.note_custody(
            case,
            "admitted",
            "Prison R",
            app.clock.now(),
            CommandContext.system(),
            due_on_admission=True,
        )
    Start("ass-1").run(app, model := Model(case_id))
    Through(0, "high", 30, "dir-1").run(app, model)
    fields = {"security_level": "high", "keep_separate_from": [other], "rationale": "Recruiter."}
    app.decide_placement(case_id, fields, ctx("dir-1"))
    app.clock.travel(timedelta(days=45))

    def answers() -> list[Any]:
        return [
            queries.list_cases(app, 500, 0, scope=EVERY_CASE),
            *(
                {
                    k: v
                    for k, v in queries.reviews(app, status, 500, 0, scope=EVERY_CASE).items()
                    if k != "as_of"
                }
                for status in ("open", "overdue", "due_soon", "satisfied")
            ),
            queries.placement_conflicts(app, None, scope=EVERY_CASE),
            queries.instruments(app),
        ]

    before = answers()
    app.rebuild_views()

    assert model.current_risk == "high"
    after = answers()
    assert after == before
    assert before[5]["total"] >= 1
