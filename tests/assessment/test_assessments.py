"""Risk assessments over HTTP: start, rate, submit, countersign, and the rules that refuse."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from shared.events import CaseSealed
from shared.kit.access_facts import access_ops
from tests.assessment.conftest import ASSESSOR, SECOND, Service

FACILITY = "Maison Centrale d'Arrêt de Bamako"


def assert_refused(response: Any, status: int, rule: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith(f"/{rule}"), response.json()


def test_a_countersigned_assessment_becomes_the_current_risk(service: Service) -> None:
    case_id = service.open_case(FACILITY)

    assessment_id = service.complete(case_id, "high")

    view = service.case(case_id)
    assert view["current_risk"]["overall_risk"] == "high"
    assert view["current_risk"]["assessment_id"] == assessment_id
    assert view["current_risk"]["assessor"] == ASSESSOR
    assert view["current_risk"]["countersigned_by"] == SECOND
    assert view["current_risk"]["instrument_version"] == 1
    assert view["assessments"][0]["rationale"].startswith("Coerced recruitment")
    assert view["assessments"][0]["ratings"]["BA1"]["evidence_note"] == "Interview in Bambara."
    listed = service.client.get("/cases", params={"risk": "high"}, headers=service.headers()).json()
    assert str(case_id) in [i["case_id"] for i in listed["items"]]
    assert {i["current_risk"] for i in listed["items"]} == {"high"}


def test_the_start_answers_201_with_the_assessment_and_its_location(service: Service) -> None:
    case_id = service.open_case(FACILITY)

    r = service.client.post(f"/cases/{case_id}/assessments", json={}, headers=service.headers())

    assert r.status_code == 201, r.text
    body = r.json()
    assert body["case_id"] == str(case_id)
    assert r.headers["location"] == f"/cases/{case_id}/assessments/{body['assessment_id']}"
    shown = service.client.get(r.headers["location"], headers=service.headers()).json()
    assert shown["status"] == "in_progress"
    assert shown["assessor"] == ASSESSOR
    assert len(shown["unrated"]) == len(service.indicators())


def test_a_submitted_but_unsigned_assessment_does_not_change_the_current_risk(
    service: Service,
) -> None:
    case_id = service.open_case(FACILITY)
    service.complete(case_id, "moderate")
    second = service.start(case_id)
    service.rate_all(case_id, second)

    assert service.submit(case_id, second, "high").status_code == 201

    assert service.case(case_id)["current_risk"]["overall_risk"] == "moderate"


def test_the_assessor_cannot_countersign_their_own_assessment(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)
    service.rate_all(case_id, assessment_id)
    service.submit(case_id, assessment_id, "low")
    before, version = service.event_count(), service.case(case_id)["version"]

    r = service.countersign(case_id, assessment_id, sub=ASSESSOR)

    assert_refused(r, 409, "four-eyes")
    assert service.event_count() == before
    view = service.case(case_id)
    assert view["version"] == version
    assert view["current_risk"] is None


def test_a_prison_director_may_countersign_but_a_social_worker_may_not(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)
    service.rate_all(case_id, assessment_id)
    service.submit(case_id, assessment_id, "low")

    refused = service.countersign(case_id, assessment_id, sub="sw-1", role="social_worker")
    signed = service.countersign(case_id, assessment_id, sub="director-1", role="prison_director")

    assert_refused(refused, 403, "forbidden")
    assert signed.status_code == 201, signed.text
    assert service.case(case_id)["current_risk"]["countersigned_by"] == "director-1"


def test_submission_is_refused_until_every_indicator_is_rated(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)
    indicators = service.indicators()
    for indicator in indicators[:-1]:
        service.rate(case_id, assessment_id, indicator, 0)
    before = service.event_count()

    r = service.submit(case_id, assessment_id)

    assert_refused(r, 409, "unrated-indicators")
    assert indicators[-1] in r.json()["detail"]
    assert service.event_count() == before
    assert service.case(case_id)["assessments"][0]["status"] == "in_progress"


def test_a_rating_outside_the_indicators_scale_is_refused(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)
    before = service.event_count()

    too_high = service.rate(case_id, assessment_id, "BA1", 3)
    too_low = service.rate(case_id, assessment_id, "BA1", -1)

    assert_refused(too_high, 409, "rating-out-of-scale")
    assert_refused(too_low, 409, "rating-out-of-scale")
    assert service.event_count() == before
    assert service.case(case_id)["assessments"][0]["ratings"] == {}


def test_an_indicator_not_in_the_instrument_version_is_refused(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)
    before = service.event_count()

    r = service.rate(case_id, assessment_id, "ZZ9", 1)

    assert_refused(r, 409, "unknown-indicator")
    assert service.event_count() == before


def test_only_the_assessor_rates_their_assessment(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)

    r = service.rate(case_id, assessment_id, "BA1", 1, sub=SECOND)

    assert_refused(r, 409, "not-the-assessor")


def test_a_later_rating_of_an_indicator_replaces_the_earlier(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)

    service.rate(case_id, assessment_id, "BA1", 2)
    service.rate(case_id, assessment_id, "BA1", 0)

    assert service.case(case_id)["assessments"][0]["ratings"]["BA1"]["rating"] == 0


def test_countersigning_an_unsubmitted_assessment_is_refused(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)
    before = service.event_count()

    r = service.countersign(case_id, assessment_id)

    assert_refused(r, 409, "not-submitted")
    assert service.event_count() == before


def test_a_review_date_before_the_submission_is_refused(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)
    service.rate_all(case_id, assessment_id)

    r = service.submit(case_id, assessment_id, days=-1)

    assert_refused(r, 409, "review-date")


def test_commands_on_unknown_cases_and_assessments_answer_404(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    unknown = "00000000-0000-4000-8000-000000000000"

    no_case = service.client.post(
        f"/cases/{unknown}/assessments", json={}, headers=service.headers()
    )
    no_assessment = service.rate(case_id, unknown, "BA1", 1)

    assert no_case.status_code == 404
    assert no_assessment.status_code == 404


def test_a_stale_if_match_is_refused_and_an_idempotent_retry_records_once(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    version = service.case(case_id)["version"]
    url = f"/cases/{case_id}/assessments"

    stale = service.client.post(
        url, json={}, headers=service.headers(**{"If-Match": f'"{version - 1}"'})
    )
    key = service.headers(**{"Idempotency-Key": "start-1", "If-Match": f'"{version}"'})
    first = service.client.post(url, json={}, headers=key)
    retry = service.client.post(url, json={}, headers=key)

    assert stale.status_code == 412
    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert len(service.case(case_id)["assessments"]) == 1


def test_the_case_view_carries_its_version_as_etag(service: Service) -> None:
    case_id = service.open_case(FACILITY)

    r = service.client.get(f"/cases/{case_id}", headers=service.headers())

    assert r.headers["etag"] == f'"{r.json()["version"]}"'


def test_civil_society_cannot_read_risk_assessments(service: Service) -> None:
    case_id = service.open_case(FACILITY)

    r = service.client.get(f"/cases/{case_id}", headers=service.headers("civil_society", "cso-1"))

    assert r.status_code == 403


def test_a_needs_assessment_records_literacy_and_languages(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    body = {
        "literacy": "basic",
        "languages": ["Fulfulde", "Bambara", "Songhai"],
        "education_level": "koranic",
        "vocational_interests": ["tailoring", "market gardening"],
        "skills": ["herding"],
    }

    r = service.client.post(
        f"/cases/{case_id}/needs", json=body, headers=service.headers("social_worker", "sw-1")
    )

    assert r.status_code == 201, r.text
    needs = service.case(case_id)["needs"]
    assert needs["languages"] == ["Fulfulde", "Bambara", "Songhai"]
    assert needs["literacy"] == "basic"
    assert needs["recorded_by"] == "sw-1"


def test_a_sealed_case_is_hidden_from_lists_except_for_judges_and_auditors(
    service: Service,
) -> None:
    case_id = service.open_case(FACILITY)
    sealed = CaseSealed(reason="acquittal became final", sealed_by="judge-1")
    seal = access_ops(CaseSealed.type_name(), str(case_id), uuid4(), "court", sealed)

    service.app.record_inbound_only("access", uuid4(), seal)

    def listed(path: str, role: str) -> list[str]:
        body = service.client.get(
            path, params={"limit": 500}, headers=service.headers(role, f"{role}-1")
        )
        assert body.status_code == 200, body.text
        return [item["case_id"] for item in body.json()["items"]]

    assert str(case_id) not in listed("/cases", "assessor")
    assert str(case_id) not in listed("/reviews", "prison_director")
    assert str(case_id) in listed("/cases", "judge")
    assert str(case_id) in listed("/reviews", "auditor")
    hidden = service.client.get(f"/cases/{case_id}", headers=service.headers())
    assert hidden.status_code == 404
