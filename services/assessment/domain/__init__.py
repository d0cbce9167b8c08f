"""The assessment domain: versioned instruments and each case's assessment record."""

from services.assessment.domain import errors
from services.assessment.domain.case import Case
from services.assessment.domain.instrument import Instrument, InstrumentVersion
from services.assessment.domain.records import AssessmentRecord, Decision, Due

__all__ = [
    "AssessmentRecord",
    "Case",
    "Decision",
    "Due",
    "Instrument",
    "InstrumentVersion",
    "errors",
]
