"""The HTTP middleware of every service: body limits, correlation and tracing, the read audit's
entry once the answer is known, the access log and request metrics.

A plain ASGI middleware: an answer goes to the client as the route sends it, with the
correlation id in its head, except the answer of an audited read, held until its last part:
the read is recorded before any of it is sent, and a read that could not be recorded is refused
(503) with none of its answer.
"""

from __future__ import annotations

import logging
import time
from uuid import UUID, uuid4

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.events.envelope import is_traceparent
from shared.kit.audit_capture import PendingRead, carries_cases, read_entry, record_read
from shared.kit.metrics import Metrics
from shared.kit.observability import (
    current_traceparent,
    log_context,
    new_traceparent,
    server_span,
)
from shared.kit.problems import is_database_down, problem, routed

__all__ = ["MAX_BODY_BYTES", "RequestGuard", "incoming_traceparent", "install_middleware"]

log = logging.getLogger("caseline.http")
access_log = logging.getLogger("caseline.access")
MAX_BODY_BYTES = 4 * 1024 * 1024
CORRELATION_HEADER = "Caseline-Correlation-Id"


def install_middleware(app: FastAPI, metrics: Metrics) -> None:
    app.add_middleware(RequestGuard, metrics=metrics)


class RequestGuard:
    """Every request of a service: its body's size and media type, its correlation id and server
    span, the read audit's entry, the last-resort problem, the access log line and the metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope, receive)
        refusal = _body_refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        method = request.method
        correlation_id = _correlation_of(request)
        failure: Exception | None = None
        with server_span(method, scope["path"], request.headers) as span:
            traceparent = current_traceparent() or incoming_traceparent(request)
            request.state.correlation_id, request.state.traceparent = correlation_id, traceparent
            with log_context(correlationid=correlation_id, traceparent=traceparent):
                answer = _Answer(request, send, str(correlation_id))
                try:
                    await self.app(scope, receive, answer.send)
                except Exception as exc:
                    if answer.sent:  # its head is out: nothing else can be answered
                        log.exception("unexpected error after the answer began")
                        failure = exc
                    else:
                        await answer.instead(_last_resort(exc))
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                _access_log(request, path, answer.status, time.perf_counter() - started)
            if span is not None:
                span.update_name(f"{method} {path}")
                span.set_attribute("http.route", path)
                span.set_attribute("http.status_code", answer.status)
        self.metrics.requests.labels(method, path, str(answer.status)).observe(
            time.perf_counter() - started
        )
        if failure is not None:
            raise failure


def _body_refusal(request: Request) -> Response | None:
    """413 for a body too large, 415 for one that is not JSON, on a route that takes a body (a
    path no route serves with this method is answered 404 or 405 by the router instead)."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    headers = request.headers
    length = headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        if not routed(request):
            return None
        return problem(
            413,
            "Body too large",
            "the body exceeds {limit} bytes",
            "too-large",
            params={"limit": MAX_BODY_BYTES},
        )
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    # No body at all is no media type: the route answers it (401 first, then 422).
    has_body = length not in (None, "0") or "transfer-encoding" in headers
    if not has_body or ctype == "application/json" or ctype.endswith("+json"):
        return None
    if not routed(request):
        return None
    return problem(415, "Unsupported media type", "send the body as application/json", "media-type")


def _last_resort(exc: Exception) -> Response:
    """The problem answered for an error no handler answered."""
    if is_database_down(exc):
        detail = "the database is unreachable"
        return problem(503, "Service unavailable", detail, "unavailable")
    log.exception("unexpected error")
    return problem(500, "Internal error", "an unexpected error", "internal")


class _Answer:
    """The app's answer on its way to the client: its status, the correlation id in its head
    (unless the route set one), and an audited read's answer held until it is recorded."""

    def __init__(self, request: Request, send: Send, correlation_id: str) -> None:
        self.request = request
        self.client = send
        self.correlation_id = correlation_id
        self.status = 500
        self.sent = False  # whether any of the answer went to the client
        self.pending: PendingRead | None = None  # a read to record before anything is sent
        self.held: list[Message] = []
        self.body: list[bytes] | None = None  # the parts whose cases the entry names
        self.dropping = False  # the rest of an answer that was refused

    async def send(self, message: Message) -> None:
        if self.dropping:
            return
        if message["type"] == "http.response.start":
            await self._start(message)
        elif self.pending is None:
            self.sent = True
            await self.client(message)
        else:
            self.held.append(message)
            if message["type"] != "http.response.body":
                return
            if self.body is not None:
                self.body.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._record(self.pending)

    async def instead(self, response: Response) -> None:
        """Answer `response` in place of what the app began (nothing of which was sent)."""
        self.pending, self.held, self.body, self.dropping = None, [], None, False
        await response(self.request.scope, self.request.receive, self.send)

    async def _start(self, message: Message) -> None:
        self.status = message["status"]
        headers = MutableHeaders(scope=message)
        headers.setdefault(CORRELATION_HEADER, self.correlation_id)
        pending = read_entry(self.request, self.status)
        if pending is None:
            self.sent = True
            await self.client(message)
        elif carries_cases(self.status, headers.get("content-type", "")):
            # The entry names the cases the answer shows: all of it is needed first.
            self.pending, self.held, self.body = pending, [message], []
        else:
            self.held = [message]
            await self._record(pending)

    async def _record(self, pending: PendingRead) -> None:
        held, body = self.held, self.body
        self.pending, self.held, self.body = None, [], None
        refusal = await record_read(pending, self.status, b"".join(body) if body else None)
        if refusal is not None:  # a read that could not be audited is not answered
            self.status = refusal.status_code
            refusal.headers.setdefault(CORRELATION_HEADER, self.correlation_id)
            self.sent, self.dropping = True, True
            await refusal(self.request.scope, self.request.receive, self.client)
            return
        self.sent = True
        for message in held:
            await self.client(message)


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
