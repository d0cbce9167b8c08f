"""Running a command from HTTP: its context from the request, once, with retries and answers.

`command_context` reads the caller and the request's headers; `run_command` checks the cases it
names, replays an idempotent retry, retries a lost race and maps the outcome; `Command` (the
`route_command` dependency) gives a route all of it in one object; `respond_recorded` and
`view_response` answer with the version as `ETag`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID, uuid4

import psycopg
from eventsourcing.persistence import OperationalError
from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from shared.events import by_type
from shared.events.base import CatalogueEvent
from shared.kit.auth import CurrentUser, User, require_command
from shared.kit.errors import CaselineError, ConflictError, StaleVersionError
from shared.kit.metrics import Metrics
from shared.kit.middleware import incoming_traceparent
from shared.kit.scope import canonical_id, scope_of
from shared.kit.store import (
    CaselineApplication,
    CommandContext,
    IntegrityError,
    Recorded,
    fingerprint,
)

__all__ = [
    "Command",
    "case_location",
    "command_context",
    "require_case",
    "respond_recorded",
    "route_command",
    "run_command",
    "view_response",
]

App = TypeVar("App", bound=CaselineApplication)


async def command_context(request: Request, user: CurrentUser) -> CommandContext:
    """FastAPI dependency: the caller, the request's headers and a fingerprint of its body."""
    body = await request.body()
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= 200):
        raise _BadHeaderError("Idempotency-Key must have 1 to 200 characters")
    expected = None
    if_match = request.headers.get("if-match")
    if if_match is not None:
        raw = if_match.strip().removeprefix("W/").strip('"')
        if not raw.isdigit():
            raise _BadHeaderError("If-Match must be a version number")
        expected = int(raw)
    correlation = request.headers.get("caseline-correlation-id")
    try:
        correlation_id = UUID(correlation) if correlation else _request_correlation(request)
    except ValueError:
        raise _BadHeaderError("Caseline-Correlation-Id must be a UUID") from None
    traceparent = getattr(request.state, "traceparent", None) or incoming_traceparent(request)
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
        if event_id is not None and application is not None and hasattr(application, "find_entry"):
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


def case_location(recorded: Recorded) -> str:
    """Where a command's case is read: `/cases/{case_id}`."""
    return f"/cases/{recorded.case_id}"


@dataclass(frozen=True)
class Command(Generic[App]):
    """What a command route works with: the service's application, the caller, the command's
    context and the service's metrics; `run` records."""

    app: App
    user: User
    ctx: CommandContext
    metrics: Metrics | None = None

    def require(self, event: type[CatalogueEvent]) -> None:
        """403 unless the caller's role may record `event` (`run` checks it too): for a route
        with a check of its own that must come after the role's."""
        require_command(self.user, event)

    def run(
        self,
        event: type[CatalogueEvent],
        do: Callable[[CommandContext], Recorded],
        *,
        location: str | Callable[[Recorded], str] = case_location,
        cases: Sequence[UUID | str] = (),
    ) -> JSONResponse:
        """Record `event` by `do`: the role check, then `run_command` (with the application's own
        error translation, `guarded`) answered with `location` (the case's by default)."""
        self.require(event)
        where = location if callable(location) else lambda _: location
        return run_command(
            self.app,
            self.ctx,
            event.type_name(),
            self.app.guarded(do),
            where,
            self.metrics,
            cases=cases,
        )


async def route_command(
    request: Request,
    user: CurrentUser,
    ctx: Annotated[CommandContext, Depends(command_context)],
) -> Command[Any]:
    """FastAPI dependency: the route's `Command` (declare it as `Command[YourApplication]`)."""
    state = request.app.state
    return Command(state.parts.application, user, ctx, state.metrics)


def _lost_race(exc: BaseException) -> bool:
    """A pipeline aborted by a unique violation (two writers on one version), not an outage."""
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, psycopg.errors.PipelineAborted) or "pipeline aborted" in str(exc)


def _count(metrics: Metrics | None, name: str, result: str) -> None:
    if metrics is not None:
        metrics.commands.labels(name, result).inc()


def view_response(view: dict[str, Any], version: int) -> JSONResponse:
    """A read of one record: its view with `version`, and the version as `ETag`."""
    return JSONResponse({**view, "version": version}, headers={"ETag": f'"{version}"'})
