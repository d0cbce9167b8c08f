"""Intake's HTTP routes: translation between HTTP and `IntakeApplication`, nothing else."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from shared.events.intake import ArrestRecorded, DetaineeAdmitted
from shared.kit.auth import CurrentUser, require_command
from shared.kit.http import command_context, run_command, view_response
from shared.kit.metrics import Metrics
from shared.kit.runtime import application, metrics
from shared.kit.store import CommandContext

from services.intake.application import IntakeApplication

__all__ = ["router"]

IntakeDep = Annotated[IntakeApplication, Depends(application)]
Context = Annotated[CommandContext, Depends(command_context)]
MetricsDep = Annotated[Metrics, Depends(metrics)]

router = APIRouter(prefix="/cases", tags=["cases"])

_RECORDED = {201: {"description": "Recorded: `{case_id, event_id, version}`"}}


def _case_location(recorded: Any) -> str:
    return f"/cases/{recorded.case_id}"


@router.post("", status_code=201, responses=_RECORDED)
def record_arrest(
    body: ArrestRecorded, intake: IntakeDep, user: CurrentUser, ctx: Context, m: MetricsDep
) -> JSONResponse:
    """Record an arrest; this opens a new case and returns its `case_id`."""
    require_command(user, ArrestRecorded)
    return run_command(
        intake, ctx, ArrestRecorded.type_name(), lambda c: intake.record_arrest(body, c), _case_location, m
    )


@router.post("/{case_id}/admission", status_code=201, responses=_RECORDED)
def admit(
    case_id: UUID, body: DetaineeAdmitted, intake: IntakeDep, user: CurrentUser, ctx: Context, m: MetricsDep
) -> JSONResponse:
    """Record the person's admission to a prison (Mandela Rule 7 record)."""
    require_command(user, DetaineeAdmitted)
    return run_command(
        intake, ctx, DetaineeAdmitted.type_name(), lambda c: intake.admit(case_id, body, c), _case_location, m
    )


@router.get("")
def list_cases(
    intake: IntakeDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    facility: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The cases, newest arrest first, a page at a time."""
    return intake.list_cases(limit, offset, facility)


@router.get("/{case_id}")
def get_case(case_id: UUID, intake: IntakeDep, user: CurrentUser) -> JSONResponse:
    """Intake's current view of one case, with its `version` (also the `ETag`)."""
    view, version = intake.case_view(case_id)
    return view_response(view, version)
