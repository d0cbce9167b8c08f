"""Assessment's HTTP routes: translation between HTTP and `AssessmentApplication`, nothing else."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from services.assessment import queries
from services.assessment.application import AssessmentApplication
from services.assessment.requests import (
    CountersignatureRequest,
    InstrumentRequest,
    PlacementRequest,
    RatingRequest,
    StartRequest,
    SubmissionRequest,
)
from shared.events.assessment import (
    AssessmentCountersigned,
    AssessmentStarted,
    AssessmentSubmitted,
    IndicatorRated,
    InstrumentPublished,
    NeedsAssessed,
    PlacementDecided,
    RiskLevel,
)
from shared.events.voiding import AssessmentEntryVoided
from shared.kit.access import CallerScope
from shared.kit.auth import CurrentUser
from shared.kit.commands import Command, route_command, view_response
from shared.kit.errors import ForbiddenError
from shared.kit.paging import Paged, PagedLong
from shared.kit.params import query_text
from shared.kit.redaction import redact_items, redact_view, require_filters
from shared.kit.requests import VoidRequest
from shared.kit.runtime import RECORDED, application
from shared.kit.store import Recorded
from shared.permissions import may_see

__all__ = ["routers"]

AssessmentApp = Annotated[AssessmentApplication, Depends(application)]
AssessmentCommand = Annotated[Command[AssessmentApplication], Depends(route_command)]
Facility = Annotated[str | None, query_text(200)]


def _assessment_location(recorded: Recorded) -> str:
    return f"/cases/{recorded.case_id}/assessments/{recorded.ids['assessment_id']}"


cases = APIRouter(prefix="/cases", tags=["cases"])


@cases.post("/{case_id}/assessments", status_code=201, responses=RECORDED)
def start_assessment(case_id: UUID, body: StartRequest, command: AssessmentCommand) -> JSONResponse:
    """Start a risk assessment (the caller is the assessor); returns its `assessment_id`."""
    return command.run(
        AssessmentStarted,
        lambda c: command.app.start_assessment(
            case_id, c, body.instrument_id, body.instrument_version, body.started_at
        ),
        location=_assessment_location,
    )


@cases.post("/{case_id}/assessments/{assessment_id}/ratings", status_code=201, responses=RECORDED)
def rate(
    case_id: UUID, assessment_id: UUID, body: RatingRequest, command: AssessmentCommand
) -> JSONResponse:
    """Rate one indicator on its scale; a later rating of the same indicator replaces it."""
    fields = body.model_dump()
    return command.run(
        IndicatorRated,
        lambda c: command.app.rate(case_id, assessment_id, fields, c),
        location=_assessment_location,
    )


@cases.post(
    "/{case_id}/assessments/{assessment_id}/submission", status_code=201, responses=RECORDED
)
def submit(
    case_id: UUID, assessment_id: UUID, body: SubmissionRequest, command: AssessmentCommand
) -> JSONResponse:
    """Submit the judgement (overall risk, rationale, next review); every indicator rated."""
    fields = body.model_dump()
    return command.run(
        AssessmentSubmitted,
        lambda c: command.app.submit(case_id, assessment_id, fields, c),
        location=_assessment_location,
    )


@cases.post(
    "/{case_id}/assessments/{assessment_id}/countersignature", status_code=201, responses=RECORDED
)
def countersign(
    case_id: UUID, assessment_id: UUID, body: CountersignatureRequest, command: AssessmentCommand
) -> JSONResponse:
    """Countersign a submitted assessment (four eyes: never the assessor's own)."""
    return command.run(
        AssessmentCountersigned,
        lambda c: command.app.countersign(case_id, assessment_id, body.note, c),
        location=_assessment_location,
    )


@cases.post("/{case_id}/needs", status_code=201, responses=RECORDED)
def record_needs(case_id: UUID, body: NeedsAssessed, command: AssessmentCommand) -> JSONResponse:
    """Record a needs assessment: literacy, languages, education, interests, skills."""
    return command.run(NeedsAssessed, lambda c: command.app.record_needs(case_id, body, c))


@cases.post("/{case_id}/placement", status_code=201, responses=RECORDED)
def decide_placement(
    case_id: UUID, body: PlacementRequest, command: AssessmentCommand
) -> JSONResponse:
    """Decide the security level and whom the person must be kept apart from."""
    fields = body.model_dump(exclude_none=True)
    return command.run(
        PlacementDecided,
        lambda c: command.app.decide_placement(case_id, fields, c),
        # Whom to keep the person apart from: people the director may see, or a 404 that tells
        # nothing of who else is held (or whether such a case exists at all).
        cases=body.keep_separate_from or (),
    )


@cases.get("", response_model_exclude_unset=True)
def list_cases(
    app: AssessmentApp,
    user: CurrentUser,
    facility: Facility = None,
    risk: RiskLevel | None = None,
    *,
    page: Paged,
    scope: CallerScope,
) -> queries.CasePage:
    """The cases known to assessment, with current risk and security level, a page at a time.

    Each item shows what the caller's role may see of it; a filter on what it may not see is
    refused (403)."""
    risk_level = risk.value if risk else None
    require_filters(user.role, queries.CASE_FILTER_SOURCES, facility=facility, risk=risk_level)
    answer = queries.list_cases(
        app, page.limit, page.offset, facility=facility, risk=risk_level, scope=scope
    )
    answer["items"] = redact_items(answer["items"], user.role, queries.CASE_ITEM_SOURCES)
    return queries.CasePage.model_validate(answer)


@cases.get("/{case_id}")
def get_case(
    case_id: UUID, app: AssessmentApp, user: CurrentUser, scope: CallerScope
) -> JSONResponse:
    """Current risk, needs, placement, reviews and every assessment with its instrument version."""
    view, version = queries.case_view(app, case_id)
    shown = redact_view(view, user.role, queries.CASE_VIEW_SOURCES)
    placement = shown.get("placement")
    if placement and placement.get("keep_separate_from"):
        # Only the people the reader may see: a sealed or unlinked case is not named.
        others = app.access.visible_set(scope, placement["keep_separate_from"])
        placement = {**placement, "keep_separate_from": sorted(others)}
        shown["placement"] = placement
    return view_response(shown, version)


@cases.get("/{case_id}/assessments/{assessment_id}")
def get_assessment(
    case_id: UUID, assessment_id: UUID, app: AssessmentApp, user: CurrentUser
) -> JSONResponse:
    """One assessment: its instrument version, ratings, judgement and countersignature."""
    if not may_see(user.role, AssessmentStarted.type_name()):
        raise ForbiddenError("role {role!r} may not see assessments", role=user.role)
    view, version = queries.assessment_view(app, case_id, assessment_id)
    return view_response(redact_view(view, user.role, queries.ASSESSMENT_VIEW_SOURCES), version)


instruments = APIRouter(prefix="/instruments", tags=["instruments"])


@instruments.post("", status_code=201, responses=RECORDED)
def publish_instrument(body: InstrumentRequest, command: AssessmentCommand) -> JSONResponse:
    """Publish an instrument version (immutable once published); returns `instrument_id`."""
    fields = body.model_dump(mode="json", exclude={"instrument_id", "version"})
    return command.run(
        InstrumentPublished,
        lambda c: command.app.publish_instrument(fields, c, body.instrument_id, body.version),
        location=lambda r: (
            f"/instruments/{r.ids['instrument_id']}/versions/{r.ids['instrument_version']}"
        ),
    )


@instruments.get("")
def list_instruments(app: AssessmentApp, user: CurrentUser) -> dict[str, Any]:
    """Every instrument and its published versions; `default_instrument_id` is the one in force."""
    return queries.instruments(app)


@instruments.get("/{instrument_id}/versions/{version}")
def get_instrument_version(
    instrument_id: UUID,
    version: Annotated[int, Path(ge=1, le=10_000)],
    app: AssessmentApp,
    user: CurrentUser,
) -> dict[str, Any]:
    """One instrument version exactly as published."""
    return queries.instrument_version(app, instrument_id, version)


schedule = APIRouter(tags=["reviews and placement"])


@schedule.get("/reviews", response_model_exclude_unset=True)
def list_reviews(
    app: AssessmentApp,
    user: CurrentUser,
    status: Literal["open", "overdue", "due_soon", "satisfied"] = "open",
    within_days: Annotated[int, Query(ge=1, le=366)] = queries.DUE_SOON_DAYS,
    facility: Facility = None,
    *,
    page: PagedLong,
    scope: CallerScope,
) -> queries.ReviewPage:
    """Due assessments: `overdue`, `due_soon` (within `within_days`), all `open`, or `satisfied`."""
    require_filters(
        user.role,
        queries.REVIEW_FILTER_SOURCES,
        status=status,
        within_days=within_days,
        facility=facility,
    )
    answer = queries.reviews(
        app,
        status,
        page.limit,
        page.offset,
        facility=facility,
        within_days=within_days,
        scope=scope,
    )
    answer["items"] = redact_items(answer["items"], user.role, queries.REVIEW_ITEM_SOURCES)
    return queries.ReviewPage.model_validate(answer)


@schedule.get("/placements/conflicts")
def placement_conflicts(
    app: AssessmentApp, user: CurrentUser, scope: CallerScope, facility: Facility = None
) -> dict[str, Any]:
    """Pairs who must be kept apart but are held in one facility, and minors held with adults."""
    return queries.placement_conflicts(app, facility, scope=scope)


entries = APIRouter(prefix="/entries", tags=["entries"])


@entries.post("/{event_id}/void", status_code=201, responses=RECORDED)
def void_entry(event_id: UUID, body: VoidRequest, command: AssessmentCommand) -> JSONResponse:
    """Void a mistaken entry (never edited or deleted); countersigned assessments stand."""
    return command.run(
        AssessmentEntryVoided, lambda c: command.app.void_entry(event_id, body.reason, c)
    )


routers = [cases, instruments, schedule, entries]
