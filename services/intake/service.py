"""The intake process: its application, routes, relay and reactions, composed by the kit."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake.api import routers
from services.intake.application import IntakeApplication
from services.intake.inbound import reactions
from shared.kit.clock import Clock
from shared.kit.runtime import service_app
from shared.kit.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """The intake service."""
    return service_app(
        "intake",
        IntakeApplication,
        routers,
        settings=settings,
        clock=clock,
        reactions=reactions,
        description="Arrest, custody, evidence, transfers, admission, family contact, release.",
    )
