"""The read models are rebuilt from the events alone (`caseline replay`) to the same answers."""

from __future__ import annotations

from tests.programmes.conftest import ago, create_programme, enrol


def test_rebuilt_read_models_answer_as_before(client, feed, social_worker):
    kept, voided_one, released = feed.case(), feed.case(), feed.case()
    feed.risk(kept, "low")
    feed.keep_apart(kept, voided_one)
    programme_id = create_programme(client, social_worker, attendance_threshold=1)
    enrol(client, social_worker, programme_id, kept)
    session = {
        "session_date": ago(days=2).date().isoformat(),
        "facilitator": "Ibrahim Maïga",
        "attendees": [str(kept)],
    }
    client.post(f"/programmes/{programme_id}/sessions", json=session, headers=social_worker)
    client.post(
        f"/programmes/{programme_id}/completions",
        json={"case_id": str(kept)},
        headers=social_worker,
    )
    feed.release(released)
    referral = {"to_agency": "Centre de santé mentale", "reason": "Sleep", "consent": "given"}
    made = client.post(f"/cases/{released}/referrals", json=referral, headers=social_worker)
    client.post(
        f"/entries/{made.json()['event_id']}/void", json={"reason": "x"}, headers=social_worker
    )
    reads = [
        f"/programmes/{programme_id}/summary",
        "/programmes?limit=500",
        "/cases?limit=500",
        "/follow-ups?limit=500",
        "/referrals?direction=outgoing&limit=500",
        f"/cases/{kept}",
    ]
    # The risk level is not the social worker's to see: an assessor reads the case as well.
    reads = [(path, social_worker) for path in reads] + [(f"/cases/{kept}", feed.reader)]
    before = [client.get(path, headers=headers).json() for path, headers in reads]

    replayed = client.app.state.parts.application.rebuild_views()
    after = [client.get(path, headers=headers).json() for path, headers in reads]

    assert replayed > 10
    assert before[-1]["risk"] == "low"
    assert after == before
