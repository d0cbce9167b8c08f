"""The ledger process: the durable consumer of every event, the store and the routes."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from shared.kit.bus import Bus
from shared.kit.http import ServiceParts, create_service_app
from shared.kit.settings import Settings
from shared.kit.subscriber import Subscriber

from services.ledger.api import router
from services.ledger.inbound import LedgerIntake
from services.ledger.store import LedgerStore

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start(parts: ServiceParts) -> None:
        store = LedgerStore(settings, pool_size=settings.pool_size)
        await asyncio.to_thread(store.create)
        parts.application = store
        bus = Bus(settings, "ledger")
        bus.start()
        parts.bus = bus
        consumer = Subscriber(
            bus, "ledger", ["caseline.>"], LedgerIntake(store, settings.subject_prefix), parts.metrics
        )
        parts.tasks.append(asyncio.create_task(consumer.run(), name="ledger-consumer"))

        async def database() -> str | None:
            try:
                await asyncio.to_thread(store.ping)
            except Exception:
                return "the database is unreachable"
            return None

        parts.readiness += [database, bus.readiness]

    async def stop(parts: ServiceParts) -> None:
        if parts.application is not None:
            await asyncio.to_thread(parts.application.close)
            parts.application = None

    return create_service_app(
        "ledger",
        settings,
        routers=[router],
        start=start,
        stop=stop,
        description="The append-only, hash-chained record of every event; timelines and proofs.",
    )
