"""Assessment's HTTP routes: translation between HTTP and `AssessmentApplication`, nothing else."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field, model_validator

from services.assessment import queries
from services.assessment.application import DUE_SOON_DAYS, AssessmentApplication
from shared.events.assessment import (
    AssessmentCountersigned,
    AssessmentKind,
    AssessmentStarted,
    AssessmentSubmitted,
    Domain,
    IndicatorRated,
    InstrumentPublished,
    NeedsAssessed,
    PlacementDecided,
    RiskLevel,
    SecurityLevel,
)
from shared.events.base import Code, Instant, LongText, Name, PayloadModel, ShortText, StrictInt
from shared.events.voiding import AssessmentEntryVoided
from shared.kit.access import CallerScope
from shared.kit.auth import CurrentUser, require_command
from shared.kit.commands import run_command, view_response
from shared.kit.errors import ForbiddenError
from shared.kit.params import query_text
from shared.kit.redaction import redact_view
from shared.kit.runtime import RECORDED, Context, MetricsDep, application
from shared.kit.store import Recorded
from shared.permissions import may_see

__all__ = ["routers"]

AppDep = Annotated[AssessmentApplication, Depends(application)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Facility = Annotated[str | None, query_text(200)]


class InstrumentRequest(PayloadModel):
    """An instrument version to publish; without `instrument_id`, a new instrument."""

    instrument_id: UUID | None = Field(default=None, description="Publish a new version of it.")
    version: StrictInt | None = Field(default=None, ge=1, le=10_000, description="Default: next.")
    title: Name
    domains: Annotated[tuple[Domain, ...], Field(min_length=1, max_length=30)]
    assessment_kind: AssessmentKind | None = None
    description: LongText | None = None

    @model_validator(mode="after")
    def _ids_unique(self) -> InstrumentRequest:
        domain_ids = [d.id for d in self.domains]
        indicator_ids = [i.id for d in self.domains for i in d.indicators]
        if len(set(domain_ids)) != len(domain_ids):
            raise ValueError("domain ids must be unique")
        if len(set(indicator_ids)) != len(indicator_ids):
            raise ValueError("indicator ids must be unique across the instrument")
        return self


class StartRequest(PayloadModel):
    """Start an assessment; the instrument in force and its latest version by default."""

    instrument_id: UUID | None = None
    instrument_version: StrictInt | None = Field(default=None, ge=1, le=10_000)
    started_at: Instant | None = None


class RatingRequest(PayloadModel):
    indicator_id: Code
    rating: StrictInt = Field(ge=-100, le=100, description="A value on the indicator's scale.")
    evidence_note: LongText | None = None


class SubmissionRequest(PayloadModel):
    overall_risk: RiskLevel
    rationale: LongText
    next_review_by: Instant
    submitted_at: Instant | None = None


class CountersignatureRequest(PayloadModel):
    note: ShortText | None = None


class PlacementRequest(PayloadModel):
    """A placement decision; `decided_by` defaults to the caller."""

    security_level: SecurityLevel
    keep_separate_from: Annotated[tuple[UUID, ...], Field(max_length=200)] = ()
    rationale: LongText
    decided_by: Name | None = None
    facility: Name | None = None
    housing_unit: Name | None = None
    decided_at: Instant | None = None


class VoidRequest(PayloadModel):
    reason: ShortText


def _case_location(recorded: Recorded) -> str:
    return f"/cases/{recorded.case_id}"


def _assessment_location(recorded: Recorded) -> str:
    return f"/cases/{recorded.case_id}/assessments/{recorded.ids['assessment_id']}"


cases = APIRouter(prefix="/cases", tags=["cases"])


@cases.post("/{case_id}/assessments", status_code=201, responses=RECORDED)
def start_assessment(
    case_id: UUID, body: StartRequest, app: AppDep, user: CurrentUser, ctx: Context, m: MetricsDep
) -> JSONResponse:
    """Start a risk assessment (the caller is the assessor); returns its `assessment_id`."""
    require_command(user, AssessmentStarted)
    return run_command(
        app,
        ctx,
        AssessmentStarted.type_name(),
        lambda c: app.start_assessment(
            case_id, c, body.instrument_id, body.instrument_version, body.started_at
        ),
        _assessment_location,
        m,
    )


@cases.post("/{case_id}/assessments/{assessment_id}/ratings", status_code=201, responses=RECORDED)
def rate(
    case_id: UUID,
    assessment_id: UUID,
    body: RatingRequest,
    app: AppDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Rate one indicator on its scale; a later rating of the same indicator replaces it."""
    require_command(user, IndicatorRated)
    fields = body.model_dump()
    return run_command(
        app,
        ctx,
        IndicatorRated.type_name(),
        lambda c: app.rate(case_id, assessment_id, fields, c),
        _assessment_location,
        m,
    )


@cases.post(
    "/{case_id}/assessments/{assessment_id}/submission", status_code=201, responses=RECORDED
)
def submit(
    case_id: UUID,
    assessment_id: UUID,
    body: SubmissionRequest,
    app: AppDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Submit the judgement (overall risk, rationale, next review); every indicator rated."""
    require_command(user, AssessmentSubmitted)
    fields = body.model_dump()
    return run_command(
        app,
        ctx,
        AssessmentSubmitted.type_name(),
        lambda c: app.submit(case_id, assessment_id, fields, c),
        _assessment_location,
        m,
    )


@cases.post(
    "/{case_id}/assessments/{assessment_id}/countersignature", status_code=201, responses=RECORDED
)
def countersign(
    case_id: UUID,
    assessment_id: UUID,
    body: CountersignatureRequest,
    app: AppDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Countersign a submitted assessment (four eyes: never the assessor's own)."""
    require_command(user, AssessmentCountersigned)
    return run_command(
        app,
        ctx,
        AssessmentCountersigned.type_name(),
        lambda c: app.countersign(case_id, assessment_id, body.note, c),
        _assessment_location,
        m,
    )


@cases.post("/{case_id}/needs", status_code=201, responses=RECORDED)
def record_needs(
    case_id: UUID, body: NeedsAssessed, app: AppDep, user: CurrentUser, ctx: Context, m: MetricsDep
) -> JSONResponse:
    """Record a needs assessment: literacy, languages, education, interests, skills."""
    require_command(user, NeedsAssessed)
    return run_command(
        app,
        ctx,
        NeedsAssessed.type_name(),
        lambda c: app.record_needs(case_id, body, c),
        _case_location,
        m,
    )


@cases.post("/{case_id}/placement", status_code=201, responses=RECORDED)
def decide_placement(
    case_id: UUID,
    body: PlacementRequest,
    app: AppDep,
    user: CurrentUser,
    ctx: Context,
    m: MetricsDep,
) -> JSONResponse:
    """Decide the security level and whom the person must be kept apart from."""
    require_command(user, PlacementDecided)
    fields = body.model_dump(exclude_none=True)
    return run_command(
        app,
        ctx,
        PlacementDecided.type_name(),
        lambda c: app.decide_placement(case_id, fields, c),
        _case_location,
        m,
        # Whom to keep the person apart from: people the director may see, or a 404 that tells
        # nothing of who else is held (or whether such a case exists at all).
        cases=body.keep_separate_from or (),
    )


@cases.get("")
def list_cases(
    app: AppDep,
    user: CurrentUser,
    limit: Limit = 50,
    offset: Offset = 0,
    facility: Facility = None,
    risk: RiskLevel | None = None,
    *,
    scope: CallerScope,
) -> dict[str, Any]:
    """The cases known to assessment, with current risk and security level, a page at a time."""
    risk_level = risk.value if risk else None
    return app.list_cases(limit, offset, facility=facility, risk=risk_level, scope=scope)


@cases.get("/{case_id}")
def get_case(case_id: UUID, app: AppDep, user: CurrentUser, scope: CallerScope) -> JSONResponse:
    """Current risk, needs, placement, reviews and every assessment with its instrument version."""
    view, version = app.case_view(case_id)
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
    case_id: UUID, assessment_id: UUID, app: AppDep, user: CurrentUser
) -> JSONResponse:
    """One assessment: its instrument version, ratings, judgement and countersignature."""
    if not may_see(user.role, AssessmentStarted.type_name()):
        raise ForbiddenError(f"role {user.role!r} may not see assessments")
    view, version = app.assessment_view(case_id, assessment_id)
    return view_response(redact_view(view, user.role, queries.ASSESSMENT_VIEW_SOURCES), version)


instruments = APIRouter(prefix="/instruments", tags=["instruments"])


@instruments.post("", status_code=201, responses=RECORDED)
def publish_instrument(
    body: InstrumentRequest, app: AppDep, user: CurrentUser, ctx: Context, m: MetricsDep
) -> JSONResponse:
    """Publish an instrument version (immutable once published); returns `instrument_id`."""
    require_command(user, InstrumentPublished)
    fields = body.model_dump(mode="json", exclude={"instrument_id", "version"})
    return run_command(
        app,
        ctx,
        InstrumentPublished.type_name(),
        lambda c: app.publish_instrument(fields, c, body.instrument_id, body.version),
        lambda r: f"/instruments/{r.ids['instrument_id']}/versions/{r.ids['instrument_version']}",
        m,
    )


@instruments.get("")
def list_instruments(app: AppDep, user: CurrentUser) -> dict[str, Any]:
    """Every instrument and its published versions; `default_instrument_id` is the one in force."""
    return app.instruments()


@instruments.get("/{instrument_id}/versions/{version}")
def get_instrument_version(
    instrument_id: UUID,
    version: Annotated[int, Path(ge=1, le=10_000)],
    app: AppDep,
    user: CurrentUser,
) -> dict[str, Any]:
    """One instrument version exactly as published."""
    return app.instrument_version(instrument_id, version)


schedule = APIRouter(tags=["reviews and placement"])


@schedule.get("/reviews")
def list_reviews(
    app: AppDep,
    user: CurrentUser,
    status: Literal["open", "overdue", "due_soon", "satisfied"] = "open",
    within_days: Annotated[int, Query(ge=1, le=366)] = DUE_SOON_DAYS,
    facility: Facility = None,
    limit: Limit = 100,
    offset: Offset = 0,
    *,
    scope: CallerScope,
) -> dict[str, Any]:
    """Due assessments: `overdue`, `due_soon` (within `within_days`), all `open`, or `satisfied`."""
    return app.reviews(
        status,
        limit,
        offset,
        facility=facility,
        within_days=within_days,
        scope=scope,
    )


@schedule.get("/placements/conflicts")
def placement_conflicts(
    app: AppDep, user: CurrentUser, scope: CallerScope, facility: Facility = None
) -> dict[str, Any]:
    """Pairs who must be kept apart but are held in the same facility (optionally one facility)."""
    return app.placement_conflicts(facility, scope=scope)


entries = APIRouter(prefix="/entries", tags=["entries"])


@entries.post("/{event_id}/void", status_code=201, responses=RECORDED)
def void_entry(
    event_id: UUID, body: VoidRequest, app: AppDep, user: CurrentUser, ctx: Context, m: MetricsDep
) -> JSONResponse:
    """Void a mistaken entry (never edited or deleted); countersigned assessments stand."""
    require_command(user, AssessmentEntryVoided)
    return run_command(
        app,
        ctx,
        AssessmentEntryVoided.type_name(),
        lambda c: app.void_entry(event_id, body.reason, c),
        _case_location,
        m,
    )


routers = [cases, instruments, schedule, entries]
