"""The HTTP middleware of every service: body limits, correlation and tracing, the read audit's
entry once the answer is known, the access log and request metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

from fastapi import FastAPI, Request
from fastapi.responses import Response

from shared.events.envelope import is_traceparent
from shared.kit.audit_capture import audit_read
from shared.kit.metrics import Metrics
from shared.kit.observability import (
    current_traceparent,
    log_context,
    new_traceparent,
    server_span,
)
from shared.kit.problems import is_database_down, problem, routed

__all__ = ["MAX_BODY_BYTES", "incoming_traceparent", "install_middleware"]

log = logging.getLogger("caseline.http")
access_log = logging.getLogger("caseline.access")
MAX_BODY_BYTES = 4 * 1024 * 1024


def install_middleware(app: FastAPI, metrics: Metrics) -> None:
    @app.middleware("http")
    async def _guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        if request.method in ("POST", "PUT", "PATCH") and routed(request):
            length = request.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
                return problem(
                    413,
                    "Body too large",
                    "the body exceeds {limit} bytes",
                    "too-large",
                    params={"limit": MAX_BODY_BYTES},
                )
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            # No body at all is no media type: the route answers it (401 first, then 422).
            has_body = length not in (None, "0") or "transfer-encoding" in request.headers
            if has_body and ctype != "application/json" and not ctype.endswith("+json"):
                return problem(
                    415, "Unsupported media type", "send the body as application/json", "media-type"
                )
        correlation_id = _correlation_of(request)
        with server_span(request.method, request.url.path, request.headers) as span:
            traceparent = current_traceparent() or incoming_traceparent(request)
            request.state.correlation_id, request.state.traceparent = correlation_id, traceparent
            with log_context(correlationid=correlation_id, traceparent=traceparent):
                try:
                    response = await call_next(request)
                except Exception as exc:  # pragma: no cover - handlers catch first; the last net
                    if is_database_down(exc):
                        detail = "the database is unreachable"
                        response = problem(503, "Service unavailable", detail, "unavailable")
                    else:
                        log.exception("unexpected error")
                        response = problem(500, "Internal error", "an unexpected error", "internal")
                response = await audit_read(request, response)
                route = request.scope.get("route")
                path = getattr(route, "path", "unmatched")
                _access_log(request, path, response.status_code, time.perf_counter() - started)
            if span is not None:
                span.update_name(f"{request.method} {path}")
                span.set_attribute("http.route", path)
                span.set_attribute("http.status_code", response.status_code)
        response.headers.setdefault("Caseline-Correlation-Id", str(correlation_id))
        metrics.requests.labels(request.method, path, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


def _correlation_of(request: Request) -> UUID:
    """The request's correlation id: the client's `Caseline-Correlation-Id` if valid, else new."""
    try:
        return UUID(request.headers.get("caseline-correlation-id") or "")
    except ValueError:
        return uuid4()


def incoming_traceparent(request: Request) -> str | None:
    """The client's W3C `traceparent` if valid; a malformed one is never stored or passed on: the
    request starts a new trace instead (the server span's, when tracing)."""
    traceparent = request.headers.get("traceparent")
    if traceparent is None or is_traceparent(traceparent):
        return traceparent
    return new_traceparent()


_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def _access_log(request: Request, route: str, status: int, seconds: float) -> None:
    level = logging.DEBUG if route in _QUIET_ROUTES else logging.INFO
    fields = {"method": request.method, "route": route, "status": status}
    access_log.log(level, "request", extra={**fields, "ms": round(seconds * 1000, 1)})
