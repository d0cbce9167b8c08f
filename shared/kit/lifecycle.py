"""What a service process builds when it starts and closes when it stops (`ServiceParts`).

Starting waits for PostgreSQL (`wait_for_database`): a service started before its database keeps
running and says so, with a bounded back-off, until the database answers or the wait's limit
(`startup_wait_seconds`) is reached; NATS is waited for by the bus, which reconnects forever.
Stopping is bounded step by step: a process must stop even if NATS or PostgreSQL stopped
answering (unfinished work is redelivered or re-published anyway).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from shared.kit.metrics import Metrics
from shared.kit.settings import Settings

__all__ = ["ServiceParts", "stop_parts", "wait_for_database"]

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


def _ping(conninfo: str) -> None:
    with psycopg.connect(conninfo, connect_timeout=3) as conn:
        conn.execute("SELECT 1")


async def wait_for_database(
    settings: Settings, service: str, *, first_delay: float = 0.5, max_delay: float = 5.0
) -> float:
    """Seconds waited until PostgreSQL accepts the service's connection: tried at once, then
    after 0.5 s, 1 s, 2 s … (at most `max_delay` apart), each failure logged with the next try's
    delay; past `startup_wait_seconds` the start fails with what the database last answered."""
    if not settings.database_url:
        return 0.0
    where = f"{settings.database.host}:{settings.database.port}"
    started = time.monotonic()
    delay = first_delay
    attempt = 0
    while True:
        attempt += 1
        try:
            await asyncio.to_thread(_ping, settings.database.conninfo())
        except psycopg.OperationalError as exc:
            waited = time.monotonic() - started
            reason = " ".join(str(exc).split()) or type(exc).__name__
            if waited + delay > settings.startup_wait_seconds:
                raise RuntimeError(
                    f"{service}: PostgreSQL at {where} did not answer within"
                    f" {settings.startup_wait_seconds:g} s ({attempt} tries): {reason}"
                ) from exc
            log.warning(
                "%s: waiting for PostgreSQL at %s (try %d, %.1f s so far, next in %.1f s): %s",
                service, where, attempt, waited, delay, reason,
            )  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
            continue
        waited = time.monotonic() - started
        if attempt > 1:
            log.info("%s: PostgreSQL at %s answered after %.1f s", service, where, waited)
        return waited


async def _bounded(step: Awaitable[Any], what: str, seconds: float = 15.0) -> None:
    """One step of stopping, never waited on forever."""
    try:
        await asyncio.wait_for(step, timeout=seconds)
    except TimeoutError:
        log.warning("stopping: %s did not finish within %.0f s", what, seconds)
    except Exception as exc:
        log.warning("stopping: %s failed: %r", what, exc)


CANCEL_AGAIN_SECONDS = 1.0
"""How long a background task has to end once cancelled before it is cancelled again."""


async def _cancelled(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel the tasks and wait until they have ended, cancelling again those still running
    after `CANCEL_AGAIN_SECONDS`, and then every half second.

    A cancellation can be lost: before Python 3.12, `asyncio.wait_for` returns the result instead
    of raising when its future completes as the cancellation comes, and nats-py waits for every
    answer of the server with it. A task starting (making its stream or consumer) as the service
    stops would then go on running until `_bounded` gives up on it. The grace leaves a task
    that ends its batch in hand on cancellation (relay, consumers) the time to do so."""
    pending = {task for task in tasks if not task.done()}
    grace = CANCEL_AGAIN_SECONDS
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=grace)
        grace = 0.5
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.debug("background task %s ended with %r", task.get_name(), task.exception())


async def stop_parts(
    parts: ServiceParts, stop: Callable[[ServiceParts], Awaitable[None]] | None
) -> None:
    """Cancel the background tasks, then stop the service's own parts, NATS, the read audit and
    the database pools, in that order."""
    if parts.tasks:
        await _bounded(_cancelled(parts.tasks), "background tasks")
    if stop is not None:
        await _bounded(stop(parts), "the service's own parts")
    if parts.bus is not None:
        await _bounded(parts.bus.close(), "the NATS connection")
    if parts.audit is not None:
        await _bounded(asyncio.to_thread(parts.audit.close), "the read audit")
    if parts.application is not None:
        await _bounded(asyncio.to_thread(parts.application.shutdown), "the database pools")
