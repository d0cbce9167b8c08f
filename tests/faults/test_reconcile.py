"""Reconciliation: events the broker acknowledged and then lost reach the ledger all the same.

Messages are deleted from the stream behind the relay's back before the ledger consumed them, and
the broker is then killed and restarted (a crash loses its duplicate window too); intake's periodic
reconciliation asks the ledger what it lacks and publishes it again, until the ledger is complete.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import uvicorn

from caseline.reconcile import reconcile_all
from services.intake.service import create_app as intake_app
from services.ledger.requests import MAX_EVENT_IDS
from services.ledger.service import create_app as ledger_app
from shared.kit.bus import Bus
from shared.kit.servers import NatsServer, free_port, wait_for_port
from shared.kit.service_auth import mint_service_token
from shared.kit.settings import Settings
from tests.faults.harness import ROWS, audit, ledger_entries, record_cases
from tests.support import arrest_payload, auth, eventually, running

CASES = 15


def _service(settings: Settings, service: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_service_token(settings, service, 'reconcile')}"}


async def _delete(settings: Settings, *seqs: int) -> int:
    """Delete these messages from the stream; returns how many it still holds."""
    bus = Bus(settings, "probe")
    bus.start()
    try:
        js = await bus.jetstream()
        for seq in seqs:
            await js.delete_msg(settings.stream, seq)
        return int((await js.stream_info(settings.stream)).state.messages)
    finally:
        await bus.close()


def stream_messages(settings: Settings) -> int:
    return asyncio.run(_delete(settings))


def delete_messages(settings: Settings, *seqs: int) -> int:
    return asyncio.run(_delete(settings, *seqs))


def test_events_lost_by_the_broker_are_published_again_until_the_ledger_is_complete(
    settings_factory, own_nats: NatsServer
):
    port = free_port()
    settings = settings_factory(
        nats_url=own_nats.url,
        ledger_url=f"http://127.0.0.1:{port}",
        reconcile_seconds=0.2,
        reconcile_margin_seconds=0,
    )
    auditor = auth(settings, "auditor")
    lost = (2, 8, 14, 20, 26)  # admissions: the last event of their case, so order is kept

    with running(intake_app(settings)) as intake:
        acked = record_cases(intake, settings, CASES)
        eventually(lambda: stream_messages(settings) == len(acked), interval=0.2)
        assert delete_messages(settings, *lost) == len(acked) - len(lost)
        ledger = ledger_app(settings.model_copy(update={"port": port}))
        with running(ledger) as client, serving_on(ledger, port):
            eventually(lambda: len(ledger_entries(client, auditor)) == len(acked) - len(lost))
            within_window = asyncio.run(reconcile_all(settings, ["intake"]))[0]
            own_nats.kill()
            own_nats.start()
            eventually(lambda: len(ledger_entries(client, auditor)) == len(acked), timeout=30)
            after = asyncio.run(reconcile_all(settings, ["intake"]))[0]
            result = audit(
                "broker lost 5 acknowledged messages (reconciled)",
                settings,
                client,
                auditor,
                sent=len(acked),
                acknowledged=acked,
            )
    ROWS.append(result)

    assert (within_window.missing, within_window.republished) == (len(lost), 0)
    assert within_window.deferred == len(lost)
    assert (after.missing, after.deferred) == (0, 0)
    assert result.clean, result


@contextmanager
def serving_on(app: Any, port: int) -> Iterator[None]:
    """Serve an app whose lifespan already runs (in a TestClient) on a real port too."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="ledger-http", daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        yield
    finally:
        server.should_exit = True
        thread.join(20)


def test_the_ledger_names_the_event_ids_it_lacks_in_the_order_asked(settings):
    police, auditor = auth(settings, "police"), auth(settings, "auditor")
    intake_itself = _service(settings, "intake")
    absent = [str(uuid4()), str(uuid4())]

    with running(intake_app(settings)) as intake, running(ledger_app(settings)) as ledger:
        opened = intake.post("/cases", json=arrest_payload(), headers=police).json()
        eventually(lambda: len(ledger_entries(ledger, auditor)) == 1)
        asked = [absent[0], opened["event_id"], absent[1]]
        answer = ledger.post("/reconcile/missing", json={"event_ids": asked}, headers=intake_itself)
        by_auditor = ledger.post("/reconcile/missing", json={"event_ids": asked}, headers=auditor)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"missing": absent}
    assert by_auditor.json() == {"missing": absent}


def test_the_reconcile_route_refuses_anonymous_callers_other_roles_and_oversized_questions(
    settings,
):
    body = {"event_ids": [str(uuid4())]}
    too_many = {"event_ids": [str(uuid4()) for _ in range(MAX_EVENT_IDS + 1)]}
    admin = _service(settings, "judicial")

    with running(ledger_app(settings)) as ledger:
        anonymous = ledger.post("/reconcile/missing", json=body)
        police = ledger.post("/reconcile/missing", json=body, headers=auth(settings, "police"))
        # An administrator is a person, not a service: reconciliation is no human's work.
        human_admin = ledger.post("/reconcile/missing", json=body, headers=auth(settings, "admin"))
        oversized = ledger.post("/reconcile/missing", json=too_many, headers=admin)
        malformed = ledger.post("/reconcile/missing", json={"event_ids": ["x"]}, headers=admin)

    assert anonymous.status_code == 401
    assert police.status_code == 403
    assert human_admin.status_code == 403
    assert oversized.status_code == 422
    assert malformed.status_code == 422
    assert malformed.headers["content-type"].startswith("application/problem+json")
