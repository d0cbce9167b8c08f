"""The health routes of every service: alive, ready (its dependencies answer) and its metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from shared.kit.lifecycle import ServiceParts
from shared.kit.problems import problem

__all__ = ["health_router"]


def health_router(service: str, parts: ServiceParts) -> APIRouter:
    """`/healthz`, `/readyz` (503 with the reasons) and `/metrics` for one service process."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok", "service": service}

    @router.get("/readyz")
    async def readyz() -> Response:
        """The database and NATS are reachable; 503 with the reason otherwise."""
        reasons = [r for check in parts.readiness if (r := await check())]
        if reasons:
            return problem(503, "Not ready", "; ".join(reasons), "not-ready")
        return JSONResponse({"status": "ready", "service": service})

    @router.get(
        "/metrics",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics_route() -> Response:
        """Prometheus metrics of this process."""
        return Response(parts.metrics.render(), media_type="text/plain; version=0.0.4")

    return router
