"""The programmes process: its application, routes, relay and reactions, composed by the kit."""

from __future__ import annotations

from fastapi import FastAPI

from services.programmes.api import routers
from services.programmes.application import ProgrammesApplication
from services.programmes.inbound import reactions
from shared.kit.clock import Clock
from shared.kit.runtime import service_app
from shared.kit.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return service_app(
        "programmes",
        ProgrammesApplication,
        routers,
        settings=settings,
        clock=clock,
        reactions=reactions,
        description=(
            "Programme catalogue, enrolment and attendance, referrals between agencies,"
            " reintegration plans and post-release follow-up."
        ),
    )
