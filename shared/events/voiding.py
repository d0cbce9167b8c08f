"""`EntryVoided` (SPEC §5 "every service"): one class per recording service, same payload.

A mistaken entry is voided, never edited or deleted; only the service that recorded it voids it.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from shared.events.base import CatalogueEvent, Name, ShortText

__all__ = [
    "EVENTS",
    "AssessmentEntryVoided",
    "EntryVoided",
    "IntakeEntryVoided",
    "JudicialEntryVoided",
    "ProgrammesEntryVoided",
]


class EntryVoided(CatalogueEvent):
    """A mistaken entry was voided; the right entry, if any, is recorded anew."""

    event_name: ClassVar[str] = "EntryVoided"
    subject_name: ClassVar[str] = "case_id"

    voided_event_id: UUID = Field(description="The `id` of the voided entry's envelope.")
    reason: ShortText
    voided_event_type: Name | None = Field(
        default=None,
        description="The voided entry's `type`, e.g. caseline.intake.DetaineeAdmitted.v1.",
    )


class IntakeEntryVoided(EntryVoided):
    """An intake entry was voided (subject: the voided entry's case)."""

    service: ClassVar[str] = "intake"


class JudicialEntryVoided(EntryVoided):
    """A judicial entry was voided (subject: the voided entry's case)."""

    service: ClassVar[str] = "judicial"


class AssessmentEntryVoided(EntryVoided):
    """An assessment entry was voided (subject: the voided entry's case or instrument)."""

    service: ClassVar[str] = "assessment"


class ProgrammesEntryVoided(EntryVoided):
    """A programmes entry was voided (subject: the voided entry's case or programme)."""

    service: ClassVar[str] = "programmes"


EVENTS: tuple[type[CatalogueEvent], ...] = (
    IntakeEntryVoided,
    JudicialEntryVoided,
    AssessmentEntryVoided,
    ProgrammesEntryVoided,
)
"""The `EntryVoided` of every service that records entries (the ledger records none)."""
