"""Reintegration: a plan agreed before or at release, follow-up only after it, and the list of
released people whose follow-up is overdue.
"""

from __future__ import annotations

from datetime import timedelta

from shared.kit.clock import Clock
from tests.programmes.conftest import Feeder, ago, programmes_service, rule_of, unique
from tests.support import auth

PLAN = {
    "goals": ["Open a repair shop", "Reconcile with the village elders"],
    "employment": "Apprenticeship at a garage in Sévaré",
    "housing": "Family compound",
    "mentor": "Imam of the Sévaré neighbourhood mosque",
    "community_contact": "Village chief's council, Douentza",
}


def _follow_up(client, headers, case_id, at, status="on_track"):
    body = {"at": at.isoformat(), "status": status, "note": "Working at the garage."}
    return client.post(f"/cases/{case_id}/follow-ups", json=body, headers=headers)


def test_a_plan_is_agreed_before_or_at_release_and_refused_after(client, feed, social_worker):
    case_id = feed.case()
    released_at = ago(days=1)
    feed.release(case_id, released_at)
    before = {**PLAN, "agreed_at": (released_at - timedelta(days=5)).isoformat()}

    late_entry = client.post(
        f"/cases/{case_id}/reintegration-plan", json=before, headers=social_worker
    )
    after = client.post(f"/cases/{case_id}/reintegration-plan", json=PLAN, headers=social_worker)

    assert late_entry.status_code == 201, late_entry.text
    assert after.status_code == 409
    assert rule_of(after) == "plan-after-release"
    plan = feed.view(case_id)["reintegration_plan"]
    assert plan["agreed_at"] == before["agreed_at"].replace("+00:00", "Z")


def test_follow_up_is_recorded_only_after_release(client, feed, social_worker):
    case_id = feed.case()

    in_custody = _follow_up(client, social_worker, case_id, ago(hours=1))
    released_at = ago(days=2)
    feed.release(case_id, released_at)
    predates = _follow_up(client, social_worker, case_id, released_at - timedelta(hours=1))
    after = _follow_up(client, social_worker, case_id, ago(hours=1), status="concern")

    assert in_custody.status_code == 409
    assert rule_of(in_custody) == "follow-up-before-release"
    assert predates.status_code == 409
    assert after.status_code == 201, after.text
    assert [f["status"] for f in feed.view(case_id)["follow_ups"]] == ["concern"]


def test_released_people_with_no_follow_up_within_the_interval_are_overdue(
    settings_factory, social_worker
):
    settings, clock = settings_factory(follow_up_interval_days=30), Clock()
    with programmes_service(settings, clock) as client:
        feed = Feeder(settings, client)
        seen, unseen, held = feed.case(), feed.case(), feed.case()
        feed.release(seen)
        feed.release(unseen)

        clock.travel(timedelta(days=31))
        overdue_before = client.get(
            "/follow-ups", params={"status": "overdue"}, headers=social_worker
        )
        assert _follow_up(client, social_worker, seen, clock.now()).status_code == 201
        overdue_after = client.get(
            "/follow-ups", params={"status": "overdue"}, headers=social_worker
        )
        everyone = client.get("/follow-ups", headers=social_worker).json()

    assert {i["case_id"] for i in overdue_before.json()["items"]} == {str(seen), str(unseen)}
    assert [i["case_id"] for i in overdue_after.json()["items"]] == [str(unseen)]
    assert {i["case_id"]: i["overdue"] for i in everyone["items"]} == {
        str(seen): False,
        str(unseen): True,
    }
    assert str(held) not in str(everyone)
    assert everyone["interval_days"] == 30


def test_a_follow_up_dated_in_the_future_is_refused(client, feed, social_worker):
    case_id = feed.case()
    feed.release(case_id)

    refused = _follow_up(client, social_worker, case_id, ago(days=-2))

    assert refused.status_code == 409
    assert rule_of(refused) == "future-time"


def test_an_organisation_records_follow_up_only_of_people_it_works_with(
    client, feed, settings, social_worker
):
    case_id = feed.case()
    feed.release(case_id)
    agency = unique("NGO")
    ngo = auth(settings, "civil_society", sub="fatou", agency=agency)

    stranger = _follow_up(client, ngo, case_id, ago(minutes=30))
    referral = {"to_agency": agency, "reason": "Mentoring", "consent": "given"}
    made = client.post(f"/cases/{case_id}/referrals", json=referral, headers=social_worker)
    # A referral waiting for its answer lets the organisation answer it, nothing more.
    pending = _follow_up(client, ngo, case_id, ago(minutes=30))
    accept = f"/cases/{case_id}/referrals/{made.json()['referral_id']}/acceptance"
    assert client.post(accept, json={}, headers=ngo).status_code == 201
    mentor = _follow_up(client, ngo, case_id, ago(minutes=30))

    # A person the organisation does not work with is, to it, no one: 404, as for an unknown case.
    assert stranger.status_code == pending.status_code == 404
    assert mentor.status_code == 201, mentor.text
    assert [f["recorded_by"] for f in feed.view(case_id)["follow_ups"]] == [agency]
