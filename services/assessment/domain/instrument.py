"""Assessment instruments: each published version is immutable and kept forever.

`Instrument` is the aggregate (its id is the `instrument_id`); `InstrumentVersion` is the small
value an assessment copies what it needs from (the indicators and their scales).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.assessment.domain.errors import (
    InstrumentVersionImmutableError,
    InstrumentVersionSequenceError,
    UnknownInstrumentError,
)
from shared.events.assessment import AssessmentKind, InstrumentPublished
from shared.kit.domain import Meta

__all__ = ["Instrument", "InstrumentVersion"]


@dataclass(frozen=True)
class InstrumentVersion:
    """One published version: which indicators it has, and the range each is rated on."""

    instrument_id: UUID
    version: int
    title: str
    kind: AssessmentKind | None
    scales: dict[str, list[int]]

    @classmethod
    def of(cls, data: InstrumentPublished) -> InstrumentVersion:
        scales = {i.id: [i.scale.min, i.scale.max] for d in data.domains for i in d.indicators}
        return cls(
            data.instrument_id, data.instrument_version, data.title, data.assessment_kind, scales
        )


class Instrument(Aggregate):
    """A versioned instrument. Invariant: a published version is never replaced."""

    @staticmethod
    def create_id(instrument_id: UUID, **_: object) -> UUID:
        return instrument_id

    @classmethod
    def first(cls, data: InstrumentPublished, meta: Meta) -> Instrument:
        """A new instrument; its first version is 1."""
        if data.instrument_version != 1:
            raise InstrumentVersionSequenceError(
                "a new instrument starts at version 1, not {instrument_version}",
                instrument_version=data.instrument_version,
            )
        return cls(instrument_id=data.instrument_id, data=data, meta=meta)

    @event("InstrumentPublished")
    def __init__(self, instrument_id: UUID, data: InstrumentPublished, meta: Meta) -> None:
        self.versions: dict[int, InstrumentPublished] = {data.instrument_version: data}
        self.published: dict[int, Meta] = {data.instrument_version: meta}

    @property
    def latest(self) -> int:
        return max(self.versions)

    def next_version(self) -> int:
        return self.latest + 1

    def publish(self, data: InstrumentPublished, meta: Meta) -> None:
        """Publish the next version; an existing version is immutable."""
        if data.instrument_version in self.versions:
            raise InstrumentVersionImmutableError(
                "version {instrument_version} of this instrument is published and cannot change; "
                "publish version {next_version} instead",
                instrument_version=data.instrument_version,
                next_version=self.next_version(),
            )
        if data.instrument_version != self.next_version():
            raise InstrumentVersionSequenceError(
                "the next version of this instrument is {next_version}, not {instrument_version}",
                next_version=self.next_version(),
                instrument_version=data.instrument_version,
            )
        self._published(data=data, meta=meta)

    @event("NextVersionPublished")
    def _published(self, data: InstrumentPublished, meta: Meta) -> None:
        self.versions[data.instrument_version] = data
        self.published[data.instrument_version] = meta

    def version_of(self, version: int | None = None) -> InstrumentVersion:
        """The given version (the latest when None), or UnknownInstrumentError."""
        number = self.latest if version is None else version
        if number not in self.versions:
            raise UnknownInstrumentError("this instrument has no version {number}", number=number)
        return InstrumentVersion.of(self.versions[number])
