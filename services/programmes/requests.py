"""Command bodies of the programmes API: catalogue payloads less what the service fills in (ids
of new things, the answering agency), plus the `case_id` a programme command is about.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, model_validator

from shared.events import (
    CalendarDate,
    Consent,
    Instant,
    LongText,
    Name,
    PayloadModel,
    ProgrammeCreated,
    ProgrammeKind,
    ReferralMade,
    RiskLevel,
    ShortText,
    StrictInt,
)

__all__ = [
    "AnswerRequest",
    "CompletionRequest",
    "EnrolmentRequest",
    "ProgrammeRequest",
    "ReferralRequest",
    "SessionRequest",
    "VoidRequest",
    "WithdrawalRequest",
]

_NO_ID = UUID(int=0)


class ProgrammeRequest(PayloadModel):
    """A new programme: `ProgrammeCreated` less `programme_id`, which the service gives."""

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
    def _valid_as_catalogue_event(self) -> ProgrammeRequest:
        # The catalogue model's own cross-field rules (dates in order) decide, not a copy of them.
        ProgrammeCreated.model_validate({**self.model_dump(), "programme_id": _NO_ID})
        return self


class EnrolmentRequest(PayloadModel):
    """Enrol a person: the case, and when (now if not given)."""

    case_id: UUID
    enrolled_at: Instant | None = None


class SessionRequest(PayloadModel):
    """One session: who attended it; one `SessionAttended` is recorded per attendee."""

    session_date: CalendarDate
    facilitator: Name
    attendees: Annotated[tuple[UUID, ...], Field(min_length=1, max_length=500)] = Field(
        description="The cases present; one `SessionAttended` each."
    )
    topic: ShortText | None = None
    session_id: UUID | None = Field(default=None, description="Given by the service if absent.")

    @model_validator(mode="after")
    def _attendees_once(self) -> SessionRequest:
        if len(set(self.attendees)) != len(self.attendees):
            raise ValueError("a case is listed twice in attendees")
        return self


class CompletionRequest(PayloadModel):
    """A participant completed the programme (now if `completed_at` is not given)."""

    case_id: UUID
    completed_at: Instant | None = None
    certificate_ref: Name | None = None


class WithdrawalRequest(PayloadModel):
    """A participant left the programme before completing it, and why."""

    case_id: UUID
    withdrawn_at: Instant | None = None
    reason: ShortText


class ReferralRequest(PayloadModel):
    """A referral: `ReferralMade` less `referral_id`, which the service gives."""

    to_agency: Name
    reason: ShortText
    consent: Consent
    legal_basis: ShortText | None = Field(
        default=None, description="Required when consent is `legal_basis`: the law relied on."
    )

    @model_validator(mode="after")
    def _valid_as_catalogue_event(self) -> ReferralRequest:
        ReferralMade.model_validate({**self.model_dump(), "referral_id": _NO_ID})
        return self


class AnswerRequest(PayloadModel):
    """Accept or decline a referral; the answering agency is the caller's."""

    reason: ShortText | None = None
    by_agency: Name | None = Field(
        default=None, description="If given, it must be the caller's own agency."
    )


class VoidRequest(PayloadModel):
    """Why a mistaken entry is voided."""

    reason: ShortText
