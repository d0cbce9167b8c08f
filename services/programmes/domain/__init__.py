"""The programmes domain: `Programme` (a catalogue entry and its participants) and `CaseFile`
(what the service knows of a person; their referrals, reintegration plan and follow-ups).
"""

from __future__ import annotations

from services.programmes.domain.casefile import CaseFile, Referral
from services.programmes.domain.programme import CaseFacts, Participation, Programme

__all__ = ["CaseFacts", "CaseFile", "Participation", "Programme", "Referral"]
