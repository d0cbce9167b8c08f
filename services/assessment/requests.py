"""Command bodies of the assessment API: catalogue payloads less what the service fills in (the
ids of new assessments, the assessor and countersigner: the caller), and the instrument to
publish a new version of."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from shared.events.assessment import (
    AssessmentCountersigned,
    AssessmentStarted,
    AssessmentSubmitted,
    IndicatorRated,
    InstrumentPublished,
    PlacementDecided,
)
from shared.events.base import StrictInt
from shared.kit.requests import RequestModel, request_model

__all__ = [
    "CountersignatureRequest",
    "InstrumentRequest",
    "PlacementRequest",
    "RatingRequest",
    "StartRequest",
    "SubmissionRequest",
]


@request_model(InstrumentPublished, exclude={"instrument_version"})
class InstrumentRequest(RequestModel):
    """An instrument version to publish; without `instrument_id`, a new instrument."""

    instrument_id: UUID | None = Field(default=None, description="Publish a new version of it.")
    version: StrictInt | None = Field(default=None, ge=1, le=10_000, description="Default: next.")


@request_model(
    AssessmentStarted,
    exclude={"assessment_id", "assessor"},
    optional={"instrument_id", "instrument_version"},
)
class StartRequest(RequestModel):
    """Start an assessment; the instrument in force and its latest version by default."""


@request_model(IndicatorRated, exclude={"assessment_id"})
class RatingRequest(RequestModel):
    pass


@request_model(AssessmentSubmitted, exclude={"assessment_id"})
class SubmissionRequest(RequestModel):
    pass


@request_model(AssessmentCountersigned, exclude={"assessment_id", "countersigned_by"})
class CountersignatureRequest(RequestModel):
    pass


@request_model(PlacementDecided, optional={"decided_by"})
class PlacementRequest(RequestModel):
    """A placement decision; `decided_by` defaults to the caller."""
