"""What programmes learns from other services over the bus, for its eligibility rules and lists:
facility (admission, transfer), release, risk (a submitted assessment's level counts once it is
countersigned), separation orders (placement) and the person's name; voided entries are forgotten.
One table, catalogue event → application method.
"""

from __future__ import annotations

from services.programmes.application import ProgrammesApplication
from shared.events import (
    ArrestRecorded,
    AssessmentCountersigned,
    AssessmentEntryVoided,
    AssessmentSubmitted,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
    IntakeEntryVoided,
    PlacementDecided,
)
from shared.kit.subscriber import Reactions

__all__ = ["CONSUMER", "reactions"]

CONSUMER = "case-facts"
"""The durable consumer is `programmes-case-facts`."""


def reactions(app: ProgrammesApplication) -> list[Reactions]:
    """One durable consumer, so that a case's facts are noted in the order they happened."""
    return [
        Reactions(
            app,
            CONSUMER,
            {
                ArrestRecorded: app.on_arrest_recorded,
                DetaineeAdmitted: app.on_detainee_admitted,
                DetaineeTransferred: app.on_detainee_transferred,
                DetaineeReleased: app.on_detainee_released,
                AssessmentSubmitted: app.on_assessment_submitted,
                AssessmentCountersigned: app.on_assessment_countersigned,
                PlacementDecided: app.on_placement_decided,
                IntakeEntryVoided: app.on_entry_voided,
                AssessmentEntryVoided: app.on_entry_voided,
            },
        )
    ]
