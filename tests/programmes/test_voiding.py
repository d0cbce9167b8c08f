"""Mistaken entries are voided, never edited: views and rules then ignore them, voiding is
refused where something recorded since rests on the entry, and only the agency that recorded an
entry voids it.
"""

from __future__ import annotations

from uuid import uuid4

from tests.programmes.conftest import (
    NGO,
    ago,
    create_programme,
    enrol,
    link_organisation,
    programme_body,
    rule_of,
    unique,
)
from tests.support import auth


def _void(client, headers, event_id, reason="Recorded on the wrong person"):
    return client.post(f"/entries/{event_id}/void", json={"reason": reason}, headers=headers)


def _session(client, headers, programme_id, case_id):
    return client.post(
        f"/programmes/{programme_id}/sessions",
        json={
            "session_date": ago(days=1).date().isoformat(),
            "facilitator": "Ibrahim Maïga",
            "attendees": [str(case_id)],
        },
        headers=headers,
    )


def test_a_voided_attendance_no_longer_counts(client, feed, social_worker):
    case_id = feed.case()
    programme_id = create_programme(client, social_worker, attendance_threshold=1)
    enrol(client, social_worker, programme_id, case_id)
    attended = _session(client, social_worker, programme_id, case_id).json()

    voided = _void(client, social_worker, attended["event_id"])
    completion = client.post(
        f"/programmes/{programme_id}/completions",
        json={"case_id": str(case_id)},
        headers=social_worker,
    )

    assert voided.status_code == 201, voided.text
    assert voided.json()["voided_event_id"] == attended["event_id"]
    assert completion.status_code == 409
    assert rule_of(completion) == "attendance-threshold-not-met"
    summary = client.get(f"/programmes/{programme_id}/summary", headers=social_worker).json()
    assert (summary["sessions_held"], summary["average_attendance"]) == (0, 0.0)


def test_a_voided_enrolment_frees_its_place(client, feed, social_worker):
    mistaken, right = feed.case(), feed.case()
    programme_id = create_programme(client, social_worker, capacity=1)
    enrolled = enrol(client, social_worker, programme_id, mistaken).json()

    assert _void(client, social_worker, enrolled["event_id"]).status_code == 201
    joined = enrol(client, social_worker, programme_id, right)

    assert joined.status_code == 201, joined.text
    assert feed.view(mistaken)["enrolments"] == []


def test_an_enrolment_with_attendance_cannot_be_voided(client, feed, social_worker):
    case_id = feed.case()
    programme_id = create_programme(client, social_worker)
    enrolled = enrol(client, social_worker, programme_id, case_id).json()
    _session(client, social_worker, programme_id, case_id)

    refused = _void(client, social_worker, enrolled["event_id"])

    assert refused.status_code == 409
    assert rule_of(refused) == "not-voidable"
    assert feed.view(case_id)["enrolments"][0]["status"] == "active"


def test_an_entry_is_voided_once(client, feed, social_worker):
    case_id = feed.case()
    feed.release(case_id)
    body = {"at": ago(hours=1).isoformat(), "status": "on_track", "note": "Seen at home."}
    follow_up = client.post(f"/cases/{case_id}/follow-ups", json=body, headers=social_worker)
    event_id = follow_up.json()["event_id"]

    first = _void(client, social_worker, event_id)
    second = _void(client, social_worker, event_id)
    voiding_the_voiding = _void(client, social_worker, first.json()["event_id"])

    assert first.status_code == 201
    assert second.status_code == 409
    assert rule_of(second) == "already-voided"
    assert voiding_the_voiding.status_code == 409
    assert feed.view(case_id)["follow_ups"] == []


def test_voiding_needs_the_role_that_records_the_entry(client, feed, settings, social_worker):
    case_id = feed.case()
    plan = {"goals": ["Return to school"], "community_contact": "Village chief, Douentza"}
    agreed = client.post(f"/cases/{case_id}/reintegration-plan", json=plan, headers=social_worker)
    plan_id = agreed.json()["event_id"]
    stranger = _void(client, auth(settings, "civil_society", agency=unique("NGO")), plan_id)
    # An organisation that works with the person sees the case; its role still may not void.
    link_organisation(client, social_worker, NGO, case_id)

    refused = _void(client, auth(settings, "civil_society", agency=NGO), plan_id)

    assert stranger.status_code == 404
    assert refused.status_code == 403
    assert feed.view(case_id)["reintegration_plan"] is not None


def test_an_entry_programmes_did_not_record_is_not_found(client, social_worker):
    assert _void(client, social_worker, uuid4()).status_code == 404


def test_a_voided_programme_leaves_the_catalogue_and_takes_no_one(client, feed, social_worker):
    prison = unique("Prison")
    created = client.post(
        "/programmes", json=programme_body(facility=prison), headers=social_worker
    ).json()
    case_id = feed.case(facility=prison)

    voided = _void(client, social_worker, created["event_id"], reason="Created twice")
    listed = client.get("/programmes", params={"facility": prison}, headers=social_worker)
    refused = enrol(client, social_worker, created["programme_id"], case_id)

    assert voided.status_code == 201, voided.text
    assert voided.headers["location"] == f"/programmes/{created['programme_id']}"
    assert listed.json()["total"] == 0
    assert refused.status_code == 409
    assert rule_of(refused) == "programme-voided"


def _follow_up(client, feed, headers):
    case_id = feed.case()
    feed.release(case_id)
    body = {"at": ago(hours=1).isoformat(), "status": "on_track", "note": "Seen at home."}
    recorded = client.post(f"/cases/{case_id}/follow-ups", json=body, headers=headers)
    assert recorded.status_code == 201, recorded.text
    return case_id, recorded.json()["event_id"]


def test_a_colleague_of_the_recording_agency_voids_an_entry(client, feed, settings, social_worker):
    case_id, follow_up = _follow_up(client, feed, social_worker)
    colleague = auth(settings, "social_worker", sub="oumar", agency="ministry")

    voided = _void(client, colleague, follow_up)

    assert voided.status_code == 201, voided.text
    assert feed.view(case_id)["follow_ups"] == []


def test_another_agency_may_not_void_an_entry(client, feed, settings, social_worker):
    case_id, follow_up = _follow_up(client, feed, social_worker)
    elsewhere = auth(settings, "social_worker", sub="oumar", agency="another ministry office")

    refused = _void(client, elsewhere, follow_up)

    assert refused.status_code == 403, refused.text
    assert len(feed.view(case_id)["follow_ups"]) == 1
