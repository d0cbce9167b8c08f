"""The SPEC §7 conventions on programmes' commands: idempotent retries, optimistic concurrency,
problem details for unknown things and bad input, never a server error.
"""

from __future__ import annotations

from uuid import uuid4

from tests.programmes.conftest import ago, create_programme, enrol, programme_state


def test_an_enrolment_retried_with_the_same_key_is_recorded_once(client, feed, social_worker):
    case_id = feed.case()
    programme_id = create_programme(client, social_worker)
    headers = {**social_worker, "Idempotency-Key": "enrol-17"}
    at = ago(days=3).isoformat()

    first = enrol(client, headers, programme_id, case_id, at)
    again = enrol(client, headers, programme_id, case_id, at)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert programme_state(client, social_worker, programme_id) == (2, 1)


def test_a_stale_if_match_is_refused_and_records_nothing(client, feed, social_worker):
    first, second = feed.case(), feed.case()
    programme_id = create_programme(client, social_worker)
    enrol(client, social_worker, programme_id, first)

    stale = enrol(client, {**social_worker, "If-Match": '"1"'}, programme_id, second)
    fresh = enrol(client, {**social_worker, "If-Match": '"2"'}, programme_id, second)

    assert stale.status_code == 412
    assert fresh.status_code == 201, fresh.text
    assert programme_state(client, social_worker, programme_id) == (3, 2)


def test_an_unknown_programme_or_case_is_not_found(client, feed, social_worker):
    case_id = feed.case()

    no_programme = enrol(client, social_worker, str(uuid4()), case_id)
    no_case = client.post(
        f"/cases/{uuid4()}/follow-ups",
        json={"at": ago(hours=1).isoformat(), "status": "on_track", "note": "Seen."},
        headers=social_worker,
    )
    no_summary = client.get(f"/programmes/{uuid4()}/summary", headers=social_worker)

    assert no_programme.status_code == no_case.status_code == no_summary.status_code == 404
    assert no_programme.headers["content-type"].startswith("application/problem+json")


def test_invalid_fields_are_named(client, social_worker):
    programme_id = create_programme(client, social_worker)

    response = client.post(
        f"/programmes/{programme_id}/sessions",
        json={"session_date": 20260101, "facilitator": "", "attendees": []},
        headers=social_worker,
    )

    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"session_date", "facilitator", "attendees"} <= fields


def test_a_session_listing_someone_twice_is_refused(client, feed, social_worker):
    programme_id = create_programme(client, social_worker)
    case_id = feed.case()

    response = client.post(
        f"/programmes/{programme_id}/sessions",
        json={
            "session_date": ago(days=1).date().isoformat(),
            "facilitator": "Ibrahim Maïga",
            "attendees": [str(case_id), str(case_id)],
        },
        headers=social_worker,
    )

    assert response.status_code == 422
    assert "twice" in response.text


def test_without_a_token_nothing_is_read_or_recorded(client):
    assert client.get("/programmes").status_code == 401
    assert client.post("/programmes", json={}).status_code == 401
