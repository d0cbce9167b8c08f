"""The person a case names: a new person at each arrest; a link or an unlink proposed by a
registrar and confirmed by a second person of the proposer's kind (or a director or a judge);
refusals record nothing; the blind index follows links and forgets an erased identity."""

from __future__ import annotations

import uuid
from typing import Any

from shared.kit.names import person_digests
from tests.intake.test_erasure import confirm, ordered, request
from tests.judicial.pathway import Stack, assert_refused
from tests.support import arrest_payload, auth

HAWA = {
    "full_name": "Hawa Walet Mohamed Cissé",
    "sex": "female",
    "nationality": "ML",
    "date_of_birth": "1994-09-17",
    "mother_name": "Fadimata Cissé",
}


def _case(stack: Stack, person: dict[str, Any] | None = None) -> dict[str, Any]:
    body = arrest_payload(person=person or HAWA, arrested_at=stack.now().isoformat())
    response = stack.post(stack.intake, "/cases", "police", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _propose(stack: Stack, case_id: str, body: dict[str, Any], sub: str = "police-a") -> Any:
    path = f"/cases/{case_id}/person-links"
    return stack.intake.post(path, json=body, headers=auth(stack.settings, "police", sub=sub))


def _answer(stack: Stack, case_id: str, link_id: str, what: str, role: str, sub: str) -> Any:
    path = f"/cases/{case_id}/person-links/{link_id}/{what}"
    body = {"reason": "Another mother"} if what == "rejection" else None
    return stack.intake.post(path, json=body, headers=auth(stack.settings, role, sub=sub))


def _linked(stack: Stack) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two cases of one person: the second linked to the first's person."""
    first, second = _case(stack), _case(stack)
    body = {"kind": "link", "person_id": first["person_id"], "reason": "Same mother"}
    link_id = _propose(stack, second["case_id"], body).json()["link_id"]
    confirmed = _answer(stack, second["case_id"], link_id, "confirmation", "police", "police-b")
    assert confirmed.status_code == 201, confirmed.text
    return first, second


def _person(stack: Stack, case_id: str) -> str:
    return str(stack.view(stack.intake, case_id)["person_id"])


def test_each_arrest_names_a_new_person(stack):
    first, second = _case(stack), _case(stack)

    assert first["person_id"] != second["person_id"]
    assert _person(stack, first["case_id"]) == first["person_id"]


def test_an_unlink_brings_back_the_cases_own_person(stack):
    first, second = _linked(stack)
    linked = _person(stack, second["case_id"])

    link_id = _propose(stack, second["case_id"], {"kind": "unlink", "reason": "Wrong"}).json()[
        "link_id"
    ]
    confirmed = _answer(stack, second["case_id"], link_id, "confirmation", "judge", "judge-a")

    assert linked == first["person_id"]
    assert confirmed.status_code == 201, confirmed.text
    assert _person(stack, second["case_id"]) == second["person_id"]


def test_a_rejected_link_changes_nothing(stack):
    first, second = _case(stack), _case(stack)
    body = {"kind": "link", "person_id": first["person_id"], "reason": "Same mother"}
    link_id = _propose(stack, second["case_id"], body).json()["link_id"]

    rejected = _answer(stack, second["case_id"], link_id, "rejection", "police", "police-b")
    again = _answer(stack, second["case_id"], link_id, "confirmation", "police", "police-b")

    assert rejected.status_code == 201, rejected.text
    assert_refused(again, "link-not-pending")
    assert _person(stack, second["case_id"]) == second["person_id"]


def test_a_police_link_is_confirmed_by_police_not_by_the_prison_registry(stack):
    first, second = _case(stack), _case(stack)
    body = {"kind": "link", "person_id": first["person_id"], "reason": "Same mother"}
    link_id = _propose(stack, second["case_id"], body).json()["link_id"]
    version = stack.version(stack.intake, second["case_id"])

    by_registry = stack.intake.post(
        f"/cases/{second['case_id']}/person-links/{link_id}/confirmation",
        headers=auth(stack.settings, "prison_registry", sub="registrar-b"),
    )

    assert by_registry.status_code in (403, 404), by_registry.text
    assert stack.version(stack.intake, second["case_id"]) == version


def test_refused_proposals_record_nothing(stack):
    first, second = _case(stack), _case(stack)
    version = stack.version(stack.intake, second["case_id"])
    link = {"kind": "link", "reason": "Same mother"}

    unknown = _propose(stack, second["case_id"], {**link, "person_id": str(uuid.uuid4())})
    without_person = _propose(stack, second["case_id"], link)
    unlink_naming = _propose(
        stack, second["case_id"], {"kind": "unlink", "person_id": first["person_id"], "reason": "x"}
    )
    not_linked = _propose(stack, second["case_id"], {"kind": "unlink", "reason": "Wrong"})
    itself = _propose(stack, second["case_id"], {**link, "person_id": second["person_id"]})

    assert_refused(unknown, "unknown-person")
    assert [r.status_code for r in (without_person, unlink_naming)] == [422, 422]
    assert_refused(not_linked, "not-linked")
    assert_refused(itself, "link-to-same-person")
    assert stack.version(stack.intake, second["case_id"]) == version


def test_one_proposal_waits_at_a_time(stack):
    first, second = _case(stack), _case(stack)
    body = {"kind": "link", "person_id": first["person_id"], "reason": "Same mother"}
    _propose(stack, second["case_id"], body)

    again = _propose(stack, second["case_id"], body, sub="police-b")

    assert_refused(again, "link-already-proposed")


def test_a_link_is_not_voided(stack):
    first, second = _linked(stack)
    entries = stack.view(stack.intake, second["case_id"])["entries"]
    confirmed = next(e for e in entries if e["type"] == "PersonLinkConfirmed")

    voided = stack.void(stack.intake, confirmed["event_id"], "police")

    assert voided.status_code in (403, 409), voided.text
    assert _person(stack, second["case_id"]) == first["person_id"]


def test_a_linked_persons_digests_are_the_union_of_its_cases(stack):
    first, second = _linked(stack)

    rows = stack.intake_app.fetch(
        "SELECT DISTINCT case_id::text FROM {schema}.person_index WHERE person_id = %s",
        (first["person_id"],),
    )

    assert sorted(r[0] for r in rows) == sorted([first["case_id"], second["case_id"]])


def _released(stack: Stack, person: dict[str, Any]) -> str:
    """A case of `person`, admitted and released on bail (an erasure comes after a release)."""
    case_id = stack.open_case(person=person)
    stack.judicial_learnt(case_id)  # judicial learns of the case from intake's events
    assert stack.charges(case_id).status_code == 201
    assert stack.admit(case_id).status_code == 201
    order = stack.order_release(case_id)
    assert order.status_code == 201, order.text
    order_id = order.json()["release_order_id"]
    stack.intake_knows_order(case_id, order_id)
    assert stack.release(case_id, order_id).status_code == 201
    return case_id


def test_an_erasure_deletes_the_identitys_digests(stack):
    unique = {**HAWA, "full_name": f"Erasescan Zeinabou {uuid.uuid4().hex[:8]}"}
    case_id = _released(stack, unique)
    digests = [d for (d,) in _digests_of(stack, case_id)]
    order_id = ordered(stack, case_id)
    assert request(stack, case_id, order_id).status_code == 201

    erased = confirm(stack, case_id, order_id)

    assert erased.status_code == 201, erased.text
    name_digests = [d for d in digests if d.startswith("nx:")]
    assert name_digests
    left = stack.intake_app.fetch(
        "SELECT count(*) FROM {schema}.person_index WHERE digest = ANY(%s) OR case_id = %s",
        (name_digests, case_id),
    )
    assert left == [(0,)]


def _digests_of(stack: Stack, case_id: str) -> list[tuple[Any, ...]]:
    return list(
        stack.intake_app.fetch(
            "SELECT digest FROM {schema}.person_index WHERE case_id = %s", (case_id,)
        )
    )


def test_the_index_holds_the_digests_of_the_arrest_identity_and_no_name(stack):
    from services.intake.views import PersonIndex, identity_of
    from shared.events.intake import ArrestRecorded

    opened = _case(stack)
    body = arrest_payload(person=HAWA, arrested_at=stack.now().isoformat())
    identity = identity_of(ArrestRecorded.model_validate(body).person)
    assert identity is not None

    key = stack.intake_app.view_object(PersonIndex).key

    held = {d for (d,) in _digests_of(stack, opened["case_id"])}

    assert held == set(person_digests(identity, key))
    assert not any("Hawa" in d or "1994" in d for d in held)
