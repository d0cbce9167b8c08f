"""A durable consumer follows its subscriber's configuration: a process started with a changed
batch size updates the consumer it finds, instead of running on the old one's limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from nats.js.errors import NotFoundError

from shared.kit.bus import Bus
from shared.kit.subscriber import ACK, Delivery, Outcome, Subscriber


def _ack_all(deliveries: Sequence[Delivery]) -> list[Outcome]:
    return [ACK] * len(deliveries)


async def _max_ack_pending(bus: Bus, durable: str, wanted: int, seconds: float = 20.0) -> int:
    js = await bus.jetstream()
    deadline, seen = time.monotonic() + seconds, -1
    while time.monotonic() < deadline:
        try:
            info = await js.consumer_info(bus.settings.stream, durable)
        except NotFoundError:  # not created yet
            await asyncio.sleep(0.05)
            continue
        seen = info.config.max_ack_pending or -1
        if seen == wanted:
            break
        await asyncio.sleep(0.05)
    return seen


async def _run_once(bus: Bus, batch: int) -> int:
    subscriber = Subscriber(bus, "config-probe", ["caseline.intake.>"], _ack_all, batch=batch)
    task = asyncio.create_task(subscriber.run())
    try:
        return await _max_ack_pending(bus, subscriber.durable, batch)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_subscriber_started_with_a_new_batch_size_updates_its_durable_consumer(settings):
    bus = Bus(settings, "config-test")
    bus.start()
    try:
        before = await _run_once(bus, 16)

        after = await _run_once(bus, 48)
    finally:
        await bus.close()

    assert before == 16
    assert after == 48
