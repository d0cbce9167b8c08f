"""Programmes' HTTP routes: translation between HTTP and `ProgrammesApplication`, nothing else."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from services.programmes import queries
from services.programmes.application import ProgrammesApplication
from services.programmes.requests import (
    AnswerRequest,
    CompletionRequest,
    EnrolmentRequest,
    ProgrammeRequest,
    ReferralRequest,
    SessionRequest,
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
from shared.kit.auth import CurrentUser, User
from shared.kit.commands import Command, case_location, route_command, view_response
from shared.kit.errors import ForbiddenError
from shared.kit.paging import Paged
from shared.kit.params import query_text
from shared.kit.redaction import require_filters
from shared.kit.requests import VoidRequest
from shared.kit.runtime import RECORDED, application
from shared.kit.scope import scope_of
from shared.kit.store import Recorded

__all__ = ["routers"]

ProgrammesApp = Annotated[ProgrammesApplication, Depends(application)]
ProgrammesCommand = Annotated[Command[ProgrammesApplication], Depends(route_command)]


programmes = APIRouter(prefix="/programmes", tags=["programmes"])
cases = APIRouter(prefix="/cases", tags=["cases"])
work = APIRouter(tags=["referrals and follow-up"])
entries = APIRouter(prefix="/entries", tags=["entries"])


def _reader(user: User) -> queries.Reader:
    return queries.Reader(user.role, user.agency, scope_of(user))


def _voided_at(recorded: Recorded) -> str:
    """Where the voided entry's record lives: its programme, or its case."""
    programme_id = recorded.ids.get("programme_id")
    return f"/programmes/{programme_id}" if programme_id else case_location(recorded)


# --- the catalogue -----------------------------------------------------------------------


@programmes.post("", status_code=201, responses=RECORDED)
def create_programme(body: ProgrammeRequest, command: ProgrammesCommand) -> JSONResponse:
    """Add a programme to the catalogue; returns its new `programme_id`."""
    return command.run(
        ProgrammeCreated,
        lambda c: command.app.create_programme(body.model_dump(), c),
        location=lambda r: f"/programmes/{r.ids['programme_id']}",
    )


@programmes.get("", response_model_exclude_unset=True)
def list_programmes(
    app: ProgrammesApp,
    user: CurrentUser,
    page: Paged,
    kind: ProgrammeKind | None = None,
    facility: Annotated[str | None, query_text(200)] = None,
) -> queries.ProgrammePage:
    """The programmes of the catalogue, newest first, with the places taken and left in each."""
    kind_name = kind.value if kind else None
    require_filters(user.role, queries.PROGRAMME_FILTER_SOURCES, kind=kind_name, facility=facility)
    answer = queries.list_programmes(
        app, page.limit, page.offset, kind_name, facility, reader=_reader(user)
    )
    return queries.ProgrammePage.model_validate(answer)


@programmes.get("/{programme_id}")
def get_programme(programme_id: UUID, app: ProgrammesApp, user: CurrentUser) -> JSONResponse:
    """One programme, with its `version` (also the `ETag`)."""
    view, version = queries.programme_view(app, programme_id, reader=_reader(user))
    return view_response(view, version)


@programmes.get("/{programme_id}/summary")
def programme_summary(programme_id: UUID, app: ProgrammesApp, user: CurrentUser) -> dict[str, Any]:
    """Outcome figures: enrolled, attending, completed, withdrawn, average attendance."""
    return queries.summary(app, programme_id)


# --- participants ------------------------------------------------------------------------


@programmes.post("/{programme_id}/enrolments", status_code=201, responses=RECORDED)
def enrol(programme_id: UUID, body: EnrolmentRequest, command: ProgrammesCommand) -> JSONResponse:
    """Enrol a person, if eligible (risk, facility, separation, release, capacity)."""
    return command.run(
        ParticipantEnrolled,
        lambda c: command.app.enrol(programme_id, body.case_id, body.enrolled_at, c),
        location=f"/programmes/{programme_id}",
        cases=[body.case_id],
    )


@programmes.post("/{programme_id}/sessions", status_code=201, responses=RECORDED)
def record_session(
    programme_id: UUID, body: SessionRequest, command: ProgrammesCommand
) -> JSONResponse:
    """Record one session's attendance: one `SessionAttended` per case in `attendees`."""
    fields = body.model_dump(exclude={"attendees"})
    return command.run(
        SessionAttended,
        lambda c: command.app.record_session(programme_id, body.attendees, fields, c),
        location=f"/programmes/{programme_id}",
        cases=body.attendees,
    )


@programmes.post("/{programme_id}/completions", status_code=201, responses=RECORDED)
def complete(
    programme_id: UUID, body: CompletionRequest, command: ProgrammesCommand
) -> JSONResponse:
    """Record that a participant completed the programme (attendance threshold met)."""
    fields = body.model_dump(exclude={"case_id"})
    return command.run(
        ParticipantCompleted,
        lambda c: command.app.complete(programme_id, body.case_id, fields, c),
        location=f"/programmes/{programme_id}",
        cases=[body.case_id],
    )


@programmes.post("/{programme_id}/withdrawals", status_code=201, responses=RECORDED)
def withdraw(
    programme_id: UUID, body: WithdrawalRequest, command: ProgrammesCommand
) -> JSONResponse:
    """Record that a participant left the programme, with the reason."""
    fields = body.model_dump(exclude={"case_id"})
    return command.run(
        ParticipantWithdrawn,
        lambda c: command.app.withdraw(programme_id, body.case_id, fields, c),
        location=f"/programmes/{programme_id}",
        cases=[body.case_id],
    )


# --- cases -------------------------------------------------------------------------------


@cases.get("", response_model_exclude_unset=True)
def list_cases(
    app: ProgrammesApp, user: CurrentUser, page: Paged, released: bool | None = None
) -> queries.CasePage:
    """The people programmes knows (civil society: only those it works with), a page at a time."""
    require_filters(user.role, queries.CASE_FILTER_SOURCES, released=released)
    answer = queries.list_cases(app, page.limit, page.offset, released, reader=_reader(user))
    return queries.CasePage.model_validate(answer)


@cases.get("/{case_id}")
def get_case(case_id: UUID, app: ProgrammesApp, user: CurrentUser) -> JSONResponse:
    """Programmes' view of one case, with its `version` (also the `ETag`)."""
    view, version = queries.case_view(app, case_id, reader=_reader(user))
    return view_response(view, version)


@cases.post("/{case_id}/referrals", status_code=201, responses=RECORDED)
def refer(case_id: UUID, body: ReferralRequest, command: ProgrammesCommand) -> JSONResponse:
    """Refer the person to another agency, with their consent or a stated legal basis."""
    return command.run(
        ReferralMade,
        lambda c: command.app.refer(case_id, body.model_dump(), c),
        location=lambda r: f"/cases/{case_id}/referrals/{r.ids['referral_id']}",
    )


@cases.get("/{case_id}/referrals/{referral_id}")
def get_referral(
    case_id: UUID, referral_id: UUID, app: ProgrammesApp, user: CurrentUser
) -> dict[str, Any]:
    """A referral and its history, for the referring and the receiving agency."""
    return queries.referral_view(app, case_id, referral_id, reader=_reader(user))


def _answer(
    accept: bool,
    case_id: UUID,
    referral_id: UUID,
    body: AnswerRequest,
    command: Command[ProgrammesApplication],
) -> JSONResponse:
    model = ReferralAccepted if accept else ReferralDeclined
    command.require(model)
    agency = command.user.agency
    if body.by_agency is not None and body.by_agency != agency:
        raise ForbiddenError(
            "you answer for {agency}, not {by_agency}", agency=agency, by_agency=body.by_agency
        )
    return command.run(
        model,
        lambda c: command.app.answer_referral(case_id, referral_id, accept, body.reason, c),
        location=f"/cases/{case_id}/referrals/{referral_id}",
    )


@cases.post("/{case_id}/referrals/{referral_id}/acceptance", status_code=201, responses=RECORDED)
def accept_referral(
    case_id: UUID, referral_id: UUID, body: AnswerRequest, command: ProgrammesCommand
) -> JSONResponse:
    """The agency referred to accepts the referral."""
    return _answer(True, case_id, referral_id, body, command)


@cases.post("/{case_id}/referrals/{referral_id}/declination", status_code=201, responses=RECORDED)
def decline_referral(
    case_id: UUID, referral_id: UUID, body: AnswerRequest, command: ProgrammesCommand
) -> JSONResponse:
    """The agency referred to declines the referral."""
    return _answer(False, case_id, referral_id, body, command)


@cases.post("/{case_id}/reintegration-plan", status_code=201, responses=RECORDED)
def agree_plan(
    case_id: UUID, body: ReintegrationPlanAgreed, command: ProgrammesCommand
) -> JSONResponse:
    """Record the reintegration plan agreed with the person, before or at release."""
    return command.run(ReintegrationPlanAgreed, lambda c: command.app.agree_plan(case_id, body, c))


@cases.post("/{case_id}/follow-ups", status_code=201, responses=RECORDED)
def record_follow_up(
    case_id: UUID, body: FollowUpRecorded, command: ProgrammesCommand
) -> JSONResponse:
    """Record a follow-up of a released person."""
    return command.run(FollowUpRecorded, lambda c: command.app.record_follow_up(case_id, body, c))


# --- work lists --------------------------------------------------------------------------


@work.get("/referrals", response_model_exclude_unset=True)
def list_referrals(
    app: ProgrammesApp,
    user: CurrentUser,
    page: Paged,
    direction: Literal["incoming", "outgoing"] = "incoming",
    status: Literal["pending", "accepted", "declined", "revoked"] | None = None,
) -> queries.ReferralPage:
    """The caller's agency's referrals: received (`incoming`) or made (`outgoing`)."""
    require_filters(user.role, queries.REFERRAL_FILTER_SOURCES, direction=direction, status=status)
    answer = queries.list_referrals(
        app, direction, page.limit, page.offset, status, reader=_reader(user)
    )
    return queries.ReferralPage.model_validate(answer)


@work.get("/follow-ups", response_model_exclude_unset=True)
def list_follow_ups(
    app: ProgrammesApp,
    user: CurrentUser,
    page: Paged,
    status: Literal["overdue"] | None = None,
) -> queries.FollowUpPage:
    """Released people and when each is due a follow-up; `status=overdue` for those past due."""
    require_filters(user.role, queries.FOLLOW_UP_FILTER_SOURCES, status=status)
    answer = queries.follow_ups(
        app, page.limit, page.offset, status == "overdue", reader=_reader(user)
    )
    return queries.FollowUpPage.model_validate(answer)


@entries.post("/{event_id}/void", status_code=201, responses=RECORDED)
def void_entry(event_id: UUID, body: VoidRequest, command: ProgrammesCommand) -> JSONResponse:
    """Void a mistaken entry of this service; voiding a referral revokes it (until accepted)."""
    return command.run(
        ProgrammesEntryVoided,
        lambda c: command.app.void(event_id, body.reason, c),
        location=_voided_at,
    )


routers = [programmes, cases, work, entries]
