"""The access facts the other services' events bring (`shared.kit.runtime.AccessFacts`): a batch
noted in one transaction, each event exactly once, on PostgreSQL; a service's own events are left
to its commands' transactions."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest

from services.assessment.application import AssessmentApplication
from services.judicial.application import JudicialApplication
from shared.events import ArrestRecorded, CaseSealed, DetaineeAdmitted
from shared.events.voiding import JudicialEntryVoided, ProgrammesEntryVoided
from shared.kit.runtime import access_reactions
from shared.kit.subscriber import ACK, Dead, Delivery
from tests.support import arrest_payload
from tests.support.bus import envelope_of, signed, subject


@pytest.fixture
def judicial(settings) -> Iterator[JudicialApplication]:
    app = JudicialApplication(settings)
    yield app
    app.shutdown()


def _delivery(app: JudicialApplication, event, case_id, **kw) -> Delivery:
    env = envelope_of(event, case_id, **kw)
    on = app.settings.subject_prefix + subject(event, case_id)
    return Delivery(on, signed(env), {"Nats-Msg-Id": str(env.id)}, msg=None)


def _rows(app: JudicialApplication, case_id) -> list[tuple]:
    return app.fetch(
        "SELECT principal, kind FROM {schema}.case_access WHERE case_id = %s ORDER BY ord",
        (str(case_id),),
    )


def _inbound(app: JudicialApplication) -> int:
    return app.fetch("SELECT count(*) FROM {schema}.inbound WHERE consumer = 'access'")[0][0]


def test_a_batch_is_noted_once_each_event_even_when_delivered_again(judicial):
    case_id = uuid4()
    arrest = _delivery(
        judicial, ArrestRecorded.model_validate(arrest_payload()), case_id, agency="gao"
    )
    admitted = _delivery(
        judicial,
        DetaineeAdmitted(facility="Bamako", admitted_at="2026-01-02T10:00:00Z", warrant_ref="W-1"),
        case_id,
    )
    forged = Delivery(arrest.subject, arrest.data.replace(b'"gao"', b'"kidal"'), {}, msg=None)
    facts = access_reactions(judicial, "judicial")
    before = _inbound(judicial)

    first = facts([arrest, arrest, forged, admitted])
    again = facts([admitted, arrest])

    assert first[:2] == [ACK, ACK] and first[3] == ACK
    assert isinstance(first[2], Dead) and first[2].origin
    assert again == [ACK, ACK]
    assert _rows(judicial, case_id) == [("agency:gao", "link"), ("facility:bamako", "stay")]
    assert _inbound(judicial) == before + 2


def test_a_service_receives_only_the_other_services_access_types(judicial):
    every = access_reactions(judicial).subjects()

    others = access_reactions(judicial, "intake").subjects()

    assert any(s.startswith("caseline.intake.") for s in every)
    assert not any(s.startswith("caseline.intake.") for s in others)
    assert set(others) < set(every)
    assert "caseline.programmes.ReferralAccepted.*" in others


@pytest.fixture
def assessment(settings) -> Iterator[AssessmentApplication]:
    app = AssessmentApplication(settings)
    yield app
    app.shutdown()


def _sealing(app: AssessmentApplication, case_id: UUID) -> tuple[UUID, Delivery]:
    seal = CaseSealed(reason="Acquitted", sealed_by="Judge")
    env = envelope_of(seal, case_id, agency="tribunal")
    on = app.settings.subject_prefix + subject(seal, case_id)
    return env.id, Delivery(on, signed(env), {"Nats-Msg-Id": str(env.id)}, msg=None)


def _voiding(app: AssessmentApplication, service: str, voided: UUID, case_id: UUID) -> Delivery:
    kind = {"judicial": JudicialEntryVoided, "programmes": ProgrammesEntryVoided}[service]
    event = kind(voided_event_id=voided, reason="Recorded in error")
    return _delivery(app, event, case_id, agency=service)


def _sealed(app: AssessmentApplication, case_id: UUID) -> bool:
    found = app.fetch(
        "SELECT count(*) FROM {schema}.sealed_cases WHERE case_id = %s", (str(case_id),)
    )
    return bool(found[0][0])


@pytest.mark.parametrize("about", ["the sealed case", "another case"])
def test_another_services_voiding_of_a_seal_changes_nothing(assessment, about):
    case_id = uuid4()
    facts = access_reactions(assessment, "assessment")
    seal_id, sealing = _sealing(assessment, case_id)
    assert facts([sealing]) == [ACK]
    on = case_id if about == "the sealed case" else uuid4()

    outcomes = facts([_voiding(assessment, "programmes", seal_id, on)])

    assert outcomes == [ACK]
    assert _sealed(assessment, case_id)
    assert _rows(assessment, case_id) == [("sealed", "seal")]


def test_the_sealing_services_own_voiding_unseals_the_case(assessment):
    case_id = uuid4()
    facts = access_reactions(assessment, "assessment")
    seal_id, sealing = _sealing(assessment, case_id)
    assert facts([sealing]) == [ACK]

    outcomes = facts([_voiding(assessment, "judicial", seal_id, case_id)])

    assert outcomes == [ACK]
    assert not _sealed(assessment, case_id)
    assert _rows(assessment, case_id) == []
