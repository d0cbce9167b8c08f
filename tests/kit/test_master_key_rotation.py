"""The master key rotates live: wrapped case keys name their master, services read keys under
the previous master until `caseline keys rotate-master` has re-wrapped them all."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import psycopg
import pytest

from services.intake.service import create_app as intake_app
from shared.kit.keystore import PostgresKeyStore, master_key_id
from tests.support import arrest_payload, auth, running

NAME = "Aminata Rotation-Distinct"


def _key() -> tuple[str, bytes]:
    raw = os.urandom(32)
    return base64.b64encode(raw).decode(), raw


def _masters(settings) -> dict[str, str | None]:
    with psycopg.connect(settings.database.conninfo()) as conn:
        rows = conn.execute("SELECT case_id, master_kid FROM keystore.case_keys").fetchall()
    return dict(rows)


def _rotate(settings, old: str, new: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASELINE_DATABASE_URL": settings.database_url,
           "CASELINE_ENVIRONMENT": "test", "CASELINE_MASTER_KEY": new,
           "CASELINE_MASTER_KEY_PREVIOUS": old}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "caseline", "keys", "rotate-master", "--batch", "2"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_rotate_master_rewraps_every_key_while_the_service_keeps_reading(settings):
    old, old_raw = _key()
    new, new_raw = _key()
    before = settings.model_copy(update={"master_key": _secret(old)})
    during = settings.model_copy(
        update={"master_key": _secret(new), "master_key_previous": _secret(old)}
    )
    after = settings.model_copy(update={"master_key": _secret(new)})

    with running(intake_app(before)) as intake:
        cases = [
            intake.post("/cases", json=_arrest(), headers=auth(settings, "police")).json()[
                "case_id"
            ]
            for _ in range(5)
        ]
    keys = PostgresKeyStore(before)
    try:
        assert keys.erase(cases[4]) is True
    finally:
        keys.close()
    assert _masters(settings) == {
        **dict.fromkeys(cases[:4], master_key_id(old_raw)),
        cases[4]: None,
    }

    with running(intake_app(during)) as intake:
        read_before = intake.get(f"/cases/{cases[0]}", headers=auth(settings, "police")).json()
        rotated = _rotate(settings, old, new)
        read_after = intake.get(f"/cases/{cases[1]}", headers=auth(settings, "police")).json()
        fresh = intake.post("/cases", json=_arrest(), headers=auth(settings, "police")).json()

    masters = _masters(settings)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "re-wrapped 4 case keys" in rotated.stdout
    assert read_before["person"]["full_name"] == NAME
    assert read_after["person"]["full_name"] == NAME
    live = {c: masters[c] for c in [*cases[:4], fresh["case_id"]]}
    assert set(live.values()) == {master_key_id(new_raw)}
    assert masters[cases[4]] is None  # the erased case's tombstone has no key to re-wrap

    only_new = PostgresKeyStore(after)
    try:
        assert all(only_new.key_for_writing(c)[1] for c in cases[:4])
    finally:
        only_new.close()


def test_a_key_under_an_unconfigured_master_is_refused_not_misread(settings):
    old, _ = _key()
    new, _ = _key()
    under_old = PostgresKeyStore(settings.model_copy(update={"master_key": _secret(old)}))
    try:
        under_old.key_for_writing("case-1")
    finally:
        under_old.close()
    only_new = PostgresKeyStore(settings.model_copy(update={"master_key": _secret(new)}))
    try:
        with pytest.raises(RuntimeError, match="not configured"):
            only_new.key_for_writing("case-1")
    finally:
        only_new.close()
    refused = _rotate(settings, old="", new=new)
    assert refused.returncode == 1
    assert "not configured" in refused.stderr


def _secret(value: str):
    from pydantic import SecretStr

    return SecretStr(value)


def _arrest() -> dict:
    body = arrest_payload()
    body["person"] = {**body["person"], "full_name": NAME}
    return body
