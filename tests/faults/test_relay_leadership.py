"""The relay keeps its position in memory while it holds the lock, and reads it again when it takes
the lock back: another replica may have published meanwhile, and nothing is published twice."""

from __future__ import annotations

import asyncio

from caseline.reconcile import load_service
from services.intake.service import create_app as intake_app
from shared.kit.bus import Bus
from shared.kit.relay import Relay
from shared.kit.servers import free_port
from shared.kit.settings import Settings
from tests.faults.harness import record_cases
from tests.support import running


def _record_offline(settings: Settings, cases: int) -> int:
    offline = settings.model_copy(update={"nats_url": f"nats://127.0.0.1:{free_port()}"})
    with running(intake_app(offline)) as intake:
        return len(record_cases(intake, settings, cases))


async def _publish(relay: Relay) -> int:
    assert await asyncio.to_thread(relay._hold_leadership)
    try:
        return await relay.step()
    finally:
        await asyncio.to_thread(relay._release_leadership)


def test_a_relay_taking_the_lock_back_goes_on_from_where_the_other_replica_left_off(settings):
    first = _record_offline(settings, 2)

    async def scenario() -> tuple[int, int, int]:
        app = await asyncio.to_thread(load_service("intake"), settings)
        bus = Bus(settings, "replicas")
        bus.start()
        a, b = Relay(app, bus), Relay(app, bus)
        try:
            await _publish(a)
            await asyncio.to_thread(_record_offline, settings, 2)
            await _publish(b)  # a lost the lock meanwhile; b published what came since
            moved = await _publish(a)
            return a.published, b.published, moved
        finally:
            await bus.close()
            await asyncio.to_thread(app.factory.close)

    a, b, moved = asyncio.run(scenario())

    assert (a, b) == (first, first)
    assert moved == 0
