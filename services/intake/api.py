"""Intake's HTTP routes: translation between HTTP and `IntakeApplication`, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import Field

from services.intake.application import CASE_VIEW_SOURCES, IntakeApplication
from services.intake.errors import within_calendar
from shared.events.base import Instant, PayloadModel, ShortText
from shared.events.intake import (
    ArrestRecorded,
    CustodyExtended,
    CustodyStarted,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
    EvidenceLogged,
    FamilyContactRecorded,
    PersonalDataErased,
)
from shared.events.voiding import IntakeEntryVoided
from shared.kit.access import CallerScope
from shared.kit.auth import CurrentUser, require_command
from shared.kit.commands import run_command, view_response
from shared.kit.metrics import Metrics
from shared.kit.params import query_text
from shared.kit.redaction import redact_view
from shared.kit.runtime import RECORDED, Context, MetricsDep, application
from shared.kit.scope import require_own_facility
from shared.kit.store import CommandContext, Recorded

__all__ = [
    "CustodyRequest",
    "ErasureConfirmation",
    "ErasureRequest",
    "VoidRequest",
    "entries",
    "router",
]

IntakeDep = Annotated[IntakeApplication, Depends(application)]

router = APIRouter(prefix="/cases", tags=["cases"])
entries = APIRouter(prefix="/entries", tags=["corrections"])


class CustodyRequest(PayloadModel):
    """`CustodyStarted` less `max_hours`, which comes from the jurisdiction's rules."""

    started_at: Instant
    legal_basis: ShortText
    location: ShortText | None = None
    regime: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]{0,31}$",
        description="The jurisdiction's custody regime (e.g. `terrorism`); default: its default.",
    )


class ErasureRequest(PayloadModel):
    """The first person's request to execute a judicial erasure order, and why."""

    erasure_order_id: UUID = Field(description="The order (`ErasureOrdered`) to execute.")
    reason: ShortText


class ErasureConfirmation(PayloadModel):
    """The second person's confirmation of the pending request for this order."""

    erasure_order_id: UUID


class VoidRequest(PayloadModel):
    """Why a mistaken entry is voided."""

    reason: ShortText


def _command(
    app: IntakeApplication,
    ctx: CommandContext,
    event_type: str,
    do: Callable[[CommandContext], Recorded],
    location: Callable[[Recorded], str],
    m: Metrics,
) -> JSONResponse:
    return run_command(app, ctx, event_type, within_calendar(do), location, m)


def _case_location(recorded: Any) -> str:
    return f"/cases/{recorded.case_id}"


@router.post("", status_code=201, responses=RECORDED)
def record_arrest(
    body: ArrestRecorded, intake: IntakeDep, user: CurrentUser, ctx: Context, m: MetricsDep
) -> JSONResponse:
    """Record an arrest; this opens a new case and returns its `case_id`."""
    require_command(user, ArrestRecorded)
    return _command(
        intake,
        ctx,
        ArrestRecorded.type_name(),
        lambda c: intake.record_arrest(body, c),
        _case_location,
        m,
    )


@router.post("/{case_id}/custody", status_code=201, responses=RECORDED)
def start_custody(
    case_id: UUID,
    body: CustodyRequest,
    intake: IntakeDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Record that police custody (garde à vue) began; its legal limit comes from the rules."""
    require_command(user, CustodyStarted)
    fields = body.model_dump(exclude={"regime"})
    return _command(
        intake,
        ctx,
        CustodyStarted.type_name(),
        lambda c: intake.start_custody(case_id, fields, body.regime, c),
        _case_location,
        m,
    )


@router.post("/{case_id}/custody/extensions", status_code=201, responses=RECORDED)
def extend_custody(
    case_id: UUID,
    body: CustodyExtended,
    intake: IntakeDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Record an authorised extension of custody, within the jurisdiction's limits."""
    require_command(user, CustodyExtended)
    return _command(
        intake,
        ctx,
        CustodyExtended.type_name(),
        lambda c: intake.extend_custody(case_id, body, c),
        _case_location,
        m,
    )


@router.post("/{case_id}/evidence", status_code=201, responses=RECORDED)
def log_evidence(
    case_id: UUID,
    body: EvidenceLogged,
    intake: IntakeDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Log an item of evidence collected, or handed over by the one who held it."""
    require_command(user, EvidenceLogged)
    return _command(
        intake,
        ctx,
        EvidenceLogged.type_name(),
        lambda c: intake.log_evidence(case_id, body, c),
        _case_location,
        m,
    )


@router.post("/{case_id}/transfers", status_code=201, responses=RECORDED)
def transfer(
    case_id: UUID,
    body: DetaineeTransferred,
    intake: IntakeDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Record a move between places of detention."""
    require_command(user, DetaineeTransferred)
    return _command(
        intake,
        ctx,
        DetaineeTransferred.type_name(),
        lambda c: intake.transfer(case_id, body, c),
        _case_location,
        m,
    )


@router.post("/{case_id}/admission", status_code=201, responses=RECORDED)
def admit(
    case_id: UUID,
    body: DetaineeAdmitted,
    intake: IntakeDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Record the person's admission to a prison (Mandela Rule 7 record)."""
    require_command(user, DetaineeAdmitted)
    require_own_facility(user, body.facility)
    return _command(
        intake,
        ctx,
        DetaineeAdmitted.type_name(),
        lambda c: intake.admit(case_id, body, c),
        _case_location,
        m,
    )


@router.post("/{case_id}/family-contacts", status_code=201, responses=RECORDED)
def record_family_contact(
    case_id: UUID,
    body: FamilyContactRecorded,
    intake: IntakeDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Record a visit, call or letter between the detainee and family."""
    require_command(user, FamilyContactRecorded)
    return _command(
        intake,
        ctx,
        FamilyContactRecorded.type_name(),
        lambda c: intake.record_family_contact(case_id, body, c),
        _case_location,
        m,
    )


@router.post("/{case_id}/erasure-requests", status_code=201, responses=RECORDED)
def request_erasure(
    case_id: UUID,
    body: ErasureRequest,
    intake: IntakeDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Ask to execute a judicial erasure order once the person is released (first of four eyes;
    nothing is erased until a second person confirms)."""
    require_command(user, PersonalDataErased)
    return run_command(
        intake,
        ctx,
        PersonalDataErased.type_name(),
        lambda c: intake.request_erasure(case_id, body.erasure_order_id, body.reason, c),
        _case_location,
        m,
    )


@router.post("/{case_id}/erasure", status_code=201, responses=RECORDED)
def erase_personal_data(
    case_id: UUID,
    body: ErasureConfirmation,
    intake: IntakeDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Confirm a pending erasure request, as a second person: the erasure is recorded, then the
    case's key destroyed, erasing its personal data everywhere (final)."""
    require_command(user, PersonalDataErased)
    return run_command(
        intake,
        ctx,
        PersonalDataErased.type_name(),
        lambda c: intake.erase_personal_data(case_id, body.erasure_order_id, c),
        _case_location,
        m,
    )


@router.post("/{case_id}/release", status_code=201, responses=RECORDED)
def release(
    case_id: UUID,
    body: DetaineeReleased,
    intake: IntakeDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Record that the person left custody under a release order from judicial (409 without one)."""
    require_command(user, DetaineeReleased)
    return _command(
        intake,
        ctx,
        DetaineeReleased.type_name(),
        lambda c: intake.release(case_id, body, c),
        _case_location,
        m,
    )


@entries.post("/{event_id}/void", status_code=201, responses=RECORDED)
def void_entry(
    event_id: UUID,
    body: VoidRequest,
    intake: IntakeDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Void a mistaken intake entry (it stays on record, linked); by its recording agency."""
    require_command(user, IntakeEntryVoided)
    return _command(
        intake,
        ctx,
        IntakeEntryVoided.type_name(),
        lambda c: intake.void(event_id, body.reason, c),
        _case_location,
        m,
    )


@router.get("")
def list_cases(
    intake: IntakeDep,
    user: CurrentUser,
    scope: CallerScope,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    facility: Annotated[str | None, query_text(200)] = None,
) -> dict[str, Any]:
    """The cases, newest arrest first, a page at a time."""
    return intake.list_cases(scope, limit, offset, facility)


@router.get("/{case_id}")
def get_case(case_id: UUID, intake: IntakeDep, user: CurrentUser) -> JSONResponse:
    """Intake's current view of one case, with its `version` (also the `ETag`)."""
    view, version = intake.case_view(case_id)
    return view_response(redact_view(view, user.role, CASE_VIEW_SOURCES), version)
