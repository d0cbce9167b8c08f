"""What a service's domain takes from the kit: the facts every stored event carries (`Meta`),
and the log of an aggregate's entries that a mistaken one is voided in (`VoidableEntries`).

Standard library only, so that importing an aggregate never imports persistence, I/O or the web;
the store (`shared.kit.recorder`) encodes `Meta` with every event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Generic, TypeVar
from uuid import UUID

__all__ = ["Meta", "VoidableEntries"]

E = TypeVar("E")


@dataclass(frozen=True)
class Meta:
    """What every stored event carries besides its payload: the envelope's facts."""

    event_id: UUID
    subject: str
    actor: str
    agency: str
    recorded_at: datetime
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    traceparent: str | None = None


class VoidableEntries(Generic[E]):
    """Mixin of an aggregate whose mistaken entries are voided, never edited or deleted (SPEC §5
    `EntryVoided`): its entries (`E`) in recording order, each under its event id, and which of
    them a later voiding voided. The aggregate's own rules say what else may not be voided.

    Call `_open_log` in the aggregate's `__init__`, and `_log_entry` / `_log_voiding` in its event
    bodies: they run again on every replay.
    """

    record_name: ClassVar[str] = "case"
    """What the aggregate is, in a refusal: `no entry … in this case`."""
    unknown_entry_error: ClassVar[type[Exception]]
    """Raised for an entry the aggregate did not record (or may not void)."""
    voided_twice_error: ClassVar[type[Exception]]
    """Raised for an entry already voided: an entry is voided once."""
    not_voidable_error: ClassVar[type[Exception]]
    """Raised for a voiding: it cannot be voided itself; the entry is recorded anew instead."""

    def _open_log(self) -> None:
        self.entry_log: dict[UUID, E] = {}
        self.voided_by: dict[UUID, UUID] = {}
        """The voided entries, each with the event id of the entry that voided it."""

    def _log_entry(self, event_id: UUID, entry: E) -> None:
        self.entry_log[event_id] = entry

    def _log_voiding(self, voided_event_id: UUID, event_id: UUID, entry: E) -> None:
        self.voided_by[voided_event_id] = event_id
        self.entry_log[event_id] = entry

    @property
    def entries(self) -> list[E]:
        """Every entry, voided or not, in recording order."""
        return list(self.entry_log.values())

    def is_voided(self, event_id: UUID) -> bool:
        return event_id in self.voided_by

    def live_entries(self, leaving_out: UUID | None = None) -> list[E]:
        """The entries not voided, in recording order (less `leaving_out`, to preview a voiding)."""
        return [
            entry
            for event_id, entry in self.entry_log.items()
            if event_id not in self.voided_by and event_id != leaving_out
        ]

    def voidable(self, event_id: UUID) -> E:
        """The entry `event_id`, unless the log refuses its voiding: an entry the aggregate did
        not record (or, by `_may_void`, may not void), one voided already, or a voiding."""
        entry = self.entry_log.get(event_id)
        if entry is None or not self._may_void(entry):
            raise self.unknown_entry_error(f"no entry {event_id} in this {self.record_name}")
        if event_id in self.voided_by:
            raise self.voided_twice_error(f"entry {event_id} is already voided")
        if event_id in self.voided_by.values():
            raise self.not_voidable_error("a voiding cannot be voided: record the entry anew")
        return entry

    def _may_void(self, entry: E) -> bool:
        """Whether an entry of the log is the aggregate's own to void (all are, by default)."""
        return True
