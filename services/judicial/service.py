"""The judicial process: its application, routes, relay, what it follows of intake's record,
and the deadline checker that runs at start-up and every `CASELINE_DEADLINE_CHECK_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import Any

from fastapi import FastAPI

from services.judicial.api import routers
from services.judicial.application import JudicialApplication
from services.judicial.inbound import reactions
from shared.kit.clock import Clock
from shared.kit.lifecycle import ServiceParts
from shared.kit.runtime import every, service_app
from shared.kit.settings import Settings

__all__ = ["create_app"]


def _background(parts: ServiceParts) -> Sequence[Coroutine[Any, Any, None]]:
    # At start-up (limits that passed while judicial was down), then every interval.
    app: JudicialApplication = parts.application

    def check_deadlines() -> None:
        parts.metrics.deadline_breaches.inc(len(app.detect_breaches()))
        app.seal_due_cases()

    return [every(parts.settings.deadline_check_seconds, check_deadlines, "deadline check")]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """The judicial service."""
    return service_app(
        "judicial",
        JudicialApplication,
        routers,
        settings=settings,
        clock=clock,
        reactions=reactions,
        background=_background,
        description="Charges, detention orders and legal deadlines, hearings, verdict, sentence, "
        "release orders.",
    )
