"""Every read of a case is checked and leaves a trace: role, sealing, purpose, read audit."""

from __future__ import annotations

import psycopg
import pytest

from services.intake.service import create_app as intake_app
from shared.events import CaseSealed
from tests.support import arrest_payload, auth, eventually, running
from tests.support.bus import envelope_bytes, publish, subject


def _open_case(client, settings, **who) -> str:
    headers = auth(settings, "police", **who)
    return client.post("/cases", json=arrest_payload(), headers=headers).json()["case_id"]


def _audit(client, settings, case_id):
    headers = {**auth(settings, "auditor"), "Caseline-Purpose": "quarterly inspection"}
    return client.get("/audit", params={"case_id": case_id}, headers=headers).json()["entries"]


def test_a_read_is_audited_with_who_what_and_why(settings):
    with running(intake_app(settings)) as intake:
        # The reader's own agency recorded the arrest: police see the cases their agency recorded.
        case_id = _open_case(intake, settings, agency="gendarmerie-gao")
        headers = {**auth(settings, "police", sub="officer-7", agency="gendarmerie-gao"),
                   "Caseline-Purpose": "preparing the transfer file"}  # fmt: skip

        read = intake.get(f"/cases/{case_id}", headers=headers)
        entries = _audit(intake, settings, case_id)

    assert read.status_code == 200
    assert [
        (e["actor"], e["agency"], e["role"], e["route"], e["purpose"], e["outcome"])
        for e in entries
    ] == [
        (
            "officer-7",
            "gendarmerie-gao",
            "police",
            "GET /cases/{case_id}",
            "preparing the transfer file",
            "allowed",
        )
    ]


def test_a_role_that_may_not_read_the_service_gets_403_and_the_refusal_is_audited(settings):
    with running(intake_app(settings)) as intake:
        case_id = _open_case(intake, settings)

        read = intake.get(f"/cases/{case_id}", headers=auth(settings, "civil_society"))
        entries = _audit(intake, settings, case_id)

    assert read.status_code == 403
    assert [e["outcome"] for e in entries] == ["refused:403"]


def test_without_a_purpose_a_read_is_refused_when_purposes_are_required(settings_factory):
    settings = settings_factory(require_purpose=True)
    with running(intake_app(settings)) as intake:
        case_id = _open_case(intake, settings)

        bare = intake.get(f"/cases/{case_id}", headers=auth(settings, "police"))
        stated = intake.get(
            f"/cases/{case_id}", headers={**auth(settings, "police"), "Caseline-Purpose": "review"}
        )
        entries = _audit(intake, settings, case_id)

    assert bare.status_code == 400
    assert "Caseline-Purpose" in bare.json()["detail"]
    assert stated.status_code == 200
    assert [e["outcome"] for e in entries] == ["refused:400", "allowed"]


def test_a_sealed_case_does_not_exist_except_for_auditors_and_judges(settings):
    with running(intake_app(settings)) as intake:
        case_id = _open_case(intake, settings)
        sealed = CaseSealed(reason="acquittal final", sealed_by="judge-3")
        event_id, body = envelope_bytes(sealed, case_id)
        publish(settings, [(subject(sealed, case_id), body, {"Nats-Msg-Id": event_id})])
        eventually(
            lambda: (
                intake.get(f"/cases/{case_id}", headers=auth(settings, "police")).status_code == 404
            )
        )

        judge = intake.get(f"/cases/{case_id}", headers=auth(settings, "judge"))
        auditor = intake.get(f"/cases/{case_id}", headers=auth(settings, "auditor"))
        police = intake.get(f"/cases/{case_id}", headers=auth(settings, "police"))
        unknown = intake.get(
            "/cases/0b7c7f7e-5f34-4a51-9a43-1a2b3c4d5e6f", headers=auth(settings, "police")
        )

    assert (judge.status_code, auditor.status_code) == (200, 200)
    assert police.status_code == 404
    assert police.json()["detail"].replace(case_id, "X") == unknown.json()["detail"].replace(
        "0b7c7f7e-5f34-4a51-9a43-1a2b3c4d5e6f", "X"
    )


def test_only_auditors_read_the_audit_and_its_chain_verifies(settings):
    with running(intake_app(settings)) as intake:
        case_id = _open_case(intake, settings)
        for role in ("police", "judge", "prison_registry"):
            intake.get(f"/cases/{case_id}", headers=auth(settings, role))

        by_police = intake.get("/audit", headers=auth(settings, "police"))
        verified = intake.get("/audit/verify", headers=auth(settings, "auditor")).json()

    assert by_police.status_code == 403
    assert verified["ok"] is True
    assert verified["first_bad_seq"] is None
    assert verified["entries"] >= 4  # the three reads and the refused read of the audit


def test_the_read_audit_refuses_changes_in_the_database_itself(settings):
    with running(intake_app(settings)) as intake:
        case_id = _open_case(intake, settings)
        intake.get(f"/cases/{case_id}", headers=auth(settings, "police"))

    with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
        for statement in ("UPDATE intake.read_audit SET actor = 'nobody'", "DELETE FROM intake.read_audit",
                          "TRUNCATE intake.read_audit"):  # fmt: skip
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
