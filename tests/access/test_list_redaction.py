"""A list shows of each item what the case's view shows the same reader (`shared.kit.redaction`),
and refuses a filter on what the reader may not see: no risk, offence or facility reaches a role
by a list, a filter or a count that the visibility table keeps from it."""

from __future__ import annotations

from typing import Any

import pytest

from shared.permissions import may_see
from tests.access.care import MINISTRY, programme
from tests.access.records import Link, Record, linked_case
from tests.access.world import World, ago
from tests.support import TEST_FACILITY

LISTER = "ONG Listes et Lectures"
"""The organisation of the civil society reader: the list case is referred to it and accepted,
and enrolled in one of its programmes."""
ELSEWHERE_ORG = "ONG Ailleurs Formation"
"""Another organisation, whose programme the list case also takes part in."""

_STAGE_TYPES = {
    "arrested": "caseline.intake.ArrestRecorded.v1",
    "in_custody": "caseline.intake.CustodyStarted.v1",
    "charged": "caseline.judicial.ChargesFiled.v1",
    "pre_trial_detention": "caseline.judicial.PreTrialDetentionOrdered.v1",
    "judged": "caseline.judicial.VerdictDelivered.v1",
    "sentenced": "caseline.judicial.SentenceImposed.v1",
    "released": "caseline.intake.DetaineeReleased.v1",
    "sealed": "caseline.judicial.CaseSealed.v1",
}


@pytest.fixture(scope="module")
def listed(world: World) -> Record:
    """A person held at the test facility, charged and detained pending trial, with a moderate
    countersigned risk, enrolled in a programme of `LISTER` and in one of another organisation."""
    record = linked_case(world, Link(LISTER, TEST_FACILITY))
    assert _enrol(world, programme(world, ELSEWHERE_ORG), record.case_id).status_code == 201
    case = f"/cases/{record.case_id}"
    world.until(lambda: world.view("assessment", case).get("current_risk"))
    world.until(lambda: world.view("assessment", case).get("facility") == TEST_FACILITY)
    world.until(lambda: world.view("judicial", case).get("offence_class"))
    world.until(lambda: world.view("programmes", case).get("facility") == TEST_FACILITY)
    world.until(lambda: len(world.view("programmes", case)["enrolments"]) == 2)
    return record


@pytest.fixture(scope="module")
def sealed_participant(world: World) -> str:
    """A programme of one place, taken by a person whose case a judge then sealed; its id."""
    body = {
        "kind": "vocational",
        "title": "Tailoring workshop",
        "provider_agency": LISTER,
        "capacity": 1,
        "attendance_threshold": 0,
    }
    made = world.recorded("programmes", "/programmes", body, "social_worker", agency=MINISTRY)
    programme_id, case_id = str(made["programme_id"]), world.fresh_case()
    assert _enrol(world, programme_id, case_id).status_code == 201
    world.recorded("judicial", f"/cases/{case_id}/seal", {"reason": "Acquitted"}, "judge")
    world.until(lambda: world.get("programmes", f"/cases/{case_id}", "admin").status_code == 404)
    return programme_id


def _enrol(world: World, programme_id: str, case_id: str) -> Any:
    body = {"case_id": case_id, "enrolled_at": ago()}
    path = f"/programmes/{programme_id}/enrolments"
    return world.post("programmes", path, body, "social_worker", agency=MINISTRY)


def _item(
    world: World, service: str, path: str, case_id: str, role: str, **who: Any
) -> dict[str, Any]:
    """The item of `case_id` in the list at `path` (with its query), read as `role`."""
    response = world.clients[service].get(
        path + ("&" if "?" in path else "?") + "limit=500", headers=world.headers(role, **who)
    )
    assert response.status_code == 200, response.text
    [item] = [i for i in response.json()["items"] if i["case_id"] == case_id]
    return dict(item)


# --- assessment ------------------------------------------------------------------------------


def test_a_social_workers_assessment_list_shows_no_risk(world, listed):
    item = _item(world, "assessment", "/cases", listed.case_id, "social_worker")

    assert not {"current_risk", "risk_assessment_id", "risk_countersigned_at"} & set(item)
    assert (item["facility"], item["security_level"]) == (TEST_FACILITY, "high")


def test_a_social_worker_may_not_filter_the_assessment_list_by_risk(world):
    headers = {**world.headers("social_worker"), "Accept-Language": "fr"}

    response = world.clients["assessment"].get(
        "/cases", params={"risk": "moderate"}, headers=headers
    )

    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("forbidden")
    assert "risk" in response.json()["detail"] and "filtr" in response.json()["detail"]


def test_an_assessor_sees_the_risk_in_the_list_and_filters_by_it(world, listed):
    item = _item(world, "assessment", "/cases", listed.case_id, "assessor")
    moderate = world.clients["assessment"].get(
        "/cases", params={"risk": "moderate", "limit": 500}, headers=world.headers("assessor")
    )

    assert item["current_risk"] == "moderate"
    assert item["risk_assessment_id"] == listed.assessment_id
    assert item["risk_countersigned_at"]
    assert listed.case_id in {i["case_id"] for i in moderate.json()["items"]}


def test_a_social_worker_reads_the_reviews_without_the_assessment_that_met_them(world, listed):
    path = "/reviews?status=satisfied"

    shown = _item(world, "assessment", path, listed.case_id, "social_worker")
    assessor = _item(world, "assessment", path, listed.case_id, "assessor")

    assert "satisfied_by" not in shown
    assert shown["facility"] == TEST_FACILITY
    assert assessor["satisfied_by"] == listed.assessment_id


def test_the_case_view_hides_the_assessment_that_met_a_review_as_the_list_does(world, listed):
    view = world.get("assessment", f"/cases/{listed.case_id}", "social_worker").json()

    assert view["reviews"] and all("satisfied_by" not in r for r in view["reviews"])


# --- judicial --------------------------------------------------------------------------------


def test_a_social_workers_judicial_list_shows_no_offence_and_a_stage_it_may_see(world, listed):
    item = _item(world, "judicial", "/cases", listed.case_id, "social_worker")

    assert "offence_class" not in item
    assert item["stage"] == "arrested"
    assert may_see("social_worker", _STAGE_TYPES[item["stage"]])


def test_a_social_workers_judicial_view_shows_a_stage_it_may_see(world, listed):
    view = world.get("judicial", f"/cases/{listed.case_id}", "social_worker").json()

    assert view["stage"] == "arrested"


def test_a_judge_reads_the_stage_and_the_offence(world, listed):
    item = _item(world, "judicial", "/cases", listed.case_id, "judge")
    view = world.get("judicial", f"/cases/{listed.case_id}", "judge").json()

    assert (item["stage"], view["stage"]) == ("pre_trial_detention", "pre_trial_detention")
    assert item["offence_class"] == view["offence_class"] is not None


# --- programmes ------------------------------------------------------------------------------


def test_civil_societys_case_list_shows_no_facility_and_counts_its_own_programmes(world, listed):
    item = _item(world, "programmes", "/cases", listed.case_id, "civil_society", agency=LISTER)
    everything = _item(world, "programmes", "/cases", listed.case_id, "auditor")

    assert "facility" not in item
    assert item["active_programmes"] == 1
    assert (everything["facility"], everything["active_programmes"]) == (TEST_FACILITY, 2)


def _places(world: World, programme_id: str, role: str) -> tuple[int, int, int]:
    who = {"agency": LISTER} if role == "civil_society" else {}
    one = world.get("programmes", f"/programmes/{programme_id}", role, **who).json()
    page = world.clients["programmes"].get(
        "/programmes", params={"limit": 500}, headers=world.headers(role, **who)
    )
    [item] = [p for p in page.json()["items"] if p["programme_id"] == programme_id]
    summary = world.get("programmes", f"/programmes/{programme_id}/summary", role, **who).json()
    return one["places_taken"], item["places_taken"], summary["attending"]


def test_places_taken_leave_out_a_sealed_participant_as_the_summary_does(world, sealed_participant):
    assert _places(world, sealed_participant, "civil_society") == (0, 0, 0)
    assert _places(world, sealed_participant, "social_worker") == (0, 0, 0)


def test_a_judge_counts_the_sealed_participant_in_the_places_taken(world, sealed_participant):
    one, item, _ = _places(world, sealed_participant, "judge")

    assert (one, item) == (1, 1)


def test_a_sealed_participant_still_takes_a_place_for_enrolment(world, sealed_participant):
    answer = _enrol(world, sealed_participant, world.fresh_case())

    assert answer.status_code == 409, answer.text
    assert "capacity full" in answer.json()["detail"]
