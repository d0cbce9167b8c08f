"""A whole reintegration path, from enrolment to follow-up after release, shows in the ledger's
timeline of the case, in order, with a chain that verifies.
"""

from __future__ import annotations

from services.ledger.service import create_app as ledger_app
from tests.programmes.conftest import NGO, ago, create_programme, enrol
from tests.support import auth, eventually, running

BEFORE_RELEASE = [
    "intake.ArrestRecorded",
    "intake.DetaineeAdmitted",
    "programmes.ParticipantEnrolled",
    "programmes.SessionAttended",
    "programmes.SessionAttended",
    "programmes.ParticipantCompleted",
    "programmes.ReferralMade",
    "programmes.ReferralAccepted",
    "programmes.ReintegrationPlanAgreed",
]
AFTER_RELEASE = [
    "intake.DetaineeReleased",
    "programmes.FollowUpRecorded",
    "programmes.FollowUpRecorded",
]


def _types(ledger, case_id, auditor):
    response = ledger.get(f"/cases/{case_id}/timeline", headers=auditor)
    if response.status_code != 200:
        return []
    return [e["event"]["type"].removeprefix("caseline.").removesuffix(".v1")
            for e in response.json()["entries"]]  # fmt: skip


def _inside(client, worker, ngo, case_id, programme_id):
    assert enrol(client, worker, programme_id, case_id).status_code == 201
    for days in (20, 10):
        session = {
            "session_date": ago(days=days).date().isoformat(),
            "facilitator": "Ibrahim Maïga",
            "attendees": [str(case_id)],
        }
        posted = client.post(f"/programmes/{programme_id}/sessions", json=session, headers=ngo)
        assert posted.status_code == 201, posted.text
    completion = {"case_id": str(case_id), "certificate_ref": "JA-MEC-2026-011"}
    completed = client.post(f"/programmes/{programme_id}/completions", json=completion, headers=ngo)
    assert completed.status_code == 201, completed.text


def _towards_release(client, worker, ngo, case_id):
    referral = {"to_agency": NGO, "reason": "Mentoring after release", "consent": "given"}
    made = client.post(f"/cases/{case_id}/referrals", json=referral, headers=worker).json()
    path = f"/cases/{case_id}/referrals/{made['referral_id']}/acceptance"
    assert client.post(path, json={}, headers=ngo).status_code == 201
    plan = {
        "goals": ["Open a repair shop"],
        "employment": "Apprenticeship at a garage in Sévaré",
        "community_contact": "Village chief's council, Douentza",
    }
    agreed = client.post(f"/cases/{case_id}/reintegration-plan", json=plan, headers=worker)
    assert agreed.status_code == 201, agreed.text


def test_a_whole_reintegration_path_shows_in_the_ledger_timeline_in_order(
    client, feed, settings, social_worker
):
    auditor = auth(settings, "auditor")
    ngo = auth(settings, "civil_society", sub="fatou", agency=NGO)
    with running(ledger_app(settings)) as ledger:
        case_id = feed.case()
        programme_id = create_programme(client, social_worker, provider_agency=NGO)

        _inside(client, social_worker, ngo, case_id, programme_id)
        _towards_release(client, social_worker, ngo, case_id)
        eventually(lambda: _types(ledger, case_id, auditor) == BEFORE_RELEASE)
        feed.release(case_id, ago(hours=2))
        for hours in (1, 0):
            body = {"at": ago(hours=hours).isoformat(), "status": "on_track", "note": "At work."}
            recorded = client.post(f"/cases/{case_id}/follow-ups", json=body, headers=ngo)
            assert recorded.status_code == 201, recorded.text

        timeline = eventually(
            lambda: _types(ledger, case_id, auditor) == BEFORE_RELEASE + AFTER_RELEASE
        )
        verified = ledger.get(f"/cases/{case_id}/verify", headers=auditor).json()

    assert timeline
    assert verified["ok"] is True
    assert verified["events"] == len(BEFORE_RELEASE + AFTER_RELEASE)
