"""A durable consumer whose configuration changed between releases takes the new one on start.

Over a real NATS server: a consumer created with one filter, started again by a release that asks
for another, receives what the new filter selects — not what the old one did.
"""

from __future__ import annotations

import asyncio
import threading

from shared.kit.bus import Bus
from shared.kit.subscriber import ACK, Subscriber


async def test_a_changed_filter_of_an_existing_durable_consumer_is_applied(settings):
    bus = Bus(settings, "config-test")
    bus.start()
    js = await bus.jetstream()
    seen: list[str] = []
    got = threading.Event()

    def handle(deliveries):  # type: ignore[no-untyped-def]
        seen.extend(d.subject for d in deliveries)
        got.set()
        return [ACK] * len(deliveries)

    async def run_once(filters: list[str]) -> None:
        got.clear()
        task = asyncio.create_task(Subscriber(bus, "reconfigured", filters, handle).run())
        for _ in range(100):
            if got.is_set():
                break
            await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    try:
        await js.publish(bus.prefixed("caseline.intake.ArrestRecorded.case-1"), b"{}")
        await run_once(["caseline.intake.>"])
        await js.publish(bus.prefixed("caseline.intake.ArrestRecorded.case-2"), b"{}")
        await js.publish(bus.prefixed("caseline.judicial.ChargesFiled.case-2"), b"{}")
        await run_once(["caseline.judicial.>"])
        info = await js.consumer_info(settings.stream, "reconfigured")
    finally:
        await bus.close()

    assert [s.rsplit(".", 3)[-3] for s in seen] == ["intake", "judicial"]
    assert info.config.filter_subject == bus.prefixed("caseline.judicial.>")
