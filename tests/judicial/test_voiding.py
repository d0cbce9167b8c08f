"""Voiding judicial entries: a voided detention order stops counting for deadlines; an executed
release order, an automatic seal and a voiding cannot be voided; dependants are voided first;
only the agency that recorded an entry voids it."""

from __future__ import annotations

import uuid

from tests.judicial.pathway import assert_refused
from tests.support import auth


def entry(stack, case_id: str, kind: str) -> str:
    view = stack.view(stack.judicial, case_id)
    return next(e["event_id"] for e in view["entries"] if e["type"] == kind and not e["voided"])


def deadline_kinds(stack, case_id: str) -> list[str]:
    items = stack.judicial.get("/deadlines?limit=500", headers=stack.h("judge")).json()["items"]
    return sorted(d["kind"] for d in items if d["case_id"] == case_id)


def test_a_voided_detention_order_stops_counting_for_deadlines(stack):
    case_id = stack.detained_case()
    assert deadline_kinds(stack, case_id) == ["pre_trial"]

    response = stack.void(
        stack.judicial, entry(stack, case_id, "PreTrialDetentionOrdered"), "judge"
    )

    assert response.status_code == 201, response.text
    view = stack.view(stack.judicial, case_id)
    assert view["pre_trial_detention"] is None
    assert view["custody"]["status"] != "ended"
    assert deadline_kinds(stack, case_id) == ["custody"]


def test_an_executed_release_order_cannot_be_voided(stack):
    case_id, _ = stack.released_case()
    stack.judicial_learnt(case_id, lambda v: v["released_at"] is not None)
    before = stack.version(stack.judicial, case_id)

    response = stack.void(stack.judicial, entry(stack, case_id, "ReleaseOrdered"), "judge")

    assert_refused(response, "release-order-executed", "cannot be voided")
    assert stack.version(stack.judicial, case_id) == before


def test_a_verdict_is_voided_only_after_the_sentence(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id)
    sentence = stack.sentence(case_id).json()["event_id"]
    before = stack.version(stack.judicial, case_id)

    response = stack.void(stack.judicial, entry(stack, case_id, "VerdictDelivered"), "judge")

    assert_refused(response, "void-later-entries-first", sentence)
    assert stack.version(stack.judicial, case_id) == before


def test_a_detention_order_is_voided_only_after_its_renewals(stack):
    case_id = stack.detained_case()
    body = {"renewed_by": "Juge", "renewed_at": stack.now().isoformat()}
    renewal = stack.post(
        stack.judicial, f"/cases/{case_id}/detention-orders/renewals", "judge", body
    )
    before = stack.version(stack.judicial, case_id)

    response = stack.void(
        stack.judicial, entry(stack, case_id, "PreTrialDetentionOrdered"), "judge"
    )

    assert_refused(response, "void-later-entries-first", renewal.json()["event_id"])
    assert stack.version(stack.judicial, case_id) == before


def test_a_voided_renewal_brings_back_the_previous_expiry(stack):
    case_id = stack.detained_case()
    first_expiry = stack.view(stack.judicial, case_id)["pre_trial_detention"]["expires_at"]
    body = {"renewed_by": "Juge", "renewed_at": stack.now().isoformat()}
    renewal = stack.post(
        stack.judicial, f"/cases/{case_id}/detention-orders/renewals", "judge", body
    )

    stack.void(stack.judicial, renewal.json()["event_id"], "judge")

    assert stack.view(stack.judicial, case_id)["pre_trial_detention"]["expires_at"] == first_expiry


def test_an_entry_is_voided_once_and_a_voiding_not_at_all(stack):
    case_id = stack.charged_case()
    charges = entry(stack, case_id, "ChargesFiled")
    voiding = stack.void(stack.judicial, charges, "prosecutor").json()["event_id"]
    before = stack.version(stack.judicial, case_id)

    again = stack.void(stack.judicial, charges, "prosecutor")
    of_voiding = stack.void(stack.judicial, voiding, "prosecutor")

    assert_refused(again, "entry-already-voided", "already voided")
    assert_refused(of_voiding, "entry-not-voidable", "voiding")
    assert stack.version(stack.judicial, case_id) == before


def test_only_the_roles_that_record_an_entry_void_it(stack):
    case_id = stack.detained_case()
    order = entry(stack, case_id, "PreTrialDetentionOrdered")
    before = stack.version(stack.judicial, case_id)

    response = stack.void(stack.judicial, order, "prosecutor")

    assert response.status_code == 403, response.text
    assert stack.version(stack.judicial, case_id) == before


def test_an_entry_of_another_service_is_not_found_here(stack):
    case_id = stack.open_case()
    arrest = stack.view(stack.intake, case_id)["entries"][0]["event_id"]

    response = stack.void(stack.judicial, arrest, "judge")

    assert response.status_code == 404, response.text


def test_voiding_an_unknown_entry_is_not_found(stack):
    response = stack.void(stack.judicial, str(uuid.uuid4()), "judge")

    assert response.status_code == 404, response.text


def _as(stack, role: str, agency: str, sub: str) -> dict[str, str]:
    return auth(stack.settings, role, sub=sub, agency=agency)


def _void_as(stack, event_id: str, headers: dict[str, str]):
    body = {"reason": "recorded in error"}
    return stack.judicial.post(f"/entries/{event_id}/void", json=body, headers=headers)


def test_another_prosecutor_of_the_office_that_filed_charges_voids_them(stack):
    case_id = stack.charged_case()  # filed for the default prosecutors' office
    charges = entry(stack, case_id, "ChargesFiled")

    response = _void_as(stack, charges, _as(stack, "prosecutor", "prosecutor-agency", "substitut"))

    assert response.status_code == 201, response.text
    assert stack.view(stack.judicial, case_id)["charges"] == []


def test_a_prosecutor_of_another_office_may_not_void_the_charges(stack):
    case_id = stack.charged_case()
    charges = entry(stack, case_id, "ChargesFiled")
    before = stack.version(stack.judicial, case_id)

    response = _void_as(stack, charges, _as(stack, "prosecutor", "parquet-mopti", "procureur-2"))

    assert response.status_code == 403, response.text
    assert stack.version(stack.judicial, case_id) == before
