"""The assessment process: its application, routes, relay, reactions to intake, and the
publication of the default instrument at start-up.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fastapi import FastAPI

from services.assessment.api import routers
from services.assessment.application import AssessmentApplication
from services.assessment.inbound import reactions
from services.assessment.instruments import DEFAULT_INSTRUMENT, publish_instrument_file
from shared.kit.clock import Clock
from shared.kit.lifecycle import ServiceParts
from shared.kit.runtime import service_app
from shared.kit.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger("caseline.assessment")


async def _publish_default(parts: ServiceParts, path: Path) -> None:
    delay = 0.5
    for _ in range(8):
        try:
            await asyncio.to_thread(publish_instrument_file, parts.application, path)
            return
        except (OSError, ValueError) as exc:
            log.error("the instrument file %s cannot be published: %s", path.name, exc)
            return
        except Exception as exc:
            log.warning("publishing %s waits: %s", path.name, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


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
            [_publish_default(parts, instrument_file)] if instrument_file else []
        ),
        description=(
            "Versioned assessment instruments, structured professional judgement with four eyes, "
            "needs, placement and the review schedule."
        ),
    )
