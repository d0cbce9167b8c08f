"""The state of a case's assessment record: assessments in progress or done, dues, decisions.

Plain mutable values owned by the `Case` aggregate; only its event bodies change them (the state
is kept as the events apply, not folded again from the entries as intake and judicial do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from shared.events.assessment import AssessmentSubmitted

__all__ = ["AssessmentRecord", "CaseEntry", "Decision", "Due", "Rating"]


@dataclass
class Rating:
    """One rating of an indicator; a later rating of the same indicator replaces it."""

    value: int
    evidence_note: str | None
    event_id: UUID
    recorded_at: datetime


@dataclass
class AssessmentRecord:
    """One structured professional judgement, from start to countersignature."""

    assessment_id: UUID
    instrument_id: UUID
    instrument_version: int
    assessor: str
    started_at: datetime
    started_event: UUID
    scales: dict[str, list[int]]
    """What the instrument version asks: each indicator's [min, max], copied at the start."""
    ratings: dict[str, list[Rating]] = field(default_factory=dict)
    submission: AssessmentSubmitted | None = None
    submitted_event: UUID | None = None
    submitted_at: datetime | None = None
    countersigned_by: str | None = None
    countersigned_at: datetime | None = None
    countersigned_event: UUID | None = None
    abandoned: bool = False

    @property
    def status(self) -> str:
        if self.abandoned:
            return "abandoned"
        if self.countersigned_event is not None:
            return "countersigned"
        if self.submission is not None:
            return "submitted"
        return "in_progress"

    def rating(self, indicator_id: str) -> Rating | None:
        history = self.ratings.get(indicator_id)
        return history[-1] if history else None

    def unrated(self) -> list[str]:
        return [i for i in self.scales if self.rating(i) is None]

    def as_view(self) -> dict[str, Any]:
        sub = self.submission
        return {
            "assessment_id": str(self.assessment_id),
            "instrument_id": str(self.instrument_id),
            "instrument_version": self.instrument_version,
            "assessor": self.assessor,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ratings": {
                i: {
                    "rating": r.value,
                    "evidence_note": r.evidence_note,
                    "event_id": str(r.event_id),
                }
                for i in self.scales
                if (r := self.rating(i)) is not None
            },
            "unrated": self.unrated(),
            "overall_risk": sub.overall_risk.value if sub else None,
            "rationale": sub.rationale if sub else None,
            "next_review_by": sub.next_review_by.isoformat() if sub else None,
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "countersigned_by": self.countersigned_by,
            "countersigned_at": self.countersigned_at.isoformat()
            if self.countersigned_at
            else None,
        }


@dataclass
class Due:
    """An assessment that fell due; satisfied by a countersignature recorded after it."""

    event_id: UUID
    kind: str
    due_by: datetime
    trigger: str
    recorded_at: datetime
    cause: UUID | None
    satisfied_by: UUID | None = None

    def status(self, now: datetime, soon: timedelta) -> str:
        if self.satisfied_by is not None:
            return "satisfied"
        if self.due_by < now:
            return "overdue"
        return "due_soon" if self.due_by < now + soon else "open"


@dataclass
class Decision:
    """A needs assessment or a placement decision as recorded; the latest not voided counts."""

    event_id: UUID
    data: Any
    actor: str
    recorded_at: datetime
    voided: bool = False

    def as_view(self) -> dict[str, Any]:
        return {
            **self.data.model_dump(mode="json"),
            "event_id": str(self.event_id),
            "recorded_by": self.actor,
            "recorded_at": self.recorded_at.isoformat(),
        }


@dataclass
class CaseEntry:
    """A published entry of the case, for voiding: its type and the assessment it concerns."""

    type: str
    assessment_id: UUID | None = None
