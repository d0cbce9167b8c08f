"""The rules of the programmes service, one error per rule: each answers 409 with its reason."""

from __future__ import annotations

from shared.kit.errors import RuleViolation

__all__ = [
    "AlreadyAttendedError",
    "AlreadyCompletedError",
    "AlreadyEnrolledError",
    "AlreadyVoidedError",
    "AttendanceThresholdNotMetError",
    "CapacityFullError",
    "DuplicateReferralError",
    "FollowUpBeforeReleaseError",
    "FutureTimeError",
    "KeepApartError",
    "NotEnrolledError",
    "NotVoidableError",
    "OtherFacilityError",
    "PersonReleasedError",
    "PlanAfterReleaseError",
    "ProgrammeVoidedError",
    "ProgrammesError",
    "ReferralAnsweredError",
    "ReferralRevokedError",
    "RiskAboveMaximumError",
    "RiskNotAssessedError",
    "TimeOrderError",
]


class ProgrammesError(RuleViolation):
    """A rule of the programmes service refuses the command."""


class AlreadyEnrolledError(ProgrammesError):
    """The person is already taking part in the programme."""


class AlreadyCompletedError(ProgrammesError):
    """The person already completed the programme."""


class PersonReleasedError(ProgrammesError):
    """A released person may join only reintegration programmes."""


class OtherFacilityError(ProgrammesError):
    """The programme runs in a prison where the person is not held."""


class RiskNotAssessedError(ProgrammesError):
    """The programme admits people up to a risk level, and the person has no countersigned one."""


class RiskAboveMaximumError(ProgrammesError):
    """The person's latest countersigned risk is above the programme's maximum."""


class KeepApartError(ProgrammesError):
    """A placement decision keeps the person apart from someone already in the programme."""


class CapacityFullError(ProgrammesError):
    """Every place of the programme is taken."""


class ProgrammeVoidedError(ProgrammesError):
    """The programme's creation was voided: it takes no one."""


class NotEnrolledError(ProgrammesError):
    """The person is not taking part in the programme now."""


class AlreadyAttendedError(ProgrammesError):
    """Attendance is recorded once per participant and session date."""


class TimeOrderError(ProgrammesError):
    """A time is before the fact it follows (a session before the enrolment)."""


class FutureTimeError(ProgrammesError):
    """What is recorded has not happened yet."""


class AttendanceThresholdNotMetError(ProgrammesError):
    """Completion needs the programme's number of attended sessions."""


class DuplicateReferralError(ProgrammesError):
    """A referral of the person to that agency is already waiting for an answer."""


class ReferralAnsweredError(ProgrammesError):
    """The referral was already accepted or declined."""


class ReferralRevokedError(ProgrammesError):
    """The referral was revoked by its referrer."""


class PlanAfterReleaseError(ProgrammesError):
    """A reintegration plan is agreed before or at release, not after."""


class FollowUpBeforeReleaseError(ProgrammesError):
    """Follow-up is recorded only after the person's release."""


class AlreadyVoidedError(ProgrammesError):
    """The entry was already voided."""


class NotVoidableError(ProgrammesError):
    """The entry cannot be voided now (the detail says why)."""
