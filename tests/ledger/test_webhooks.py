"""Agencies' webhooks over a real HTTP receiver (the client kit's, served by uvicorn): retried
through an outage, errors and timeouts until each visible event is handled once, in order per
case; forged and replayed requests refused; secret rotation and replay from a `ledger_seq`."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from caseline_client import WebhookReceiver
from services.ledger.application import LedgerApplication
from services.ledger.webhooks import Webhooks, new_secret, signature_header
from shared.agencies import Agency
from shared.events import CaseSealed
from shared.kit.settings import Settings
from shared.kit.subscriber import Delivery
from tests.support.bus import envelope_bytes, subject
from tests.support.database import settings_with
from tests.support.ledger import evidence, ledger_intake

AGENCIES = (Agency("police-a", "police"), Agency("inspection", "auditor"))


def _message(event: Any, case_id: str, agency: str) -> Delivery:
    event_id, body = envelope_bytes(event, case_id, agency=agency)
    return Delivery(subject(event, case_id), body, {"Nats-Msg-Id": event_id}, msg=None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Flaky:
    """What the receiver's server does before the kit's receiver sees a request."""

    errors: int = 0
    slow: int = 0
    handled: list[dict[str, Any]] = field(default_factory=list)

    def wrap(self, receiver: WebhookReceiver) -> Starlette:
        async def hook(request: Request) -> Response:
            if self.errors > 0:
                self.errors -= 1
                return Response(status_code=500)
            if self.slow > 0:
                self.slow -= 1
                await asyncio.sleep(1.0)  # beyond the ledger's time limit
            return await receiver.handle(request)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@contextlib.contextmanager
def serving(app: Starlette, port: int) -> Iterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Hooks:
    settings: Settings
    ledger: LedgerApplication
    webhooks: Webhooks
    noting: Any

    async def append(self, messages: list[Delivery]) -> None:
        outcomes = await asyncio.to_thread(self.noting, messages)
        assert outcomes == ["ack"] * len(messages)

    def states(self, agency: str) -> dict[str, int]:
        return dict(
            self.ledger.fetch(
                "SELECT state, count(*) FROM {schema}.webhook_deliveries WHERE agency = %s"
                " GROUP BY state",
                (agency,),
            )
        )


@pytest.fixture
async def hooks(settings: Settings) -> AsyncIterator[Hooks]:
    settings = settings_with(
        settings,
        webhook_retry_base_seconds=0.05,
        webhook_retry_max_seconds=0.2,
        webhook_timeout_seconds=0.5,
        webhook_secret_overlap_seconds=3600,
    )
    ledger = await asyncio.to_thread(LedgerApplication, settings)
    intake = ledger_intake(ledger)
    webhooks = Webhooks(ledger, AGENCIES, settings)
    task = asyncio.create_task(webhooks.run(poll_seconds=0.05))
    try:
        yield Hooks(settings, ledger, webhooks, intake)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.to_thread(ledger.close)


async def _until(predicate: Any, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


async def test_an_outage_errors_and_timeouts_end_with_each_visible_event_once_in_case_order(
    hooks,
):
    port = _free_port()
    secret = hooks.webhooks.set_endpoint("police-a", f"http://127.0.0.1:{port}/hook")
    flaky = Flaky(errors=5, slow=2)
    receiver = WebhookReceiver([secret], flaky.handled.append)
    mine, sealed, others = str(uuid4()), str(uuid4()), str(uuid4())
    await hooks.append([_message(evidence(f"A-{n}"), mine, "police-a") for n in range(3)])
    await hooks.append(
        [
            _message(evidence("S-1"), sealed, "police-a"),
            _message(CaseSealed(reason="Acquitted", sealed_by="Judge Diarra"), sealed, "tribunal"),
            _message(evidence("O-1"), others, "police-other"),
        ]
    )
    await hooks.append([_message(evidence(f"A-{n}"), mine, "police-a") for n in range(3, 6)])

    await asyncio.sleep(0.5)  # nobody listens yet: connections refused
    with serving(flaky.wrap(receiver), port):
        await _until(lambda: hooks.states("police-a").get("delivered") == 6)
        await asyncio.sleep(0.3)  # what a late retry of a timed-out request would bring

    ids = [e["id"] for e in flaky.handled]
    assert len(ids) == len(set(ids)) == 6
    assert {e["subject"] for e in flaky.handled} == {mine}
    assert [e["ledgerseq"] for e in flaky.handled] == sorted(e["ledgerseq"] for e in flaky.handled)
    assert [e["data"]["item_id"] for e in flaky.handled] == [f"A-{n}" for n in range(6)]
    assert (flaky.errors, flaky.slow) == (0, 0)


async def test_a_receiver_that_never_answers_well_parks_the_case_and_others_go_on(hooks):
    hooks.webhooks.settings = settings_with(hooks.settings, webhook_park_after_seconds=0.5)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/hook"
    secret = hooks.webhooks.set_endpoint("police-a", url)
    failing, fine = str(uuid4()), str(uuid4())
    handled: list[dict[str, Any]] = []

    def handler(event: dict[str, Any]) -> None:
        if event["subject"] == failing:
            raise RuntimeError("this case cannot be stored")
        handled.append(event)

    app = Starlette(routes=[Route("/hook", WebhookReceiver([secret], handler), methods=["POST"])])
    with serving(app, port):
        await hooks.append([_message(evidence(f"F-{n}"), failing, "police-a") for n in range(2)])
        await hooks.append([_message(evidence("G-1"), fine, "police-a")])
        await _until(lambda: hooks.states("police-a").get("parked") == 1)
        await _until(lambda: len(handled) == 1)

    shown = hooks.webhooks.show("police-a")
    assert [e["subject"] for e in handled] == [fine]
    assert shown["deliveries"] == {"pending": 1, "delivered": 1, "parked": 1}
    assert shown["parked"][0]["ledger_seq"] == 1
    assert "secret" not in shown


async def test_a_forged_or_replayed_webhook_is_refused_by_the_kits_receiver(hooks):
    secret = new_secret()
    handled: list[dict[str, Any]] = []
    app = Starlette(
        routes=[Route("/hook", WebhookReceiver([secret], handled.append), methods=["POST"])]
    )
    port = _free_port()
    body = b'{"id":"e1","subject":"c1","ledgerseq":1}'
    now = int(time.time())

    def headers(sign_with: str, stamp: int) -> dict[str, str]:
        return {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature_header([sign_with], "msg_1", stamp, body),
        }

    with serving(app, port):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            forged = await client.post("/hook", content=body, headers=headers(new_secret(), now))
            stale = await client.post("/hook", content=body, headers=headers(secret, now - 900))
            first = await client.post("/hook", content=body, headers=headers(secret, now))
            replayed = await client.post("/hook", content=body, headers=headers(secret, now))
            tampered = await client.post(
                "/hook", content=body + b" ", headers=headers(secret, now + 1)
            )

    assert [r.status_code for r in (forged, stale, first, replayed, tampered)] == [
        401, 401, 204, 409, 401,
    ]  # fmt: skip
    assert handled == [{"id": "e1", "subject": "c1", "ledgerseq": 1}]


async def test_after_a_rotation_both_secrets_verify_until_the_overlap_ends(hooks):
    port = _free_port()
    old = hooks.webhooks.set_endpoint("police-a", f"http://127.0.0.1:{port}/hook")
    assert old is not None
    new = hooks.webhooks.rotate_secret("police-a")
    by_old: list[dict[str, Any]] = []
    by_new: list[dict[str, Any]] = []
    app = Starlette(
        routes=[
            Route("/old", WebhookReceiver([old], by_old.append), methods=["POST"]),
            Route("/new", WebhookReceiver([new], by_new.append), methods=["POST"]),
        ]
    )
    case_id = str(uuid4())

    with serving(app, port):
        hooks.webhooks.set_endpoint("police-a", f"http://127.0.0.1:{port}/old")
        await hooks.append([_message(evidence("R-1"), case_id, "police-a")])
        await _until(lambda: len(by_old) == 1)
        hooks.webhooks.set_endpoint("police-a", f"http://127.0.0.1:{port}/new")
        await hooks.append([_message(evidence("R-2"), case_id, "police-a")])
        await _until(lambda: len(by_new) == 1)
        with hooks.ledger.store.connection() as conn:
            conn.execute(
                "UPDATE ledger.webhook_endpoints SET previous_until = clock_timestamp()"
                " - interval '1 second', url = %s",
                (f"http://127.0.0.1:{port}/old",),
            )
        await hooks.append([_message(evidence("R-3"), case_id, "police-a")])
        await asyncio.sleep(0.5)

    assert old != new
    assert [e["data"]["item_id"] for e in by_old] == ["R-1"]
    assert [e["data"]["item_id"] for e in by_new] == ["R-2"]
    assert hooks.states("police-a") == {"delivered": 2, "pending": 1}


async def test_a_replay_from_a_ledger_seq_sends_again_what_the_agency_may_see(hooks):
    port = _free_port()
    secret = hooks.webhooks.set_endpoint("inspection", f"http://127.0.0.1:{port}/hook")
    assert secret is not None
    handled: list[dict[str, Any]] = []
    fresh: list[dict[str, Any]] = []  # a receiver that lost what it had (a new database)
    app = Starlette(
        routes=[
            Route("/hook", WebhookReceiver([secret], handled.append), methods=["POST"]),
            Route("/fresh", WebhookReceiver([secret], fresh.append), methods=["POST"]),
        ]
    )
    case_id = str(uuid4())

    with serving(app, port):
        await hooks.append([_message(evidence(f"P-{n}"), case_id, "police-a") for n in range(4)])
        await _until(lambda: len(handled) == 4)
        hooks.webhooks.set_endpoint("inspection", f"http://127.0.0.1:{port}/fresh")
        queued = hooks.webhooks.replay("inspection", 3)
        await _until(lambda: len(fresh) == 2)

    assert queued == 2
    assert [e["ledgerseq"] for e in handled] == [1, 2, 3, 4]
    assert [e["ledgerseq"] for e in fresh] == [3, 4]
    assert [e["id"] for e in fresh] == [e["id"] for e in handled[2:]]
