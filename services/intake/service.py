"""The intake process: its application, routes, relay and reactions, composed by the kit."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.intake.api import entries, router
from services.intake.application import IntakeApplication
from shared.events.judicial import ErasureOrdered, ReleaseOrdered
from shared.events.voiding import JudicialEntryVoided
from shared.kit.clock import Clock
from shared.kit.runtime import service_app
from shared.kit.settings import Settings
from shared.kit.subscriber import Reactions

__all__ = ["create_app"]


def _reactions(app: Any) -> list[Reactions]:
    # One consumer (named for its first use): judicial's orders and their voidings are handled in
    # the order judicial recorded them.
    return [
        Reactions(
            app,
            "release-orders",
            {
                ReleaseOrdered: app.on_release_ordered,
                ErasureOrdered: app.on_erasure_ordered,
                JudicialEntryVoided: app.on_judicial_entry_voided,
            },
        )
    ]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return service_app(
        "intake",
        IntakeApplication,
        [router, entries],
        settings=settings,
        clock=clock,
        reactions=_reactions,
        description="Arrest, custody, evidence, transfers, admission, family contact, release.",
    )
