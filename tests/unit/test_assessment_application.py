"""Assessment's application on in-memory persistence: instruments, what intake's admission makes
due, a risk assessment from start to countersignature, and the case view.

Lists, reviews, placement conflicts, the default instrument and voiding read views: the
real-server tier (`tests/assessment`) covers them.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

import pytest

from services.assessment.application import AssessmentApplication
from services.assessment.domain.errors import FourEyesError, InstrumentVersionImmutableError
from services.assessment.queries import case_view
from shared.events.assessment import InstrumentPublished
from shared.events.intake import DetaineeAdmitted
from shared.kit.clock import Clock
from shared.kit.memory import NoViewsError
from shared.kit.settings import Settings
from shared.kit.store import CommandContext
from tests.support.bus import envelope_of

INDICATORS = ("R1", "R2")


def instrument(version: int = 1, instrument_id: UUID | None = None) -> InstrumentPublished:
    return InstrumentPublished.model_validate(
        {
            "instrument_id": str(instrument_id or uuid4()),
            "version": version,
            "title": "Two-item test instrument",
            "assessment_kind": "risk",
            "domains": [
                {
                    "id": "D",
                    "title": "Domain",
                    "indicators": [
                        {"id": i, "text": i, "scale": {"min": 0, "max": 3}} for i in INDICATORS
                    ],
                }
            ],
        }
    )


def person(name: str) -> CommandContext:
    return CommandContext(actor=name, agency="prison-service", role="assessor")


def admitted(app: AssessmentApplication) -> UUID:
    case_id, now = uuid4(), app.clock.now()
    app.open_case(case_id, now, CommandContext.system())
    app.note_custody(
        case_id, "admitted", "Bamako", now, CommandContext.system(), due_on_admission=True
    )
    return case_id


def submitted(app: AssessmentApplication, case_id: UUID, tool: InstrumentPublished) -> Any:
    assessor = person("assessor-awa")
    started = app.start_assessment(case_id, assessor, instrument_id=tool.instrument_id)
    aid = UUID(str(started.ids["assessment_id"]))
    for indicator in INDICATORS:
        app.rate(case_id, aid, {"indicator_id": indicator, "rating": 2}, assessor)
    review_by = app.clock.now() + timedelta(days=180)
    fields = {
        "overall_risk": "high",
        "rationale": "Structured judgement",
        "next_review_by": review_by,
    }
    app.submit(case_id, aid, fields, assessor)
    return aid, review_by


def test_an_admission_makes_the_first_risk_assessment_due(
    assessment: AssessmentApplication,
) -> None:
    case_id = admitted(assessment)

    view, _ = case_view(assessment, case_id)

    due = [r for r in view["reviews"] if r["trigger"] == "admission"]
    assert len(due) == 1
    expected = assessment.clock.now() + timedelta(days=assessment.settings.assessment_due_days)
    assert abs(expected - datetime.fromisoformat(due[0]["due_by"])) < timedelta(minutes=1)


def test_an_admission_of_a_case_not_heard_of_opens_it_once(
    assessment: AssessmentApplication,
) -> None:
    # A stream replayed from a later point: the admission is the first word of the case.
    case_id, now = uuid4(), assessment.clock.now()
    ctx = CommandContext.system()

    assessment.note_custody(case_id, "admitted", "Bamako", now, ctx, due_on_admission=True)
    assessment.note_custody(case_id, "transferred", "Koulikoro", now, ctx)

    view, version = case_view(assessment, case_id)
    assert (view["status"], view["facility"]) == ("transferred", "Koulikoro")
    assert [r["trigger"] for r in view["reviews"]] == ["admission"]
    assert len(assessment.recorder.select_events(case_id)) == version


def test_a_countersigned_assessment_is_the_current_risk_and_sets_the_next_review(
    assessment: AssessmentApplication,
) -> None:
    tool = instrument()
    assessment.publish(tool, CommandContext.system())
    case_id = admitted(assessment)
    aid, review_by = submitted(assessment, case_id, tool)

    assessment.countersign(case_id, aid, None, person("director-coulibaly"))

    view, _ = case_view(assessment, case_id)
    assert view["current_risk"]["overall_risk"] == "high"
    assert view["current_risk"]["assessment_id"] == str(aid)
    assert review_by.isoformat() in [
        r["due_by"] for r in view["reviews"] if r["trigger"] == "review"
    ]


def test_the_assessor_cannot_countersign_their_own_assessment(
    assessment: AssessmentApplication,
) -> None:
    tool = instrument()
    assessment.publish(tool, CommandContext.system())
    case_id = admitted(assessment)
    aid, _ = submitted(assessment, case_id, tool)

    with pytest.raises(FourEyesError):
        assessment.countersign(case_id, aid, None, person("assessor-awa"))

    assert case_view(assessment, case_id)[0]["current_risk"] is None


def test_a_published_instrument_version_is_immutable(assessment: AssessmentApplication) -> None:
    tool = instrument()
    assessment.publish(tool, CommandContext.system())

    with pytest.raises(InstrumentVersionImmutableError):
        assessment.publish(tool, CommandContext.system())
    assessment.publish(instrument(2, tool.instrument_id), CommandContext.system())

    assert assessment.latest_instrument_version(tool.instrument_id) == 2


def test_choosing_the_default_instrument_needs_its_view(assessment: AssessmentApplication) -> None:
    case_id = admitted(assessment)

    with pytest.raises(NoViewsError):
        assessment.start_assessment(case_id, person("assessor-awa"))


def test_a_reactions_event_id_follows_from_its_cause_under_the_services_secret(
    memory_settings: Settings, clock: Clock
) -> None:
    admission = DetaineeAdmitted(facility="Bamako", admitted_at=clock.now(), warrant_ref="MD-1")
    envelope = envelope_of(admission, uuid4())
    other_key = Settings(
        environment="test", service_signing_key=base64.b64encode(bytes(range(32))).decode()
    )

    def due_id(settings: Settings) -> UUID:
        app = AssessmentApplication(settings, clock, in_memory=True)
        try:
            app.on_detainee_admitted(envelope, admission, ("intake", UUID(str(envelope.id))))
            stored = app.recorder.select_events(UUID(envelope.subject))
            events = [app.mapper.to_domain_event(s) for s in stored]
            [due] = [
                e for e in events if type(getattr(e, "data", None)).__name__ == "AssessmentDue"
            ]
            return UUID(str(due.meta.event_id))
        finally:
            app.shutdown()

    first, again, keyed_otherwise = (
        due_id(memory_settings),
        due_id(memory_settings),
        due_id(other_key),
    )

    # The same on every replica and redelivery; not what anyone who saw the cause could work out
    # (and publish first under, for JetStream to drop the genuine event as a repeat).
    assert first == again
    assert first != keyed_otherwise
    cause = UUID(str(envelope.id))
    assert first not in {uuid5(cause, f"admission-review:{i}") for i in range(16)}
