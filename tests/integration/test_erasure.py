"""Erasure by crypto-shredding: after a judge orders it and two admins request and confirm it for a
released person, no personal field can be read from any service, the ledger, an evidence bundle, the
raw database or the NATS stream — and every chain, tree and checkpoint still verifies.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import nats

from services.assessment.service import create_app as assessment_app
from services.intake.service import create_app as intake_app
from services.judicial.service import create_app as judicial_app
from services.ledger.service import create_app as ledger_app
from shared.kit.servers import _pg_bin
from tests.support import admission_payload, arrest_payload, auth, eventually, running

SECRETS = {
    "name": "Mariam Shredtest-Unique",
    "alias": "Umm Shredtest-Alias",
    "grounds": "Grounds Shredtest-Narrative about the person",
    "kin": "Oumar Shredtest-Brother",
    "family": "Family situation Shredtest-Private",
}


def _payloads() -> tuple[dict, dict, dict]:
    arrest = arrest_payload(grounds=SECRETS["grounds"])
    arrest["person"] = {
        **arrest["person"],
        "full_name": SECRETS["name"],
        "aliases": [SECRETS["alias"]],
    }
    admission = admission_payload(
        next_of_kin=[{"full_name": SECRETS["kin"], "relationship": "brother"}]
    )
    needs = {"literacy": "basic", "languages": ["Songhai"], "education_level": "primary",
             "vocational_interests": ["tailoring"], "skills": ["sewing"],
             "family_situation": SECRETS["family"]}  # fmt: skip
    return arrest, admission, needs


def _ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def _released_with_erasure_order(
    settings, intake: Any, judicial: Any, case_id: str, conditions: tuple[str, ...] = ()
) -> str:
    """Judicial orders release (intake executes it) and erasure; the erasure order's id."""
    judge, auditor = auth(settings, "judge"), auth(settings, "auditor")
    eventually(lambda: judicial.get(f"/cases/{case_id}", headers=auditor).status_code == 200)
    release = {"kind": "bail", "effective_at": _ago(30), "conditions": list(conditions)}
    order = judicial.post(f"/cases/{case_id}/release-orders", json=release, headers=judge)
    body = {"released_at": _ago(10), "release_order_id": order.json()["release_order_id"]}
    registry = auth(settings, "prison_registry")
    eventually(lambda: intake.post(f"/cases/{case_id}/release", json=body,
                                   headers=registry).status_code == 201)  # fmt: skip
    erasure = {"order_reference": "TGI Bamako n° 2031/17", "legal_basis": "Loi 2013-015 art. 12"}
    ordered = judicial.post(f"/cases/{case_id}/erasure-orders", json=erasure, headers=judge)
    assert ordered.status_code == 201, ordered.text
    order_id = str(ordered.json()["erasure_order_id"])
    eventually(lambda: intake.get(f"/cases/{case_id}", headers=auditor).json()["erasure_orders"])
    return order_id


def _erase(settings, intake: Any, case_id: str, order_id: str) -> Any:
    """One admin requests the erasure, a second confirms it; the confirmation's answer."""
    body = {"erasure_order_id": order_id, "reason": "Court order (test)"}
    asked = intake.post(f"/cases/{case_id}/erasure-requests", json=body,
                        headers=auth(settings, "admin", sub="admin-one"))  # fmt: skip
    assert asked.status_code == 201, asked.text
    return intake.post(f"/cases/{case_id}/erasure", json={"erasure_order_id": order_id},
                       headers=auth(settings, "admin", sub="admin-two"))  # fmt: skip


def _leaks(blob: bytes, secrets: dict[str, str] = SECRETS) -> list[str]:
    """Which secrets appear in the bytes, as text, as hex (bytea dumps) or inside base64 strings."""
    decoded = [blob]
    for token in re.findall(rb"[A-Za-z0-9+/]{40,}={0,2}", blob):
        try:
            decoded.append(base64.b64decode(token + b"=" * (-len(token) % 4)))
        except ValueError:
            continue
    found = []
    for label, secret in secrets.items():
        raw = secret.encode()
        if any(raw in d or raw.hex().encode() in d for d in decoded):
            found.append(label)
    return found


def _stream_bytes(settings) -> bytes:
    async def read() -> bytes:
        nc = await nats.connect(settings.nats_url)
        js = nc.jetstream()
        info = await js.stream_info(settings.stream)
        chunks, unread = [], []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(settings.stream, seq)
            except Exception as exc:
                unread.append(f"{seq}: {exc!r}")
                continue
            headers = str(msg.headers or {}).encode()
            chunks.append(b" ".join([(msg.subject or "").encode(), headers, msg.data or b""]))
        await nc.drain()
        # A message the scan cannot read is one it cannot vouch for: no silent gaps.
        assert not unread, f"stream messages not read: {unread}"
        assert len(chunks) == info.state.messages > 0
        return b"\n".join(chunks)

    return asyncio.run(read())


def _raw_files(settings, servers) -> bytes:
    """The bytes on disk of the test's database and of the write-ahead log (embedded server only)."""
    if servers.postgres is None:
        return b""
    import psycopg

    with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        oid = conn.execute(
            "SELECT oid FROM pg_database WHERE datname = current_database()"
        ).fetchone()[0]
    root = servers.postgres.data_dir
    files = [p for p in (root / "base" / str(oid)).rglob("*") if p.is_file()]
    files += [p for p in (root / "pg_wal").glob("0*") if p.is_file()]
    return b"".join(p.read_bytes() for p in files)


def _database_dump(settings) -> bytes:
    db = settings.database
    env = {**os.environ, "PGPASSWORD": db.password}
    result = subprocess.run(
        [str(_pg_bin() / "pg_dump"), "-h", db.host, "-p", str(db.port), "-U", db.user, "-d", db.dbname],
        capture_output=True, env=env, check=True, timeout=120,
    )  # fmt: skip
    return result.stdout


def test_after_erasure_no_personal_field_can_be_read_anywhere_and_everything_verifies(
    settings, servers
):
    arrest, admission, needs = _payloads()
    auditor = {**auth(settings, "auditor"), "Caseline-Purpose": "erasure check"}
    with running(intake_app(settings)) as intake, running(assessment_app(settings)) as assessment, \
            running(ledger_app(settings)) as ledger, running(judicial_app(settings)) as judicial:  # fmt: skip
        case_id = intake.post("/cases", json=arrest, headers=auth(settings, "police")).json()[
            "case_id"
        ]
        assert intake.post(f"/cases/{case_id}/admission", json=admission,
                           headers=auth(settings, "prison_registry")).status_code == 201  # fmt: skip
        eventually(lambda: assessment.post(f"/cases/{case_id}/needs", json=needs,
                                           headers=auth(settings, "assessor")).status_code == 201)  # fmt: skip
        before = eventually(lambda: len(ledger.get(f"/cases/{case_id}/timeline", headers=auditor)
                                        .json().get("entries", [])) >= 4 and
                            ledger.get(f"/cases/{case_id}/timeline", headers=auditor).json())  # fmt: skip
        assert SECRETS["name"] in str(before)  # the auditor saw the record before the erasure

        order_id = _released_with_erasure_order(settings, intake, judicial, case_id)
        erased = _erase(settings, intake, case_id, order_id)
        assert erased.status_code == 201, erased.text
        eventually(
            lambda: (
                "PersonalDataErased"
                in str(ledger.get(f"/cases/{case_id}/timeline", headers=auditor).json())
            )
        )

        reads = [
            intake.get(f"/cases/{case_id}", headers=auditor).content,
            intake.get("/cases", headers=auditor).content,
            eventually(lambda: (r := assessment.get(f"/cases/{case_id}", headers=auditor).content)
                       and not _leaks(r) and r, timeout=10),
            eventually(lambda: (r := ledger.get(f"/cases/{case_id}/timeline", headers=auditor).content)
                       and not _leaks(r) and r, timeout=10),
            ledger.get("/events", params={"limit": 1000}, headers=auditor).content,
            ledger.get(f"/cases/{case_id}/export", headers=auditor).content,
        ]  # fmt: skip
        verified = ledger.get(f"/cases/{case_id}/verify", headers=auditor).json()
        stream = _stream_bytes(settings)

    dump = _database_dump(settings)
    raw = _raw_files(settings, servers)
    verify_all = subprocess.run(
        [sys.executable, "-m", "caseline", "verify", "--all"],
        env={**os.environ, "CASELINE_DATABASE_URL": settings.database_url, "CASELINE_ENVIRONMENT": "test"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert [_leaks(r) for r in reads] == [[]] * len(reads)
    assert b"[erased]" in reads[0]
    assert _leaks(stream) == []
    assert _leaks(dump) == []
    assert b"Maison Centrale" in dump  # the dump scanned does hold what is stored in clear
    assert _leaks(raw) == []  # not even before the erasure: personal fields never reach the disk
    assert not raw or b"Maison Centrale" in raw  # the scan does see what is stored in clear
    assert verified["ok"] is True
    assert verify_all.returncode == 0, verify_all.stdout + verify_all.stderr


def test_only_admins_may_erase_and_only_once(settings):
    with running(intake_app(settings)) as intake, running(judicial_app(settings)) as judicial:
        case_id = intake.post(
            "/cases", json=arrest_payload(), headers=auth(settings, "police")
        ).json()["case_id"]
        assert intake.post(f"/cases/{case_id}/admission", json=admission_payload(),
                           headers=auth(settings, "prison_registry")).status_code == 201  # fmt: skip
        order_id = _released_with_erasure_order(settings, intake, judicial, case_id)
        body = {"erasure_order_id": order_id, "reason": "x"}

        by_judge = intake.post(
            f"/cases/{case_id}/erasure-requests", json=body, headers=auth(settings, "judge")
        )
        first = _erase(settings, intake, case_id, order_id)
        second = intake.post(f"/cases/{case_id}/erasure-requests", json=body,
                             headers=auth(settings, "admin", sub="admin-three"))  # fmt: skip

    assert by_judge.status_code == 403
    assert first.status_code == 201, first.text
    assert second.status_code == 409
    assert "already erased" in second.json()["detail"]
