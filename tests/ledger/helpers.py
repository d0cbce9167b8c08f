"""Helpers of the ledger tests: valid envelopes appended straight to the store, owner access."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg

from services.ledger.application import LedgerApplication
from services.ledger.store import Appendable
from shared.events import build_envelope
from shared.events.intake import DetaineeAdmitted, FamilyContactRecorded
from shared.kit.settings import Settings
from tests.integration.bus import signed_document

BASE_TIME = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def appendable(case_id: UUID, n: int) -> Appendable:
    """A valid intake envelope about `case_id`, the `n`-th of the test (an admission first)."""
    at = BASE_TIME + timedelta(days=n)
    event: Any
    if n == 0:
        event = DetaineeAdmitted.model_validate(
            {"facility": "MCA Bamako", "admitted_at": at.isoformat(), "warrant_ref": f"MD-{n}"}
        )
    else:
        event = FamilyContactRecorded.model_validate(
            {
                "kind": "visit",
                "with_whom": f"Visitor {n}",
                "relationship": "sister",
                "at": at.isoformat(),
            }
        )
    env = build_envelope(
        event, event_id=uuid4(), subject=case_id, actor="tester", agency="test", recorded_at=at
    )
    return Appendable(
        event_id=str(env.id),
        case_id=str(case_id),
        type=env.type,
        time=at,
        recordedtime=at,
        envelope=signed_document(env),
    )


def fill(ledger: LedgerApplication, cases: int = 3, per_case: int = 4) -> list[UUID]:
    """Append `per_case` entries to each of `cases` new cases, interleaved, in small batches."""
    ids = [uuid4() for _ in range(cases)]
    for n in range(per_case):
        ledger.store.append([appendable(case_id, n) for case_id in ids])
    return ids


def settings_for(settings: Settings, **overrides: Any) -> Settings:
    return Settings(**{**settings.model_dump(), **overrides})


@contextmanager
def owner(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """A connection as the database owner (autocommit), as someone behind the ledger's back."""
    with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
        yield conn


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
