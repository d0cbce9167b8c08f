"""Voiding mistaken entries: what may be voided, by whom (the agency that recorded it), and what
then counts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.assessment.conftest import ASSESSOR, SECOND, Service
from tests.assessment.test_assessments import assert_refused
from tests.assessment.test_placement import conflicts, place
from tests.support import auth

FACILITY = "Maison d'arrêt de Koulikoro"


def void(
    service: Service,
    event_id: str,
    role: str = "assessor",
    sub: str = ASSESSOR,
    facility: str | None = None,
) -> Any:
    return service.client.post(
        f"/entries/{event_id}/void",
        json={"reason": "Recorded on the wrong case."},
        headers=service.headers(role, sub, facility=facility),
    )


def entry(service: Service, case_id: UUID, kind: str, index: int = -1) -> str:
    return str(
        [e for e in service.case(case_id)["entries"] if e["type"] == kind][index]["event_id"]
    )


def test_a_voided_submission_reopens_the_assessment_for_a_new_one(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)
    service.rate_all(case_id, assessment_id)
    service.submit(case_id, assessment_id, "high")

    r = void(service, entry(service, case_id, "AssessmentSubmitted"))

    assert r.status_code == 201, r.text
    assert service.case(case_id)["assessments"][0]["status"] == "in_progress"
    assert service.submit(case_id, assessment_id, "moderate").status_code == 201
    assert service.countersign(case_id, assessment_id).status_code == 201
    assert service.case(case_id)["current_risk"]["overall_risk"] == "moderate"


def test_no_entry_of_a_countersigned_assessment_can_be_voided(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    service.complete(case_id, "high")
    before = service.event_count()

    refusals = [
        void(service, entry(service, case_id, "AssessmentCountersigned"), sub=SECOND),
        void(service, entry(service, case_id, "AssessmentSubmitted")),
        void(service, entry(service, case_id, "IndicatorRated")),
        void(service, entry(service, case_id, "AssessmentStarted")),
    ]

    for r in refusals:
        assert_refused(r, 409, "countersigned-entry")
    assert service.event_count() == before
    assert service.case(case_id)["current_risk"]["overall_risk"] == "high"


def test_only_the_assessor_voids_the_entries_of_their_assessment(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)
    service.rate(case_id, assessment_id, "BA1", 2)

    r = void(service, entry(service, case_id, "IndicatorRated"), sub=SECOND)

    assert_refused(r, 409, "not-the-assessor")


def test_a_voided_rating_leaves_the_indicator_unrated(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)
    service.rate(case_id, assessment_id, "BA1", 2)

    void(service, entry(service, case_id, "IndicatorRated"))

    assessment = service.case(case_id)["assessments"][0]
    assert "BA1" not in assessment["ratings"]
    assert "BA1" in assessment["unrated"]


def test_a_voided_start_abandons_the_assessment(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)

    void(service, entry(service, case_id, "AssessmentStarted"))

    assert service.case(case_id)["assessments"][0]["status"] == "abandoned"
    assert_refused(service.rate(case_id, assessment_id, "BA1", 1), 409, "assessment-closed")


def test_an_entry_is_voided_once(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)
    service.rate(case_id, assessment_id, "BA1", 2)
    rating = entry(service, case_id, "IndicatorRated")
    void(service, rating)

    assert_refused(void(service, rating), 409, "already-voided")
    assert_refused(void(service, entry(service, case_id, "EntryVoided")), 409, "entry-not-voidable")


def test_an_automatic_due_date_cannot_be_voided_by_anyone(service: Service) -> None:
    case_id = service.open_case(FACILITY)

    due = entry(service, case_id, "AssessmentDue")

    r = void(service, due, role="prison_director", sub="dir-1", facility=FACILITY)

    assert r.status_code == 403


def test_voiding_an_unknown_entry_answers_404(service: Service) -> None:
    r = void(service, "00000000-0000-4000-8000-000000000002")

    assert r.status_code == 404


def test_a_voided_placement_gives_way_to_the_one_before(service: Service) -> None:
    a, b = service.open_case("Prison V"), service.open_case("Prison V")
    place(service, a, b, level="maximum")
    place(service, a, level="medium")

    decided = entry(service, a, "PlacementDecided")

    r = void(service, decided, role="prison_director", sub="dir-1", facility="Prison V")

    assert r.status_code == 201, r.text
    assert service.case(a)["placement"]["security_level"] == "maximum"
    assert {str(a), str(b)} in conflicts(service, "Prison V")


def test_a_voided_needs_assessment_no_longer_counts(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    body = {
        "literacy": "none",
        "languages": ["Tamasheq"],
        "education_level": "none",
        "vocational_interests": [],
        "skills": [],
    }
    service.client.post(f"/cases/{case_id}/needs", json=body, headers=service.headers())

    void(service, entry(service, case_id, "NeedsAssessed"))

    assert service.case(case_id)["needs"] is None


_NEEDS = {
    "literacy": "basic",
    "languages": ["Fulfulde"],
    "education_level": "primary",
    "vocational_interests": [],
    "skills": [],
}


def _needs_recorded_for(service: Service, agency: str) -> tuple[UUID, str]:
    case_id = service.open_case(FACILITY)
    headers = auth(service.settings, "social_worker", sub="sw-1", agency=agency)
    recorded = service.client.post(f"/cases/{case_id}/needs", json=_NEEDS, headers=headers)
    assert recorded.status_code == 201, recorded.text
    return case_id, recorded.json()["event_id"]


def _void_for(service: Service, event_id: str, agency: str) -> Any:
    headers = auth(service.settings, "social_worker", sub="sw-2", agency=agency)
    body = {"reason": "Recorded on the wrong case."}
    return service.client.post(f"/entries/{event_id}/void", json=body, headers=headers)


def test_a_colleague_of_the_recording_agency_voids_an_entry(service: Service) -> None:
    case_id, needs = _needs_recorded_for(service, "service-social-koulikoro")

    r = _void_for(service, needs, "service-social-koulikoro")

    assert r.status_code == 201, r.text
    assert service.case(case_id)["needs"] is None


def test_another_agency_may_not_void_an_entry(service: Service) -> None:
    case_id, needs = _needs_recorded_for(service, "service-social-koulikoro")
    before = service.event_count()

    r = _void_for(service, needs, "ong-jeunesse")

    assert r.status_code == 403, r.text
    assert service.event_count() == before
    assert service.case(case_id)["needs"] is not None
