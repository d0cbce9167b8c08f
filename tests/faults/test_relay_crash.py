"""A relay that dies after publishing but before recording its position duplicates nothing.

The crash is injected into the real relay (its position save fails once); a fresh relay then
resumes from the old position and publishes the same events again, as after a kill -9.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from uuid import UUID

import pytest

from caseline.reconcile import load_service
from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from shared.kit.bus import Bus
from shared.kit.relay import Relay
from shared.kit.servers import NatsServer, free_port
from shared.kit.settings import Settings
from tests.faults.harness import ROWS, audit, ledger_entries, record_cases
from tests.support import auth, eventually, running

CASES = 10


class KilledError(RuntimeError):
    """The injected crash: the process died before the position reached the database."""


class KilledBeforeSavingRelay(Relay):
    """The real relay, killed between the broker's acks and the position's commit."""

    def _save_position(self, position: int) -> None:
        raise KilledError(f"killed before recording position {position}")


def record_offline(settings: Settings) -> list[UUID]:
    """Arrest and admit CASES people through intake's API, with its relay unable to publish."""
    offline = settings.model_copy(update={"nats_url": f"nats://127.0.0.1:{free_port()}"})
    with running(intake_app(offline)) as intake:
        return record_cases(intake, settings, CASES)


async def publish(settings: Settings, relay_class: type[Relay]) -> tuple[int, int]:
    """One relay step on intake's store; returns (messages in the stream, position recorded)."""
    app = await asyncio.to_thread(load_service("intake"), settings)
    bus = Bus(settings, "intake")
    bus.start()
    relay = relay_class(app, bus)
    try:
        with contextlib.suppress(KilledError):
            await relay.step()
        messages = (await (await bus.jetstream()).stream_info(settings.stream)).state.messages
        return int(messages), await asyncio.to_thread(relay.position)
    finally:
        await bus.close()
        await asyncio.to_thread(app.factory.close)


async def stream_messages(settings: Settings) -> int:
    bus = Bus(settings, "probe")
    bus.start()
    try:
        js = await bus.jetstream()
        return int((await js.stream_info(settings.stream)).state.messages)
    finally:
        await bus.close()


@pytest.fixture
def crashed_then_resumed(settings: Settings) -> Iterator[tuple[list[UUID], tuple, tuple]]:
    acked = record_offline(settings)
    crashed = asyncio.run(publish(settings, KilledBeforeSavingRelay))
    resumed = asyncio.run(publish(settings, Relay))
    return acked, crashed, resumed


def test_a_relay_killed_before_recording_its_position_duplicates_nothing(
    settings, crashed_then_resumed
):
    acked, crashed, resumed = crashed_then_resumed
    auditor = auth(settings, "auditor")

    with running(ledger_app(settings)) as ledger:
        eventually(lambda: len(ledger_entries(ledger, auditor)) >= len(acked))
        result = audit(
            "relay killed after publishing, before its position",
            settings,
            ledger,
            auditor,
            sent=len(acked),
            acknowledged=acked,
        )
    ROWS.append(result)

    assert crashed == (2 * CASES, 0)  # all published, none recorded as published
    assert resumed[0] == 2 * CASES  # the broker dropped the re-published copies
    assert resumed[1] > 0
    assert result.clean, result


def test_a_relay_resuming_after_the_broker_forgot_the_ids_duplicates_nothing_in_the_ledger(
    settings_factory, own_nats: NatsServer
):
    settings = settings_factory(nats_url=own_nats.url)
    auditor = auth(settings, "auditor")
    acked = record_offline(settings)
    asyncio.run(publish(settings, KilledBeforeSavingRelay))

    with running(ledger_app(settings)) as ledger:
        eventually(lambda: len(ledger_entries(ledger, auditor)) == len(acked))
        # The broker forgets: its copies are gone and, after a restart, so is its duplicate window.
        asyncio.run(purge(settings))
        own_nats.kill()
        own_nats.start()
        asyncio.run(publish(settings, Relay))
        eventually(lambda: asyncio.run(stream_messages(settings)) == len(acked), interval=0.2)
        eventually(lambda: consumer_done(ledger, settings), interval=0.2)
        result = audit(
            "relay resumed after the broker forgot the ids",
            settings,
            ledger,
            auditor,
            sent=len(acked),
            acknowledged=acked,
        )
    ROWS.append(result)

    assert result.clean, result


async def purge(settings: Settings) -> None:
    bus = Bus(settings, "probe")
    bus.start()
    try:
        js = await bus.jetstream()
        await js.purge_stream(settings.stream)
    finally:
        await bus.close()


def consumer_done(ledger, settings: Settings) -> bool:
    """The ledger's consumer has acknowledged everything in the stream."""

    async def pending() -> int:
        bus = Bus(settings, "probe")
        bus.start()
        try:
            js = await bus.jetstream()
            info = await js.consumer_info(settings.stream, "ledger")
            return int(info.num_pending) + int(info.num_ack_pending)
        finally:
            await bus.close()

    return asyncio.run(pending()) == 0


async def publish_in_steps(settings: Settings, batch: int) -> tuple[list[int], int, int]:
    """Relay steps of `batch` events without pause, the relay then dropped as if killed: the
    position recorded after each step, the stream's messages, and the position a successor
    recorded once it had published the rest."""
    app = await asyncio.to_thread(load_service("intake"), settings)
    bus = Bus(settings, "intake")
    bus.start()
    try:
        first = Relay(app, bus, batch=batch)
        recorded = []
        while await first.step():
            recorded.append(await asyncio.to_thread(first.position))
        # Killed: the position of the last steps never reached the database.
        successor = Relay(app, bus, batch=batch)
        while await successor.step():
            pass
        await successor.save_position()
        messages = (await (await bus.jetstream()).stream_info(settings.stream)).state.messages
        return recorded, int(messages), await asyncio.to_thread(successor.position)
    finally:
        await bus.close()
        await asyncio.to_thread(app.factory.close)


def test_a_relay_records_its_position_now_and_then_and_its_successor_duplicates_nothing(
    settings,
):
    acked = record_offline(settings)
    recorded, messages, final = asyncio.run(publish_in_steps(settings, batch=4))

    assert recorded[0] == 4  # a relay's first position is recorded at once
    assert recorded[-1] < len(acked)  # the last steps' positions were not, yet
    assert messages == len(acked)  # what the successor published again was dropped
    assert final == len(acked)
