"""Programmes' HTTP routes: translation between HTTP and `ProgrammesApplication`, nothing else."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from services.programmes.application import ProgrammesApplication
from services.programmes.queries import Reader
from services.programmes.requests import (
    AnswerRequest,
    CompletionRequest,
    EnrolmentRequest,
    ProgrammeRequest,
    ReferralRequest,
    SessionRequest,
    VoidRequest,
    WithdrawalRequest,
)
from shared.events import (
    FollowUpRecorded,
    ParticipantCompleted,
    ParticipantEnrolled,
    ParticipantWithdrawn,
    ProgrammeCreated,
    ProgrammeKind,
    ProgrammesEntryVoided,
    ReferralAccepted,
    ReferralDeclined,
    ReferralMade,
    ReintegrationPlanAgreed,
    SessionAttended,
)
from shared.kit.auth import CurrentUser, User, require_command
from shared.kit.commands import run_command, view_response
from shared.kit.errors import ForbiddenError
from shared.kit.metrics import Metrics
from shared.kit.params import query_text
from shared.kit.runtime import RECORDED, Context, MetricsDep, application
from shared.kit.scope import scope_of
from shared.kit.store import CommandContext, Recorded

__all__ = ["routers"]

App = Annotated[ProgrammesApplication, Depends(application)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


programmes = APIRouter(prefix="/programmes", tags=["programmes"])
cases = APIRouter(prefix="/cases", tags=["cases"])
work = APIRouter(tags=["referrals and follow-up"])
entries = APIRouter(prefix="/entries", tags=["entries"])


def _reader(user: User) -> Reader:
    return Reader(user.role, user.agency, scope_of(user))


def _programme_at(programme_id: UUID) -> Any:
    return lambda _: f"/programmes/{programme_id}"


def _case_at(recorded: Recorded) -> str:
    return f"/cases/{recorded.case_id}"


def _voided_at(recorded: Recorded) -> str:
    """Where the voided entry's record lives: its programme, or its case."""
    programme_id = recorded.ids.get("programme_id")
    return f"/programmes/{programme_id}" if programme_id else _case_at(recorded)


# --- the catalogue -----------------------------------------------------------------------


@programmes.post("", status_code=201, responses=RECORDED)
def create_programme(
    body: ProgrammeRequest, app: App, user: CurrentUser, ctx: Context, m: MetricsDep
) -> JSONResponse:
    """Add a programme to the catalogue; returns its new `programme_id`."""
    require_command(user, ProgrammeCreated)
    return run_command(
        app,
        ctx,
        ProgrammeCreated.type_name(),
        lambda c: app.create_programme(body.model_dump(), c),
        lambda r: f"/programmes/{r.ids['programme_id']}",
        m,
    )


@programmes.get("")
def list_programmes(
    app: App,
    user: CurrentUser,
    kind: ProgrammeKind | None = None,
    facility: Annotated[str | None, query_text(200)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The programmes of the catalogue, newest first, with the places left in each."""
    return app.list_programmes(kind.value if kind else None, facility, limit, offset)


@programmes.get("/{programme_id}")
def get_programme(programme_id: UUID, app: App, user: CurrentUser) -> JSONResponse:
    """One programme, with its `version` (also the `ETag`)."""
    view, version = app.programme_view(programme_id)
    return view_response(view, version)


@programmes.get("/{programme_id}/summary")
def programme_summary(programme_id: UUID, app: App, user: CurrentUser) -> dict[str, Any]:
    """Outcome figures: enrolled, attending, completed, withdrawn, average attendance."""
    return app.summary(programme_id)


# --- participants ------------------------------------------------------------------------


@programmes.post("/{programme_id}/enrolments", status_code=201, responses=RECORDED)
def enrol(
    programme_id: UUID,
    body: EnrolmentRequest,
    app: App,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Enrol a person, if eligible (risk, facility, separation, release, capacity)."""
    require_command(user, ParticipantEnrolled)
    return run_command(
        app,
        ctx,
        ParticipantEnrolled.type_name(),
        lambda c: app.enrol(programme_id, body.case_id, body.enrolled_at, c),
        _programme_at(programme_id),
        m,
        cases=[body.case_id],
    )


@programmes.post("/{programme_id}/sessions", status_code=201, responses=RECORDED)
def record_session(
    programme_id: UUID,
    body: SessionRequest,
    app: App,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Record one session's attendance: one `SessionAttended` per case in `attendees`."""
    require_command(user, SessionAttended)
    fields = body.model_dump(exclude={"attendees"})
    return run_command(
        app,
        ctx,
        SessionAttended.type_name(),
        lambda c: app.record_session(programme_id, body.attendees, fields, c),
        _programme_at(programme_id),
        m,
        cases=body.attendees,
    )


@programmes.post("/{programme_id}/completions", status_code=201, responses=RECORDED)
def complete(
    programme_id: UUID,
    body: CompletionRequest,
    app: App,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Record that a participant completed the programme (attendance threshold met)."""
    require_command(user, ParticipantCompleted)
    fields = body.model_dump(exclude={"case_id"})
    return run_command(
        app,
        ctx,
        ParticipantCompleted.type_name(),
        lambda c: app.complete(programme_id, body.case_id, fields, c),
        _programme_at(programme_id),
        m,
        cases=[body.case_id],
    )


@programmes.post("/{programme_id}/withdrawals", status_code=201, responses=RECORDED)
def withdraw(
    programme_id: UUID,
    body: WithdrawalRequest,
    app: App,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Record that a participant left the programme, with the reason."""
    require_command(user, ParticipantWithdrawn)
    fields = body.model_dump(exclude={"case_id"})
    return run_command(
        app,
        ctx,
        ParticipantWithdrawn.type_name(),
        lambda c: app.withdraw(programme_id, body.case_id, fields, c),
        _programme_at(programme_id),
        m,
        cases=[body.case_id],
    )


# --- cases -------------------------------------------------------------------------------


@cases.get("")
def list_cases(
    app: App,
    user: CurrentUser,
    released: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The people programmes knows (civil society: only those it works with), a page at a time."""
    return app.list_cases(_reader(user), limit, offset, released)


@cases.get("/{case_id}")
def get_case(case_id: UUID, app: App, user: CurrentUser) -> JSONResponse:
    """Programmes' view of one case, with its `version` (also the `ETag`)."""
    view, version = app.case_view(case_id, _reader(user))
    return view_response(view, version)


@cases.post("/{case_id}/referrals", status_code=201, responses=RECORDED)
def refer(
    case_id: UUID, body: ReferralRequest, app: App, user: CurrentUser, ctx: Context, m: MetricsDep
) -> JSONResponse:
    """Refer the person to another agency, with their consent or a stated legal basis."""
    require_command(user, ReferralMade)
    return run_command(
        app,
        ctx,
        ReferralMade.type_name(),
        lambda c: app.refer(case_id, body.model_dump(), c),
        lambda r: f"/cases/{case_id}/referrals/{r.ids['referral_id']}",
        m,
    )


@cases.get("/{case_id}/referrals/{referral_id}")
def get_referral(case_id: UUID, referral_id: UUID, app: App, user: CurrentUser) -> dict[str, Any]:
    """A referral and its history, for the referring and the receiving agency."""
    return app.referral_view(case_id, referral_id, _reader(user))


def _answer(
    accept: bool,
    case_id: UUID,
    referral_id: UUID,
    body: AnswerRequest,
    app: App,
    user: User,
    ctx: CommandContext,
    m: Metrics,
) -> JSONResponse:
    model = ReferralAccepted if accept else ReferralDeclined
    require_command(user, model)
    if body.by_agency is not None and body.by_agency != user.agency:
        raise ForbiddenError(f"you answer for {user.agency}, not {body.by_agency}")
    return run_command(
        app,
        ctx,
        model.type_name(),
        lambda c: app.answer_referral(case_id, referral_id, accept, body.reason, c),
        lambda _: f"/cases/{case_id}/referrals/{referral_id}",
        m,
    )


@cases.post("/{case_id}/referrals/{referral_id}/acceptance", status_code=201, responses=RECORDED)
def accept_referral(
    case_id: UUID,
    referral_id: UUID,
    body: AnswerRequest,
    app: App,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """The agency referred to accepts the referral."""
    return _answer(True, case_id, referral_id, body, app, user, ctx, m)


@cases.post("/{case_id}/referrals/{referral_id}/declination", status_code=201, responses=RECORDED)
def decline_referral(
    case_id: UUID,
    referral_id: UUID,
    body: AnswerRequest,
    app: App,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """The agency referred to declines the referral."""
    return _answer(False, case_id, referral_id, body, app, user, ctx, m)


@cases.post("/{case_id}/reintegration-plan", status_code=201, responses=RECORDED)
def agree_plan(
    case_id: UUID,
    body: ReintegrationPlanAgreed,
    app: App,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Record the reintegration plan agreed with the person, before or at release."""
    require_command(user, ReintegrationPlanAgreed)
    return run_command(
        app,
        ctx,
        ReintegrationPlanAgreed.type_name(),
        lambda c: app.agree_plan(case_id, body, c),
        _case_at,
        m,
    )


@cases.post("/{case_id}/follow-ups", status_code=201, responses=RECORDED)
def record_follow_up(
    case_id: UUID, body: FollowUpRecorded, app: App, user: CurrentUser, ctx: Context, m: MetricsDep
) -> JSONResponse:
    """Record a follow-up of a released person."""
    require_command(user, FollowUpRecorded)
    return run_command(
        app,
        ctx,
        FollowUpRecorded.type_name(),
        lambda c: app.record_follow_up(case_id, body, c),
        _case_at,
        m,
    )


# --- work lists --------------------------------------------------------------------------


@work.get("/referrals")
def list_referrals(
    app: App,
    user: CurrentUser,
    direction: Literal["incoming", "outgoing"] = "incoming",
    status: Literal["pending", "accepted", "declined", "revoked"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The caller's agency's referrals: received (`incoming`) or made (`outgoing`)."""
    return app.list_referrals(_reader(user), direction, status, limit, offset)


@work.get("/follow-ups")
def list_follow_ups(
    app: App,
    user: CurrentUser,
    status: Literal["overdue"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Released people and when each is due a follow-up; `status=overdue` for those past due."""
    return app.follow_ups(_reader(user), status == "overdue", limit, offset)


@entries.post("/{event_id}/void", status_code=201, responses=RECORDED)
def void_entry(
    event_id: UUID, body: VoidRequest, app: App, user: CurrentUser, ctx: Context, m: MetricsDep
) -> JSONResponse:
    """Void a mistaken entry of this service; voiding a referral revokes it (until accepted)."""
    require_command(user, ProgrammesEntryVoided)
    return run_command(
        app,
        ctx,
        ProgrammesEntryVoided.type_name(),
        lambda c: app.void(event_id, body.reason, c),
        _voided_at,
        m,
    )


routers = [programmes, cases, work, entries]
