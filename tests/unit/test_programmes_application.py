"""Programmes' application on in-memory persistence: what it learns from the bus (through its
`Reactions`, as its consumer hands them signed envelopes), referrals and follow-up.

Enrolment asks the case register who is kept apart, lists and summaries read views, and voiding
finds its entry in the entry index: the real-server tier (`tests/programmes`) covers them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.programmes.application import ProgrammesApplication
from services.programmes.domain import CaseFile
from services.programmes.domain.errors import FollowUpBeforeReleaseError, ReferralAnsweredError
from services.programmes.inbound import reactions
from shared.events import (
    AssessmentCountersigned,
    AssessmentSubmitted,
    DetaineeAdmitted,
    DetaineeReleased,
    FollowUpRecorded,
)
from shared.kit.errors import ForbiddenError
from shared.kit.memory import NoViewsError
from shared.kit.origins import development_key
from shared.kit.store import CommandContext
from shared.kit.subscriber import ACK, Dead, Delivery
from tests.support.bus import delivery, envelope_of, subject

NGO = "ONG Jeunesse et Avenir"
WORKER = CommandContext(actor="social-worker-1", agency="programmes", role="social_worker")
ADMITTED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=90)
"""Long enough ago for a release and a follow-up since (the service refuses future times)."""


def learn(app: ProgrammesApplication, case_id: UUID, *events: Any) -> list[Any]:
    """Hand `events` about the case to programmes' consumer, as NATS would; its outcomes."""
    consumer = reactions(app)[0]
    return [consumer.handle_one(delivery(event, case_id)) for event in events]


def test_what_the_bus_says_of_a_case_is_noted_once(programmes: ProgrammesApplication) -> None:
    case_id, aid = uuid4(), uuid4()
    submitted = AssessmentSubmitted(
        assessment_id=aid, overall_risk="moderate", rationale="SPJ", next_review_by=ADMITTED
    )
    facts = [
        DetaineeAdmitted(facility="Bamako", admitted_at=ADMITTED, warrant_ref="MD-1"),
        submitted,
        AssessmentCountersigned(assessment_id=aid, countersigned_by="director"),
    ]
    outcomes = learn(programmes, case_id, *facts)
    version = programmes.load(CaseFile, case_id).version
    consumer, again = reactions(programmes)[0], delivery(facts[0], case_id)
    consumer.handle_one(again)

    assert consumer.handle_one(again) == ACK
    assert outcomes == [ACK, ACK, ACK]
    case = programmes.load(CaseFile, case_id)
    assert (case.facility, case.risk) == ("Bamako", "moderate")
    assert case.version == version + 1


def test_an_envelope_its_service_did_not_sign_is_dead_lettered(
    programmes: ProgrammesApplication,
) -> None:
    case_id = uuid4()
    release = DetaineeReleased(released_at=ADMITTED, release_order_id=uuid4())
    envelope = json.loads(envelope_of(release, case_id).to_json_bytes())
    by_judicial = json.dumps(development_key("judicial").sign(envelope)).encode()
    forged = Delivery(subject(release, case_id), by_judicial, {}, msg=None)

    outcome = reactions(programmes)[0].handle_one(forged)

    assert isinstance(outcome, Dead)
    assert not programmes.exists(case_id)


def test_a_referral_is_answered_once_by_the_agency_referred_to(
    programmes: ProgrammesApplication,
) -> None:
    case_id = uuid4()
    learn(
        programmes,
        case_id,
        DetaineeAdmitted(facility="Bamako", admitted_at=ADMITTED, warrant_ref="M"),
    )
    made = programmes.refer(
        case_id, {"to_agency": NGO, "reason": "Training", "consent": "given"}, WORKER
    )
    referral_id = UUID(str(made.ids["referral_id"]))
    ngo = CommandContext(actor="ngo-1", agency=NGO, role="ngo_worker")

    with pytest.raises(ForbiddenError):
        programmes.answer_referral(case_id, referral_id, True, None, WORKER)
    programmes.answer_referral(case_id, referral_id, True, None, ngo)
    with pytest.raises(ReferralAnsweredError):
        programmes.answer_referral(case_id, referral_id, False, "Full", ngo)

    assert programmes.load(CaseFile, case_id).referral(referral_id).status == "accepted"


def test_follow_up_comes_after_the_release_learnt_from_intake(
    programmes: ProgrammesApplication,
) -> None:
    case_id, released = uuid4(), ADMITTED + timedelta(days=30)
    learn(
        programmes,
        case_id,
        DetaineeAdmitted(facility="Bamako", admitted_at=ADMITTED, warrant_ref="M"),
    )
    seen = FollowUpRecorded(at=released + timedelta(days=7), status="on_track", note="Working")
    with pytest.raises(FollowUpBeforeReleaseError):
        programmes.record_follow_up(case_id, seen, WORKER)

    learn(programmes, case_id, DetaineeReleased(released_at=released, release_order_id=uuid4()))
    programmes.record_follow_up(case_id, seen, WORKER)

    assert [f[1] for f in programmes.load(CaseFile, case_id).follow_ups] == [seen]


def test_enrolment_needs_the_case_register(programmes: ProgrammesApplication) -> None:
    fields = {
        "kind": "vocational",
        "title": "Carpentry",
        "provider_agency": NGO,
        "capacity": 5,
    }
    created = programmes.create_programme(fields, WORKER)
    case_id = uuid4()
    learn(
        programmes,
        case_id,
        DetaineeAdmitted(facility="Bamako", admitted_at=ADMITTED, warrant_ref="M"),
    )

    with pytest.raises(NoViewsError):
        programmes.enrol(UUID(str(created.ids["programme_id"])), case_id, None, WORKER)
