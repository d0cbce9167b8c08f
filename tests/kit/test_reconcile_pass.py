"""A reconciliation pass over a real store and stream: it asks the ledger about every event it
published, builds (validates and signs) only the messages of those the ledger lacks, publishes
them again, and settles what the catalogue now refuses without publishing it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import nats

from services.intake.application import IntakeApplication
from shared.events import ArrestRecorded, parse_envelope
from shared.kit.bus import Bus
from shared.kit.origins import origin_keys
from shared.kit.reconcile import Reconciler, published_entries
from shared.kit.settings import Settings
from shared.kit.store import CommandContext
from tests.support import arrest_payload


class LedgerLacking:
    """The ledger's answer, from a set: it lacks these ids (and records every question)."""

    def __init__(self, lacking: set[UUID]) -> None:
        self.lacking = lacking
        self.asked: list[UUID] = []

    async def missing(self, event_ids: Sequence[UUID]) -> set[UUID]:
        self.asked += event_ids
        return {i for i in event_ids if i in self.lacking}


def _arrest(app: IntakeApplication, traceparent: str | None = None) -> UUID:
    ctx = CommandContext(actor="police-1", agency="police-agency", traceparent=traceparent)
    return app.record_arrest(ArrestRecorded.model_validate(arrest_payload()), ctx).event_id  # type: ignore[return-value]


def _published_up_to(app: IntakeApplication, position: int) -> None:
    """As the relay records it once the stream acknowledged everything up to `position`."""
    with app.cursor() as curs:
        curs.execute(
            app.store.fmt(
                "INSERT INTO {schema}.relay_position (id, position) VALUES (1, %s)"
                " ON CONFLICT (id) DO UPDATE SET position = excluded.position"
            ),
            (position,),
        )
        curs.connection.commit()


def _on_stream(settings: Settings) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        nc = await nats.connect(settings.nats_url)
        try:
            js = nc.jetstream()
            last = (await js.stream_info(settings.stream)).state.last_seq
            return [
                json.loads((await js.get_msg(settings.stream, s)).data) for s in range(1, last + 1)
            ]
        finally:
            await nc.close()

    return asyncio.run(go())


def _pass(app: IntakeApplication, settings: Settings, ledger: LedgerLacking, margin: float) -> Any:
    async def go() -> Any:
        bus = Bus(settings, "intake")
        bus.start()
        try:
            return await Reconciler(app, bus, ledger, margin_seconds=margin).run_once()
        finally:
            await bus.close()

    return asyncio.run(go())


def test_only_what_the_ledger_lacks_is_built_and_published_again(settings, caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.ERROR, logger="caseline.reconcile")
    app = IntakeApplication(settings)
    try:
        held, lost = _arrest(app), _arrest(app)
        refused = _arrest(
            app, traceparent="00-bad-trace-01"
        )  # as stored before headers were checked
        entries = published_entries(app, 1)
        _published_up_to(app, entries[-1].notification_id)
        ledger = LedgerLacking({lost, refused})

        young = _pass(app, settings, ledger, margin=3600)  # all younger than the margin
        report = _pass(app, settings, ledger, margin=0)
        again = _pass(app, settings, ledger, margin=0)
    finally:
        app.shutdown()

    assert {e.event_id for e in entries} >= {held, lost, refused}
    assert (young.checked, young.missing, young.republished, young.deferred) == (3, 2, 0, 2)
    # From the watermark the young pass left at the held event: the other two only.
    assert (report.checked, report.missing, report.republished, report.deferred) == (2, 2, 1, 0)
    assert report.watermark == entries[-1].notification_id
    assert (again.checked, again.missing) == (0, 0)  # the watermark moved past all three
    on_stream = _on_stream(settings)
    assert [m["id"] for m in on_stream] == [str(lost)]  # only the lost one, once
    assert origin_keys(settings).problem(on_stream[0], "intake") is None  # signed by intake
    parse_envelope(json.dumps(on_stream[0]).encode())
    errors = [r.getMessage() for r in caplog.records if str(refused) in r.getMessage()]
    assert len(errors) == 1
    assert "will not publish" in errors[0]
    assert "traceparent" in errors[0]
