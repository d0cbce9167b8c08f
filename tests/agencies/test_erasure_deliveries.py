"""After a person's data is erased (a judge's order, two admins), no delivery holds any of their
personal values — neither the messages stored in the deliveries' stream nor the webhook bodies an
agency's receiver got — and resolving a delivery's withheld fields through the ledger with the
client kit answers `[erased]`, where before the erasure it showed them. Real intake, judicial and
ledger on PostgreSQL and NATS; the receiver is the kit's, served over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from caseline_client import Delivery, LedgerClient, MemorySeen, Resolved, WebhookReceiver
from services.intake.service import create_app as intake_app
from services.judicial.service import create_app as judicial_app
from services.ledger.service import create_app as ledger_app
from shared.kit.settings import Settings
from shared.kit.testing import Servers, settings_for
from tests.integration.test_erasure import (
    SECRETS,
    _erase,
    _leaks,
    _released_with_erasure_order,
)
from tests.support import admission_payload, arrest_payload, auth, eventually, running, serving
from tests.support.bus import stored_deliveries

pytestmark = pytest.mark.timeout(240)

POLICE, AUDIT = "police-judiciaire", "inspection"
REGISTRY = f"agencies:\n  - id: {POLICE}\n    role: police\n  - id: {AUDIT}\n    role: auditor\n"
PURPOSE = "erasure check"


class Receiver:
    """The kit's receiver behind a route that keeps every body it was sent, as received."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.events: list[dict[str, Any]] = []
        self.receiver: WebhookReceiver | None = None

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.bodies.append(await request.body())
            assert self.receiver is not None
            return await self.receiver.handle(request)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def listen(self, secret: str) -> None:
        self.receiver = WebhookReceiver([secret], self.events.append, events=MemorySeen())


def _agency_token(settings: Settings, agency: str, role: str) -> str:
    return auth(settings, role, sub=f"{agency}-system", agency=agency)["Authorization"][7:]


async def _resolve(url: str, token: str, delivery: Delivery) -> Resolved:
    async with LedgerClient(url, token, purpose=PURPOSE) as ledger:
        return await ledger.resolve(delivery)


async def _stored(settings: Settings) -> list[tuple[str, bytes]]:
    """Every message of the deliveries' stream: its subject, and its subject, headers and body."""
    return [
        (s, head.encode() + b"\n" + body) for s, head, body in await stored_deliveries(settings)
    ]


def _ledger_head(ledger: Any, auditor: dict[str, str]) -> int:
    entries = ledger.get("/events", params={"limit": 1000}, headers=auditor).json()["entries"]
    return int(entries[-1]["ledger_seq"]) if entries else 0


@pytest.fixture(scope="module")
def erased(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    registry = Path(tmp_path_factory.mktemp("registry")) / "agencies.yaml"
    registry.write_text(REGISTRY)
    settings = settings_for(servers, agencies_file=str(registry))
    receiver = Receiver()
    with (
        serving(receiver.app()) as hook_url,
        running(intake_app(settings)) as intake,
        running(judicial_app(settings)) as judicial,
        serving(ledger_app(settings)) as ledger_url,
    ):
        yield _scenario(settings, receiver, hook_url, intake, judicial, ledger_url)


def _scenario(
    settings: Settings, receiver: Receiver, hook_url: str, intake: Any, judicial: Any, url: str
) -> dict[str, Any]:
    ledger = httpx.Client(base_url=url, timeout=30)
    auditor = {**auth(settings, "auditor"), "Caseline-Purpose": PURPOSE}
    made = ledger.put(f"/agencies/{AUDIT}/webhook", json={"url": f"{hook_url}/hook"},
                      headers=auth(settings, "admin"))  # fmt: skip
    assert made.status_code == 201, made.text
    receiver.listen(made.json()["secret"])

    arrest = arrest_payload(grounds=SECRETS["grounds"])
    arrest["person"] = {**arrest["person"], "full_name": SECRETS["name"],
                        "aliases": [SECRETS["alias"]]}  # fmt: skip
    police = auth(settings, "police", sub="officer-1", agency=POLICE)
    case = intake.post("/cases", json=arrest, headers=police).json()
    admission = admission_payload(
        next_of_kin=[{"full_name": SECRETS["kin"], "relationship": "brother"}]
    )
    admitted = intake.post(f"/cases/{case['case_id']}/admission", json=admission,
                           headers=auth(settings, "prison_registry"))  # fmt: skip
    assert admitted.status_code == 201, admitted.text
    arrested = eventually(lambda: _arrest_delivered(receiver, case["event_id"]), 60)
    tokens = {a: _agency_token(settings, a, r) for a, r in ((AUDIT, "auditor"), (POLICE, "police"))}
    before = asyncio.run(_resolve(url, tokens[AUDIT], arrested))

    order_id = _released_with_erasure_order(settings, intake, judicial, case["case_id"])
    done = _erase(settings, intake, case["case_id"], order_id)
    assert done.status_code == 201, done.text
    eventually(lambda: "PersonalDataErased" in ledger.get(
        f"/cases/{case['case_id']}/timeline", headers=auditor).text, 60)  # fmt: skip
    head = _ledger_head(ledger, auditor)
    eventually(lambda: any(e.get("ledgerseq") == head for e in receiver.events), 60)
    eventually(lambda: _published_upto(settings, head), 60)
    # Other processes keep a case's key for a moment (shared/kit/keystore.py): seconds, not more.
    after = eventually(lambda: _all_erased(url, tokens, arrested), 15)
    ledger.close()
    return {
        "case": case, "before": before, "after": after, "bodies": list(receiver.bodies),
        "stored": asyncio.run(_stored(settings)),
    }  # fmt: skip


def _all_erased(url: str, tokens: dict[str, str], delivery: Delivery) -> dict[str, Resolved]:
    resolved = {a: asyncio.run(_resolve(url, t, delivery)) for a, t in tokens.items()}
    return resolved if all(r.erased for r in resolved.values()) else {}


def _arrest_delivered(receiver: Receiver, event_id: str) -> Delivery | None:
    for event in receiver.events:
        if event["id"] == event_id:
            return Delivery.from_cloudevent(event)
    return None


def _published_upto(settings: Settings, head: int) -> bool:
    import psycopg

    with psycopg.connect(settings.database.conninfo()) as conn:
        row = conn.execute("SELECT delivered_seq FROM ledger.delivery_position").fetchone()
    return bool(row) and int(row[0]) >= head


def test_no_message_of_the_deliveries_stream_holds_a_personal_value(erased):
    stored = erased["stored"]
    subjects = {subject.split(".")[1] for subject, _ in stored}
    everything = b"\n".join(data for _, data in stored)

    assert subjects == {POLICE, AUDIT}
    assert erased["case"]["event_id"].encode() in everything
    assert b'"personaldata":"withheld"' in everything
    assert _leaks(everything) == []


def test_no_webhook_body_the_agency_received_holds_a_personal_value(erased):
    everything = b"\n".join(erased["bodies"])

    assert erased["case"]["event_id"].encode() in everything
    assert b"PersonalDataErased" in everything
    assert _leaks(everything) == []


def test_resolving_a_delivery_showed_the_name_before_the_erasure(erased):
    before: Resolved = erased["before"]

    assert before.erased is False
    assert before.fields["person.full_name"] == SECRETS["name"]
    assert before.fields["grounds"] == SECRETS["grounds"]


@pytest.mark.parametrize("agency", [AUDIT, POLICE])
def test_resolving_a_delivery_after_the_erasure_answers_erased(erased, agency):
    after: Resolved = erased["after"][agency]

    assert after.erased is True
    assert after.fields["person.full_name"] == "[erased]"
    assert after.fields["grounds"] == "[erased]"
    assert _leaks(repr(after.event).encode()) == []
