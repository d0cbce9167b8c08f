"""A person who was a minor at the arrest, admitted where the facility or wing is for adults (or
not stated to be for minors), is a placement conflict; in a wing for minors, none. Intake decides
who was a minor and tells assessment over the bus."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.assessment.service import create_app as assessment_app
from services.intake.service import create_app as intake_app
from shared.kit.testing import Servers, settings_for
from tests.support import admission_payload, arrest_payload, auth, eventually, running


@pytest.fixture(scope="module")
def services(servers: Servers) -> Iterator[tuple[Any, Any, Any]]:
    settings = settings_for(servers)
    with (
        running(intake_app(settings)) as intake,
        running(assessment_app(settings, instrument_file=None)) as assessment,
    ):
        yield settings, intake, assessment


def _held(services: tuple[Any, Any, Any], facility: str, born: str, **admission: Any) -> str:
    settings, intake, assessment = services
    now = datetime.now(UTC)
    person = {"full_name": "Ali Test Ag", "sex": "male", "nationality": "ML", "date_of_birth": born}
    arrest = arrest_payload(person=person, arrested_at=(now - timedelta(days=2)).isoformat())
    case_id = str(
        intake.post("/cases", json=arrest, headers=auth(settings, "police")).json()["case_id"]
    )
    body = admission_payload(
        facility=facility, admitted_at=(now - timedelta(days=1)).isoformat(), **admission
    )
    headers = auth(settings, "prison_registry", facility=facility)
    admitted = intake.post(f"/cases/{case_id}/admission", json=body, headers=headers)
    assert admitted.status_code == 201, admitted.text
    reader = auth(settings, "assessor")
    eventually(
        lambda: (
            assessment.get(f"/cases/{case_id}", headers=reader).json().get("facility") == facility
        ),
        timeout=15,
    )
    return case_id


def _conflicts(services: tuple[Any, Any, Any], facility: str) -> list[dict[str, Any]]:
    settings, _, assessment = services
    r = assessment.get(
        "/placements/conflicts", params={"facility": facility}, headers=auth(settings, "assessor")
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _years_ago(years: int) -> str:
    today = datetime.now(UTC).date()
    return today.replace(year=today.year - years, day=min(today.day, 28)).isoformat()


def test_a_minor_admitted_to_an_adult_facility_is_a_placement_conflict(services):
    case_id = _held(services, "Prison M1", _years_ago(16), quarter="adults")

    [conflict] = _conflicts(services, "Prison M1")

    assert conflict["kind"] == "minor_with_adults"
    assert conflict["case_ids"] == [case_id]
    assert conflict["quarter"] == "adults"


def test_a_minor_admitted_without_a_stated_quarter_is_a_placement_conflict(services):
    case_id = _held(services, "Prison M2", _years_ago(16))

    [conflict] = _conflicts(services, "Prison M2")

    assert conflict["case_ids"] == [case_id]
    assert conflict["quarter"] is None


def test_a_minor_in_a_wing_for_minors_and_an_adult_with_adults_are_no_conflict(services):
    _held(services, "Prison M3", _years_ago(16), quarter="minors")
    _held(services, "Prison M3", _years_ago(30), quarter="adults")

    assert _conflicts(services, "Prison M3") == []


def test_a_minor_transferred_to_an_adult_facility_becomes_a_placement_conflict(services):
    settings, intake, _ = services
    case_id = _held(services, "Prison M4", _years_ago(16), quarter="minors")
    moved = {
        "from_facility": "Prison M4",
        "to_facility": "Prison M5",
        "transferred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "reason": "Overcrowding",
        "to_quarter": "adults",
    }
    headers = auth(settings, "prison_registry", facility="Prison M4")

    response = intake.post(f"/cases/{case_id}/transfers", json=moved, headers=headers)

    assert response.status_code == 201, response.text
    eventually(lambda: [c["case_ids"] for c in _conflicts(services, "Prison M5")] == [[case_id]])
    assert _conflicts(services, "Prison M4") == []
