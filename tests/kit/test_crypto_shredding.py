"""Personal fields are encrypted under the case's key before they are stored or published."""

from __future__ import annotations

import psycopg

from services.intake.service import create_app as intake_app
from shared.kit.keystore import PostgresKeyStore
from tests.support import arrest_payload, auth, eventually, running
from tests.support.bus import read_subject

NAME = "Zeinabou Unmistakable-Name"
ALIAS = "Abu Distinctive-Alias"


def _arrest() -> dict:
    body = arrest_payload()
    body["person"] = {**body["person"], "full_name": NAME, "aliases": [ALIAS]}
    return body


def _stored_bytes(settings) -> bytes:
    with psycopg.connect(settings.database.conninfo()) as conn:
        rows = conn.execute("SELECT state FROM intake.intake_events").fetchall()
    return b"".join(bytes(r[0]) for r in rows)


def test_the_store_and_the_stream_hold_no_personal_field_in_clear(settings):
    with running(intake_app(settings)) as intake:
        case_id = intake.post("/cases", json=_arrest(), headers=auth(settings, "police")).json()[
            "case_id"
        ]
        view = intake.get(f"/cases/{case_id}", headers=auth(settings, "police")).json()
        messages = read_subject(settings, f"caseline.intake.ArrestRecorded.{case_id}", expected=1)

    stored = _stored_bytes(settings)
    assert view["person"]["full_name"] == NAME
    assert NAME.encode() not in stored and ALIAS.encode() not in stored
    assert len(messages) == 1
    assert NAME.encode() not in messages[0].data and ALIAS.encode() not in messages[0].data
    assert b'"personaldata"' in messages[0].data


def test_once_the_key_is_destroyed_the_record_reads_as_erased(settings):
    with running(intake_app(settings)) as intake:
        case_id = intake.post("/cases", json=_arrest(), headers=auth(settings, "police")).json()[
            "case_id"
        ]
        keys = PostgresKeyStore(settings)
        try:
            assert keys.erase(case_id) is True
            assert keys.erase(case_id) is False
        finally:
            keys.close()

        view = eventually(
            lambda: (
                (v := intake.get(f"/cases/{case_id}", headers=auth(settings, "police")).json())
                and v["person"]["full_name"] == "[erased]"
                and v
            )
        )

    assert view["person"]["aliases"] == []
    assert view["arrest"]["grounds"] == "[erased]"
    assert view["person"]["nationality"] == "[erased]"  # identifying, with the place of origin
