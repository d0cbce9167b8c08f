"""Clients in the field retry over bad links: an Idempotency-Key makes a retry record nothing new."""

from __future__ import annotations

from services.intake.service import create_app as intake_app
from tests.support import arrest_payload, auth, running


def test_a_retry_with_the_same_key_returns_the_first_response_and_records_nothing(settings):
    police = {**auth(settings, "police"), "Idempotency-Key": "field-post-17"}
    with running(intake_app(settings)) as intake:
        first = intake.post("/cases", json=arrest_payload(), headers=police)
        again = intake.post("/cases", json=arrest_payload(), headers=police)
        total = intake.get("/cases", headers=police).json()["total"]

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert total == 1


def test_the_same_key_for_a_different_request_is_refused(settings):
    police = {**auth(settings, "police"), "Idempotency-Key": "field-post-18"}
    with running(intake_app(settings)) as intake:
        intake.post("/cases", json=arrest_payload(), headers=police)
        other = intake.post("/cases", json=arrest_payload(grounds="Another ground"), headers=police)
        total = intake.get("/cases", headers=police).json()["total"]

    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]
    assert total == 1


def test_keys_are_per_user(settings):
    with running(intake_app(settings)) as intake:
        a = intake.post(
            "/cases",
            json=arrest_payload(),
            headers={**auth(settings, "police", sub="officer-a"), "Idempotency-Key": "k1"},
        )
        b = intake.post(
            "/cases",
            json=arrest_payload(),
            headers={**auth(settings, "police", sub="officer-b"), "Idempotency-Key": "k1"},
        )

    assert a.json()["case_id"] != b.json()["case_id"]


def test_get_case_carries_its_version_as_etag(settings):
    police = auth(settings, "police")
    with running(intake_app(settings)) as intake:
        case_id = intake.post("/cases", json=arrest_payload(), headers=police).json()["case_id"]
        view = intake.get(f"/cases/{case_id}", headers=police)

    assert view.json()["version"] == 1
    assert view.headers["etag"] == '"1"'
