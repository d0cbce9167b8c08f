"""The read audit answers "who saw this person": lists record the cases they returned, refused
tokens are recorded with the identity they claimed, and production requires a purpose."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.intake.service import create_app as intake_app
from shared.kit.audit_capture import case_ids_in
from shared.kit.origins import ServiceKey, public_keys_json
from shared.kit.settings import Settings
from tests.support import arrest_payload, auth, running

INSPECTION = {"Caseline-Purpose": "inspection of the reads"}


def _open(intake, settings) -> str:
    answer = intake.post("/cases", json=arrest_payload(), headers=auth(settings, "police"))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["case_id"])


def _audit(intake, settings, **params):
    headers = {**auth(settings, "auditor", sub="inspector"), **INSPECTION}
    answer = intake.get("/audit", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["entries"]


def _spellings(case_id: str) -> list[str]:
    raw = UUID(case_id)
    return [case_id, case_id.upper(), raw.hex, f"urn:uuid:{case_id}", f"{{{case_id.upper()}}}"]


# --- lists record the cases they returned ------------------------------------------------------


def test_a_list_read_records_every_case_it_returned_and_any_spelling_finds_it(settings):
    with running(intake_app(settings)) as intake:
        cases = [_open(intake, settings) for _ in range(2)]
        listed = intake.get("/cases", headers=auth(settings, "police", sub="lister"))
        found = {s: _audit(intake, settings, case_id=s) for c in cases for s in _spellings(c)}
        lister = _audit(intake, settings, actor="lister")

    assert listed.status_code == 200
    assert set(cases) <= {item["case_id"] for item in listed.json()["items"]}
    [entry] = lister
    assert (entry["route"], entry["case_id"], entry["outcome"]) == ("GET /cases", None, "allowed")
    assert set(cases) <= set(entry["case_ids"])
    assert all(c == str(UUID(c)) for c in entry["case_ids"])  # canonical, lowercase, hyphenated
    for spelling, entries in found.items():
        assert [e["seq"] for e in entries if e["actor"] == "lister"] == [entry["seq"]], spelling


def test_a_case_read_names_its_case_in_the_canonical_spelling_and_lists_it_as_carried(settings):
    with running(intake_app(settings)) as intake:
        case_id = _open(intake, settings)
        read = intake.get(f"/cases/{case_id}", headers=auth(settings, "judge", sub="reader"))
        [entry] = _audit(intake, settings, actor="reader")

    assert read.status_code == 200
    assert (entry["case_id"], entry["case_ids"]) == (case_id, [case_id])


def test_an_id_that_is_not_a_case_id_is_refused_by_the_audit_and_not_a_5xx(settings):
    headers = {**auth(settings, "auditor"), **INSPECTION}
    with running(intake_app(settings)) as intake:
        answers = [
            intake.get("/audit", params={"case_id": bad}, headers=headers).status_code
            for bad in ("not-a-case", "x" * 100, "0" * 31, "\u00e9" * 36)
        ]

    assert all(400 <= status < 500 for status in answers), answers


def test_the_entry_hash_covers_the_cases_and_the_chain_verifies(settings):
    with running(intake_app(settings)) as intake:
        _open(intake, settings)
        intake.get("/cases", headers=auth(settings, "police"))
        verified = intake.get("/audit/verify", headers={**auth(settings, "auditor"), **INSPECTION})

    assert verified.json()["ok"] is True


# --- the cases an answer carries, from its JSON ------------------------------------------------


def _envelope(type_: str, subject: str) -> dict[str, object]:
    return {"specversion": "1.0", "id": str(uuid4()), "subject": subject, "type": type_}


def test_case_ids_are_read_from_keys_kept_apart_lists_and_case_subjects_only():
    a, b, c, d, programme = (str(uuid4()) for _ in range(5))
    body = {
        "items": [{"case_id": a.upper()}, {"nested": {"case_id": UUID(b).hex}}],
        "placement": {"keep_separate_from": [c, f"urn:uuid:{d}"]},
        "note": f'a string that says "case_id":"{uuid4()}" is not a key',
        "case_id_of_nothing": str(uuid4()),
        "case_id": None,
    }
    feed = {
        "entries": [
            {"event": _envelope("caseline.intake.ArrestRecorded.v1", a)},
            {"event": _envelope("caseline.programmes.ProgrammeCreated.v1", programme)},
            {"event": _envelope("caseline.programmes.ParticipantEnrolled.v1", d)},
        ]
    }
    cases_only = {"entries": [{"event": _envelope("caseline.intake.ArrestRecorded.v1", c)}]}

    def scan(document: object) -> list[str]:
        return case_ids_in(json.dumps(document, separators=(",", ":")).encode())

    assert scan(body) == sorted([a, b, c, d])
    assert scan(feed) == sorted([a, d])  # the programme, a subject but no case, is left out
    assert scan(cases_only) == [c]
    assert scan({"subject": a}) == []  # not an event envelope


# --- refused tokens: the identity they claimed -------------------------------------------------


def _token(claims: dict[str, object], key: str = "another-secret-entirely-0123456789abc") -> str:
    return jwt.encode(claims, key, algorithm="HS256")


def _claims(settings: Settings, **extra: object) -> dict[str, object]:
    now = datetime.now(UTC)
    return {"sub": "officer-9", "agency": "gendarmerie-mopti", "role": "police",
            "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "iat": now,
            "exp": now + timedelta(minutes=5), **extra}  # fmt: skip


def test_a_refused_token_is_audited_with_the_identity_it_claimed_marked_unverified(settings):
    expired = _claims(settings, exp=datetime.now(UTC) - timedelta(hours=1))
    tokens = {
        "expired": _token(expired, settings.jwt_key()),
        "forged": _token(_claims(settings)),
    }
    with running(intake_app(settings)) as intake:
        case_id = _open(intake, settings)
        statuses = [
            intake.get(
                f"/cases/{case_id.upper()}",
                headers={"Authorization": f"Bearer {t}", "Caseline-Purpose": name},
            ).status_code
            for name, t in tokens.items()
        ]
        entries = _audit(intake, settings, actor="unverified:officer-9")

    assert statuses == [401, 401]
    assert [
        (e["agency"], e["role"], e["case_id"], e["route"], e["purpose"], e["outcome"])
        for e in entries
    ] == [
        ("unverified:gendarmerie-mopti", "unverified:police", case_id, "GET /cases/{case_id}",
         purpose, "refused:401")
        for purpose in tokens
    ]  # fmt: skip


def test_a_read_without_a_token_is_audited_as_anonymous(settings):
    with running(intake_app(settings)) as intake:
        case_id = _open(intake, settings)
        bare = intake.get(f"/cases/{case_id}")
        basic = intake.get("/cases", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        entries = _audit(intake, settings, actor="anonymous")

    assert (bare.status_code, basic.status_code) == (401, 401)
    assert [(e["case_id"], e["route"], e["outcome"]) for e in entries] == [
        (case_id, "GET /cases/{case_id}", "refused:401"),
        (None, "GET /cases", "refused:401"),
    ]


def _raw_token(payload: bytes) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b'{"alg":"HS256","typ":"JWT"}'
    return f"{b64(header)}.{b64(payload)}.{b64(b'sig')}"


HOSTILE = [
    "not-a-token-at-all",
    "a.b.c",
    "x" * 20_000,
    _raw_token(b'{"sub":"a\\u0000b","agency":"\\ud800","role":"police"}'),
    _raw_token(b'{"sub":' + b"[" * 5000 + b"]" * 5000 + b"}"),
    _raw_token(b'{"sub":"' + b"s" * 5000 + b'","agency":12,"role":{"x":1}}'),
    _raw_token(b"[1,2,3]"),
    _raw_token(b"\xff\xfe not json"),
]


@pytest.mark.parametrize("token", HOSTILE, ids=range(len(HOSTILE)))
def test_no_token_content_makes_a_5xx_and_every_one_is_audited(settings, token):
    with running(intake_app(settings)) as intake:
        answer = intake.get(
            f"/cases/{uuid4()}",
            headers={"Authorization": f"Bearer {token}", "Caseline-Purpose": "a\x00b"},
        )
        entries = [e for e in _audit(intake, settings) if e["actor"] != "inspector"]

    assert answer.status_code == 401
    [entry] = entries
    assert entry["outcome"] == "refused:401"
    for field in ("actor", "agency", "role"):
        assert entry[field].startswith("unverified:")
        assert len(entry[field]) <= len("unverified:") + 200
        assert "\u0000" not in entry[field]


# --- purpose in production ---------------------------------------------------------------------

_INTAKE_SEED = os.urandom(32)
_INTAKE_KEY = ServiceKey("intake", Ed25519PrivateKey.from_private_bytes(_INTAKE_SEED))
PRODUCTION = {
    "environment": "production",
    "service_signing_key": base64.b64encode(_INTAKE_SEED).decode(),
    "service_public_keys": public_keys_json([_INTAKE_KEY]),
    "jwt_secret": "a-production-secret-of-more-than-32-bytes",
    "master_key": base64.b64encode(os.urandom(32)).decode(),
}


def test_production_requires_a_purpose_unless_it_is_explicitly_turned_off(monkeypatch):
    assert Settings(**PRODUCTION).require_purpose is True
    assert Settings(**PRODUCTION, require_purpose=False).require_purpose is False
    assert Settings(environment="development").require_purpose is False
    assert Settings(environment="test").require_purpose is False
    for key, value in PRODUCTION.items():
        monkeypatch.setenv(f"CASELINE_{key.upper()}", value)
    assert Settings().require_purpose is True
    monkeypatch.setenv("CASELINE_REQUIRE_PURPOSE", "false")
    assert Settings().require_purpose is False


def test_a_production_service_refuses_a_read_without_a_purpose(settings_factory):
    settings = settings_factory(**PRODUCTION)
    with running(intake_app(settings)) as intake:
        case_id = _open(intake, settings)
        bare = intake.get(f"/cases/{case_id}", headers=auth(settings, "judge", sub="j"))
        stated = intake.get(
            f"/cases/{case_id}", headers={**auth(settings, "judge", sub="j"), **INSPECTION}
        )
        entries = _audit(intake, settings, actor="j")

    assert (bare.status_code, stated.status_code) == (400, 200)
    assert [e["outcome"] for e in entries] == ["refused:400", "allowed"]


# --- a database made before `case_ids` ---------------------------------------------------------


def test_a_log_made_before_case_ids_gains_the_column_and_its_old_entries_still_verify(settings):
    at = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    fields = [1, at.isoformat(), "officer-1", "gendarmerie", "police", None, "GET /cases", None,
              "allowed"]  # fmt: skip
    digest = hashlib.sha256(bytes(32) + json.dumps(fields, separators=(",", ":")).encode()).digest()
    with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
        conn.execute(
            "CREATE SCHEMA intake; CREATE TABLE intake.read_audit (seq bigint PRIMARY KEY,"
            " at timestamptz NOT NULL, actor text NOT NULL, agency text NOT NULL, role text NOT NULL,"
            " case_id text, route text NOT NULL, purpose text, outcome text NOT NULL,"
            " prev_hash bytea NOT NULL, hash bytea NOT NULL)"
        )
        conn.execute(
            "INSERT INTO intake.read_audit VALUES (1, %s, 'officer-1', 'gendarmerie', 'police',"
            " NULL, 'GET /cases', NULL, 'allowed', %s, %s)",
            (at, bytes(32), digest),
        )

    with running(intake_app(settings)) as intake:
        case_id = _open(intake, settings)
        intake.get("/cases", headers=auth(settings, "police", sub="after"))
        [old] = _audit(intake, settings, actor="officer-1")
        [new] = _audit(intake, settings, actor="after")
        verified = intake.get("/audit/verify", headers={**auth(settings, "auditor"), **INSPECTION})

    assert (old["seq"], old["case_ids"]) == (1, [])
    assert new["case_ids"] == [case_id]
    assert verified.json() == {"ok": True, "entries": 4, "first_bad_seq": None}
