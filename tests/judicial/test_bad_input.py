"""No input gives a 500 on the legal pathway: empty or mistyped bodies are named in a 422, and
dates whose computed limits would fall past the calendar are refused as invalid fields."""

from __future__ import annotations

import pytest

INTAKE_ROUTES = {
    "custody": "police",
    "custody/extensions": "prosecutor",
    "evidence": "police",
    "transfers": "prison_registry",
    "family-contacts": "prison_registry",
    "release": "prison_registry",
}
JUDICIAL_ROUTES = [
    "charges",
    "detention-orders",
    "detention-orders/renewals",
    "hearings",
    "verdict",
    "sentence",
    "release-orders",
    "seal",
]
GARBAGE = [{}, {"started_at": 12}, {"offences": "all"}, {"kind": "amnesty"}, {"term_days": -1}]


@pytest.mark.parametrize("route", sorted(INTAKE_ROUTES))
def test_intake_names_invalid_fields(stack, route):
    case_id = stack.open_case()

    path, role = f"/cases/{case_id}/{route}", INTAKE_ROUTES[route]

    statuses = {stack.post(stack.intake, path, role, body).status_code for body in GARBAGE}

    assert statuses == {422}, statuses


@pytest.mark.parametrize("route", JUDICIAL_ROUTES)
def test_judicial_names_invalid_fields(stack, route):
    case_id = stack.charged_case()

    statuses = {
        stack.post(stack.judicial, f"/cases/{case_id}/{route}", "judge", body).status_code
        for body in GARBAGE
    }

    assert statuses == {422}, statuses


def test_a_custody_ending_past_the_calendar_is_an_invalid_field(stack):
    case_id = stack.open_case(arrested_at="9999-12-31T00:00:00Z")
    before = stack.version(stack.intake, case_id)

    response = stack.post(
        stack.intake, f"/cases/{case_id}/custody", "police",
        {"started_at": "9999-12-31T23:00:00Z", "legal_basis": "CPP art. 76"},
    )  # fmt: skip

    assert response.status_code == 422, response.text
    assert stack.version(stack.intake, case_id) == before


def test_a_detention_ending_past_the_calendar_is_an_invalid_field(stack):
    case_id = stack.charged_case()
    before = stack.version(stack.judicial, case_id)

    response = stack.post(
        stack.judicial, f"/cases/{case_id}/detention-orders", "judge",
        {"ordered_by": "J", "ordered_at": "9999-12-31T00:00:00Z", "legal_basis": "CPP"},
    )  # fmt: skip

    assert response.status_code == 422, response.text
    assert stack.version(stack.judicial, case_id) == before


def test_a_sentence_ending_past_the_calendar_is_an_invalid_field(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id)
    before = stack.version(stack.judicial, case_id)

    response = stack.sentence(case_id, starts_on="9999-12-01", term_days=36_525)

    assert response.status_code == 422, response.text
    assert stack.version(stack.judicial, case_id) == before


def test_an_item_number_in_another_case_starts_its_own_chain(stack):
    first, second = stack.open_case(), stack.open_case()
    body = {"item_id": "S-9", "description": "Laptop", "collected_by": "Keita"}
    body["collected_at"] = "2026-11-01T08:00:00Z"
    stack.post(stack.intake, f"/cases/{first}/evidence", "police", {**body, "handed_to": "Greffe"})

    response = stack.post(stack.intake, f"/cases/{second}/evidence", "police", body)

    assert response.status_code == 201, response.text
