"""The ledger shows each role what it may see: types it may not see are left out, fields it may not
see are removed (and the entry says so), personal fields are decrypted only in what is shown; an
organisation sees a person once it has accepted a referral of them.
"""

from __future__ import annotations

from services.assessment.service import create_app as assessment_app
from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from services.programmes.service import create_app as programmes_app
from tests.support import admission_payload, arrest_payload, auth, eventually, running

NEEDS = {"literacy": "basic", "languages": ["Fulfulde"], "education_level": "none",
         "vocational_interests": ["agriculture"], "skills": ["herding"]}  # fmt: skip


def _timeline(ledger, settings, role, case_id):
    headers = {**auth(settings, role), "Caseline-Purpose": "visibility check"}
    response = ledger.get(f"/cases/{case_id}/timeline", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["entries"]


def _referred_to_civil_society(programmes, settings, case_id):
    """A social worker refers the person to the organisation, which accepts."""
    body = {"to_agency": "civil_society-agency", "reason": "Mentoring", "consent": "given"}

    def refer():
        made = programmes.post(
            f"/cases/{case_id}/referrals", json=body, headers=auth(settings, "social_worker")
        )
        # Programmes learns of the case from intake over the bus.
        return made if made.status_code == 201 else None

    referral_id = eventually(refer).json()["referral_id"]
    path = f"/cases/{case_id}/referrals/{referral_id}/acceptance"
    accepted = programmes.post(path, json={}, headers=auth(settings, "civil_society"))
    assert accepted.status_code == 201, accepted.text


def test_civil_society_sees_the_name_and_no_grounds_risk_or_evidence_and_the_chain_holds(settings):
    with running(intake_app(settings)) as intake, running(assessment_app(settings)) as assessment, \
            running(programmes_app(settings)) as programmes, \
            running(ledger_app(settings)) as ledger:  # fmt: skip
        case_id = intake.post(
            "/cases", json=arrest_payload(), headers=auth(settings, "police")
        ).json()["case_id"]
        evidence = {"item_id": "SCELLE-9", "description": "Notebook", "collected_by": "Adjudant Koné",
                    "collected_at": "2026-11-01T07:00:00Z"}  # fmt: skip
        assert intake.post(f"/cases/{case_id}/evidence", json=evidence,
                           headers=auth(settings, "police")).status_code == 201  # fmt: skip
        admitted = intake.post(
            f"/cases/{case_id}/admission",
            json=admission_payload(),
            headers=auth(settings, "prison_registry"),
        )
        assert admitted.status_code == 201, admitted.text
        eventually(lambda: assessment.post(f"/cases/{case_id}/needs", json=NEEDS,
                                           headers=auth(settings, "assessor")).status_code == 201)  # fmt: skip
        everything = eventually(
            lambda: len(t := _timeline(ledger, settings, "auditor", case_id)) >= 5 and t
        )
        _referred_to_civil_society(programmes, settings, case_id)
        community = eventually(
            lambda: len(t := _timeline(ledger, settings, "civil_society", case_id)) >= 3 and t
        )
        verified = ledger.get(f"/cases/{case_id}/verify", headers=auth(settings, "auditor")).json()

    all_types = {e["event"]["type"].split(".")[2] for e in everything}
    seen_types = [e["event"]["type"].split(".")[2] for e in community]
    arrest = next(e for e in community if e["event"]["type"].endswith("ArrestRecorded.v1"))
    full_arrest = next(e for e in everything if e["event"]["type"].endswith("ArrestRecorded.v1"))
    assert {
        "ArrestRecorded",
        "EvidenceLogged",
        "DetaineeAdmitted",
        "AssessmentDue",
        "NeedsAssessed",
    } <= all_types
    assert seen_types == ["ArrestRecorded", "ReferralMade", "ReferralAccepted"]
    assert arrest["event"]["data"]["person"]["full_name"] == "Amadou Test Traoré"
    assert "grounds" not in arrest["event"]["data"]
    assert "grounds" in arrest["redacted"]
    assert full_arrest["event"]["data"]["grounds"] == arrest_payload()["grounds"]
    assert full_arrest["redacted"] == []
    assert arrest["hash"] == full_arrest["hash"]
    assert verified["ok"] is True
