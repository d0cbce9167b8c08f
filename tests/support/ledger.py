"""Entries for the ledger: valid, signed intake envelopes about a case, ready to append."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import nats

from services.ledger.application import LedgerApplication
from services.ledger.deliveries import Deliveries
from services.ledger.inbound import LedgerIntake
from services.ledger.schema import SCHEMA
from services.ledger.store import Appendable
from shared.agencies import Agency
from shared.events import build_envelope
from shared.events.intake import DetaineeAdmitted, EvidenceLogged, FamilyContactRecorded
from shared.kit.bus import Bus
from shared.kit.origins import origin_keys
from shared.kit.settings import Settings
from tests.support.bus import signed_document

__all__ = [
    "BASE_TIME",
    "appendable",
    "evidence",
    "ledger_intake",
    "principals",
    "running_deliveries",
]

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


def evidence(item: str, collected_at: str = "2026-11-01T07:00:00Z") -> EvidenceLogged:
    """An evidence entry of intake's, the item named `item`."""
    return EvidenceLogged(
        item_id=item,
        description="Notebook",
        collected_by="Adjudant Koné",
        collected_at=collected_at,
    )


def ledger_intake(ledger: LedgerApplication) -> LedgerIntake:
    """The ledger's batch handler as its consumer runs it, access facts included."""
    return LedgerIntake(ledger.store, "", ledger.note_access, keys=origin_keys(ledger.settings))


def principals(ledger: LedgerApplication, case_id: UUID | str) -> list[str]:
    """Who the ledger's access facts link to the case, in the order they came."""
    with ledger.store.connection() as conn:
        rows = conn.execute(
            f"SELECT principal FROM {SCHEMA}.case_access WHERE case_id = %s ORDER BY ord",
            (str(case_id),),
        ).fetchall()
    return [r[0] for r in rows]


@asynccontextmanager
async def running_deliveries(
    settings: Settings, agencies: Sequence[Agency]
) -> AsyncIterator[tuple[LedgerApplication, Bus, Deliveries, Any]]:
    """The ledger, its bus, its agencies' deliveries (their stream and consumers made, quick
    retries) and an agency's own NATS connection; all closed, the deliveries' stream deleted,
    after."""
    ledger = await asyncio.to_thread(LedgerApplication, settings)
    bus = Bus(settings, "ledger")
    bus.start()
    js = await bus.jetstream()
    deliveries = Deliveries(ledger, bus, agencies, backoff=(0.3, 0.3), max_deliver=2)
    await deliveries._prepare()
    agency = await nats.connect(settings.nats_url)
    try:
        yield ledger, bus, deliveries, agency
    finally:
        await agency.close()
        await js.delete_stream(deliveries.stream)
        await bus.close()
        await asyncio.to_thread(ledger.close)
