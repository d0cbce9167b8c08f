"""Checkpoints every N entries or T seconds, the signing key, the feed and the CLI."""

from __future__ import annotations

import base64
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from caseline.cli import main
from services.ledger.application import LedgerApplication
from services.ledger.service import create_app as ledger_app
from services.ledger.signing import ledger_key
from shared.kit.settings import Settings
from tests.ledger.helpers import fill, publish
from tests.support import auth, eventually, running
from tests.support.database import settings_with
from tests.support.ledger import appendable


def _raw_public_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _latest(client, settings) -> int:
    response = client.get("/checkpoints/latest", headers=auth(settings, "auditor"))
    return response.json()["ledger_size"] if response.status_code == 200 else 0


def test_a_checkpoint_is_signed_after_every_n_entries_from_the_bus(settings):
    settings = settings_with(settings, ledger_checkpoint_every=3, ledger_checkpoint_seconds=3600)
    case_id = uuid4()

    with running(ledger_app(settings)) as client:
        eventually(lambda: client.get("/readyz").status_code == 200)
        publish(settings, [appendable(case_id, n) for n in range(2)])
        eventually(
            lambda: (
                client.get(
                    f"/cases/{case_id}/timeline", headers=auth(settings, "auditor")
                ).status_code
                == 200
            )
        )
        before = _latest(client, settings)
        publish(settings, [appendable(case_id, 2)])
        after = eventually(lambda: _latest(client, settings))

    assert (before, after) == (0, 3)


def test_a_checkpoint_is_signed_t_seconds_after_the_last_when_entries_are_new(settings):
    settings = settings_with(settings, ledger_checkpoint_every=1000, ledger_checkpoint_seconds=0.2)

    with running(ledger_app(settings)) as client:
        eventually(lambda: client.get("/readyz").status_code == 200)
        publish(settings, [appendable(uuid4(), 0)])
        size = eventually(lambda: _latest(client, settings))

    assert size == 1


def test_production_refuses_to_sign_without_a_key_or_with_the_development_key(settings):
    def production(key: str | None = None) -> Settings:
        # Only what the ledger reads; the rest of a production configuration is checked elsewhere.
        return Settings.model_construct(
            environment="production", ledger_signing_key=SecretStr(key) if key else None
        )

    seed = Ed25519PrivateKey.generate()
    pem = seed.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    raw = seed.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    development = ledger_key(Settings(environment="development"))

    with pytest.raises(RuntimeError, match="needs CASELINE_LEDGER_SIGNING_KEY"):
        ledger_key(production())
    dev_raw = development.private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    with pytest.raises(RuntimeError, match="refuses the development"):
        ledger_key(production(base64.b64encode(dev_raw).decode()))
    from_pem = ledger_key(production(pem))
    from_raw = ledger_key(production(base64.b64encode(raw).decode()))

    assert development.development
    assert from_pem.key_id == from_raw.key_id != development.key_id
    assert not from_pem.development


def test_the_feed_pages_through_the_ledger_in_order(settings):
    ledger = LedgerApplication(settings)
    fill(ledger, cases=2, per_case=6)
    ledger.close()
    auditor = auth(settings, "auditor")

    pages, after = [], 0
    with running(ledger_app(settings)) as client:
        anonymous = client.get("/events")
        while True:
            page = client.get(
                "/events", params={"after": after, "limit": 5}, headers=auditor
            ).json()
            if not page["entries"]:
                break
            pages.append([e["ledger_seq"] for e in page["entries"]])
            after = page["next_after"]

    assert anonymous.status_code == 401
    assert pages == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12]]


def test_the_cli_verifies_the_whole_ledger_with_progress_and_exports_a_case(
    settings, tmp_path, capsys
):
    ledger = LedgerApplication(settings)
    case_id = str(fill(ledger, cases=2, per_case=3)[0])
    ledger.checkpointer.checkpoint_now()
    ledger.close()
    bundle = tmp_path / "case.json"

    codes = []
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CASELINE_DATABASE_URL", settings.database_url)
        env.setenv("CASELINE_ENVIRONMENT", "test")
        for argv in (
            ["verify", "--all"],
            ["verify", case_id],
            ["export", case_id, "-o", str(bundle)],
            ["verify", "--all", "--key", ledger_key(settings).public_body()["public_key"]],
            ["verify", "--all", "--key", _raw_public_b64(Ed25519PrivateKey.generate())],
        ):
            with pytest.raises(SystemExit) as exit_:
                main(argv)
            codes.append(exit_.value.code)

    out = capsys.readouterr()
    assert codes == [0, 0, 0, 0, 1]
    assert (
        f"checkpoint 6: signed by key {ledger_key(settings).key_id}, which is neither the ledger's"
        " current key nor a retired one" in out.out
    )
    assert "6 entries of 2 cases, 1 checkpoints" in out.out
    assert "entries/s" in out.out
    assert "OK: every chain, the Merkle tree and every signature verify" in out.out
    assert f"case {case_id}: 3 events" in out.out
    assert "[DEVELOPMENT KEY]" in out.out
    assert "verifying [##############################] 6/6" in out.err
    assert "result:      OK" in out.out
    assert bundle.exists()


def test_the_cli_says_what_is_wrong_without_a_traceback(settings, capsys):
    LedgerApplication(settings).close()

    codes = []
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CASELINE_DATABASE_URL", settings.database_url)
        env.setenv("CASELINE_ENVIRONMENT", "test")
        for argv in (
            ["verify", str(uuid4())],
            ["export", str(uuid4())],
            ["verify", "--key", "nope"],
        ):
            with pytest.raises(SystemExit) as exit_:
                main(argv)
            codes.append(exit_.value.code)

    err = capsys.readouterr().err
    assert codes == [1, 1, 1]
    assert err.count("no case") == 2
    assert "a raw Ed25519 public key has 32 bytes" in err
    assert "Traceback" not in err
