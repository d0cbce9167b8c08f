"""What programmes learns from other services over the bus, for its eligibility rules and lists.

Facility (admission, transfer), release, risk (a submitted assessment's level counts once it is
countersigned), separation orders (placement) and the person's name; voided entries are forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from services.programmes.application import ProgrammesApplication
from services.programmes.domain import CaseFile
from shared.events import (
    ArrestRecorded,
    AssessmentCountersigned,
    AssessmentEntryVoided,
    AssessmentSubmitted,
    CatalogueEvent,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
    Envelope,
    IntakeEntryVoided,
    PlacementDecided,
)
from shared.events.personal import reveal
from shared.kit.keystore import CaseKeyCipher
from shared.kit.store import CommandContext
from shared.kit.subscriber import Handler, Reactions

__all__ = ["CONSUMER", "reactions"]

CONSUMER = "case-facts"

Note = Callable[[CaseFile, UUID, Any], None]

_NOTES: dict[type[CatalogueEvent], Note] = {
    ArrestRecorded: lambda c, i, e: c.note_name(i, e.person.full_name),
    DetaineeAdmitted: lambda c, i, e: c.note_location(i, e.facility, e.admitted_at),
    DetaineeTransferred: lambda c, i, e: c.note_location(i, e.to_facility, e.transferred_at),
    DetaineeReleased: lambda c, i, e: c.note_release(i, e.released_at),
    AssessmentSubmitted: lambda c, i, e: c.note_submission(i, e.assessment_id, e.overall_risk),
    AssessmentCountersigned: lambda c, i, e: c.note_countersignature(i, e.assessment_id),
    PlacementDecided: lambda c, i, e: c.note_placement(i, e.keep_separate_from),
}


def _case_id(envelope: Envelope) -> UUID | None:
    try:
        return UUID(envelope.subject)
    except ValueError:
        return None


def _noting(app: ProgrammesApplication, note: Note) -> Handler:
    cipher = CaseKeyCipher(app.keys)

    def handle(envelope: Envelope, event: CatalogueEvent, inbound: tuple[str, UUID]) -> None:
        case_id, event_id = _case_id(envelope), UUID(str(envelope.id))
        if case_id is None:  # not about a case: nothing programmes needs
            app.record_inbound_only(*inbound, [])
            return
        ctx = CommandContext.system(envelope, purpose="note")
        # The name arrives sealed under the case's key: programmes keeps it sealed in turn.
        fact, _ = reveal(event, envelope.personaldata, envelope.subject, str(event_id), cipher)
        app.note_fact(case_id, event_id, ctx, inbound, lambda case: note(case, event_id, fact))

    return handle


def _forgetting(app: ProgrammesApplication) -> Handler:
    def handle(envelope: Envelope, event: CatalogueEvent, inbound: tuple[str, UUID]) -> None:
        case_id = _case_id(envelope)
        voided = getattr(event, "voided_event_id", None)
        if case_id is None or voided is None:
            app.record_inbound_only(*inbound, [])
            return
        ctx = CommandContext.system(envelope, purpose="forget")
        app.note_voided(case_id, voided, ctx, inbound)

    return handle


def reactions(app: ProgrammesApplication) -> list[Reactions]:
    """One durable consumer, so that a case's facts are noted in the order they happened."""
    handlers: dict[type[CatalogueEvent], Handler] = {
        model: _noting(app, note) for model, note in _NOTES.items()
    }
    handlers[IntakeEntryVoided] = _forgetting(app)
    handlers[AssessmentEntryVoided] = _forgetting(app)
    return [Reactions(app, CONSUMER, handlers)]
