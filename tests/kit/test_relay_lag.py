"""The relay's lag gauge counts what is recorded and not yet published, as of its latest read:
from the batch itself when it is short of full, from the log's newest notification otherwise."""

from __future__ import annotations

import asyncio

from services.intake.application import IntakeApplication
from shared.events import ArrestRecorded
from shared.kit.bus import Bus
from shared.kit.metrics import Metrics
from shared.kit.relay import Relay
from shared.kit.store import CommandContext
from tests.support import arrest_payload


def test_the_lag_is_what_each_read_found_waiting(settings):  # type: ignore[no-untyped-def]
    app = IntakeApplication(settings)
    ctx = CommandContext(actor="police-1", agency="police-agency")
    metrics = Metrics("intake")

    def record(count: int) -> None:
        for _ in range(count):
            app.record_arrest(ArrestRecorded.model_validate(arrest_payload()), ctx)

    def lag() -> float:
        return float(metrics.relay_lag_events._value.get())

    async def steps() -> list[tuple[int, float]]:
        bus = Bus(settings, "intake")
        bus.start()
        relay = Relay(app, bus, metrics, batch=10)
        seen = []
        try:
            await asyncio.to_thread(record, 5)
            seen.append((await relay.step(), lag()))  # 5 of at most 10: short of full
            await asyncio.to_thread(record, 3)
            relay.batch = 3
            seen.append((await relay.step(), lag()))  # exactly full: the newest is asked for
            seen.append((await relay.step(), lag()))  # nothing left
        finally:
            await bus.close()
        return seen

    try:
        seen = asyncio.run(steps())
    finally:
        app.shutdown()

    assert seen == [(5, 5.0), (3, 3.0), (0, 0.0)]
