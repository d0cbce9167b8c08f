"""A person under 18 at the arrest is held under the jurisdiction's juvenile limits: intake applies
the juvenile custody regime, judicial the juvenile pre-trial terms and the breach at their limit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tests.judicial.pathway import DAY, HOUR, Stack, iso
from tests.support import arrest_payload


def _person(**fields: Any) -> dict[str, Any]:
    return {"full_name": "Hamidou Test Maïga", "sex": "male", "nationality": "ML", **fields}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _born_years_ago(stack: Stack, years: int) -> str:
    today = stack.now().date()
    return today.replace(year=today.year - years, day=min(today.day, 28)).isoformat()


def test_a_sixteen_year_olds_custody_gets_the_juvenile_limit_and_a_breach_at_it(stack):
    started = stack.now() - 25 * HOUR
    case_id = stack.open_case(
        person=_person(date_of_birth=_born_years_ago(stack, 16)),
        arrested_at=iso(started - HOUR),
    )

    response = stack.custody(case_id, started)

    assert response.status_code == 201, response.text
    custody = stack.view(stack.intake, case_id)["custody"]
    assert custody["regime"] == "juvenile"
    assert _at(custody["until"]) == started + 24 * HOUR
    stack.judicial_learnt(case_id, lambda v: v["custody"] is not None)
    assert UUID(case_id) in stack.judicial_app.detect_breaches()
    [breach] = stack.view(stack.judicial, case_id)["breaches"]
    assert breach["deadline_kind"] == "custody"
    assert _at(breach["expired_at"]) == started + 24 * HOUR


def test_an_adult_in_custody_for_25_hours_is_within_the_terrorism_limit(stack):
    started = stack.now() - 25 * HOUR
    case_id = stack.open_case(
        person=_person(date_of_birth=_born_years_ago(stack, 30)), arrested_at=iso(started - HOUR)
    )

    stack.custody(case_id, started)

    custody = stack.view(stack.intake, case_id)["custody"]
    assert _at(custody["until"]) == started + 48 * HOUR
    stack.judicial_learnt(case_id, lambda v: v["custody"] is not None)
    assert UUID(case_id) not in stack.judicial_app.detect_breaches()


def test_a_declared_minor_without_a_date_of_birth_is_treated_as_a_minor(stack):
    case_id = stack.open_case(person=_person(minor=True))

    response = stack.custody(case_id)

    assert response.status_code == 201, response.text
    custody = stack.view(stack.intake, case_id)["custody"]
    assert custody["regime"] == "juvenile"
    assert _at(custody["until"]) - _at(custody["started_at"]) == 24 * HOUR


def test_an_estimated_date_of_birth_under_18_makes_a_minor(stack):
    born = _born_years_ago(stack, 15)
    case_id = stack.open_case(person=_person(date_of_birth=born, date_of_birth_estimated=True))

    response = stack.custody(case_id)

    assert response.status_code == 201, response.text
    assert stack.view(stack.intake, case_id)["custody"]["regime"] == "juvenile"


def test_a_date_of_birth_over_18_outweighs_a_declaration_of_minority(stack):
    born = _born_years_ago(stack, 25)
    case_id = stack.open_case(person=_person(date_of_birth=born, minor=True))

    response = stack.custody(case_id)

    assert response.status_code == 201, response.text
    assert stack.view(stack.intake, case_id)["custody"]["regime"] == "terrorism"


def test_the_caller_cannot_say_whether_the_person_was_a_minor(stack):
    body = arrest_payload(minor_at_facts=False)

    response = stack.post(stack.intake, "/cases", "police", body)

    assert response.status_code == 422, response.text


def test_a_minors_detention_order_runs_the_juvenile_term(stack):
    case_id = stack.open_case(person=_person(date_of_birth=_born_years_ago(stack, 16)))
    assert stack.custody(case_id).status_code == 201
    stack.judicial_learnt(case_id, lambda v: v["custody"] is not None)
    assert stack.charges(case_id).status_code == 201
    ordered = stack.now() - timedelta(minutes=30)

    response = stack.order_detention(case_id, ordered)

    assert response.status_code == 201, response.text
    # Mali, crime: 180 days for a minor (ASSUMPTION in mali.yaml) instead of 365 for an adult.
    detention = stack.view(stack.judicial, case_id)["pre_trial_detention"]
    assert detention["juvenile"] is True
    assert _at(detention["expires_at"]) == ordered + 180 * DAY


def test_a_minors_detention_order_longer_than_the_juvenile_term_is_refused(stack):
    case_id = stack.open_case(person=_person(minor=True))
    assert stack.custody(case_id).status_code == 201
    stack.judicial_learnt(case_id, lambda v: v["custody"] is not None)
    assert stack.charges(case_id).status_code == 201
    ordered = stack.now() - timedelta(minutes=30)

    response = stack.order_detention(case_id, ordered, expires_at=iso(ordered + 200 * DAY))

    assert response.status_code == 409, response.text
    assert "180 days" in response.json()["detail"]
