"""What judicial follows of intake's record: the case opens with the arrest; custody, where the
person is held, release and voided entries move its deadlines. One table, catalogue event →
application method.
"""

from __future__ import annotations

from services.judicial.application import JudicialApplication
from shared.events.intake import (
    ArrestRecorded,
    CustodyExtended,
    CustodyStarted,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
)
from shared.events.voiding import IntakeEntryVoided
from shared.kit.subscriber import Reactions

__all__ = ["CONSUMER", "reactions"]

CONSUMER = "intake-record"
"""The durable consumer is `judicial-intake-record`."""


def reactions(app: JudicialApplication) -> list[Reactions]:
    """One consumer for the whole of intake's record, so that it is followed in recording order."""
    return [
        Reactions(
            app,
            CONSUMER,
            {
                ArrestRecorded: app.on_arrest_recorded,
                CustodyStarted: app.on_custody_started,
                CustodyExtended: app.on_custody_extended,
                DetaineeAdmitted: app.on_detainee_admitted,
                DetaineeTransferred: app.on_detainee_transferred,
                DetaineeReleased: app.on_detainee_released,
                IntakeEntryVoided: app.on_intake_entry_voided,
            },
        )
    ]
