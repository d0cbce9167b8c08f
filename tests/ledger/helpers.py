"""Helpers of the ledger tests: entries appended straight to the store, tampering behind its
back (triggers off), envelopes published as the services' relays would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import psycopg

from services.ledger.application import LedgerApplication
from services.ledger.store import Appendable
from shared.kit.settings import Settings
from tests.support.database import owner
from tests.support.ledger import appendable


def fill(ledger: LedgerApplication, cases: int = 3, per_case: int = 4) -> list[UUID]:
    """Append `per_case` entries to each of `cases` new cases, interleaved, in small batches."""
    ids = [uuid4() for _ in range(cases)]
    for n in range(per_case):
        ledger.store.append([appendable(case_id, n) for case_id in ids])
    return ids


@contextmanager
def tampering(settings: Settings, *tables: str) -> Iterator[psycopg.Connection[Any]]:
    """The owner, with the append-only triggers of `tables` disabled while inside."""
    with owner(settings) as conn:
        for table in tables:
            conn.execute(f"ALTER TABLE ledger.{table} DISABLE TRIGGER USER")
        try:
            yield conn
        finally:
            for table in tables:
                conn.execute(f"ALTER TABLE ledger.{table} ENABLE TRIGGER USER")


def publish(settings: Settings, items: list[Appendable]) -> None:
    """Publish the items' envelopes on the settings' stream, as the services' relays would."""
    import asyncio

    import nats

    async def go() -> None:
        nc = await nats.connect(settings.nats_url)
        js = nc.jetstream()
        for item in items:
            name = item.type.split(".")[2]
            subject = f"{settings.subject_prefix}caseline.intake.{name}.{item.case_id}"
            body = json.dumps(item.envelope).encode()
            await js.publish(subject, body, headers={"Nats-Msg-Id": item.event_id})
        await nc.drain()

    asyncio.run(go())
