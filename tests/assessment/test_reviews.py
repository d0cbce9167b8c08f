"""The review schedule: due on admission, then at each countersigned assessment's next review."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from shared.kit.store import CommandContext
from tests.assessment.conftest import Service

FACILITY = "Prison centrale de Ségou"


def listed(service: Service, status: str, case_id: UUID, **params: Any) -> list[dict[str, Any]]:
    r = service.client.get(
        "/reviews", params={"status": status, "limit": 500, **params}, headers=service.headers()
    )
    assert r.status_code == 200, r.text
    return [item for item in r.json()["items"] if item["case_id"] == str(case_id)]


def test_an_admission_makes_a_risk_assessment_due_within_the_configured_days(
    service: Service,
) -> None:
    admitted_at = service.clock.now()

    case_id = service.open_case(FACILITY, admitted_at=admitted_at)

    [due] = listed(service, "open", case_id)
    assert due["trigger"] == "admission"
    assert due["assessment_kind"] == "risk"
    assert (
        due["due_by"]
        == (admitted_at + timedelta(days=service.settings.assessment_due_days)).isoformat()
    )
    assert listed(service, "overdue", case_id) == []


def test_reviews_become_due_soon_then_overdue_as_time_passes(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    days = service.settings.assessment_due_days

    service.clock.travel(timedelta(days=days - 5))
    soon = listed(service, "due_soon", case_id)
    service.clock.travel(timedelta(days=6))
    overdue = listed(service, "overdue", case_id)

    assert len(soon) == 1
    assert len(overdue) == 1
    assert overdue[0]["overdue"] is True
    assert listed(service, "due_soon", case_id) == []


def test_a_countersigned_assessment_satisfies_the_due_review_and_sets_the_next(
    service: Service,
) -> None:
    case_id = service.open_case(FACILITY)
    service.clock.travel(timedelta(days=service.settings.assessment_due_days + 1))
    assert len(listed(service, "overdue", case_id)) == 1

    assessment_id = service.complete(case_id, "low", days=90)

    assert listed(service, "overdue", case_id) == []
    [satisfied] = listed(service, "satisfied", case_id)
    assert satisfied["satisfied_by"] == assessment_id
    [following] = listed(service, "open", case_id)
    assert following["trigger"] == "review"
    countersigned = [
        e for e in service.case(case_id)["entries"] if e["type"] == "AssessmentCountersigned"
    ]
    assert following["caused_by"] == countersigned[0]["event_id"]
    service.clock.travel(timedelta(days=91))
    assert [r["event_id"] for r in listed(service, "overdue", case_id)] == [following["event_id"]]


def test_a_submitted_but_unsigned_assessment_leaves_the_review_due(service: Service) -> None:
    case_id = service.open_case(FACILITY)
    assessment_id = service.start(case_id)
    service.rate_all(case_id, assessment_id)
    service.submit(case_id, assessment_id, "moderate")

    service.clock.travel(timedelta(days=service.settings.assessment_due_days + 1))

    assert len(listed(service, "overdue", case_id)) == 1


def test_reviews_of_released_people_are_not_listed(service: Service) -> None:
    case_id = service.open_case(FACILITY)

    service.app.note_custody(
        case_id, "released", None, service.clock.now(), CommandContext.system()
    )

    assert listed(service, "open", case_id) == []


def test_reviews_can_be_listed_for_one_facility(service: Service) -> None:
    here = service.open_case("Prison de Kidal")
    there = service.open_case("Prison de Tombouctou")

    in_kidal = listed(service, "open", here, facility="Prison de Kidal")

    assert len(in_kidal) == 1
    assert listed(service, "open", there, facility="Prison de Kidal") == []


def test_an_unknown_review_status_is_invalid(service: Service) -> None:
    r = service.client.get("/reviews", params={"status": "late"}, headers=service.headers())

    assert r.status_code == 422
