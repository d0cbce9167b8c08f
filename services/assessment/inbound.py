"""Assessment's reactions to intake: cases open on arrest; admission, transfer and release say
where the person is held, and an admission makes the first risk assessment due (SPEC §6).

Each handler commits with the `inbound` record and deterministic event ids, so a redelivered
message records nothing twice.
"""

from __future__ import annotations

from uuid import UUID

from services.assessment.application import AssessmentApplication
from shared.events import (
    ArrestRecorded,
    CatalogueEvent,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
    Envelope,
)
from shared.kit.store import CommandContext
from shared.kit.subscriber import Handler, Reactions

__all__ = ["CONSUMER", "reactions"]

CONSUMER = "intake"
"""The durable consumer is `assessment-intake`."""

Inbound = tuple[str, UUID]


def reactions(app: AssessmentApplication) -> list[Reactions]:
    def arrested(envelope: Envelope, event: CatalogueEvent, inbound: Inbound) -> None:
        if not isinstance(event, ArrestRecorded):
            raise TypeError(f"not a ArrestRecorded: {type(event).__name__}")
        ctx = CommandContext.system(envelope, purpose="case-opened")
        app.open_case(UUID(envelope.subject), event.arrested_at, ctx, inbound)

    def admitted(envelope: Envelope, event: CatalogueEvent, inbound: Inbound) -> None:
        if not isinstance(event, DetaineeAdmitted):
            raise TypeError(f"not a DetaineeAdmitted: {type(event).__name__}")
        ctx = CommandContext.system(envelope, purpose="admission-review")
        app.note_custody(
            UUID(envelope.subject),
            "admitted",
            event.facility,
            event.admitted_at,
            ctx,
            inbound,
            due_on_admission=True,
        )

    def transferred(envelope: Envelope, event: CatalogueEvent, inbound: Inbound) -> None:
        if not isinstance(event, DetaineeTransferred):
            raise TypeError(f"not a DetaineeTransferred: {type(event).__name__}")
        ctx = CommandContext.system(envelope, purpose="transfer")
        app.note_custody(
            UUID(envelope.subject),
            "transferred",
            event.to_facility,
            event.transferred_at,
            ctx,
            inbound,
        )

    def released(envelope: Envelope, event: CatalogueEvent, inbound: Inbound) -> None:
        if not isinstance(event, DetaineeReleased):
            raise TypeError(f"not a DetaineeReleased: {type(event).__name__}")
        ctx = CommandContext.system(envelope, purpose="release")
        app.note_custody(UUID(envelope.subject), "released", None, event.released_at, ctx, inbound)

    handlers: dict[type[CatalogueEvent], Handler] = {
        ArrestRecorded: arrested,
        DetaineeAdmitted: admitted,
        DetaineeTransferred: transferred,
        DetaineeReleased: released,
    }
    return [Reactions(app, CONSUMER, handlers)]
