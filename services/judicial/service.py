"""The judicial process: its application, routes, relay, what it follows of intake's record,
and the deadline checker that runs at start-up and every `CASELINE_DEADLINE_CHECK_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from fastapi import FastAPI

from services.judicial.api import cases, deadlines, entries
from services.judicial.application import JudicialApplication
from shared.events.intake import (
    ArrestRecorded,
    CustodyExtended,
    CustodyStarted,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
)
from shared.events.voiding import IntakeEntryVoided
from shared.kit.clock import Clock
from shared.kit.lifecycle import ServiceParts
from shared.kit.runtime import service_app
from shared.kit.settings import Settings
from shared.kit.subscriber import Reactions

__all__ = ["check_deadlines", "create_app"]

log = logging.getLogger("caseline.judicial")

_FOLLOWED = (
    ArrestRecorded,
    CustodyStarted,
    CustodyExtended,
    DetaineeAdmitted,
    DetaineeTransferred,
    DetaineeReleased,
    IntakeEntryVoided,
)


def _reactions(app: Any) -> list[Reactions]:
    # One consumer for the whole of intake's record, so that it is followed in recording order.
    return [Reactions(app, "intake-record", dict.fromkeys(_FOLLOWED, app.on_intake_event))]


async def check_deadlines(parts: ServiceParts) -> None:
    """At start-up (limits that passed while judicial was down), then every interval."""
    app: JudicialApplication = parts.application
    while True:
        try:
            breached = await asyncio.to_thread(app.detect_breaches)
            parts.metrics.deadline_breaches.inc(len(breached))
            await asyncio.to_thread(app.seal_due_cases)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("deadline check failed, retrying at the next interval: %s", exc)
        await asyncio.sleep(parts.settings.deadline_check_seconds)


def _background(parts: ServiceParts) -> Sequence[Coroutine[Any, Any, None]]:
    return [check_deadlines(parts)]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return service_app(
        "judicial",
        JudicialApplication,
        [cases, entries, deadlines],
        settings=settings,
        clock=clock,
        reactions=_reactions,
        background=_background,
        description="Charges, detention orders and legal deadlines, hearings, verdict, sentence, "
        "release orders.",
    )
