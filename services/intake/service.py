"""The intake process: its application, routes and relay, composed by the kit."""

from __future__ import annotations

from fastapi import FastAPI

from shared.kit.clock import Clock
from shared.kit.runtime import service_app
from shared.kit.settings import Settings

from services.intake.api import router
from services.intake.application import IntakeApplication
from services.intake.outbound import outbound

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return service_app(
        "intake",
        IntakeApplication,
        [router],
        settings=settings,
        clock=clock,
        outbound=outbound,
        description="Arrest, custody, evidence, transfers, admission, family contact, release.",
    )
