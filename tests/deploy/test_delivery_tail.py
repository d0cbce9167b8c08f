"""The ledger's tail of its entries for the agencies' deliveries, over a real nats-server and
PostgreSQL: an entry goes out once appended (its access facts are in the append's transaction),
into the deliveries' stream, which each agency pulls from its own durable consumer — resuming
where it left off, retried with back-off, parked after `max_deliver`, delivered again on request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeoutError

from services.ledger.application import LedgerApplication
from services.ledger.deliveries import Deliveries
from services.ledger.inbound import LedgerIntake
from shared.agencies import Agency
from shared.events import CaseSealed
from shared.kit.bus import Bus
from shared.kit.settings import Settings
from shared.kit.subscriber import Delivery
from tests.support.bus import envelope_bytes, subject
from tests.support.ledger import evidence, ledger_intake, running_deliveries

AGENCIES = (Agency("police-a", "police"), Agency("inspection", "auditor"))


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
    agency: Any

    def intake(self) -> LedgerIntake:
        # Deliveries are handed over directly, on unprefixed subjects (see `_message`).
        return ledger_intake(self.ledger)

    async def pull(self, agency: str, most: int = 100, ack: bool = True) -> list[Any]:
        """Up to `most` messages of the agency's consumer (acked unless told), as it pulls them."""
        js = self.agency.jetstream(timeout=5)
        sub = await js.pull_subscribe_bind(f"agency-{agency}", stream=self.deliveries.stream)
        try:
            msgs = await sub.fetch(most, timeout=1)
        except (NatsTimeoutError, TimeoutError):
            return []
        finally:
            await sub.unsubscribe()
        for msg in msgs if ack else ():
            await msg.ack_sync()
        return list(msgs)

    async def drain(self, agency: str) -> list[Any]:
        """Everything the agency's consumer hands it now (one in flight at a time), acked."""
        out: list[Any] = []
        while got := await self.pull(agency, most=1):
            out += got
        return out

    async def received(self) -> dict[str, list[dict[str, Any]]]:
        return {a.id: [json.loads(m.data) for m in await self.drain(a.id)] for a in AGENCIES}

    def position(self) -> int:
        rows = self.ledger.fetch("SELECT delivered_seq FROM {schema}.delivery_position")
        return int(rows[0][0])


@pytest.fixture
async def tail(ledger_settings: Settings) -> AsyncIterator[Tail]:
    async with running_deliveries(ledger_settings, AGENCIES) as (ledger, bus, deliveries, agency):
        yield Tail(ledger_settings, ledger, bus, deliveries, agency)


async def _append(tail: Tail, messages: Sequence[Delivery]) -> None:
    outcomes = await asyncio.to_thread(tail.intake(), list(messages))
    assert outcomes == ["ack"] * len(messages)


async def test_an_appended_entry_is_delivered_as_the_agency_may_see_it(tail):
    case_id = str(uuid4())
    await _append(tail, [_message(evidence("SCELLE-1"), case_id, "police-a")])

    delivered = await tail.deliveries.step()
    received = await tail.received()

    assert delivered is True
    assert tail.position() == 1
    (entry,) = received["police-a"]
    assert (entry["event"]["subject"], entry["ledger_seq"]) == (case_id, 1)
    assert len(entry["hash"]) == 64


async def test_a_sealing_in_the_same_batch_hides_the_case_from_those_who_may_not_see_it(tail):
    case_id = str(uuid4())
    batch = [
        _message(evidence("SCELLE-2"), case_id, "police-a"),
        _message(_sealing(), case_id, "tribunal"),
        _message(evidence("SCELLE-3"), case_id, "police-a"),
    ]
    await _append(tail, batch)

    assert await tail.deliveries.step()
    received = await tail.received()

    assert received["police-a"] == []
    assert [e["ledger_seq"] for e in received["inspection"]] == [1, 2, 3]


async def test_a_batch_published_again_after_a_crash_is_not_stored_twice(tail):
    case_id = str(uuid4())
    for item in ("SCELLE-4", "SCELLE-5"):
        await _append(tail, [_message(evidence(item), case_id, "police-a")])
        assert await tail.deliveries.step()
    # As if the ledger stopped after publishing, before its position moved.
    await asyncio.to_thread(
        tail.ledger.fetch, "UPDATE {schema}.delivery_position SET delivered_seq = 0 RETURNING 1"
    )

    again = await tail.deliveries.step()
    received = await tail.received()

    assert again is True
    assert tail.position() == 2
    assert [e["ledger_seq"] for e in received["police-a"]] == [1, 2]


async def test_an_agency_killed_mid_stream_resumes_with_every_entry_once_and_in_order(tail):
    cases = [str(uuid4()) for _ in range(3)]
    await _append(tail, [
        _message(evidence(f"S-{i}"), cases[i % 3], "police-a") for i in range(30)
    ])  # fmt: skip
    sealed = str(uuid4())
    await _append(tail, [_message(evidence("S-X"), sealed, "police-a"),
                         _message(_sealing(), sealed, "tribunal")])  # fmt: skip
    while await tail.deliveries.step():
        pass

    first = [m for _ in range(10) for m in await tail.pull("police-a", most=1)]
    held = await tail.pull("police-a", most=1, ack=False)  # in hand when it is killed
    await tail.agency.close()
    tail.agency = await nats.connect(tail.settings.nats_url)
    rest = await tail.drain("police-a")

    acked = [json.loads(m.data) for m in [*first, *rest]]
    seqs = [e["ledger_seq"] for e in acked]
    assert len(first) == 10
    assert json.loads(held[0].data)["ledger_seq"] == 11
    assert sorted(seqs) == list(range(1, 31)) == sorted(set(seqs))
    for case_id in cases:
        mine = [e["ledger_seq"] for e in acked if e["event"]["subject"] == case_id]
        assert mine == sorted(mine)
    assert sealed not in {e["event"]["subject"] for e in acked}


async def test_a_delivery_never_acked_is_parked_then_delivered_again_on_request(tail):
    case_id = str(uuid4())
    await _append(tail, [_message(evidence("SCELLE-P"), case_id, "police-a")])
    assert await tail.deliveries.step()

    for _ in range(2):  # max_deliver: each attempt taken and not acked
        got: list[Any] = []
        for _ in range(20):
            got = await tail.pull("police-a", most=1, ack=False)
            if got:
                break
        assert len(got) == 1
    parked: list[dict[str, Any]] = []
    for _ in range(15):  # the server parks it when the agency next asks (an advisory)
        assert await tail.pull("police-a", most=1, ack=False) == []
        if parked := await asyncio.to_thread(tail.deliveries.parked):
            break
    after_parking = await tail.drain("police-a")
    done = await tail.deliveries.redeliver("police-a", 1)
    again = await tail.drain("police-a")
    figures = await tail.deliveries.observe()

    assert [(p["agency"], p["ledger_seq"]) for p in parked] == [("police-a", 1)]
    assert after_parking == []
    assert done is True
    assert [json.loads(m.data)["ledger_seq"] for m in again] == [1]
    assert tail.deliveries.parked() == []
    assert figures["police-a"]["parked"] == 0
    assert figures["police-a"]["lag"] == 0
    assert figures["police-a"]["last"] > 0
