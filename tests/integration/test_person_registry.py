"""The person registry over intake and the ledger: a second arrest of one person under another
spelling proposes the first case's person as a candidate; a link needs four eyes; the case then
names the first case's person, and the ledger's timeline shows the link."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from shared.events.judicial import CaseSealed
from shared.kit.access_facts import access_ops
from tests.support import OUSMANE_ARABIC, OUSMANE_LATIN, arrest_payload, auth, eventually, running

LATIN, ARABIC = OUSMANE_LATIN, OUSMANE_ARABIC


def _arrest(intake: Any, headers: dict[str, str], person: dict[str, Any]) -> dict[str, Any]:
    opened = intake.post("/cases", json=arrest_payload(person=person), headers=headers)
    assert opened.status_code == 201, opened.text
    return dict(opened.json())


def test_a_second_arrest_under_another_script_is_linked_by_four_eyes(settings, auditor):
    first_officer = auth(settings, "police", sub="police-first", agency="ml-pjs")
    second_officer = auth(settings, "police", sub="police-second", agency="ml-pjs")
    with running(intake_app(settings)) as intake, running(ledger_app(settings)) as ledger:
        first = _arrest(intake, first_officer, LATIN)
        second = _arrest(intake, first_officer, ARABIC)
        candidate = next(c for c in second["candidates"] if c["person_id"] == first["person_id"])
        proposed = intake.post(
            f"/cases/{second['case_id']}/person-links",
            json={
                "kind": "link",
                "person_id": first["person_id"],
                "reason": "Same name in Arabic script, same father",
                "match_reasons": candidate["reasons"],
            },
            headers=first_officer,
        )
        link = f"/cases/{second['case_id']}/person-links/{proposed.json()['link_id']}"
        by_proposer = intake.post(f"{link}/confirmation", headers=first_officer)
        before = intake.get(f"/cases/{second['case_id']}", headers=first_officer).json()
        confirmed = intake.post(f"{link}/confirmation", headers=second_officer)
        after = intake.get(f"/cases/{second['case_id']}", headers=first_officer).json()
        timeline = eventually(
            lambda: (
                (
                    r := ledger.get(f"/cases/{second['case_id']}/timeline", headers=auditor)
                ).status_code
                == 200
                and len(r.json()["entries"]) == 3
                and r.json()
            ),
            timeout=30,
        )

    assert candidate["cases"] == [{"case_id": first["case_id"]}]
    assert candidate["score"] >= 0.7
    assert second["person_id"] != first["person_id"]
    assert proposed.status_code == 201, proposed.text
    assert by_proposer.status_code == 409, by_proposer.text
    assert by_proposer.json()["type"].endswith("link-by-one-person")
    assert before["person_id"] == second["person_id"]
    assert confirmed.status_code == 201, confirmed.text
    assert after["person_id"] == first["person_id"]
    assert [e["event"]["type"] for e in timeline["entries"]] == [
        "caseline.intake.ArrestRecorded.v1",
        "caseline.intake.PersonLinkProposed.v1",
        "caseline.intake.PersonLinkConfirmed.v1",
    ]
    assert timeline["entries"][2]["event"]["data"]["person_id"] == first["person_id"]


MOUSSA = {
    "full_name": "Moussa Ag Intallah Searchtest",
    "sex": "male",
    "nationality": "ML",
    "date_of_birth": "1988-02-11",
    "father_name": "Intallah Ag Attaher",
}
PURPOSE = {"Caseline-Purpose": "identify a detainee before transfer"}


def _search(intake: Any, headers: dict[str, str], **query: str) -> Any:
    return intake.get("/persons", params=query, headers={**headers, **PURPOSE})


def test_a_search_answers_persons_without_names_and_is_audited(settings, auditor):
    officer = auth(settings, "police", sub="searcher", agency="ml-pjs")
    with running(intake_app(settings)) as intake:
        case = _arrest(intake, officer, MOUSSA)
        found = _search(
            intake, officer, name="Mousa Ag Intalla Searchtest", birth="1988", father="Intallah"
        )
        audit = intake.get("/audit", params={"actor": "searcher"}, headers=auditor).json()

    assert found.status_code == 200, found.text
    [candidate] = [c for c in found.json()["candidates"] if c["person_id"] == case["person_id"]]
    assert candidate["cases"] == [{"case_id": case["case_id"]}]
    assert candidate["reasons"]
    assert "Moussa" not in found.text and "Intallah" not in found.text
    [entry] = [e for e in audit["entries"] if e["route"] == "GET /persons"]
    assert entry["outcome"] == "allowed"
    assert entry["purpose"] == PURPOSE["Caseline-Purpose"]
    assert case["case_id"] in entry["case_ids"]


def test_a_person_the_caller_may_not_see_is_only_said_to_exist_elsewhere(settings):
    officer = auth(settings, "police", sub="arresting", agency="ml-pjs")
    elsewhere = auth(settings, "police", sub="elsewhere", agency="ne-gendarmerie")
    with running(intake_app(settings)) as intake:
        case = _arrest(intake, officer, MOUSSA)
        own = _search(intake, officer, name=MOUSSA["full_name"], birth="1988-02-11")
        found = _search(intake, elsewhere, name=MOUSSA["full_name"], birth="1988-02-11")
        other_year = _search(intake, elsewhere, name=MOUSSA["full_name"], birth="1970")
        arrest = intake.post("/cases", json=arrest_payload(person=MOUSSA), headers=elsewhere)

    # No id, score or reasons of a person out of sight: varying the query against them would
    # tell their birth and parents; only that a similar identity is on record elsewhere.
    for answer in (found, other_year):
        assert answer.status_code == 200, answer.text
        assert case["person_id"] not in answer.text and case["case_id"] not in answer.text
    assert found.json()["similar_elsewhere"] is True
    assert arrest.status_code == 201, arrest.text
    assert case["person_id"] not in arrest.text and case["case_id"] not in arrest.text
    assert arrest.json()["similar_elsewhere"] is True
    [mine] = [c for c in own.json()["candidates"] if c["person_id"] == case["person_id"]]
    assert mine["cases"] == [{"case_id": case["case_id"]}]
    assert own.json()["similar_elsewhere"] is False


def test_a_person_whose_cases_are_sealed_is_not_found_but_by_the_courts(settings):
    officer = auth(settings, "police", sub="sealed-arrest", agency="ml-pjs")
    judge = auth(settings, "judge", sub="judge-sealed")
    person = {**MOUSSA, "full_name": "Oumarou Sealtest Intallah", "father_name": "Sealtest Ag"}
    with running(intake_app(settings)) as intake:
        case = _arrest(intake, officer, person)
        sealed = CaseSealed(reason="acquittal became final", sealed_by="judge-1")
        seal = access_ops(CaseSealed.type_name(), case["case_id"], uuid4(), "court", sealed)
        intake.app.state.parts.application.record_inbound_only("access", uuid4(), seal)
        by_police = _search(intake, officer, name=person["full_name"], birth="1988-02-11")
        by_judge = _search(intake, judge, name=person["full_name"], birth="1988-02-11")

    assert by_police.status_code == 200, by_police.text
    assert by_police.json() == {"candidates": [], "similar_elsewhere": False}
    [seen] = [c for c in by_judge.json()["candidates"] if c["person_id"] == case["person_id"]]
    assert seen["cases"] == [{"case_id": case["case_id"]}]


def test_only_registrars_police_and_the_courts_search_persons(settings):
    with running(intake_app(settings)) as intake:
        answers = {
            role: _search(intake, auth(settings, role), name="Moussa").status_code
            for role in ("social_worker", "assessor", "prosecutor", "prison_registry")
        }

    assert answers == {
        "social_worker": 403,
        "assessor": 403,
        "prosecutor": 200,
        "prison_registry": 200,
    }
