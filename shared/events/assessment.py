"""Events of the `assessment` service (SPEC §5): instruments, risk and needs assessments,
placement decisions.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from shared.events.base import (
    CatalogueEvent,
    Code,
    Instant,
    LongText,
    Name,
    PayloadModel,
    ShortText,
    StrictInt,
)

__all__ = [
    "EVENTS",
    "AssessmentCountersigned",
    "AssessmentDue",
    "AssessmentKind",
    "AssessmentStarted",
    "AssessmentSubmitted",
    "Domain",
    "EducationLevel",
    "Indicator",
    "IndicatorRated",
    "InstrumentPublished",
    "Literacy",
    "NeedsAssessed",
    "PlacementDecided",
    "RiskLevel",
    "Scale",
    "ScalePoint",
    "SecurityLevel",
]

_SCALE_BOUND = 100

Names = Annotated[tuple[Name, ...], Field(max_length=50)]


class RiskLevel(StrEnum):
    """An overall risk judgement, from low to high."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"

    def is_above(self, other: RiskLevel) -> bool:
        """Whether this level is strictly higher than `other`."""
        order = list(RiskLevel)
        return order.index(self) > order.index(other)


class AssessmentKind(StrEnum):
    """What an assessment evaluates."""

    RISK = "risk"
    NEEDS = "needs"


class SecurityLevel(StrEnum):
    """The security classification that decides housing, from least to most restrictive."""

    MINIMUM = "minimum"
    MEDIUM = "medium"
    HIGH = "high"
    MAXIMUM = "maximum"


class Literacy(StrEnum):
    """Reading and writing ability, in any language or script."""

    NONE = "none"
    BASIC = "basic"
    FUNCTIONAL = "functional"


class EducationLevel(StrEnum):
    """The highest schooling completed."""

    NONE = "none"
    KORANIC = "koranic"
    PRIMARY = "primary"
    SECONDARY = "secondary"
    VOCATIONAL = "vocational"
    HIGHER = "higher"


class ScalePoint(PayloadModel):
    """The meaning of one value of a rating scale."""

    value: StrictInt = Field(ge=-_SCALE_BOUND, le=_SCALE_BOUND)
    label: Name


class Scale(PayloadModel):
    """The integer range an indicator is rated on, with optional labels for its values."""

    min: StrictInt = Field(ge=-_SCALE_BOUND, le=_SCALE_BOUND)
    max: StrictInt = Field(ge=-_SCALE_BOUND, le=_SCALE_BOUND)
    labels: Annotated[tuple[ScalePoint, ...], Field(max_length=21)] = ()

    @model_validator(mode="after")
    def _ordered_and_labelled_within(self) -> Scale:
        if self.min >= self.max:
            raise ValueError("scale min must be less than max")
        values = [point.value for point in self.labels]
        if any(not self.min <= v <= self.max for v in values):
            raise ValueError("every labelled value must lie within min..max")
        if len(set(values)) != len(values):
            raise ValueError("a scale value is labelled twice")
        return self


class Indicator(PayloadModel):
    """One rated item of an instrument."""

    id: Code
    text: ShortText = Field(description="The question or item as the assessor reads it.")
    scale: Scale
    guidance: LongText | None = Field(default=None, description="How to rate it, with anchors.")


class Domain(PayloadModel):
    """A group of indicators of an instrument (e.g. 'ideology', 'social ties')."""

    id: Code
    title: Name
    indicators: Annotated[tuple[Indicator, ...], Field(min_length=1, max_length=100)]


class InstrumentPublished(CatalogueEvent):
    """A new version of a structured assessment instrument was published."""

    # `version` is the instrument's; the catalogue's own `version` class variable names the
    # event schema's, so the field is `instrument_version` in Python and `version` on the wire.
    model_config = ConfigDict(serialize_by_alias=True)

    service: ClassVar[str] = "assessment"
    event_name: ClassVar[str] = "InstrumentPublished"
    subject_name: ClassVar[str] = "instrument_id"

    instrument_id: UUID
    instrument_version: StrictInt = Field(
        alias="version", ge=1, le=10_000, description="The instrument's version, from 1."
    )
    title: Name
    domains: Annotated[tuple[Domain, ...], Field(min_length=1, max_length=30)]
    assessment_kind: AssessmentKind | None = None
    description: LongText | None = None

    @model_validator(mode="after")
    def _ids_unique(self) -> InstrumentPublished:
        domain_ids = [d.id for d in self.domains]
        if len(set(domain_ids)) != len(domain_ids):
            raise ValueError("domain ids must be unique")
        indicator_ids = [i.id for d in self.domains for i in d.indicators]
        if len(set(indicator_ids)) != len(indicator_ids):
            raise ValueError("indicator ids must be unique across the instrument")
        return self


class AssessmentDue(CatalogueEvent):
    """An assessment fell due (on admission, or when a review comes round)."""

    service: ClassVar[str] = "assessment"
    event_name: ClassVar[str] = "AssessmentDue"

    assessment_kind: AssessmentKind
    due_by: Instant
    trigger: ShortText = Field(description="What made it due, e.g. 'admission' or 'review'.")


class AssessmentStarted(CatalogueEvent):
    """An assessor started an assessment with a given instrument version."""

    service: ClassVar[str] = "assessment"
    event_name: ClassVar[str] = "AssessmentStarted"
    time_field: ClassVar[str | None] = "started_at"

    assessment_id: UUID
    instrument_id: UUID
    instrument_version: StrictInt = Field(ge=1, le=10_000)
    assessor: Name
    started_at: Instant | None = None


class IndicatorRated(CatalogueEvent):
    """The assessor rated one indicator of an assessment in progress."""

    service: ClassVar[str] = "assessment"
    event_name: ClassVar[str] = "IndicatorRated"

    assessment_id: UUID
    indicator_id: Code
    rating: StrictInt = Field(
        ge=-_SCALE_BOUND, le=_SCALE_BOUND, description="A value on the indicator's scale."
    )
    evidence_note: LongText | None = Field(default=None, description="What the rating rests on.")


class AssessmentSubmitted(CatalogueEvent):
    """The assessor submitted a structured professional judgement of risk."""

    service: ClassVar[str] = "assessment"
    event_name: ClassVar[str] = "AssessmentSubmitted"
    time_field: ClassVar[str | None] = "submitted_at"

    assessment_id: UUID
    overall_risk: RiskLevel
    rationale: LongText
    next_review_by: Instant
    submitted_at: Instant | None = None


class AssessmentCountersigned(CatalogueEvent):
    """A second professional, not the assessor, countersigned a submitted assessment."""

    service: ClassVar[str] = "assessment"
    event_name: ClassVar[str] = "AssessmentCountersigned"

    assessment_id: UUID
    countersigned_by: Name
    note: ShortText | None = None


class NeedsAssessed(CatalogueEvent):
    """The person's education, skills and needs were assessed."""

    service: ClassVar[str] = "assessment"
    event_name: ClassVar[str] = "NeedsAssessed"
    time_field: ClassVar[str | None] = "assessed_at"

    literacy: Literacy
    languages: Names = Field(description="Languages spoken, e.g. Bambara, Fulfulde, French.")
    education_level: EducationLevel
    vocational_interests: Names
    skills: Names
    family_situation: LongText | None = None
    health_needs: LongText | None = None
    assessed_at: Instant | None = None


class PlacementDecided(CatalogueEvent):
    """A security classification and housing decision was made."""

    service: ClassVar[str] = "assessment"
    event_name: ClassVar[str] = "PlacementDecided"
    time_field: ClassVar[str | None] = "decided_at"

    security_level: SecurityLevel
    keep_separate_from: Annotated[tuple[UUID, ...], Field(max_length=200)] = Field(
        default=(), description="Cases the person must not be housed with."
    )
    rationale: LongText
    decided_by: Name
    facility: Name | None = None
    housing_unit: Name | None = Field(default=None, description="The wing, block or cell.")
    decided_at: Instant | None = None


EVENTS: tuple[type[CatalogueEvent], ...] = (
    InstrumentPublished,
    AssessmentDue,
    AssessmentStarted,
    IndicatorRated,
    AssessmentSubmitted,
    AssessmentCountersigned,
    NeedsAssessed,
    PlacementDecided,
)
"""Every assessment event, in SPEC §5 order."""
