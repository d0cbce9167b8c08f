"""Sessions, completion and withdrawal: attendance only for people taking part, completion only
at the programme's attendance threshold, and each organisation only in its own programmes.
"""

from __future__ import annotations

from tests.programmes.conftest import NGO, ago, create_programme, enrol, rule_of
from tests.support import auth


def _session(client, headers, programme_id, *cases, days_ago=7):
    return client.post(
        f"/programmes/{programme_id}/sessions",
        json={
            "session_date": (ago(days=days_ago)).date().isoformat(),
            "facilitator": "Ibrahim Maïga",
            "attendees": [str(c) for c in cases],
            "topic": "Two-stroke engines",
        },
        headers=headers,
    )


def _enrolled(client, feed, headers, programme_id, count=1):
    cases = [feed.case() for _ in range(count)]
    for case_id in cases:
        assert enrol(client, headers, programme_id, case_id).status_code == 201
    return cases


def _attended(feed, case_id, programme_id):
    [line] = [e for e in feed.view(case_id)["enrolments"] if e["programme_id"] == programme_id]
    return line["sessions_attended"]


def test_one_session_records_one_attendance_line_per_participant(client, feed, social_worker):
    programme_id = create_programme(client, social_worker)
    first, second = _enrolled(client, feed, social_worker, programme_id, count=2)

    recorded = _session(client, social_worker, programme_id, first, second)

    assert recorded.status_code == 201, recorded.text
    assert len(recorded.json()["event_ids"]) == 2
    assert "session_id" in recorded.json()
    assert _attended(feed, first, programme_id) == _attended(feed, second, programme_id) == 1


def test_attendance_of_someone_not_enrolled_is_refused_for_the_whole_session(
    client, feed, social_worker
):
    programme_id = create_programme(client, social_worker)
    [participant] = _enrolled(client, feed, social_worker, programme_id)
    outsider = feed.case()

    refused = _session(client, social_worker, programme_id, participant, outsider)

    assert refused.status_code == 409
    assert rule_of(refused) == "not-enrolled"
    assert str(outsider) in refused.json()["detail"]
    assert _attended(feed, participant, programme_id) == 0


def test_attendance_is_recorded_once_per_participant_and_session_date(client, feed, social_worker):
    programme_id = create_programme(client, social_worker)
    [participant] = _enrolled(client, feed, social_worker, programme_id)
    assert _session(client, social_worker, programme_id, participant).status_code == 201

    again = _session(client, social_worker, programme_id, participant)

    assert again.status_code == 409
    assert rule_of(again) == "already-attended"
    assert _attended(feed, participant, programme_id) == 1


def test_completion_needs_the_programmes_attendance_threshold(client, feed, social_worker):
    programme_id = create_programme(client, social_worker, attendance_threshold=2)
    [participant] = _enrolled(client, feed, social_worker, programme_id)
    _session(client, social_worker, programme_id, participant, days_ago=8)
    body = {"case_id": str(participant), "certificate_ref": "JA-MEC-2026-007"}

    early = client.post(f"/programmes/{programme_id}/completions", json=body, headers=social_worker)
    _session(client, social_worker, programme_id, participant, days_ago=1)
    done = client.post(f"/programmes/{programme_id}/completions", json=body, headers=social_worker)

    assert early.status_code == 409
    assert rule_of(early) == "attendance-threshold-not-met"
    assert "2 attended sessions; 1 recorded" in early.json()["detail"]
    assert done.status_code == 201, done.text
    [line] = feed.view(participant)["enrolments"]
    assert line["status"] == "completed"


def test_a_withdrawal_records_the_reason_and_frees_the_place(client, feed, social_worker):
    programme_id = create_programme(client, social_worker, capacity=1)
    [leaving] = _enrolled(client, feed, social_worker, programme_id)
    newcomer = feed.case()

    withdrawn = client.post(
        f"/programmes/{programme_id}/withdrawals",
        json={"case_id": str(leaving), "reason": "Transferred to another prison"},
        headers=social_worker,
    )
    joined = enrol(client, social_worker, programme_id, newcomer)
    unreasoned = client.post(
        f"/programmes/{programme_id}/withdrawals",
        json={"case_id": str(newcomer)},
        headers=social_worker,
    )

    assert withdrawn.status_code == 201, withdrawn.text
    assert joined.status_code == 201, joined.text
    assert unreasoned.status_code == 422
    assert "reason" in unreasoned.json()["detail"]


def test_civil_society_records_attendance_in_its_own_programme_only(
    client, feed, settings, social_worker
):
    own = create_programme(client, social_worker, provider_agency=NGO)
    other = create_programme(client, social_worker, provider_agency="Association des Imams")
    [participant] = _enrolled(client, feed, social_worker, own)
    assert enrol(client, social_worker, other, participant).status_code == 201
    ngo = auth(settings, "civil_society", sub="fatou", agency=NGO)

    allowed = _session(client, ngo, own, participant)
    forbidden = _session(client, ngo, other, participant)

    assert allowed.status_code == 201, allowed.text
    assert forbidden.status_code == 403
    assert _attended(feed, participant, other) == 0


def test_the_summary_gives_outcome_figures_and_names_nobody(client, feed, social_worker):
    programme_id = create_programme(client, social_worker, attendance_threshold=1)
    done, leaving, staying = _enrolled(client, feed, social_worker, programme_id, count=3)
    _session(client, social_worker, programme_id, done, staying, days_ago=3)
    _session(client, social_worker, programme_id, done, days_ago=2)
    client.post(
        f"/programmes/{programme_id}/completions",
        json={"case_id": str(done)},
        headers=social_worker,
    )
    client.post(
        f"/programmes/{programme_id}/withdrawals",
        json={"case_id": str(leaving), "reason": "Released on bail"},
        headers=social_worker,
    )

    summary = client.get(f"/programmes/{programme_id}/summary", headers=social_worker)

    assert summary.status_code == 200
    figures = summary.json()
    assert {k: figures[k] for k in ("enrolled", "attending", "completed", "withdrawn")} == {
        "enrolled": 3,
        "attending": 1,
        "completed": 1,
        "withdrawn": 1,
    }
    assert figures["sessions_held"] == 2
    assert figures["average_attendance"] == 1.0
    assert all(str(c) not in summary.text for c in (done, leaving, staying))


def test_a_session_dated_before_the_enrolment_is_refused(client, feed, social_worker):
    programme_id = create_programme(client, social_worker)
    [participant] = _enrolled(client, feed, social_worker, programme_id)

    refused = _session(client, social_worker, programme_id, participant, days_ago=40)

    assert refused.status_code == 409
    assert rule_of(refused) == "time-order"


def test_a_session_in_the_future_is_refused(client, feed, social_worker):
    programme_id = create_programme(client, social_worker)
    [participant] = _enrolled(client, feed, social_worker, programme_id)

    refused = _session(client, social_worker, programme_id, participant, days_ago=-3)

    assert refused.status_code == 409
    assert rule_of(refused) == "future-time"
