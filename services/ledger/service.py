"""The ledger process: the durable consumer of every event, its store, checkpoints and routes,
and the agencies' deliveries over NATS and webhooks."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.ledger.anchors import anchorer_for
from services.ledger.api import router
from services.ledger.application import LedgerApplication
from services.ledger.audit_api import router as audit_router
from services.ledger.checkpoints_api import router as checkpoints_router
from services.ledger.console_api import router as console_router
from services.ledger.deliveries import Deliveries
from services.ledger.deliveries_api import router as deliveries_router
from services.ledger.inbound import LedgerIntake
from services.ledger.reconcile_api import router as reconcile_router
from services.ledger.webhooks import Webhooks
from services.ledger.webhooks_api import router as webhooks_router
from shared.agencies import load_agencies
from shared.kit.bus import Bus
from shared.kit.clock import Clock
from shared.kit.http import create_service_app
from shared.kit.lifecycle import ServiceParts
from shared.kit.migrations import open_migrated
from shared.kit.origins import origin_keys
from shared.kit.settings import Settings
from shared.kit.subscriber import Subscriber

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    held: dict[str, Deliveries] = {}

    async def start(parts: ServiceParts) -> None:
        ledger = await asyncio.to_thread(
            open_migrated, settings, "ledger", lambda: LedgerApplication(settings, clock)
        )
        parts.application = ledger
        parts.access = ledger.access
        bus = Bus(settings, "ledger")
        bus.start()
        parts.bus = bus
        # An unreadable registry stops the start: delivering to no one would go unnoticed.
        agencies = load_agencies(settings.agencies_file) if settings.agencies_file else ()
        deliveries = Deliveries(ledger, bus, agencies, metrics=parts.metrics)
        held["deliveries"] = deliveries
        intake = LedgerIntake(
            ledger.store, settings.subject_prefix, ledger.note_access, keys=origin_keys(settings)
        )
        consumer = Subscriber(
            bus,
            "ledger",
            ["caseline.>"],
            intake,
            parts.metrics,
            # One transaction (and one tree extension) for up to this many events: a backlog is
            # appended in a few large batches; a live event is fetched at once all the same.
            batch=LedgerIntake.batch,
        )
        parts.tasks.append(asyncio.create_task(consumer.run(), name="ledger-consumer"))
        parts.tasks.append(
            asyncio.create_task(ledger.checkpointer.run(), name="ledger-checkpoints")
        )
        parts.tasks.append(asyncio.create_task(deliveries.run(), name="ledger-deliveries"))
        webhooks = Webhooks(ledger, agencies, settings)
        parts.extras["webhooks"] = webhooks
        parts.tasks.append(asyncio.create_task(webhooks.run(), name="ledger-webhooks"))
        if settings.audit_anchor_seconds > 0:
            anchorer = anchorer_for(settings, ledger.store, parts.audit)
            task = anchorer.run(settings.audit_anchor_seconds)
            parts.tasks.append(asyncio.create_task(task, name="ledger-audit-anchors"))

        async def database() -> str | None:
            try:
                await asyncio.to_thread(ledger.ping)
            except Exception:
                return "the database is unreachable"
            return None

        parts.readiness += [database, bus.readiness]

    async def stop(parts: ServiceParts) -> None:
        if parts.application is not None:
            await asyncio.to_thread(parts.application.close)
            parts.application = None

    app = create_service_app(
        "ledger",
        settings,
        routers=[
            router,
            checkpoints_router,
            reconcile_router,
            audit_router,
            deliveries_router,
            webhooks_router,
            console_router,
        ],
        start=start,
        stop=stop,
        description="The append-only, hash-chained record of every event; timelines and proofs.",
    )
    app.state.deliveries = held
    return app
