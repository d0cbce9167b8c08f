"""The relay records its position when it is half a second old or once a poll passes quietly,
not at every pause of a steady trickle of commands (a transaction each, else); what it has
published is on record soon after the trickle stops."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from services.intake.application import IntakeApplication
from shared.events import ArrestRecorded
from shared.kit.bus import Bus
from shared.kit.relay import POSITION_EVERY, Relay
from shared.kit.store import CommandContext
from tests.support import arrest_payload


async def _stop(running: asyncio.Task[None], bus: Bus) -> None:
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    await bus.close()


def test_a_trickle_is_recorded_now_and_then_and_all_of_it_once_quiet(settings):  # type: ignore[no-untyped-def]
    app = IntakeApplication(settings)
    ctx = CommandContext(actor="police-1", agency="police-agency")
    saves: list[int] = []

    def arrest() -> None:
        app.record_arrest(ArrestRecorded.model_validate(arrest_payload()), ctx)

    async def trickle() -> tuple[int, float, int, int]:
        bus = Bus(settings, "intake")
        bus.start()
        relay = Relay(app, bus, poll_seconds=0.3)
        saving = relay._save_position

        def counted(position: int) -> None:
            saves.append(position)
            saving(position)

        relay._save_position = counted  # type: ignore[method-assign]
        app.listeners.append(relay.wake)
        running = asyncio.create_task(relay.run())
        try:
            loop = asyncio.get_running_loop()
            started, arrests = loop.time(), 0
            # A second and a half of it, and at least 15 commands on a slow or busy machine.
            while loop.time() - started < 1.5 or arrests < 15:
                await asyncio.to_thread(arrest)
                arrests += 1
                await asyncio.sleep(0.05)  # the relay catches up between two commands
            during = len(saves)
            elapsed = loop.time() - started
            await asyncio.sleep(0.8)  # more than a poll with nothing new
            newest = await asyncio.to_thread(app.recorder.max_notification_id)
            return arrests, elapsed, during, int(newest or 0)
        finally:
            await _stop(running, bus)

    try:
        arrests, elapsed, during, newest = asyncio.run(trickle())
        recorded = app.fetch("SELECT position FROM {schema}.relay_position WHERE id = 1")
    finally:
        app.shutdown()

    assert arrests >= 15
    assert during <= elapsed / POSITION_EVERY + 2  # not one a command
    assert saves[-1] == newest and int(recorded[0][0]) == newest


def test_caught_up_it_reads_once_an_event_and_misses_no_wake_up(settings):  # type: ignore[no-untyped-def]
    """A read short of a full batch is the log's end: the relay waits for the next wake-up
    instead of reading again. An event saved while it publishes has woken it already: it is
    published at once, not at the next poll (five seconds here)."""
    app = IntakeApplication(settings)
    ctx = CommandContext(actor="police-1", agency="police-agency")
    reads: list[int] = []

    def arrest() -> None:
        app.record_arrest(ArrestRecorded.model_validate(arrest_payload()), ctx)

    async def run() -> tuple[float | None, int, int]:
        bus = Bus(settings, "intake")
        bus.start()
        relay = Relay(app, bus, poll_seconds=5.0)
        reading = relay._next_batch

        def counted(position: int) -> Any:
            batch = reading(position)
            reads.append(len(batch))
            if len(reads) == 2:  # the first event, just read: another is saved meanwhile
                arrest()
            return batch

        relay._next_batch = counted  # type: ignore[method-assign]
        app.listeners.append(relay.wake)
        running = asyncio.create_task(relay.run())
        try:
            loop = asyncio.get_running_loop()
            await asyncio.sleep(0.3)  # the relay starts, finds nothing, waits
            started = loop.time()
            await asyncio.to_thread(arrest)
            both = None
            for _ in range(400):  # four seconds at most
                if relay.published >= 2:
                    both = loop.time() - started
                    break
                await asyncio.sleep(0.01)
            for _ in range(10):  # a trickle: one read an event
                await asyncio.to_thread(arrest)
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            return both, relay.published, len(reads)
        finally:
            await _stop(running, bus)

    try:
        both, published, read = asyncio.run(run())
    finally:
        app.shutdown()

    assert both is not None and both < 2.0  # not held until the next poll
    assert published == 12
    assert read <= 1 + 2 + 10 + 2  # the first empty read, the two, one per trickled event
