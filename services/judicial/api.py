"""Judicial's HTTP routes: translation between HTTP and `JudicialApplication`, nothing else."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from services.judicial import queries
from services.judicial.application import JudicialApplication
from services.judicial.requests import (
    AdjournedRequest,
    ChargesRequest,
    DetentionOrderRequest,
    ErasureOrderRequest,
    HearingRequest,
    HeldRequest,
    ReleaseOrderRequest,
    RenewalRequest,
    SealRequest,
    SentenceRequest,
)
from shared.events.judicial import (
    CaseSealed,
    ChargesFiled,
    ErasureOrdered,
    HearingAdjourned,
    HearingHeld,
    HearingScheduled,
    PreTrialDetentionOrdered,
    PreTrialDetentionRenewed,
    ReleaseOrdered,
    SentenceImposed,
    VerdictDelivered,
)
from shared.events.voiding import JudicialEntryVoided
from shared.kit.access import CallerScope
from shared.kit.auth import CurrentUser, require_role
from shared.kit.commands import Command, route_command, view_response
from shared.kit.paging import Paged, PagedLong
from shared.kit.params import query_text
from shared.kit.redaction import require_filters
from shared.kit.requests import VoidRequest
from shared.kit.runtime import RECORDED, application

__all__ = ["routers"]

JudicialApp = Annotated[JudicialApplication, Depends(application)]
JudicialCommand = Annotated[Command[JudicialApplication], Depends(route_command)]

cases = APIRouter(prefix="/cases", tags=["cases"])
entries = APIRouter(prefix="/entries", tags=["corrections"])
deadlines = APIRouter(tags=["deadlines"])

_DEADLINE_READERS = (
    "judge",
    "prosecutor",
    "police",
    "prison_registry",
    "prison_director",
    "auditor",
    "admin",
)


@cases.post("/{case_id}/charges", status_code=201, responses=RECORDED)
def file_charges(case_id: UUID, body: ChargesRequest, command: JudicialCommand) -> JSONResponse:
    """The prosecutor files charges."""
    fields = body.model_dump(exclude={"offence_class"})
    return command.run(
        ChargesFiled, lambda c: command.app.file_charges(case_id, fields, body.offence_class, c)
    )


@cases.post("/{case_id}/detention-orders", status_code=201, responses=RECORDED)
def order_detention(
    case_id: UUID, body: DetentionOrderRequest, command: JudicialCommand
) -> JSONResponse:
    """A judge orders detention pending trial (charges first; within the class's initial term)."""
    fields = body.model_dump()
    return command.run(
        PreTrialDetentionOrdered, lambda c: command.app.order_detention(case_id, fields, c)
    )


@cases.post("/{case_id}/detention-orders/renewals", status_code=201, responses=RECORDED)
def renew_detention(case_id: UUID, body: RenewalRequest, command: JudicialCommand) -> JSONResponse:
    """A judge renews pre-trial detention, before it expires and within the legal maximum."""
    fields = body.model_dump()
    return command.run(
        PreTrialDetentionRenewed, lambda c: command.app.renew_detention(case_id, fields, c)
    )


@cases.post("/{case_id}/hearings", status_code=201, responses=RECORDED)
def schedule_hearing(case_id: UUID, body: HearingRequest, command: JudicialCommand) -> JSONResponse:
    """Schedule a hearing; answers its new `hearing_id`."""
    fields = body.model_dump()
    return command.run(HearingScheduled, lambda c: command.app.schedule_hearing(case_id, fields, c))


@cases.post("/{case_id}/hearings/{hearing_id}/held", status_code=201, responses=RECORDED)
def hold_hearing(
    case_id: UUID, hearing_id: UUID, body: HeldRequest, command: JudicialCommand
) -> JSONResponse:
    """Record that a scheduled hearing took place (once)."""
    fields = body.model_dump()
    return command.run(
        HearingHeld, lambda c: command.app.hold_hearing(case_id, hearing_id, fields, c)
    )


@cases.post("/{case_id}/hearings/{hearing_id}/adjourned", status_code=201, responses=RECORDED)
def adjourn_hearing(
    case_id: UUID, hearing_id: UUID, body: AdjournedRequest, command: JudicialCommand
) -> JSONResponse:
    """Record that a scheduled hearing was adjourned (once)."""
    fields = body.model_dump()
    return command.run(
        HearingAdjourned, lambda c: command.app.adjourn_hearing(case_id, hearing_id, fields, c)
    )


@cases.post("/{case_id}/verdict", status_code=201, responses=RECORDED)
def deliver_verdict(
    case_id: UUID, body: VerdictDelivered, command: JudicialCommand
) -> JSONResponse:
    """The verdict (once); an acquittal or dismissal also orders release (`release_order_id`)."""
    return command.run(VerdictDelivered, lambda c: command.app.deliver_verdict(case_id, body, c))


@cases.post("/{case_id}/sentence", status_code=201, responses=RECORDED)
def impose_sentence(case_id: UUID, body: SentenceRequest, command: JudicialCommand) -> JSONResponse:
    """The sentence after a conviction; judicial computes its release date."""
    fields = body.model_dump()
    return command.run(SentenceImposed, lambda c: command.app.impose_sentence(case_id, fields, c))


@cases.post("/{case_id}/release-orders", status_code=201, responses=RECORDED)
def order_release(
    case_id: UUID, body: ReleaseOrderRequest, command: JudicialCommand
) -> JSONResponse:
    """A judge orders release; answers the new `release_order_id` intake will execute."""
    fields = body.model_dump()
    return command.run(ReleaseOrdered, lambda c: command.app.order_release(case_id, fields, c))


@cases.post("/{case_id}/seal", status_code=201, responses=RECORDED)
def seal(case_id: UUID, body: SealRequest, command: JudicialCommand) -> JSONResponse:
    """Seal the case by order."""
    by = body.sealed_by or command.user.sub
    return command.run(CaseSealed, lambda c: command.app.seal(case_id, body.reason, by, c))


@cases.post("/{case_id}/erasure-orders", status_code=201, responses=RECORDED)
def order_erasure(
    case_id: UUID, body: ErasureOrderRequest, command: JudicialCommand
) -> JSONResponse:
    """A judge records a court's order to erase the person's personal data; answers the new
    `erasure_order_id` intake will execute (after release, with four eyes)."""
    fields = {**body.model_dump(), "ordered_by": body.ordered_by or command.user.sub}
    return command.run(ErasureOrdered, lambda c: command.app.order_erasure(case_id, fields, c))


@entries.post("/{event_id}/void", status_code=201, responses=RECORDED)
def void_entry(event_id: UUID, body: VoidRequest, command: JudicialCommand) -> JSONResponse:
    """Void a mistaken judicial entry (it stays on record, linked); by its recording agency."""
    return command.run(JudicialEntryVoided, lambda c: command.app.void(event_id, body.reason, c))


@cases.get("", response_model_exclude_unset=True)
def list_cases(
    app: JudicialApp,
    user: CurrentUser,
    scope: CallerScope,
    page: Paged,
    facility: Annotated[str | None, query_text(200)] = None,
) -> queries.CasePage:
    """The cases judicial follows, newest arrest first, a page at a time.

    Each item shows what the caller's role may see of it (its stage: the latest the role may
    see); a filter on what it may not see is refused (403)."""
    require_filters(user.role, queries.CASE_FILTER_SOURCES, facility=facility or None)
    answer = queries.list_cases(app, page.limit, page.offset, facility, scope=scope)
    answer["items"] = queries.redact_cases(answer["items"], user.role)
    return queries.CasePage.model_validate(answer)


@cases.get("/{case_id}")
def get_case(case_id: UUID, app: JudicialApp, user: CurrentUser) -> JSONResponse:
    """Judicial's current view of one case, with its `version` (also the `ETag`)."""
    view, version = queries.case_view(app, case_id)
    return view_response(queries.redact_case(view, user.role), version)


@deadlines.get("/deadlines", response_model_exclude_unset=True)
def list_deadlines(
    app: JudicialApp,
    user: CurrentUser,
    scope: CallerScope,
    page: PagedLong,
    status: Literal["overdue", "due_soon", "running"] | None = None,
    facility: Annotated[str | None, query_text(200)] = None,
    kind: Literal["custody", "pre_trial"] | None = None,
) -> queries.DeadlinePage:
    """Custody and pre-trial detention limits of the people held: `overdue`, `due_soon`, `running`.

    The prison registry and director filter by their `facility`: where no renewal order exists,
    the prison administration must bring the detainee before the prosecutor.
    """
    require_role(user, *_DEADLINE_READERS)
    require_filters(
        user.role,
        queries.DEADLINE_FILTER_SOURCES,
        status=status,
        facility=facility or None,
        kind=kind,
    )
    # Unset keys stay out: only an overdue limit has `hours_past_limit` and `action`.
    answer = queries.deadlines(app, page.limit, page.offset, status, facility, kind, scope=scope)
    answer["items"] = queries.redact_deadlines(answer["items"], user.role)
    return queries.DeadlinePage.model_validate(answer)


routers = [cases, entries, deadlines]
