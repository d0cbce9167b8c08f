"""What assessment learns of intake's record: cases open on arrest; admission, transfer and
release say where the person is held, and an admission makes the first risk assessment due
(SPEC §6). One table, catalogue event → application method.
"""

from __future__ import annotations

from services.assessment.application import AssessmentApplication
from shared.events import ArrestRecorded, DetaineeAdmitted, DetaineeReleased, DetaineeTransferred
from shared.kit.subscriber import Reactions

__all__ = ["CONSUMER", "reactions"]

CONSUMER = "intake"
"""The durable consumer is `assessment-intake`."""


def reactions(app: AssessmentApplication) -> list[Reactions]:
    """One consumer of intake's record, so that where a person is held follows its order."""
    return [
        Reactions(
            app,
            CONSUMER,
            {
                ArrestRecorded: app.on_arrest_recorded,
                DetaineeAdmitted: app.on_detainee_admitted,
                DetaineeTransferred: app.on_detainee_transferred,
                DetaineeReleased: app.on_detainee_released,
            },
        )
    ]
