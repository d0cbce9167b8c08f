"""The FastAPI app of a service process, composed from the kit's HTTP parts.

`create_service_app` builds the application, the bus, the relay and the subscribers in the
lifespan (through `start`) and closes them on shutdown (`shared.kit.lifecycle`); every route
passes the read guard (`shared.kit.access`), every error is a problem (`shared.kit.problems`),
every request goes through the middleware (`shared.kit.middleware`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from shared.kit.access import ReadGuard
from shared.kit.audit import open_read_audit
from shared.kit.audit_routes import audit_router
from shared.kit.docs import install_docs
from shared.kit.health import health_router
from shared.kit.lifecycle import ServiceParts, stop_parts, wait_for_database
from shared.kit.metrics import Metrics
from shared.kit.middleware import install_middleware
from shared.kit.problems import PROBLEM_RESPONSES, LanguageMiddleware, install_problem_handlers
from shared.kit.settings import Settings

__all__ = ["create_service_app"]


def create_service_app(
    service: str,
    settings: Settings,
    *,
    routers: Sequence[APIRouter],
    start: Callable[[ServiceParts], Awaitable[None]],
    stop: Callable[[ServiceParts], Awaitable[None]] | None = None,
    description: str = "",
) -> FastAPI:
    """A FastAPI app for one service: `start` builds its parts in the lifespan."""
    metrics = Metrics(service)
    parts = ServiceParts(settings, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await wait_for_database(settings, service)
        await open_read_audit(parts, service)
        await start(parts)
        try:
            yield
        finally:
            await stop_parts(parts, stop)

    app = FastAPI(
        title=f"Caseline {service}",
        description=description,
        version="1",
        lifespan=lifespan,
        dependencies=[Depends(ReadGuard(service, lambda: parts.audit, lambda: parts.access))],
        responses=PROBLEM_RESPONSES,
        docs_url=None,
    )
    app.state.settings = settings
    app.state.parts = parts
    app.state.metrics = metrics
    install_problem_handlers(app)
    install_middleware(app, metrics)
    install_console_cors(app, settings)
    app.add_middleware(LanguageMiddleware, default=settings.default_language)
    app.include_router(health_router(service, parts))
    app.include_router(audit_router)
    for router in routers:
        app.include_router(router)
    # Health, readiness, metrics and the event types' schemas are open to all.
    install_docs(app, open_paths=("/healthz", "/readyz", "/metrics", "/schemas/{name}"))
    return app


CONSOLE_HEADERS = ("Authorization", "Caseline-Purpose", "Content-Type", "Idempotency-Key")


def install_console_cors(app: FastAPI, settings: Settings) -> None:
    """Let the console's pages, and only them, call this service from a browser.

    One named origin, never `*`; no credentials (no cookie is used: the bearer token travels in
    `Authorization`, which the page sets itself). Outermost, so a preflight is answered before the
    body checks and the read guard, which it never reaches."""
    if settings.console_origin:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[settings.console_origin],
            allow_methods=["GET", "POST"],
            allow_headers=list(CONSOLE_HEADERS),
            expose_headers=["ETag", "Location"],
            allow_credentials=False,
            max_age=600,
        )
