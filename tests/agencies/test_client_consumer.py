"""The client kit's `AgencyConsumer` over a real nats-server, on a stream and a consumer made as
the ledger makes an agency's: each event handled once and in order, acked only after its handler
returned, a failure retried after its delay with nothing overtaking it, a repeat skipped by the
seen-store, and the consumer going on after the server restarts."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import nats
import pytest

from caseline_client import AgencyConsumer, Delivery, MemorySeen, SqliteSeen
from services.ledger.deliveries import delivery_consumer, delivery_stream
from shared.agencies import Agency, delivery_subject
from shared.kit.bus import Bus
from shared.kit.servers import NatsServer
from shared.kit.settings import Settings
from shared.kit.testing import settings_for

AGENCY = Agency("ngo-test", "civil_society")


def _entry(seq: int, event_id: str | None = None) -> bytes:
    body = {
        "ledger_seq": seq, "case_seq": seq, "hash": f"{seq:064x}", "prev_hash": f"{seq - 1:064x}",
        "appended_at": "2026-11-03T10:00:00+00:00", "redacted": [],
        "event": {"id": event_id or str(uuid4()), "type": "caseline.programmes.SessionAttended.v1",
                  "subject": str(uuid4()), "data": {}},
    }  # fmt: skip
    return json.dumps(body).encode()


class Stream:
    """The deliveries' stream and the agency's consumer, on one server, as the ledger makes them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bus = Bus(settings, "ledger")
        self.config = delivery_stream(self.bus)

    async def make(self, nc: Any) -> None:
        js = nc.jetstream(timeout=10)
        await js.add_stream(self.config)
        await js.add_consumer(
            self.config.name, delivery_consumer(AGENCY, self.bus, backoff=(1.0, 1.0), max_deliver=5)
        )

    async def publish(self, bodies: list[bytes]) -> None:
        nc = await nats.connect(self.settings.nats_url)
        try:
            js = nc.jetstream(timeout=10)
            for body in bodies:
                subject = delivery_subject(
                    AGENCY.id, f"caseline.programmes.SessionAttended.{uuid4()}"
                )
                await js.publish(self.bus.prefixed(subject), body, stream=self.config.name)
        finally:
            await nc.close()

    async def pending(self) -> tuple[int, int]:
        """The consumer's (num_pending, num_ack_pending)."""
        nc = await nats.connect(self.settings.nats_url)
        try:
            info = await nc.jetstream().consumer_info(self.config.name, AGENCY.durable)
            return int(info.num_pending), int(info.num_ack_pending)
        finally:
            await nc.close()

    def consumer(self, handler: Callable[[Delivery], Any], **options: Any) -> AgencyConsumer:
        options = {"seen": MemorySeen(), "retry_delay": 0.5, "fetch_timeout": 0.5, **options}
        return AgencyConsumer(
            self.settings.nats_url, AGENCY.id, handler, stream=self.config.name, **options
        )


@pytest.fixture
async def stream(settings: Settings) -> AsyncIterator[Stream]:
    made = Stream(settings)
    nc = await nats.connect(settings.nats_url)
    try:
        await made.make(nc)
        yield made
    finally:
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(made.config.name)
        await nc.close()


@contextlib.asynccontextmanager
async def running(consumer: AgencyConsumer) -> AsyncIterator[AgencyConsumer]:
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 10)


async def until(predicate: Callable[[], Any], seconds: float = 20.0) -> None:
    """Wait until `predicate()` (or what it awaits) is true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        outcome = predicate()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_each_event_is_handled_once_in_order_and_acked(stream):
    twice = str(uuid4())
    # The ledger publishing an entry again after its de-duplication window: a new message.
    await stream.publish([_entry(n, twice if n in (4, 6) else None) for n in range(1, 11)])
    handled: list[int] = []

    consumer = stream.consumer(lambda d: handled.append(d.ledger_seq))
    async with running(consumer):
        await until(lambda: consumer.counts.handled + consumer.counts.repeats == 10)
        await until(lambda: _settled(stream))

    assert handled == [1, 2, 3, 4, 5, 7, 8, 9, 10]
    assert (consumer.counts.handled, consumer.counts.repeats, consumer.counts.failures) == (9, 1, 0)


async def _settled(stream: Stream) -> bool:
    return await stream.pending() == (0, 0)


async def test_a_failure_is_retried_after_its_delay_and_nothing_overtakes_it(stream):
    await stream.publish([_entry(n) for n in range(1, 6)])
    attempts: list[tuple[int, float]] = []

    async def handler(delivery: Delivery) -> None:
        attempts.append((delivery.ledger_seq, time.monotonic()))
        if delivery.ledger_seq == 3 and sum(1 for s, _ in attempts if s == 3) < 3:
            raise RuntimeError("the agency's database is down")

    consumer = stream.consumer(handler, retry_delay=0.4)
    async with running(consumer):
        await until(lambda: consumer.counts.handled == 5)
        await until(lambda: _settled(stream))

    order = [seq for seq, _ in attempts]
    third = [at for seq, at in attempts if seq == 3]
    assert order == [1, 2, 3, 3, 3, 4, 5]
    assert consumer.counts.failures == 2
    assert all(later - earlier >= 0.35 for earlier, later in itertools.pairwise(third))


async def test_an_event_handled_before_a_crash_is_acked_without_its_handler(stream, tmp_path: Path):
    event_id = str(uuid4())
    seen = SqliteSeen(tmp_path / "seen.db")
    seen.add(event_id)  # handled, then the process died before its ack reached the server
    seen.close()
    await stream.publish([_entry(1, event_id), _entry(2)])
    handled: list[int] = []

    consumer = stream.consumer(
        lambda d: handled.append(d.ledger_seq), seen=SqliteSeen(tmp_path / "seen.db")
    )
    async with running(consumer):
        await until(lambda: consumer.counts.handled == 1)
        await until(lambda: _settled(stream))

    assert handled == [2]
    assert consumer.counts.repeats == 1
    assert SqliteSeen(tmp_path / "seen.db").seen(event_id)


async def test_the_consumer_goes_on_after_the_server_restarts(servers, tmp_path: Path):
    server = NatsServer(tmp_path / "nats").start()
    settings = settings_for(servers, nats_url=server.url)
    made = Stream(settings)
    handled: list[int] = []
    try:
        nc = await nats.connect(server.url)
        await made.make(nc)
        await nc.close()
        await made.publish([_entry(n) for n in range(1, 4)])
        consumer = made.consumer(lambda d: handled.append(d.ledger_seq))
        async with running(consumer):
            await until(lambda: consumer.counts.handled == 3)

            server.stop()
            await until(lambda: not consumer.connected, 10)
            server.start()
            await made.publish([_entry(n) for n in range(4, 7)])
            await until(lambda: consumer.counts.handled == 6, 30)
    finally:
        server.stop()

    assert handled == [1, 2, 3, 4, 5, 6]
