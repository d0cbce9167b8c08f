"""The assessment process: its application, routes, relay, reactions to intake, and the
publication of the default instrument at start-up.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.assessment.api import routers
from services.assessment.application import AssessmentApplication
from services.assessment.inbound import reactions
from services.assessment.instruments import DEFAULT_INSTRUMENT, publish_at_start
from shared.kit.clock import Clock
from shared.kit.runtime import service_app
from shared.kit.settings import Settings

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    instrument_file: Path | None = DEFAULT_INSTRUMENT,
) -> FastAPI:
    """The assessment service; `instrument_file=None` publishes no instrument at start-up."""
    return service_app(
        "assessment",
        AssessmentApplication,
        routers,
        settings=settings,
        clock=clock,
        reactions=reactions,
        background=lambda parts: (
            [publish_at_start(parts.application, instrument_file)] if instrument_file else []
        ),
        description=(
            "Versioned assessment instruments, structured professional judgement with four eyes, "
            "needs, placement and the review schedule."
        ),
    )
