"""The programmes domain: `Programme` (a catalogue entry and its participants), `CaseFile` (what
the service knows of a person; their referrals, reintegration plan and follow-ups), and its rules'
errors.
"""

from services.programmes.domain import errors
from services.programmes.domain.casefile import CaseFile, Referral
from services.programmes.domain.errors import *  # noqa: F403 (the error tree, as `errors.__all__` lists it)
from services.programmes.domain.programme import CaseFacts, Participation, Programme

__all__ = [
    "CaseFacts",
    "CaseFile",
    "Participation",
    "Programme",
    "Referral",
    "errors",
    *errors.__all__,
]
