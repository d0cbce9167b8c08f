"""Services call each other as themselves: narrow service tokens, never a human role.

Over real PostgreSQL and NATS: a publishing service asks the ledger's reconciliation question and
the ledger reads a service's audit head with tokens signed by their own signing keys; such a token
opens nothing else, a token of the wrong service, call, key or lifetime is refused, and with an
identity provider's key configured (no token secret anywhere) both calls still work.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.intake.service import create_app as intake_app
from services.ledger.anchors import ServiceAudit
from services.ledger.service import create_app as ledger_app
from shared.kit.origins import development_key, public_keys_json
from shared.kit.reconcile import HttpLedger
from shared.kit.service_auth import SERVICE_TOKEN_TYPE, mint_service_token
from tests.support import arrest_payload, auth, running, serving

PURPOSE = {"Caseline-Purpose": "service identity tests"}
QUESTION = {"event_ids": [str(uuid4())]}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _forged(service: str, call: str, *, key: Ed25519PrivateKey | None = None, kid: str | None = None,
            minutes: float = 2, sub: str | None = None) -> str:  # fmt: skip
    """A service token made by hand, to vary one thing at a time."""
    real = development_key(service)
    now = datetime.now(UTC)
    claims = {
        "iss": f"caseline-service:{service}", "sub": sub or f"service:{service}",
        "aud": f"caseline-call:{call}", "iat": now, "exp": now + timedelta(minutes=minutes),
    }  # fmt: skip
    headers = {"kid": kid or real.key_id, "typ": SERVICE_TOKEN_TYPE}
    return jwt.encode(claims, key or real.private, algorithm="EdDSA", headers=headers)


def test_a_publishing_service_asks_the_ledger_as_itself_and_nothing_else_is_opened(settings):
    intake_token = mint_service_token(settings, "intake", "reconcile")
    with running(ledger_app(settings)) as ledger, running(intake_app(settings)) as intake:
        asked = ledger.post("/reconcile/missing", json=QUESTION, headers=_bearer(intake_token))
        # The same token is no user anywhere else: no read, no command, no other service.
        feed = ledger.get("/events", headers={**_bearer(intake_token), **PURPOSE})
        cases = intake.get("/cases", headers={**_bearer(intake_token), **PURPOSE})
        opened = intake.post("/cases", json=arrest_payload(), headers=_bearer(intake_token))
        head = intake.get("/audit/head", headers={**_bearer(intake_token), **PURPOSE})
        # The ledger may read audit heads, not ask reconciliation questions (it publishes nothing).
        ledger_asks = ledger.post(
            "/reconcile/missing", json=QUESTION,
            headers=_bearer(_forged("ledger", "reconcile")),
        )  # fmt: skip

    assert asked.status_code == 200, asked.text
    assert asked.json() == {"missing": QUESTION["event_ids"]}
    assert [feed.status_code, cases.status_code, opened.status_code] == [401, 401, 401]
    assert head.status_code == 401  # a reconcile token is no audit-head token
    assert ledger_asks.status_code == 403


def test_tokens_of_an_unknown_key_a_borrowed_key_id_a_long_life_or_another_name_are_refused(
    settings,
):
    stranger = Ed25519PrivateKey.generate()
    refused = {
        "unknown key": _forged("intake", "reconcile", key=stranger, kid="00" * 8),
        "intake's key id, another key": _forged("intake", "reconcile", key=stranger),
        "a day long": _forged("intake", "reconcile", minutes=24 * 60),
        "another subject": _forged("intake", "reconcile", sub="service:judicial"),
        "expired": _forged("intake", "reconcile", minutes=-10),
    }
    with running(ledger_app(settings)) as ledger:
        answers = {
            why: ledger.post(
                "/reconcile/missing", json=QUESTION, headers=_bearer(token)
            ).status_code
            for why, token in refused.items()
        }
    assert answers == dict.fromkeys(refused, 401)


def test_the_ledger_reads_an_audit_head_as_itself_and_the_read_is_audited_as_the_ledger(
    settings,
):
    token = mint_service_token(settings, "ledger", "audit-head")
    auditor = {**auth(settings, "auditor"), **PURPOSE}
    with running(intake_app(settings)) as intake:
        head = intake.get("/audit/head", headers={**_bearer(token), **PURPOSE})
        whole_log = intake.get("/audit", headers={**_bearer(token), **PURPOSE})
        verify = intake.get("/audit/verify", headers={**_bearer(token), **PURPOSE})
        judicial_token = _forged("judicial", "audit-head")
        another_service = intake.get("/audit/head", headers={**_bearer(judicial_token), **PURPOSE})
        entries = intake.get("/audit", headers=auditor).json()["entries"]

    assert head.status_code == 200, head.text
    assert set(head.json()) == {"head", "at"}
    assert [whole_log.status_code, verify.status_code] == [401, 401]
    assert another_service.status_code == 403
    by_ledger = [
        e for e in entries if e["route"] == "GET /audit/head" and e["outcome"] == "allowed"
    ]
    assert [(e["actor"], e["role"]) for e in by_ledger] == [("service:ledger", "service")]


def test_with_an_identity_providers_key_and_no_token_secret_both_calls_still_work(
    settings_factory,
):
    provider = Ed25519PrivateKey.generate()
    public_pem = (
        provider.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = settings_factory(jwt_public_key=public_pem)
    with serving(ledger_app(settings)) as ledger_url, serving(intake_app(settings)) as intake_url:
        missing = asyncio.run(_ask(settings.model_copy(update={"ledger_url": ledger_url})))
        head = asyncio.run(ServiceAudit(settings, intake_url).head(None))
        # What a service could sign as a person (the development HS256 secret) opens nothing.
        as_admin = httpx.get(f"{ledger_url}/events", headers={**auth(settings, "admin"), **PURPOSE})
    assert missing == {QUESTION["event_ids"][0]}
    assert "head" in head
    assert as_admin.status_code == 401


async def _ask(settings) -> set[str]:
    ledger = HttpLedger(settings, "programmes")
    try:
        return {str(i) for i in await ledger.missing([QUESTION["event_ids"][0]])}
    finally:
        await ledger.aclose()


def test_a_retired_key_mints_no_service_token(settings_factory):
    listed = json.loads(public_keys_json([development_key("intake")]))
    listed[development_key("intake").key_id]["retired"] = True
    settings = settings_factory(service_public_keys=json.dumps(listed))
    token = mint_service_token(settings, "intake", "reconcile")
    with running(ledger_app(settings)) as ledger:
        asked = ledger.post("/reconcile/missing", json=QUESTION, headers=_bearer(token))
    assert asked.status_code == 401
