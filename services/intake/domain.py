"""The intake record of one person: arrest, custody, evidence, transfers, admission, release.

`Case` is the aggregate; its id is the `case_id` every other service refers to.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.events.intake import ArrestRecorded, DetaineeAdmitted
from shared.kit.errors import RuleViolation
from shared.kit.store import Meta

__all__ = ["AdmissionAfterReleaseError", "Case", "IntakeError"]


class IntakeError(RuleViolation):
    """A rule of the intake record refuses the command."""


class AdmissionAfterReleaseError(IntakeError):
    """A released person is admitted again only after a new arrest."""


class Case(Aggregate):
    """One person's case from arrest. Invariant: no admission of a released person."""

    @staticmethod
    def create_id(case_id: UUID, **_: object) -> UUID:
        return case_id

    @event("ArrestRecorded")
    def __init__(self, case_id: UUID, data: ArrestRecorded, meta: Meta) -> None:
        self.arrest = data
        self.status = "arrested"
        self.facility: str | None = None
        self.admitted_at: datetime | None = None
        self.released_at: datetime | None = None
        self.entries: list[tuple[str, UUID]] = [("ArrestRecorded", meta.event_id)]

    def admit(self, data: DetaineeAdmitted, meta: Meta) -> None:
        if self.released_at is not None:
            raise AdmissionAfterReleaseError(
                "the person was released: record a new arrest before a new admission"
            )
        self._admitted(data=data, meta=meta)

    @event("DetaineeAdmitted")
    def _admitted(self, data: DetaineeAdmitted, meta: Meta) -> None:
        self.status = "admitted"
        self.facility = data.facility
        self.admitted_at = data.admitted_at
        self.entries.append(("DetaineeAdmitted", meta.event_id))
