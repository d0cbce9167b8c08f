"""The ledger's tail of its entries for the agencies' deliveries: an entry goes out only once the
intake has noted its access facts, so a sealing or a voided link in the same batch already counts;
the position moves past what was published, and stays where it is while nothing is noted."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeoutError
from psycopg import sql

from services.ledger.application import LedgerApplication
from services.ledger.deliveries import Deliveries
from services.ledger.inbound import LedgerIntake
from services.ledger.schema import create_owned_tables, grant_ledger_role
from shared.agencies import Agency
from shared.events import CaseSealed, EvidenceLogged
from shared.kit.bus import Bus
from shared.kit.origins import origin_keys
from shared.kit.settings import Settings
from shared.kit.subscriber import Delivery
from tests.support.bus import envelope_bytes, subject
from tests.support.database import owner, settings_with

AGENCIES = (Agency("police-a", "police"), Agency("inspection", "auditor"))


def _evidence(item: str) -> EvidenceLogged:
    return EvidenceLogged(
        item_id=item, description="Notebook", collected_by="Adjudant Koné",
        collected_at="2026-11-01T07:00:00Z",
    )  # fmt: skip


def _sealing() -> CaseSealed:
    return CaseSealed(reason="Acquitted: the record is sealed", sealed_by="Judge Diarra")


def _message(event: Any, case_id: str, agency: str) -> Delivery:
    event_id, body = envelope_bytes(event, case_id, agency=agency)
    return Delivery(subject(event, case_id), body, {"Nats-Msg-Id": event_id}, msg=None)


@dataclass
class Tail:
    settings: Settings
    ledger: LedgerApplication
    bus: Bus
    deliveries: Deliveries
    listener: Any
    sub: Any

    def intake(self) -> LedgerIntake:
        # Deliveries are handed over directly, on unprefixed subjects (see `_message`).
        return LedgerIntake(
            self.ledger.store,
            "",
            self.ledger.note_access,
            keys=origin_keys(self.settings),
        )

    async def received(self) -> dict[str, list[dict[str, Any]]]:
        """What each agency received so far: everything published before a marker the test
        sends on the ledger's own connection, which arrives after all of it."""
        marker = self.bus.prefixed("deliver.marker.end")
        await self.bus.nc.publish(marker, b"")  # type: ignore[union-attr]
        out: dict[str, list[dict[str, Any]]] = {a.id: [] for a in AGENCIES}
        while (msg := await self.sub.next_msg(timeout=10)).subject != marker:
            if msg.subject == self.bus.prefixed(_PROBE):
                continue
            agency = msg.subject.removeprefix(self.bus.prefixed("deliver.")).split(".", 1)[0]
            out[agency].append(json.loads(msg.data))
        return out

    def position(self) -> int:
        rows = self.ledger.fetch("SELECT delivered_seq FROM {schema}.delivery_position")
        return int(rows[0][0])


_PROBE = "deliver.probe.ready"


async def _until_live(bus: Bus, sub: Any) -> None:
    """A core subscription can miss what another connection publishes a few milliseconds after
    it was made: only a message received proves it is in place."""
    for _ in range(100):
        await bus.nc.publish(bus.prefixed(_PROBE), b"")  # type: ignore[union-attr]
        await bus.nc.flush()  # type: ignore[union-attr]
        with contextlib.suppress(NatsTimeoutError):
            await sub.next_msg(timeout=0.2)
            return
    raise AssertionError("the listener's subscription never received")


@pytest.fixture(params=["owner", "ledger role"])
def ledger_settings(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    """The database's owner, or the insert-and-read-only role the ledger runs as in production
    (`caseline ledger-role`), which may still move the deliveries' position."""
    if request.param == "owner":
        yield settings
        return
    role = f"caseline_ledger_{uuid4().hex[:8]}"
    create_owned_tables(settings)
    with owner(settings) as conn:
        grant_ledger_role(conn, role)
    db = settings.database
    yield settings_with(
        settings, database_url=f"postgresql://{role}@{db.host}:{db.port}/{db.dbname}"
    )
    with owner(settings) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
async def tail(ledger_settings: Settings) -> AsyncIterator[Tail]:
    settings = ledger_settings
    ledger = await asyncio.to_thread(LedgerApplication, settings)
    bus = Bus(settings, "ledger")
    bus.start()
    await bus.jetstream()
    deliveries = Deliveries(ledger, bus, AGENCIES)
    await asyncio.to_thread(deliveries._start_position)
    listener = await nats.connect(settings.nats_url)
    sub = await listener.subscribe(bus.prefixed("deliver.>"))
    await _until_live(bus, sub)
    try:
        yield Tail(settings, ledger, bus, deliveries, listener, sub)
    finally:
        await listener.close()
        await bus.close()
        await asyncio.to_thread(ledger.close)


async def _append(tail: Tail, handler: Any, messages: Sequence[Delivery]) -> None:
    outcomes = await asyncio.to_thread(handler, list(messages))
    assert outcomes == ["ack"] * len(messages)


async def test_an_entry_waits_until_the_intake_has_noted_its_access_facts(tail):
    case_id = str(uuid4())
    message = _message(_evidence("SCELLE-1"), case_id, "police-a")
    await _append(tail, tail.intake(), [message])  # appended, its note not yet taken

    waited = await tail.deliveries.step()
    position = tail.position()
    await asyncio.to_thread(tail.deliveries.noted, [message])
    delivered = await tail.deliveries.step()
    received = await tail.received()

    assert (waited, delivered) == (False, True)
    assert position == 0
    assert tail.position() == 1
    assert [e["event"]["subject"] for e in received["police-a"]] == [case_id]


async def test_a_sealing_in_the_same_batch_hides_the_case_from_those_who_may_not_see_it(tail):
    case_id = str(uuid4())
    batch = [
        _message(_evidence("SCELLE-2"), case_id, "police-a"),
        _message(_sealing(), case_id, "tribunal"),
        _message(_evidence("SCELLE-3"), case_id, "police-a"),
    ]
    await _append(tail, tail.deliveries.noting(tail.intake()), batch)

    assert await tail.deliveries.step()
    received = await tail.received()

    assert received["police-a"] == []
    assert [e["ledger_seq"] for e in received["inspection"]] == [1, 2, 3]


async def test_the_position_moves_past_every_batch_and_nothing_is_delivered_twice(tail):
    noting = tail.deliveries.noting(tail.intake())
    case_id = str(uuid4())
    for item in ("SCELLE-4", "SCELLE-5"):
        await _append(tail, noting, [_message(_evidence(item), case_id, "police-a")])
        assert await tail.deliveries.step()

    again = await tail.deliveries.step()
    received = await tail.received()

    assert again is False
    assert tail.position() == 2
    assert [e["ledger_seq"] for e in received["police-a"]] == [1, 2]
    assert tail.ledger.fetch("SELECT count(*) FROM {schema}.delivery_noted") == [(0,)]
