"""Events of the `programmes` service (SPEC §5): programme catalogue, enrolment, attendance,
referrals, reintegration plans and post-release follow-up.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from shared.events.assessment import RiskLevel
from shared.events.base import (
    CalendarDate,
    CatalogueEvent,
    Instant,
    LongText,
    Name,
    ShortText,
    StrictInt,
)

__all__ = [
    "EVENTS",
    "Consent",
    "FollowUpRecorded",
    "FollowUpStatus",
    "ParticipantCompleted",
    "ParticipantEnrolled",
    "ParticipantWithdrawn",
    "ProgrammeCreated",
    "ProgrammeKind",
    "ReferralAccepted",
    "ReferralDeclined",
    "ReferralMade",
    "ReintegrationPlanAgreed",
    "SessionAttended",
]

ProgrammeRef = Annotated[
    UUID, Field(description="The programme concerned; the envelope subject is the case.")
]


class ProgrammeKind(StrEnum):
    """What a programme works on."""

    VOCATIONAL = "vocational"
    PSYCHOLOGICAL = "psychological"
    RELIGIOUS_DIALOGUE = "religious_dialogue"
    COMMUNITY_DIALOGUE = "community_dialogue"
    EDUCATION = "education"
    FAMILY_RECONNECTION = "family_reconnection"
    REINTEGRATION = "reintegration"


class Consent(StrEnum):
    """What allows a referral: the person's recorded consent, or a stated legal basis."""

    GIVEN = "given"
    LEGAL_BASIS = "legal_basis"


class FollowUpStatus(StrEnum):
    """How a released person is doing, as last seen."""

    ON_TRACK = "on_track"
    CONCERN = "concern"
    LOST_CONTACT = "lost_contact"
    REOFFENDED = "reoffended"


class ProgrammeCreated(CatalogueEvent):
    """A programme was added to the catalogue."""

    service: ClassVar[str] = "programmes"
    event_name: ClassVar[str] = "ProgrammeCreated"
    subject_name: ClassVar[str] = "programme_id"

    programme_id: UUID
    kind: ProgrammeKind
    title: Name
    provider_agency: Name = Field(description="The agency or organisation that runs it.")
    capacity: StrictInt = Field(ge=1, le=10_000, description="Participants enrolled at once.")
    max_risk_level: RiskLevel | None = Field(
        default=None, description="Highest countersigned risk admitted; none means any."
    )
    facility: Name | None = Field(default=None, description="The prison where it runs, if one.")
    attendance_threshold: StrictInt = Field(
        default=1, ge=0, le=1_000, description="Sessions a participant must attend to complete."
    )
    description: LongText | None = None
    starts_on: CalendarDate | None = None
    ends_on: CalendarDate | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> ProgrammeCreated:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class ParticipantEnrolled(CatalogueEvent):
    """The person was enrolled in a programme."""

    service: ClassVar[str] = "programmes"
    event_name: ClassVar[str] = "ParticipantEnrolled"
    time_field: ClassVar[str | None] = "enrolled_at"

    programme_id: ProgrammeRef
    enrolled_at: Instant


class SessionAttended(CatalogueEvent):
    """The person attended one session of a programme."""

    service: ClassVar[str] = "programmes"
    event_name: ClassVar[str] = "SessionAttended"
    time_field: ClassVar[str | None] = "session_date"

    programme_id: ProgrammeRef
    session_date: CalendarDate
    facilitator: Name
    session_id: UUID | None = Field(
        default=None, description="Shared by the attendance lines of one session."
    )
    topic: ShortText | None = None


class ParticipantCompleted(CatalogueEvent):
    """The person completed a programme."""

    service: ClassVar[str] = "programmes"
    event_name: ClassVar[str] = "ParticipantCompleted"
    time_field: ClassVar[str | None] = "completed_at"

    programme_id: ProgrammeRef
    completed_at: Instant
    certificate_ref: Name | None = None


class ParticipantWithdrawn(CatalogueEvent):
    """The person left a programme before completing it."""

    service: ClassVar[str] = "programmes"
    event_name: ClassVar[str] = "ParticipantWithdrawn"
    time_field: ClassVar[str | None] = "withdrawn_at"

    programme_id: ProgrammeRef
    withdrawn_at: Instant
    reason: ShortText


class ReferralMade(CatalogueEvent):
    """The person was referred to another agency, with consent or on a stated legal basis."""

    # The JSON Schema states the same rule as the validator, for consumers outside Python.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"consent": {"const": "legal_basis"}}},
            "then": {
                "properties": {"legal_basis": {"type": "string"}},
                "required": ["legal_basis"],
            },
        }
    )

    service: ClassVar[str] = "programmes"
    event_name: ClassVar[str] = "ReferralMade"

    referral_id: UUID
    to_agency: Name
    reason: ShortText
    consent: Consent
    legal_basis: ShortText | None = Field(
        default=None, description="Required when consent is `legal_basis`: the law relied on."
    )

    @model_validator(mode="after")
    def _legal_basis_stated(self) -> ReferralMade:
        if self.consent is Consent.LEGAL_BASIS and self.legal_basis is None:
            raise ValueError("legal_basis is required when consent is 'legal_basis'")
        return self


class ReferralAccepted(CatalogueEvent):
    """The receiving agency accepted a referral."""

    service: ClassVar[str] = "programmes"
    event_name: ClassVar[str] = "ReferralAccepted"

    referral_id: UUID
    by_agency: Name
    reason: ShortText | None = None


class ReferralDeclined(CatalogueEvent):
    """The receiving agency declined a referral."""

    service: ClassVar[str] = "programmes"
    event_name: ClassVar[str] = "ReferralDeclined"

    referral_id: UUID
    by_agency: Name
    reason: ShortText | None = None


class ReintegrationPlanAgreed(CatalogueEvent):
    """A reintegration plan was agreed with the person."""

    service: ClassVar[str] = "programmes"
    event_name: ClassVar[str] = "ReintegrationPlanAgreed"
    time_field: ClassVar[str | None] = "agreed_at"

    goals: Annotated[tuple[ShortText, ...], Field(min_length=1, max_length=50)]
    employment: ShortText | None = None
    housing: ShortText | None = None
    mentor: Name | None = None
    community_contact: ShortText = Field(
        description="The person or body in the home community who will receive the person."
    )
    agreed_at: Instant | None = None


class FollowUpRecorded(CatalogueEvent):
    """A released person was followed up."""

    service: ClassVar[str] = "programmes"
    event_name: ClassVar[str] = "FollowUpRecorded"
    time_field: ClassVar[str | None] = "at"

    at: Instant
    status: FollowUpStatus
    note: LongText


EVENTS: tuple[type[CatalogueEvent], ...] = (
    ProgrammeCreated,
    ParticipantEnrolled,
    SessionAttended,
    ParticipantCompleted,
    ParticipantWithdrawn,
    ReferralMade,
    ReferralAccepted,
    ReferralDeclined,
    ReintegrationPlanAgreed,
    FollowUpRecorded,
)
"""Every programmes event, in SPEC §5 order."""
