"""Events of the `judicial` service (SPEC §5): charges, detention orders, hearings, verdict,
sentence and release orders.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from shared.events.base import (
    CalendarDate,
    CatalogueEvent,
    Instant,
    LongText,
    Name,
    PayloadModel,
    ShortText,
    StrictInt,
)

__all__ = [
    "EVENTS",
    "CaseSealed",
    "ChargesFiled",
    "DeadlineKind",
    "DetentionDeadlineBreached",
    "ErasureOrdered",
    "HearingAdjourned",
    "HearingHeld",
    "HearingScheduled",
    "Offence",
    "PreTrialDetentionOrdered",
    "PreTrialDetentionRenewed",
    "ReleaseKind",
    "ReleaseOrdered",
    "SentenceImposed",
    "VerdictDelivered",
    "VerdictOutcome",
]

_MAX_TERM_DAYS = 36_525  # a hundred years: longer than any term a court can impose

Conditions = Annotated[tuple[ShortText, ...], Field(max_length=50)]


class DeadlineKind(StrEnum):
    """Which legal limit on detention ran out."""

    CUSTODY = "custody"
    PRE_TRIAL = "pre_trial"


class VerdictOutcome(StrEnum):
    """The outcome of the trial."""

    CONVICTED = "convicted"
    ACQUITTED = "acquitted"
    DISMISSED = "dismissed"


class ReleaseKind(StrEnum):
    """The legal ground of a release order."""

    ACQUITTAL = "acquittal"
    DISMISSAL = "dismissal"
    SENTENCE_SERVED = "sentence_served"
    CONDITIONAL = "conditional"
    BAIL = "bail"


class Offence(PayloadModel):
    """One offence charged."""

    code: Name = Field(description="The offence's code in the charging instrument.")
    description: ShortText
    law_ref: Name = Field(description="The article and law that define it.")


class ChargesFiled(CatalogueEvent):
    """The prosecutor filed charges."""

    service: ClassVar[str] = "judicial"
    event_name: ClassVar[str] = "ChargesFiled"
    time_field: ClassVar[str | None] = "filed_at"

    offences: Annotated[tuple[Offence, ...], Field(min_length=1, max_length=50)]
    prosecutor: Name
    filed_at: Instant
    court: Name | None = Field(default=None, description="The court or judicial pole seized.")


class PreTrialDetentionOrdered(CatalogueEvent):
    """A judge ordered detention pending trial."""

    service: ClassVar[str] = "judicial"
    event_name: ClassVar[str] = "PreTrialDetentionOrdered"
    time_field: ClassVar[str | None] = "ordered_at"

    ordered_by: Name
    ordered_at: Instant
    expires_at: Instant = Field(description="When the order lapses unless renewed.")
    legal_basis: ShortText
    warrant_ref: Name | None = Field(
        default=None, description="Reference of the committal order (mandat de dépôt)."
    )

    @model_validator(mode="after")
    def _expires_after_order(self) -> PreTrialDetentionOrdered:
        if self.expires_at <= self.ordered_at:
            raise ValueError("expires_at must be after ordered_at")
        return self


class PreTrialDetentionRenewed(CatalogueEvent):
    """A judge renewed pre-trial detention."""

    service: ClassVar[str] = "judicial"
    event_name: ClassVar[str] = "PreTrialDetentionRenewed"
    time_field: ClassVar[str | None] = "renewed_at"

    renewed_by: Name
    renewed_at: Instant
    expires_at: Instant = Field(description="When the renewed order lapses.")
    reason: ShortText | None = None

    @model_validator(mode="after")
    def _expires_after_renewal(self) -> PreTrialDetentionRenewed:
        if self.expires_at <= self.renewed_at:
            raise ValueError("expires_at must be after renewed_at")
        return self


class DetentionDeadlineBreached(CatalogueEvent):
    """Detention ran past its legal limit with no renewal, verdict or release."""

    service: ClassVar[str] = "judicial"
    event_name: ClassVar[str] = "DetentionDeadlineBreached"
    time_field: ClassVar[str | None] = "expired_at"

    deadline_kind: DeadlineKind
    expired_at: Instant = Field(description="When the legal limit ran out: the breach itself.")
    detected_at: Instant = Field(description="When judicial noticed it (at most one check late).")

    @model_validator(mode="after")
    def _detected_after_expiry(self) -> DetentionDeadlineBreached:
        if self.detected_at < self.expired_at:
            raise ValueError("detected_at must not be before expired_at")
        return self


class HearingScheduled(CatalogueEvent):
    """A hearing was scheduled."""

    service: ClassVar[str] = "judicial"
    event_name: ClassVar[str] = "HearingScheduled"

    hearing_id: UUID
    court: Name
    scheduled_for: Instant
    purpose: ShortText


class HearingHeld(CatalogueEvent):
    """A scheduled hearing took place."""

    service: ClassVar[str] = "judicial"
    event_name: ClassVar[str] = "HearingHeld"
    time_field: ClassVar[str | None] = "held_at"

    hearing_id: UUID
    held_at: Instant
    outcome_summary: LongText
    presiding_judge: Name | None = None
    defence_counsel: Name | None = Field(
        default=None, description="Counsel present for the accused; absent if none was."
    )


class HearingAdjourned(CatalogueEvent):
    """A scheduled hearing was adjourned."""

    service: ClassVar[str] = "judicial"
    event_name: ClassVar[str] = "HearingAdjourned"
    time_field: ClassVar[str | None] = "adjourned_at"

    hearing_id: UUID
    reason: ShortText
    new_date: Instant | None = Field(default=None, description="When the hearing resumes.")
    adjourned_at: Instant | None = None


class VerdictDelivered(CatalogueEvent):
    """The court delivered its verdict."""

    # The JSON Schema states the same rule as the validator, for consumers outside Python.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"outcome": {"const": "convicted"}}},
            "else": {"properties": {"offences_proven": {"maxItems": 0}}},
        }
    )

    service: ClassVar[str] = "judicial"
    event_name: ClassVar[str] = "VerdictDelivered"
    time_field: ClassVar[str | None] = "delivered_at"

    outcome: VerdictOutcome
    court: Name
    delivered_at: Instant
    offences_proven: Annotated[tuple[Name, ...], Field(max_length=50)] = Field(
        default=(), description="Codes of the offences found proven (convictions only)."
    )

    @model_validator(mode="after")
    def _proven_only_on_conviction(self) -> VerdictDelivered:
        if self.offences_proven and self.outcome is not VerdictOutcome.CONVICTED:
            raise ValueError("offences_proven is only for a conviction")
        return self


class SentenceImposed(CatalogueEvent):
    """The court imposed a custodial sentence."""

    service: ClassVar[str] = "judicial"
    event_name: ClassVar[str] = "SentenceImposed"
    time_field: ClassVar[str | None] = "imposed_at"

    term_days: StrictInt = Field(ge=0, le=_MAX_TERM_DAYS, description="The term, in days.")
    starts_on: CalendarDate
    credit_for_time_served_days: StrictInt = Field(
        ge=0, le=_MAX_TERM_DAYS, description="Days already spent in detention for this case."
    )
    conditions: Conditions = ()
    release_date: CalendarDate | None = Field(
        default=None, description="Computed by judicial from the term, start and credit."
    )
    imposed_at: Instant | None = None


class ReleaseOrdered(CatalogueEvent):
    """A judge ordered the person's release."""

    service: ClassVar[str] = "judicial"
    event_name: ClassVar[str] = "ReleaseOrdered"
    time_field: ClassVar[str | None] = "ordered_at"

    release_order_id: UUID
    kind: ReleaseKind
    effective_at: Instant = Field(description="From when the person must be released.")
    conditions: Conditions = ()
    ordered_by: Name | None = None
    ordered_at: Instant | None = None


class CaseSealed(CatalogueEvent):
    """The case was sealed after a final acquittal or dismissal, or by order."""

    service: ClassVar[str] = "judicial"
    event_name: ClassVar[str] = "CaseSealed"

    reason: ShortText
    sealed_by: Name = Field(description="The judge who ordered it, or `system` when automatic.")


class ErasureOrdered(CatalogueEvent):
    """A court ordered the erasure of the person's personal data (an addition to SPEC §5)."""

    # Intake executes it by destroying the case's key, once the person is released and two
    # different people have asked for and confirmed the erasure.

    service: ClassVar[str] = "judicial"
    event_name: ClassVar[str] = "ErasureOrdered"
    time_field: ClassVar[str | None] = "ordered_at"

    erasure_order_id: UUID
    order_reference: ShortText = Field(description="The court's reference of the order.")
    legal_basis: ShortText = Field(description="The law or ruling the order relies on.")
    ordered_by: Name = Field(description="The judge who ordered it.")
    ordered_at: Instant | None = None


EVENTS: tuple[type[CatalogueEvent], ...] = (
    ChargesFiled,
    PreTrialDetentionOrdered,
    PreTrialDetentionRenewed,
    DetentionDeadlineBreached,
    HearingScheduled,
    HearingHeld,
    HearingAdjourned,
    VerdictDelivered,
    SentenceImposed,
    ReleaseOrdered,
    CaseSealed,
    ErasureOrdered,
)
"""Every judicial event, in SPEC §5 order, then the additions."""
