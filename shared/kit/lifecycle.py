"""What a service process builds when it starts and closes when it stops (`ServiceParts`).

Stopping is bounded step by step: a process must stop even if NATS or PostgreSQL stopped
answering (unfinished work is redelivered or re-published anyway).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from shared.kit.metrics import Metrics
from shared.kit.settings import Settings

__all__ = ["ServiceParts", "stop_parts"]

log = logging.getLogger("caseline.http")


class ServiceParts:
    """What a service's lifespan built: the application, bus, metrics and background tasks."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.application: Any = None
        self.bus: Any = None
        self.relay: Any = None
        self.audit: Any = None
        self.access: Any = None
        """The service's `CaseAccess`: which cases a caller may see or act on."""
        self.tasks: list[asyncio.Task[Any]] = []
        self.readiness: list[Callable[[], Awaitable[str | None]]] = []
        self.extras: dict[str, Any] = {}
        """A service's own parts its routes reach (by name)."""


async def _bounded(step: Awaitable[Any], what: str, seconds: float = 15.0) -> None:
    """One step of stopping, never waited on forever."""
    try:
        await asyncio.wait_for(step, timeout=seconds)
    except TimeoutError:
        log.warning("stopping: %s did not finish within %.0f s", what, seconds)
    except Exception as exc:
        log.warning("stopping: %s failed: %r", what, exc)


async def stop_parts(
    parts: ServiceParts, stop: Callable[[ServiceParts], Awaitable[None]] | None
) -> None:
    """Cancel the background tasks, then stop the service's own parts, NATS, the read audit and
    the database pools, in that order."""
    for task in parts.tasks:
        task.cancel()
    if parts.tasks:
        await _bounded(asyncio.gather(*parts.tasks, return_exceptions=True), "background tasks")
    if stop is not None:
        await _bounded(stop(parts), "the service's own parts")
    if parts.bus is not None:
        await _bounded(parts.bus.close(), "the NATS connection")
    if parts.audit is not None:
        await _bounded(asyncio.to_thread(parts.audit.close), "the read audit")
    if parts.application is not None:
        await _bounded(asyncio.to_thread(parts.application.shutdown), "the database pools")
