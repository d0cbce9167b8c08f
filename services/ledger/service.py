"""The ledger process: the durable consumer of every event, its store, checkpoints and routes,
and the agencies' deliveries over NATS and webhooks, composed by the kit.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import Any

from fastapi import FastAPI

from services.ledger.anchors import anchorer_for
from services.ledger.api import router
from services.ledger.application import LedgerApplication
from services.ledger.audit_api import router as audit_router
from services.ledger.checkpoints_api import router as checkpoints_router
from services.ledger.console_api import router as console_router
from services.ledger.deliveries import Deliveries
from services.ledger.deliveries_api import router as deliveries_router
from services.ledger.inbound import reactions
from services.ledger.reconcile_api import router as reconcile_router
from services.ledger.stats_api import router as stats_router
from services.ledger.webhooks import Webhooks
from services.ledger.webhooks_api import router as webhooks_router
from shared.agencies import load_agencies
from shared.kit.clock import Clock
from shared.kit.lifecycle import ServiceParts
from shared.kit.runtime import service_app
from shared.kit.settings import Settings

__all__ = ["create_app"]

routers = [
    router,
    checkpoints_router,
    reconcile_router,
    audit_router,
    deliveries_router,
    webhooks_router,
    console_router,
    stats_router,
]


def _background(parts: ServiceParts) -> Sequence[Coroutine[Any, Any, None]]:
    ledger: LedgerApplication = parts.application
    settings = parts.settings
    # An unreadable registry stops the start: delivering to no one would go unnoticed.
    agencies = load_agencies(settings.agencies_file) if settings.agencies_file else ()
    deliveries = Deliveries(ledger, parts.bus, agencies, metrics=parts.metrics)
    webhooks = Webhooks(ledger, agencies, settings)
    parts.extras.update(deliveries=deliveries, webhooks=webhooks)
    anchor_seconds = settings.audit_anchor_seconds
    anchorer = anchorer_for(settings, ledger.store, parts.audit) if anchor_seconds > 0 else None
    work = [ledger.checkpointer.run(), deliveries.run(), webhooks.run()]
    return [*work, anchorer.run(anchor_seconds)] if anchorer else work


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """The ledger service."""
    return service_app(
        "ledger",
        LedgerApplication,
        routers,
        settings=settings,
        clock=clock,
        reactions=reactions,
        background=_background,
        own_events=False,
        description="The append-only, hash-chained record of every event; timelines and proofs.",
    )
