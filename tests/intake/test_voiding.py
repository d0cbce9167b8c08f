"""Voiding intake entries: a mistaken entry stays on record, linked, and stops counting; a release
that happened, the arrest and a voiding cannot be voided; entries others build on go last."""

from __future__ import annotations

import uuid
from datetime import datetime

from tests.judicial.pathway import HOUR, assert_refused, iso


def entry_ids(stack, case_id: str, kind: str) -> list[str]:
    return [
        e["event_id"] for e in stack.view(stack.intake, case_id)["entries"] if e["type"] == kind
    ]


def extend(stack, case_id: str, until: datetime):
    body = {"extended_until": iso(until), "authorised_by": "Procureur", "reason": "Investigation"}
    return stack.post(stack.intake, f"/cases/{case_id}/custody/extensions", "prosecutor", body)


def test_a_voided_extension_stops_counting_and_stays_on_record(stack):
    case_id = stack.open_case()
    started = stack.now() - 2 * HOUR
    stack.custody(case_id, started)
    extension = extend(stack, case_id, started + 96 * HOUR).json()["event_id"]

    response = stack.void(stack.intake, extension, "prosecutor")

    assert response.status_code == 201, response.text
    view = stack.view(stack.intake, case_id)
    assert (view["custody"]["until"], view["custody"]["extensions"]) == (
        iso(started + 48 * HOUR),
        0,
    )
    voided = next(e for e in view["entries"] if e["event_id"] == extension)
    assert voided["voided"] is True
    assert voided["voided_by"] == response.json()["event_id"]
    stack.judicial_learnt(
        case_id, lambda v: (v["custody"] or {}).get("expires_at") == iso(started + 48 * HOUR)
    )


def test_a_voided_admission_puts_the_person_back_in_the_register(stack):
    case_id = stack.open_case()
    stack.custody(case_id)
    admission = stack.admit(case_id, "MCA Bamako").json()["event_id"]

    stack.void(stack.intake, admission, "prison_registry")

    listed = stack.intake.get("/cases?limit=500", headers=stack.h("auditor")).json()["items"]
    row = next(c for c in listed if c["case_id"] == case_id)
    assert (row["status"], row["facility"]) == ("in_custody", None)


def test_the_arrest_cannot_be_voided(stack):
    case_id = stack.open_case()
    before = stack.version(stack.intake, case_id)

    response = stack.void(stack.intake, entry_ids(stack, case_id, "ArrestRecorded")[0], "police")

    assert_refused(response, "entry-not-voidable", "opens the case")
    assert stack.version(stack.intake, case_id) == before


def test_a_release_that_happened_cannot_be_voided(stack):
    case_id, _ = stack.released_case()
    before = stack.version(stack.intake, case_id)

    response = stack.void(
        stack.intake, entry_ids(stack, case_id, "DetaineeReleased")[0], "prison_registry"
    )

    assert_refused(response, "release-not-voidable", "cannot be voided")
    assert stack.version(stack.intake, case_id) == before


def test_an_entry_is_voided_once(stack):
    case_id = stack.open_case()
    admission = stack.admit(case_id).json()["event_id"]
    stack.void(stack.intake, admission, "prison_registry")
    before = stack.version(stack.intake, case_id)

    response = stack.void(stack.intake, admission, "prison_registry")

    assert_refused(response, "entry-already-voided", "already voided")
    assert stack.version(stack.intake, case_id) == before


def test_custody_is_voided_only_after_its_extensions(stack):
    case_id = stack.open_case()
    started = stack.now() - 2 * HOUR
    custody = stack.custody(case_id, started).json()["event_id"]
    extension = extend(stack, case_id, started + 96 * HOUR).json()["event_id"]
    before = stack.version(stack.intake, case_id)

    response = stack.void(stack.intake, custody, "police")

    assert_refused(response, "void-later-entries-first", extension)
    assert stack.version(stack.intake, case_id) == before


def test_a_voiding_cannot_be_voided(stack):
    case_id = stack.open_case()
    admission = stack.admit(case_id).json()["event_id"]
    voiding = stack.void(stack.intake, admission, "prison_registry").json()["event_id"]
    before = stack.version(stack.intake, case_id)

    response = stack.void(stack.intake, voiding, "prison_registry")

    assert_refused(response, "entry-not-voidable", "voiding")
    assert stack.version(stack.intake, case_id) == before


def test_only_the_roles_that_record_an_entry_void_it(stack):
    case_id = stack.open_case()
    admission = stack.admit(case_id).json()["event_id"]
    before = stack.version(stack.intake, case_id)

    response = stack.void(stack.intake, admission, "police")

    assert response.status_code == 403, response.text
    assert stack.version(stack.intake, case_id) == before


def test_voiding_an_unknown_entry_is_not_found(stack):
    response = stack.void(stack.intake, str(uuid.uuid4()), "police")

    assert response.status_code == 404, response.text
