"""The relay records its position when it is half a second old or once a poll passes quietly,
not at every pause of a steady trickle of commands (a transaction each, else); what it has
published is on record soon after the trickle stops."""

from __future__ import annotations

import asyncio
import contextlib

from services.intake.application import IntakeApplication
from shared.events import ArrestRecorded
from shared.kit.bus import Bus
from shared.kit.relay import POSITION_EVERY, Relay
from shared.kit.store import CommandContext
from tests.support import arrest_payload


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
            while loop.time() - started < 1.5:
                await asyncio.to_thread(arrest)
                arrests += 1
                await asyncio.sleep(0.05)  # the relay catches up between two commands
            during = len(saves)
            elapsed = loop.time() - started
            await asyncio.sleep(0.8)  # more than a poll with nothing new
            newest = await asyncio.to_thread(app.recorder.max_notification_id)
            return arrests, elapsed, during, int(newest or 0)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await bus.close()

    try:
        arrests, elapsed, during, newest = asyncio.run(trickle())
        recorded = app.fetch("SELECT position FROM {schema}.relay_position WHERE id = 1")
    finally:
        app.shutdown()

    assert arrests >= 15
    assert during <= elapsed / POSITION_EVERY + 2  # not one a command
    assert saves[-1] == newest and int(recorded[0][0]) == newest
