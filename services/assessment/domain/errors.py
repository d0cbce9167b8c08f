"""The rules of the assessment record, as errors: each refusal is a 409 naming its rule."""

from __future__ import annotations

from shared.kit.errors import RuleViolation

__all__ = [
    "AlreadyCountersignedError",
    "AlreadyVoidedError",
    "AssessmentClosedError",
    "AssessmentError",
    "CountersignedEntryError",
    "EntryNotVoidableError",
    "FourEyesError",
    "InstrumentKindError",
    "InstrumentVersionImmutableError",
    "InstrumentVersionSequenceError",
    "NotSubmittedError",
    "NotTheAssessorError",
    "RatingOutOfScaleError",
    "ReviewDateError",
    "SelfSeparationError",
    "SupersededInstrumentError",
    "UnknownCaseError",
    "UnknownIndicatorError",
    "UnknownInstrumentError",
    "UnratedIndicatorsError",
]


class AssessmentError(RuleViolation):
    """A rule of the assessment record refuses the command."""


class InstrumentVersionImmutableError(AssessmentError):
    """A published instrument version never changes: publish the next version instead."""


class InstrumentVersionSequenceError(AssessmentError):
    """Instrument versions follow each other from 1, with no gap."""


class UnknownInstrumentError(AssessmentError):
    """The instrument (or that version of it) was never published."""


class SupersededInstrumentError(AssessmentError):
    """A new assessment uses the instrument's latest version."""


class InstrumentKindError(AssessmentError):
    """A risk assessment needs a risk instrument."""


class NotTheAssessorError(AssessmentError):
    """Only the assessor who started an assessment rates, submits or voids its entries."""


class AssessmentClosedError(AssessmentError):
    """A submitted or abandoned assessment takes no more ratings or submissions."""


class UnknownIndicatorError(AssessmentError):
    """The indicator is not in the instrument version the assessment uses."""


class RatingOutOfScaleError(AssessmentError):
    """A rating must be a value of the indicator's scale."""


class UnratedIndicatorsError(AssessmentError):
    """An assessment is submitted only once every indicator is rated."""


class ReviewDateError(AssessmentError):
    """The next review falls after the submission."""


class NotSubmittedError(AssessmentError):
    """Only a submitted assessment can be countersigned."""


class AlreadyCountersignedError(AssessmentError):
    """An assessment is countersigned once."""


class FourEyesError(AssessmentError):
    """The countersignature is by a different person than the assessor."""


class SelfSeparationError(AssessmentError):
    """A person cannot be kept apart from themselves."""


class UnknownCaseError(AssessmentError):
    """A case named in the body is unknown to the assessment service."""


class AlreadyVoidedError(AssessmentError):
    """An entry is voided once."""


class EntryNotVoidableError(AssessmentError):
    """This kind of entry cannot be voided (the detail says why)."""


class CountersignedEntryError(AssessmentError):
    """A countersigned assessment stands: record a new assessment instead of voiding it."""
