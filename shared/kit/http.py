"""HTTP mechanism shared by the services: RFC 9457 problems, health, metrics, command running.

`create_service_app` is the composition root of a service process: it builds the application,
the bus, the relay and the subscribers in the lifespan and closes them on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import OperationalError
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.events import by_type
from shared.events.envelope import is_traceparent
from shared.kit.access import ReadGuard, audit_read, audit_router, open_read_audit
from shared.kit.auth import CurrentUser, User
from shared.kit.errors import (
    CaselineError,
    ConflictError,
    StaleVersionError,
)
from shared.kit.metrics import Metrics
from shared.kit.observability import (
    current_traceparent,
    log_context,
    new_traceparent,
    server_span,
)
from shared.kit.scope import canonical_id, scope_of
from shared.kit.settings import Settings
from shared.kit.store import (
    CaselineApplication,
    CommandContext,
    IntegrityError,
    Recorded,
    fingerprint,
)

__all__ = [
    "PROBLEM_JSON",
    "ServiceParts",
    "command_context",
    "create_service_app",
    "problem",
    "require_case",
    "respond_recorded",
    "run_command",
    "view_response",
]

log = logging.getLogger("caseline.http")
access_log = logging.getLogger("caseline.access")
PROBLEM_JSON = "application/problem+json"
MAX_BODY_BYTES = 4 * 1024 * 1024


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document, as every error of every service is answered."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response("Malformed request or header"),
    401: _problem_response("No token, or a token that is not valid"),
    403: _problem_response("Not allowed for this role or agency"),
    404: _problem_response("Unknown, or not visible to the caller"),
    409: _problem_response("A domain rule refuses it; the detail says which"),
    412: _problem_response("The If-Match version is stale"),
    413: _problem_response("The body is too large"),
    415: _problem_response("The body is not JSON"),
    422: _problem_response("Invalid fields, each named in `errors`"),
    503: _problem_response("A dependency is down; nothing was recorded"),
}


def problem(
    status: int, title: str, detail: str, slug: str, errors: list[dict[str, Any]] | None = None
) -> JSONResponse:
    """An `application/problem+json` response (RFC 9457)."""
    body: dict[str, Any] = {
        "type": f"https://caseline.example/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        out.append({"field": ".".join(loc) or "body", "message": err.get("msg", "invalid")})
    return out


def _install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(CaselineError)
    async def _caseline(_: Request, exc: CaselineError) -> JSONResponse:
        detail = exc.detail
        rule = getattr(exc, "rule", None)
        response = problem(
            exc.status, exc.title, detail, rule if exc.status == 409 and rule else exc.slug
        )
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem(
                400, "Malformed request", "the body is not valid JSON", "malformed", errors
            )
        named = ", ".join(sorted({e["field"] for e in errors}))
        return problem(422, "Invalid fields", f"invalid fields: {named}", "invalid-fields", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 400: "Bad request"}
        response = problem(
            exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), "http"
        )
        if exc.status_code == 405:
            # RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
            response.headers["Allow"] = ", ".join(sorted(_methods_of(request)))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        if _is_database_down(exc):
            log.warning("answered 503: %r", exc)
            return problem(
                503,
                "Service unavailable",
                "the database is unreachable; nothing was recorded",
                "unavailable",
            )
        log.exception("unexpected error")
        return problem(
            500, "Internal error", "an unexpected error; nothing was recorded", "internal"
        )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _methods_of(request: Request) -> set[str]:
    """Every method some route serves at the request's path (Starlette's own 405 names only the
    methods of the first route whose path matched)."""
    return {m for m in _METHODS if _routed(request, m)}


def _routed(request: Request, method: str | None = None) -> bool:
    """Whether a route serves `method` (the request's own by default) at the request's path."""
    scope = {**request.scope, "method": method or request.method}
    return any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)


def _is_database_down(exc: BaseException) -> bool:
    import psycopg
    from eventsourcing.persistence import InterfaceError, OperationalError

    return isinstance(
        exc,
        (
            OperationalError,
            InterfaceError,
            psycopg.OperationalError,
            psycopg.InterfaceError,
            TimeoutError,
        ),
    )


def _install_middleware(app: FastAPI, metrics: Metrics) -> None:
    @app.middleware("http")
    async def _guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        if request.method in ("POST", "PUT", "PATCH") and _routed(request):
            length = request.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
                return problem(
                    413, "Body too large", f"the body exceeds {MAX_BODY_BYTES} bytes", "too-large"
                )
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype not in ("application/json",) and not ctype.endswith("+json"):
                return problem(
                    415, "Unsupported media type", "send the body as application/json", "media-type"
                )
        correlation_id = _correlation_of(request)
        with server_span(request.method, request.url.path, request.headers) as span:
            traceparent = current_traceparent() or _incoming_traceparent(request)
            request.state.correlation_id, request.state.traceparent = correlation_id, traceparent
            with log_context(correlationid=correlation_id, traceparent=traceparent):
                try:
                    response = await call_next(request)
                except Exception as exc:  # pragma: no cover - handlers catch first; the last net
                    if _is_database_down(exc):
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


def _incoming_traceparent(request: Request) -> str | None:
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


async def command_context(request: Request, user: CurrentUser) -> CommandContext:
    """FastAPI dependency: the caller, the request's headers and a fingerprint of its body."""
    body = await request.body()
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= 200):
        raise _bad_header("Idempotency-Key must have 1 to 200 characters")
    expected = None
    if_match = request.headers.get("if-match")
    if if_match is not None:
        raw = if_match.strip().removeprefix("W/").strip('"')
        if not raw.isdigit():
            raise _bad_header("If-Match must be a version number")
        expected = int(raw)
    correlation = request.headers.get("caseline-correlation-id")
    try:
        correlation_id = UUID(correlation) if correlation else _request_correlation(request)
    except ValueError:
        raise _bad_header("Caseline-Correlation-Id must be a UUID") from None
    traceparent = getattr(request.state, "traceparent", None) or _incoming_traceparent(request)
    named = (
        await asyncio.to_thread(_named_case, request)
        if "event_id" in request.path_params
        else _named_case(request)
    )
    return CommandContext(
        scope=scope_of(user),
        case_id=named,
        actor=user.sub,
        agency=user.agency,
        role=user.role,
        correlation_id=correlation_id,
        traceparent=traceparent,
        idempotency_key=f"{user.sub}:{key}" if key else None,
        fingerprint=fingerprint(request.method, request.url.path, body),
        expected_version=expected,
    )


def _named_case(request: Request) -> str | None:
    """The case a command names: its path's `case_id`, or the case of the entry it voids."""
    with contextlib.suppress(CaselineError):
        raw = request.path_params.get("case_id")
        if raw is not None:
            return canonical_id(raw)
        event_id = request.path_params.get("event_id")
        application = getattr(request.app.state.parts, "application", None)
        if event_id is not None and hasattr(application, "find_entry"):
            entry = application.find_entry(UUID(canonical_id(event_id, "event_id")))
            # An entry about a programme or an instrument names no case.
            if entry is None or by_type(entry.type).subject_name != "case_id":
                return None
            return str(entry.subject)
    return None


def require_case(
    app: CaselineApplication, ctx: CommandContext, case_id: UUID | str, event_type: str
) -> None:
    """404 unless the caller may record `event_type` on the case (sealed, or not linked to
    their agency, facility or organisation: as if it did not exist). `run_command` checks the
    case a command's path names; a route whose body names cases checks each with this."""
    if ctx.scope is not None:
        app.access.require(ctx.scope, canonical_id(str(case_id)), command=event_type)


def _request_correlation(request: Request) -> UUID:
    value = getattr(request.state, "correlation_id", None)
    return value if isinstance(value, UUID) else uuid4()


class _BadHeaderError(CaselineError):
    status = 400
    title = "Bad request"
    slug = "bad-header"


def _bad_header(detail: str) -> _BadHeaderError:
    return _BadHeaderError(detail)


def respond_recorded(recorded: Recorded, location: str, status: int = 201) -> JSONResponse:
    return JSONResponse(
        recorded.body(),
        status_code=status,
        headers={"Location": location, "ETag": f'"{recorded.version}"'},
    )


def run_command(
    app: CaselineApplication,
    ctx: CommandContext,
    event_type: str,
    do: Callable[[CommandContext], Recorded],
    location: Callable[[Recorded], str],
    metrics: Metrics | None = None,
    *,
    cases: Sequence[UUID | str] = (),
) -> JSONResponse:
    """Run a command once: replay an idempotent retry, retry a lost race, map outcomes.

    First, the case the path names and the `cases` the body names must be cases the caller may
    act on (`require_case`), or the answer is a 404 that reveals nothing of them.
    """
    name = event_type.split(".")[2] if event_type.count(".") >= 2 else event_type
    named = [ctx.case_id] if ctx.case_id is not None else []
    try:
        for case_id in [*named, *cases]:
            require_case(app, ctx, case_id, event_type)
    except CaselineError as exc:
        _count(metrics, name, f"{exc.status}")
        raise
    if ctx.idempotency_key:
        replayed = app.replayed_response(ctx.idempotency_key, ctx.fingerprint)
        if replayed is not None:
            status, body = replayed
            return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"})
    attempt_ctx = ctx
    for attempt in range(5):
        try:
            recorded = do(attempt_ctx)
        except OperationalError as exc:
            if not _lost_race(exc):
                raise
            # The write lost a race inside psycopg's pipeline: nothing was committed; run again.
            time.sleep(0.005 * (attempt + 1))
            attempt_ctx = replace(ctx, event_ids=())
            continue
        except IntegrityError:
            if ctx.idempotency_key:
                replayed = app.replayed_response(ctx.idempotency_key, ctx.fingerprint)
                if replayed is not None:
                    status, body = replayed
                    return JSONResponse(
                        body, status_code=status, headers={"Idempotent-Replayed": "true"}
                    )
            if ctx.expected_version is not None:
                _count(metrics, name, "stale")
                raise StaleVersionError("the record changed meanwhile: reload and retry") from None
            time.sleep(0.005 * (attempt + 1))
            attempt_ctx = replace(ctx, event_ids=())
            continue
        except CaselineError as exc:
            _count(metrics, name, f"{exc.status}")
            raise
        _count(metrics, name, "recorded")
        if metrics is not None:
            metrics.events_recorded.inc(max(1, len(recorded.event_ids)))
        return respond_recorded(recorded, location(recorded))
    _count(metrics, name, "conflict")
    raise ConflictError("the record is being changed by others right now; retry")


def _lost_race(exc: BaseException) -> bool:
    """A pipeline aborted by a unique violation (two writers on one version), not an outage."""
    import psycopg

    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, psycopg.errors.PipelineAborted) or "pipeline aborted" in str(exc)


def _count(metrics: Metrics | None, name: str, result: str) -> None:
    if metrics is not None:
        metrics.commands.labels(name, result).inc()


def view_response(view: dict[str, Any], version: int) -> JSONResponse:
    """A read of one record: its view with `version`, and the version as `ETag`."""
    return JSONResponse({**view, "version": version}, headers={"ETag": f'"{version}"'})


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


async def _bounded(step: Awaitable[Any], what: str, seconds: float = 15.0) -> None:
    """One step of stopping, never waited on forever: a process must stop even if NATS or
    PostgreSQL stopped answering (unfinished work is redelivered or re-published anyway)."""
    try:
        await asyncio.wait_for(step, timeout=seconds)
    except TimeoutError:
        log.warning("stopping: %s did not finish within %.0f s", what, seconds)
    except Exception as exc:
        log.warning("stopping: %s failed: %r", what, exc)


async def _stop_parts(
    parts: ServiceParts, stop: Callable[[ServiceParts], Awaitable[None]] | None
) -> None:
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
        await open_read_audit(parts, service)
        await start(parts)
        try:
            yield
        finally:
            await _stop_parts(parts, stop)

    app = FastAPI(
        title=f"Caseline {service}",
        description=description,
        version="1",
        lifespan=lifespan,
        dependencies=[Depends(ReadGuard(service, lambda: parts.audit, lambda: parts.access))],
        responses=PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.state.parts = parts
    app.state.metrics = metrics
    _install_problem_handlers(app)
    _install_middleware(app, metrics)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> Response:
        """The database and NATS are reachable; 503 with the reason otherwise."""
        reasons = [r for check in parts.readiness if (r := await check())]
        if reasons:
            return problem(503, "Not ready", "; ".join(reasons), "not-ready")
        return JSONResponse({"status": "ready", "service": service})

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics_route() -> Response:
        """Prometheus metrics of this process."""
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    app.include_router(audit_router)
    for router in routers:
        app.include_router(router)
    return app


def user_of(request: Request) -> User:
    return request.state.user  # type: ignore[no-any-return]
