"""Evidence keeps an unbroken chain of custody; transfers, admission and family contact follow
where the person is, and stop once the person is released; a prison acts only on the persons it
holds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from shared.events import DetaineeAdmitted
from tests.judicial.pathway import HOUR, assert_refused, iso
from tests.support import TEST_FACILITY

MINUTE = timedelta(minutes=1)


def evidence(
    stack, at_minutes_ago: int, collected_by: str, handed_to: str | None = None
) -> dict[str, Any]:
    body = {
        "item_id": "SCELLE-117",
        "description": "Mobile telephone, sealed bag",
        "collected_by": collected_by,
        "collected_at": iso(stack.now() - at_minutes_ago * MINUTE),
    }
    return {**body, "handed_to": handed_to} if handed_to else body


def log(stack, case_id: str, body: dict[str, Any]) -> Any:
    return stack.post(stack.intake, f"/cases/{case_id}/evidence", "police", body)


def transfer(
    stack, case_id: str, from_facility: str, to_facility: str, by: str | None = None
) -> Any:
    """A transfer recorded by the registry of `by` (by default the prison it leaves)."""
    body = {
        "from_facility": from_facility,
        "to_facility": to_facility,
        "transferred_at": iso(stack.now() - 10 * MINUTE),
        "reason": "Overcrowding",
    }
    path = f"/cases/{case_id}/transfers"
    return stack.post(stack.intake, path, "prison_registry", body, facility=by or from_facility)


def test_a_hand_over_by_the_holder_extends_the_chain(stack):
    case_id = stack.open_case()
    log(stack, case_id, evidence(stack, 100, "Adjudant Keita"))

    response = log(stack, case_id, evidence(stack, 90, "Adjudant Keita", handed_to="Greffe"))

    assert response.status_code == 201, response.text
    [item] = stack.view(stack.intake, case_id)["evidence"]
    assert (item["holder"], len(item["entries"])) == ("Greffe", 2)


def test_a_hand_over_must_come_from_who_held_the_item(stack):
    case_id = stack.open_case()
    log(stack, case_id, evidence(stack, 100, "Adjudant Keita", handed_to="Greffe"))
    before = stack.version(stack.intake, case_id)

    response = log(stack, case_id, evidence(stack, 90, "Adjudant Keita", handed_to="Laboratoire"))

    assert_refused(response, "broken-chain-of-custody", "held by Greffe", "who held it before")
    assert stack.version(stack.intake, case_id) == before


def test_an_item_logged_again_must_be_handed_to_someone(stack):
    case_id = stack.open_case()
    log(stack, case_id, evidence(stack, 100, "Adjudant Keita"))
    before = stack.version(stack.intake, case_id)

    response = log(stack, case_id, evidence(stack, 90, "Adjudant Keita"))

    assert_refused(response, "hand-over-without-recipient", "handed_to")
    assert stack.version(stack.intake, case_id) == before


def test_a_hand_over_cannot_be_earlier_than_the_last_entry(stack):
    case_id = stack.open_case()
    log(stack, case_id, evidence(stack, 90, "Adjudant Keita"))
    before = stack.version(stack.intake, case_id)

    response = log(stack, case_id, evidence(stack, 100, "Adjudant Keita", handed_to="Greffe"))

    assert_refused(response, "evidence-out-of-order", "cannot be earlier")
    assert stack.version(stack.intake, case_id) == before


def test_a_transfer_moves_the_person_and_judicial_follows(stack):
    case_id = stack.open_case()
    assert stack.admit(case_id, "MCA Bamako").status_code == 201

    response = transfer(stack, case_id, "MCA Bamako", "Prison de Koulikoro")

    assert response.status_code == 201, response.text
    assert stack.view(stack.intake, case_id)["facility"] == "Prison de Koulikoro"
    stack.judicial_learnt(case_id, lambda v: v["facility"] == "Prison de Koulikoro")


def test_a_transfer_starts_where_the_person_is(stack):
    case_id = stack.open_case()
    assert stack.admit(case_id, "MCA Bamako").status_code == 201
    before = stack.version(stack.intake, case_id)

    response = transfer(stack, case_id, "Prison de Ségou", "Prison de Koulikoro", by="MCA Bamako")

    assert_refused(response, "transfer-from-wrong-facility", "held at MCA Bamako")
    assert stack.version(stack.intake, case_id) == before


def test_a_transfer_goes_somewhere_else(stack):
    case_id = stack.open_case()
    assert stack.admit(case_id, "MCA Bamako").status_code == 201
    before = stack.version(stack.intake, case_id)

    response = transfer(stack, case_id, "MCA Bamako", "MCA Bamako")

    assert_refused(response, "transfer-to-same-facility", "another facility")
    assert stack.version(stack.intake, case_id) == before


def test_an_admitted_person_is_not_admitted_twice(stack):
    case_id = stack.open_case()
    assert stack.admit(case_id, "MCA Bamako").status_code == 201
    before = stack.version(stack.intake, case_id)

    again = stack.admit(case_id, "MCA Bamako")
    elsewhere = stack.admit(case_id, "Prison de Koulikoro")

    assert_refused(again, "already-admitted", "record a transfer")
    # Another prison does not learn where the person is held: for it the case does not exist.
    assert elsewhere.status_code == 404, elsewhere.text
    assert stack.version(stack.intake, case_id) == before


def test_no_admission_of_a_released_person_without_a_new_arrest(stack):
    case_id, _ = stack.released_case()
    before = stack.version(stack.intake, case_id)

    responses = [stack.admit(case_id), stack.admit(case_id, "Prison de Koulikoro")]
    again = DetaineeAdmitted(facility=TEST_FACILITY, admitted_at=stack.now(), warrant_ref="MD-2")
    rule = stack.rule_refusing(
        lambda ctx: stack.intake_app.admit(UUID(case_id), again, ctx), "prison_registry"
    )

    # A released person is no prison's: no prison may act on them any more.
    assert [r.status_code for r in responses] == [404, 404], [r.text for r in responses]
    assert rule.rule == "admission-after-release"
    assert "new arrest" in rule.detail
    assert stack.version(stack.intake, case_id) == before


def test_no_transfer_or_family_contact_after_release(stack):
    case_id, _ = stack.released_case()
    before = stack.version(stack.intake, case_id)
    contact = {
        "kind": "visit",
        "with_whom": "Fatoumata",
        "relationship": "mother",
        "at": iso(stack.now()),
    }

    contacts = f"/cases/{case_id}/family-contacts"

    # The arresting police and the social service still see the case: the rule answers them.
    moved = _police_transfer(stack, case_id)
    visited = stack.post(stack.intake, contacts, "social_worker", contact)
    # The prison that released the person no longer holds them: for it the case is gone.
    former = [
        transfer(stack, case_id, TEST_FACILITY, "Prison de Koulikoro"),
        stack.post(stack.intake, contacts, "prison_registry", contact),
    ]

    assert_refused(moved, "person-released", "new arrest")
    assert_refused(visited, "person-released", "new arrest")
    assert [r.status_code for r in former] == [404, 404], [r.text for r in former]
    assert stack.version(stack.intake, case_id) == before


def _police_transfer(stack, case_id: str) -> Any:
    body = {
        "from_facility": TEST_FACILITY,
        "to_facility": "Prison de Koulikoro",
        "transferred_at": iso(stack.now() - 10 * MINUTE),
        "reason": "Overcrowding",
    }
    return stack.post(stack.intake, f"/cases/{case_id}/transfers", "police", body)


def test_family_contact_is_recorded_while_held(stack):
    case_id = stack.open_case()
    stack.admit(case_id)
    contact = {
        "kind": "call",
        "with_whom": "Fatoumata",
        "relationship": "mother",
        "at": iso(stack.now() - HOUR),
    }

    response = stack.post(
        stack.intake, f"/cases/{case_id}/family-contacts", "social_worker", contact
    )

    assert response.status_code == 201, response.text
    assert stack.view(stack.intake, case_id)["family_contacts"] == 1
