"""Command bodies of the programmes API: catalogue payloads less what the service fills in (ids
of new things, the answering agency), plus the `case_id` a programme command is about.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, model_validator

from shared.events import (
    Name,
    ParticipantCompleted,
    ParticipantEnrolled,
    ParticipantWithdrawn,
    ProgrammeCreated,
    ReferralAccepted,
    ReferralMade,
    SessionAttended,
)
from shared.kit.requests import RequestModel, request_model

__all__ = [
    "AnswerRequest",
    "CompletionRequest",
    "EnrolmentRequest",
    "ProgrammeRequest",
    "ReferralRequest",
    "SessionRequest",
    "WithdrawalRequest",
]


@request_model(ProgrammeCreated, exclude={"programme_id"})
class ProgrammeRequest(RequestModel):
    """A new programme: `ProgrammeCreated` less `programme_id`, which the service gives."""


@request_model(ParticipantEnrolled, exclude={"programme_id"}, optional={"enrolled_at"})
class EnrolmentRequest(RequestModel):
    """Enrol a person: the case, and when (now if not given)."""

    case_id: UUID


@request_model(SessionAttended, exclude={"programme_id"})
class SessionRequest(RequestModel):
    """One session: who attended it; one `SessionAttended` is recorded per attendee."""

    attendees: Annotated[tuple[UUID, ...], Field(min_length=1, max_length=500)] = Field(
        description="The cases present, each once; one `SessionAttended` each.",
        json_schema_extra={"uniqueItems": True},
    )
    session_id: UUID | None = Field(default=None, description="Given by the service if absent.")

    @model_validator(mode="after")
    def _attendees_once(self) -> SessionRequest:
        if len(set(self.attendees)) != len(self.attendees):
            raise ValueError("a case is listed twice in attendees")
        return self


@request_model(ParticipantCompleted, exclude={"programme_id"}, optional={"completed_at"})
class CompletionRequest(RequestModel):
    """A participant completed the programme (now if `completed_at` is not given)."""

    case_id: UUID


@request_model(ParticipantWithdrawn, exclude={"programme_id"}, optional={"withdrawn_at"})
class WithdrawalRequest(RequestModel):
    """A participant left the programme before completing it, and why."""

    case_id: UUID


@request_model(ReferralMade, exclude={"referral_id"})
class ReferralRequest(RequestModel):
    """A referral: `ReferralMade` less `referral_id`, which the service gives."""


@request_model(ReferralAccepted, exclude={"referral_id"})
class AnswerRequest(RequestModel):
    """Accept or decline a referral; the answering agency is the caller's."""

    by_agency: Name | None = Field(
        default=None, description="If given, it must be the caller's own agency."
    )
