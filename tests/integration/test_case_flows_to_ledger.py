"""An arrest and an admission posted to intake reach the ledger, in order, with a valid chain."""

from __future__ import annotations

from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from tests.support import admission_payload, arrest_payload, eventually, running


def test_arrest_and_admission_appear_in_the_ledger_in_order(settings, police, registry, auditor):
    with running(intake_app(settings)) as intake, running(ledger_app(settings)) as ledger:
        opened = intake.post("/cases", json=arrest_payload(), headers=police)
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["case_id"]
        admitted = intake.post(
            f"/cases/{case_id}/admission", json=admission_payload(), headers=registry
        )
        assert admitted.status_code == 201, admitted.text

        timeline = eventually(
            lambda: (
                (r := ledger.get(f"/cases/{case_id}/timeline", headers=auditor)).status_code == 200
                and len(r.json()["entries"]) == 2
                and r.json()
            )
        )
        verified = ledger.get(f"/cases/{case_id}/verify", headers=auditor).json()

    types = [e["event"]["type"] for e in timeline["entries"]]
    assert types == ["caseline.intake.ArrestRecorded.v1", "caseline.intake.DetaineeAdmitted.v1"]
    assert [e["case_seq"] for e in timeline["entries"]] == [1, 2]
    assert timeline["entries"][1]["prev_hash"] == timeline["entries"][0]["hash"]
    assert verified == {
        "ok": True,
        "events": 2,
        "head_hash": timeline["entries"][1]["hash"],
        "first_bad_seq": None,
    }
