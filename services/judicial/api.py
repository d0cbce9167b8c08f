"""Judicial's HTTP routes: translation between HTTP and `JudicialApplication`, nothing else.

Request bodies are the catalogue payloads less what judicial fills in itself: the ids of new
hearings and release orders, the release date of a sentence, default terms from the rules.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import Field

from services.judicial import queries
from services.judicial.application import JudicialApplication
from services.judicial.errors import within_calendar
from shared.events.base import (
    CalendarDate,
    Instant,
    LongText,
    Name,
    PayloadModel,
    ShortText,
    StrictInt,
)
from shared.events.judicial import (
    CaseSealed,
    ChargesFiled,
    ErasureOrdered,
    HearingAdjourned,
    HearingHeld,
    HearingScheduled,
    Offence,
    PreTrialDetentionOrdered,
    PreTrialDetentionRenewed,
    ReleaseKind,
    ReleaseOrdered,
    SentenceImposed,
    VerdictDelivered,
)
from shared.events.voiding import JudicialEntryVoided
from shared.kit.access import CallerScope
from shared.kit.auth import CurrentUser, require_command, require_role
from shared.kit.commands import run_command, view_response
from shared.kit.metrics import Metrics
from shared.kit.params import query_text
from shared.kit.redaction import redact_view
from shared.kit.runtime import RECORDED, Context, MetricsDep, application
from shared.kit.store import CommandContext, Recorded

__all__ = ["cases", "deadlines", "entries"]

JudicialDep = Annotated[JudicialApplication, Depends(application)]

cases = APIRouter(prefix="/cases", tags=["cases"])
entries = APIRouter(prefix="/entries", tags=["corrections"])
deadlines = APIRouter(tags=["deadlines"])

_MAX_TERM_DAYS = 36_525
_DEADLINE_READERS = (
    "judge",
    "prosecutor",
    "police",
    "prison_registry",
    "prison_director",
    "auditor",
    "admin",
)
RuleName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class ChargesRequest(PayloadModel):
    """`ChargesFiled`, and the class of offence whose detention limits apply."""

    offences: Annotated[tuple[Offence, ...], Field(min_length=1, max_length=50)]
    prosecutor: Name
    filed_at: Instant
    court: Name | None = None
    offence_class: RuleName | None = Field(
        default=None,
        description="Class in the jurisdiction's rules (e.g. `crime`); default: its default.",
    )


class DetentionOrderRequest(PayloadModel):
    """`PreTrialDetentionOrdered`; `expires_at` defaults to the class's initial term."""

    ordered_by: Name
    ordered_at: Instant
    expires_at: Instant | None = None
    legal_basis: ShortText
    warrant_ref: Name | None = None


class RenewalRequest(PayloadModel):
    """`PreTrialDetentionRenewed`; `expires_at` defaults to one renewal term, within the maximum."""

    renewed_by: Name
    renewed_at: Instant
    expires_at: Instant | None = None
    reason: ShortText | None = None


class HearingRequest(PayloadModel):
    """`HearingScheduled` less `hearing_id`, which judicial gives."""

    court: Name
    scheduled_for: Instant
    purpose: ShortText


class HeldRequest(PayloadModel):
    """`HearingHeld` less `hearing_id` (in the path)."""

    held_at: Instant
    outcome_summary: LongText
    presiding_judge: Name | None = None
    defence_counsel: Name | None = None


class AdjournedRequest(PayloadModel):
    """`HearingAdjourned` less `hearing_id` (in the path)."""

    reason: ShortText
    new_date: Instant | None = None
    adjourned_at: Instant | None = None


class SentenceRequest(PayloadModel):
    """`SentenceImposed` less `release_date`, which judicial computes."""

    term_days: StrictInt = Field(ge=0, le=_MAX_TERM_DAYS)
    starts_on: CalendarDate
    credit_for_time_served_days: StrictInt = Field(ge=0, le=_MAX_TERM_DAYS)
    conditions: Annotated[tuple[ShortText, ...], Field(max_length=50)] = ()
    imposed_at: Instant | None = None


class ReleaseOrderRequest(PayloadModel):
    """`ReleaseOrdered` less `release_order_id`, which judicial gives."""

    kind: ReleaseKind
    effective_at: Instant
    conditions: Annotated[tuple[ShortText, ...], Field(max_length=50)] = ()
    ordered_by: Name | None = None
    ordered_at: Instant | None = None


class ErasureOrderRequest(PayloadModel):
    """`ErasureOrdered` less `erasure_order_id`, which judicial gives; `ordered_by` defaults to
    the judge making the request."""

    order_reference: ShortText
    legal_basis: ShortText
    ordered_by: Name | None = None
    ordered_at: Instant | None = None


class SealRequest(PayloadModel):
    """`CaseSealed` by order; `sealed_by` defaults to the judge making the request."""

    reason: ShortText
    sealed_by: Name | None = None


class VoidRequest(PayloadModel):
    """Why a mistaken entry is voided."""

    reason: ShortText


def _at_case(recorded: Recorded) -> str:
    return f"/cases/{recorded.case_id}"


def _command(
    app: JudicialApplication, ctx: CommandContext, m: Metrics, model: type[Any], do: Any
) -> JSONResponse:
    return run_command(app, ctx, model.type_name(), within_calendar(do), _at_case, m)


@cases.post("/{case_id}/charges", status_code=201, responses=RECORDED)
def file_charges(
    case_id: UUID,
    body: ChargesRequest,
    app: JudicialDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """The prosecutor files charges."""
    require_command(user, ChargesFiled)
    fields = body.model_dump(exclude={"offence_class"})
    return _command(
        app,
        ctx,
        m,
        ChargesFiled,
        lambda c: app.file_charges(case_id, fields, body.offence_class, c),
    )


@cases.post("/{case_id}/detention-orders", status_code=201, responses=RECORDED)
def order_detention(
    case_id: UUID,
    body: DetentionOrderRequest,
    app: JudicialDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """A judge orders detention pending trial (charges first; within the class's initial term)."""
    require_command(user, PreTrialDetentionOrdered)
    fields = body.model_dump()
    return _command(
        app, ctx, m, PreTrialDetentionOrdered, lambda c: app.order_detention(case_id, fields, c)
    )


@cases.post("/{case_id}/detention-orders/renewals", status_code=201, responses=RECORDED)
def renew_detention(
    case_id: UUID,
    body: RenewalRequest,
    app: JudicialDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """A judge renews pre-trial detention, before it expires and within the legal maximum."""
    require_command(user, PreTrialDetentionRenewed)
    fields = body.model_dump()
    return _command(
        app, ctx, m, PreTrialDetentionRenewed, lambda c: app.renew_detention(case_id, fields, c)
    )


@cases.post("/{case_id}/hearings", status_code=201, responses=RECORDED)
def schedule_hearing(
    case_id: UUID,
    body: HearingRequest,
    app: JudicialDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Schedule a hearing; answers its new `hearing_id`."""
    require_command(user, HearingScheduled)
    fields = body.model_dump()
    return _command(
        app, ctx, m, HearingScheduled, lambda c: app.schedule_hearing(case_id, fields, c)
    )


@cases.post("/{case_id}/hearings/{hearing_id}/held", status_code=201, responses=RECORDED)
def hold_hearing(
    case_id: UUID,
    hearing_id: UUID,
    body: HeldRequest,
    app: JudicialDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Record that a scheduled hearing took place (once)."""
    require_command(user, HearingHeld)
    fields = body.model_dump()
    return _command(
        app, ctx, m, HearingHeld, lambda c: app.hold_hearing(case_id, hearing_id, fields, c)
    )


@cases.post("/{case_id}/hearings/{hearing_id}/adjourned", status_code=201, responses=RECORDED)
def adjourn_hearing(
    case_id: UUID,
    hearing_id: UUID,
    body: AdjournedRequest,
    app: JudicialDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Record that a scheduled hearing was adjourned (once)."""
    require_command(user, HearingAdjourned)
    fields = body.model_dump()
    return _command(
        app, ctx, m, HearingAdjourned, lambda c: app.adjourn_hearing(case_id, hearing_id, fields, c)
    )


@cases.post("/{case_id}/verdict", status_code=201, responses=RECORDED)
def deliver_verdict(
    case_id: UUID,
    body: VerdictDelivered,
    app: JudicialDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """The verdict (once); an acquittal or dismissal also orders release (`release_order_id`)."""
    require_command(user, VerdictDelivered)
    return _command(app, ctx, m, VerdictDelivered, lambda c: app.deliver_verdict(case_id, body, c))


@cases.post("/{case_id}/sentence", status_code=201, responses=RECORDED)
def impose_sentence(
    case_id: UUID,
    body: SentenceRequest,
    app: JudicialDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """The sentence after a conviction; judicial computes its release date."""
    require_command(user, SentenceImposed)
    fields = body.model_dump()
    return _command(app, ctx, m, SentenceImposed, lambda c: app.impose_sentence(case_id, fields, c))


@cases.post("/{case_id}/release-orders", status_code=201, responses=RECORDED)
def order_release(
    case_id: UUID,
    body: ReleaseOrderRequest,
    app: JudicialDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """A judge orders release; answers the new `release_order_id` intake will execute."""
    require_command(user, ReleaseOrdered)
    fields = body.model_dump()
    return _command(app, ctx, m, ReleaseOrdered, lambda c: app.order_release(case_id, fields, c))


@cases.post("/{case_id}/seal", status_code=201, responses=RECORDED)
def seal(
    case_id: UUID,
    body: SealRequest,
    app: JudicialDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Seal the case by order."""
    require_command(user, CaseSealed)
    by = body.sealed_by or user.sub
    return _command(app, ctx, m, CaseSealed, lambda c: app.seal(case_id, body.reason, by, c))


@cases.post("/{case_id}/erasure-orders", status_code=201, responses=RECORDED)
def order_erasure(
    case_id: UUID,
    body: ErasureOrderRequest,
    app: JudicialDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """A judge records a court's order to erase the person's personal data; answers the new
    `erasure_order_id` intake will execute (after release, with four eyes)."""
    require_command(user, ErasureOrdered)
    fields = {**body.model_dump(), "ordered_by": body.ordered_by or user.sub}
    return _command(app, ctx, m, ErasureOrdered, lambda c: app.order_erasure(case_id, fields, c))


@entries.post("/{event_id}/void", status_code=201, responses=RECORDED)
def void_entry(
    event_id: UUID,
    body: VoidRequest,
    app: JudicialDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Void a mistaken judicial entry (it stays on record, linked); by its recording agency."""
    require_command(user, JudicialEntryVoided)
    return _command(app, ctx, m, JudicialEntryVoided, lambda c: app.void(event_id, body.reason, c))


@cases.get("")
def list_cases(
    app: JudicialDep,
    user: CurrentUser,
    scope: CallerScope,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    facility: Annotated[str | None, query_text(200)] = None,
) -> dict[str, Any]:
    """The cases judicial follows, newest arrest first, a page at a time."""
    return queries.list_cases(app, scope, limit, offset, facility)


@cases.get("/{case_id}")
def get_case(case_id: UUID, app: JudicialDep, user: CurrentUser) -> JSONResponse:
    """Judicial's current view of one case, with its `version` (also the `ETag`)."""
    view, version = queries.case_view(app, case_id)
    return view_response(redact_view(view, user.role, queries.CASE_VIEW_SOURCES), version)


@deadlines.get("/deadlines")
def list_deadlines(
    app: JudicialDep,
    user: CurrentUser,
    scope: CallerScope,
    status: Literal["overdue", "due_soon", "running"] | None = None,
    facility: Annotated[str | None, query_text(200)] = None,
    kind: Literal["custody", "pre_trial"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Custody and pre-trial detention limits of the people held: `overdue`, `due_soon`, `running`.

    The prison registry and director filter by their `facility`: where no renewal order exists,
    the prison administration must bring the detainee before the prosecutor.
    """
    require_role(user, *_DEADLINE_READERS)
    return queries.deadlines(app, scope, status, facility, kind, limit, offset)
