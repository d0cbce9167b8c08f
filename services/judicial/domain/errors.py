"""The rules of the judicial record, one error each: a refused command answers 409 with its rule.

The rule's name (the problem `type`) comes from the class name; the message is the `detail`.
"""

from __future__ import annotations

from shared.kit.errors import (
    FactNotYetLearntError,
    InvalidFieldsError,
    RuleViolation,
    within_calendar,
)

__all__ = [
    "AlreadyReleasedError",
    "CaseSealedError",
    "ChargesAfterVerdictError",
    "ChargesRequiredError",
    "CreditExceedsTermError",
    "DetentionAfterReleaseError",
    "DetentionAfterVerdictError",
    "DetentionAlreadyOrderedError",
    "DetentionBeyondMaximumError",
    "DetentionExpiredError",
    "DetentionTermTooLongError",
    "EntryAlreadyVoidedError",
    "EntryNotVoidableError",
    "FactNotYetLearntError",
    "HearingClosedError",
    "InvalidFieldsError",
    "JudicialError",
    "NoDetentionOrderError",
    "ReleaseBeforeSentenceEndsError",
    "ReleaseKindNotAllowedError",
    "ReleaseOrderExecutedError",
    "RenewalLimitError",
    "RenewalNotLaterError",
    "RenewalTooLongError",
    "SentenceAlreadyImposedError",
    "SentenceWithoutConvictionError",
    "VerdictAlreadyDeliveredError",
    "VoidLaterEntriesFirstError",
    "within_calendar",
]


class JudicialError(RuleViolation):
    """A rule of the judicial record refuses the command."""


class CaseSealedError(JudicialError):
    """A sealed case takes no new entry (only the voiding of a seal ordered by mistake)."""


class ChargesAfterVerdictError(JudicialError):
    """Charges come before the verdict."""


class ChargesRequiredError(JudicialError):
    """No detention order and no verdict without charges."""


class DetentionAlreadyOrderedError(JudicialError):
    """A running detention order is renewed, not ordered again."""


class DetentionAfterVerdictError(JudicialError):
    """Pre-trial detention ends with the verdict."""


class DetentionAfterReleaseError(JudicialError):
    """A released person is detained again only after a new arrest."""


class DetentionTermTooLongError(JudicialError):
    """A first detention order runs at most the initial term of the offence class."""


class NoDetentionOrderError(JudicialError):
    """Only an ordered detention can be renewed."""


class DetentionExpiredError(JudicialError):
    """A renewal must come before the detention expires."""


class RenewalNotLaterError(JudicialError):
    """A renewal moves the expiry later."""


class RenewalTooLongError(JudicialError):
    """One renewal adds at most the renewal term of the offence class."""


class RenewalLimitError(JudicialError):
    """The offence class allows only so many renewals."""


class DetentionBeyondMaximumError(JudicialError):
    """Pre-trial detention never runs past the legal maximum total of the offence class."""


class HearingClosedError(JudicialError):
    """A hearing is held or adjourned once."""


class VerdictAlreadyDeliveredError(JudicialError):
    """A verdict is delivered once (appeals are not modelled yet)."""


class SentenceWithoutConvictionError(JudicialError):
    """A sentence follows a conviction."""


class SentenceAlreadyImposedError(JudicialError):
    """A sentence is imposed once."""


class CreditExceedsTermError(JudicialError):
    """The credit for time served cannot exceed the term."""


class ReleaseKindNotAllowedError(JudicialError):
    """A release order's kind must match the case (e.g. acquittal only after an acquittal)."""


class ReleaseBeforeSentenceEndsError(JudicialError):
    """A release for a sentence served takes effect once the sentence ends."""


class AlreadyReleasedError(JudicialError):
    """Intake recorded the person's release: there is no one left to release."""


class ReleaseOrderExecutedError(JudicialError):
    """A release order the prison executed cannot be voided: the release happened."""


class EntryAlreadyVoidedError(JudicialError):
    """An entry is voided once."""


class EntryNotVoidableError(JudicialError):
    """Some entries cannot be voided (a voiding, an automatic seal)."""


class VoidLaterEntriesFirstError(JudicialError):
    """An entry others build on is voided only after them (a verdict after its sentence)."""
