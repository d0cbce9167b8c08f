"""The assessment domain: versioned instruments, each case's assessment record (`Case` and the
state it keeps), and its rules' errors."""

from services.assessment.domain import errors
from services.assessment.domain.case import Case
from services.assessment.domain.errors import *  # noqa: F403 (the error tree, as `errors.__all__` lists it)
from services.assessment.domain.instrument import Instrument, InstrumentVersion
from services.assessment.domain.state import AssessmentRecord, Decision, Due

__all__ = [
    "AssessmentRecord",
    "Case",
    "Decision",
    "Due",
    "Instrument",
    "InstrumentVersion",
    "errors",
    *errors.__all__,
]
