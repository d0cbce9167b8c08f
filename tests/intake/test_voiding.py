"""Voiding intake entries: a mistaken entry stays on record, linked, and stops counting; a release
that happened, the arrest and a voiding cannot be voided; entries others build on go last; only
the agency that recorded an entry (or its supervisor of that entry) voids it."""

from __future__ import annotations

import uuid
from datetime import datetime

from tests.judicial.pathway import HOUR, assert_refused, iso
from tests.support import TEST_FACILITY, auth


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

    voided = stack.void(stack.intake, admission, "prison_registry", facility="MCA Bamako")

    assert voided.status_code == 201, voided.text
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
    release = entry_ids(stack, case_id, "DetaineeReleased")[0]
    before = stack.version(stack.intake, case_id)

    responses = [
        stack.void(stack.intake, release, r) for r in ("prison_registry", "prison_director")
    ]
    rule = stack.rule_refusing(
        lambda ctx: stack.intake_app.void(uuid.UUID(release), "recorded in error", ctx),
        "prison_registry",
    )

    # The prison that released the person holds them no more: for it the case is gone.
    assert [r.status_code for r in responses] == [404, 404], [r.text for r in responses]
    assert rule.rule == "release-not-voidable"
    assert "cannot be voided" in rule.detail
    assert stack.version(stack.intake, case_id) == before


def family_contact(stack, case_id: str) -> str:
    """A family visit the prison records while it holds the person; returns its event id."""
    assert stack.admit(case_id).status_code == 201
    body = {"kind": "visit", "with_whom": "Fatoumata", "relationship": "mother",
            "at": iso(stack.now() - HOUR)}  # fmt: skip
    path = f"/cases/{case_id}/family-contacts"
    recorded = stack.post(stack.intake, path, "prison_registry", body)
    assert recorded.status_code == 201, recorded.text
    return str(recorded.json()["event_id"])


def test_an_entry_is_voided_once(stack):
    # Not the admission: once it is voided, the person is no prison's and the prison sees nothing.
    case_id = stack.open_case()
    contact = family_contact(stack, case_id)
    assert stack.void(stack.intake, contact, "prison_registry").status_code == 201
    before = stack.version(stack.intake, case_id)

    response = stack.void(stack.intake, contact, "prison_registry")

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
    contact = family_contact(stack, case_id)
    voiding = stack.void(stack.intake, contact, "prison_registry").json()["event_id"]
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


# --- corrections stay with the agency that recorded them ----------------------------------


def _as(stack, role: str, agency: str, sub: str | None = None) -> dict[str, str]:
    return auth(stack.settings, role, sub=sub or f"{role}@{agency}", agency=agency)


def _void_as(stack, event_id: str, headers: dict[str, str]):
    body = {"reason": "recorded in error"}
    return stack.intake.post(f"/entries/{event_id}/void", json=body, headers=headers)


def _extension_by(stack, agency: str) -> tuple[str, str]:
    case_id = stack.open_case()
    started = stack.now() - 2 * HOUR
    stack.custody(case_id, started)
    body = {"extended_until": iso(started + 96 * HOUR), "authorised_by": "Procureur",
            "reason": "Investigation"}  # fmt: skip
    headers = _as(stack, "prosecutor", agency)
    recorded = stack.intake.post(f"/cases/{case_id}/custody/extensions", json=body, headers=headers)
    assert recorded.status_code == 201, recorded.text
    return case_id, recorded.json()["event_id"]


def test_another_officer_of_the_recording_agency_voids_an_entry(stack):
    case_id, extension = _extension_by(stack, "parquet-bamako")

    response = _void_as(stack, extension, _as(stack, "prosecutor", "parquet-bamako", "colleague"))

    assert response.status_code == 201, response.text
    assert stack.view(stack.intake, case_id)["custody"]["extensions"] == 0


def test_an_officer_of_another_agency_may_not_void_an_entry(stack):
    case_id, extension = _extension_by(stack, "parquet-bamako")
    before = stack.version(stack.intake, case_id)

    response = _void_as(stack, extension, _as(stack, "prosecutor", "parquet-mopti"))

    assert response.status_code == 403, response.text
    assert "agency" in response.json()["detail"]
    assert stack.version(stack.intake, case_id) == before


def test_the_prison_director_voids_an_admission_the_prisons_registry_recorded(stack):
    case_id = stack.open_case()
    stack.custody(case_id)
    prison = _as(stack, "prison_registry", "mca-bamako")
    admitted = stack.intake.post(
        f"/cases/{case_id}/admission", json=_admission(stack), headers=prison
    )
    assert admitted.status_code == 201, admitted.text

    elsewhere = _void_as(stack, admitted.json()["event_id"], _as(stack, "prison_director", "dap"))
    own = _void_as(stack, admitted.json()["event_id"], _as(stack, "prison_director", "mca-bamako"))

    assert elsewhere.status_code == 403, elsewhere.text
    assert own.status_code == 201, own.text


def _admission(stack) -> dict[str, str]:
    return {"facility": TEST_FACILITY, "admitted_at": iso(stack.now() - HOUR),
            "warrant_ref": "MD-2026-0042"}  # fmt: skip
