"""The one registry of the catalogue: event type ↔ model ↔ NATS subject ↔ JSON Schema.

Bus names (stream, subjects, dead letters) are fixed here, from SPEC §4, and nowhere else.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.events import assessment, intake, judicial, programmes
from shared.events.base import CatalogueEvent
from shared.events.voiding import (
    AssessmentEntryVoided,
    IntakeEntryVoided,
    JudicialEntryVoided,
    ProgrammesEntryVoided,
)

__all__ = [
    "DEADLETTER_PREFIX",
    "DUPLICATE_WINDOW_SECONDS",
    "EVENT_TYPES",
    "SERVICES",
    "STREAM",
    "SUBJECTS",
    "UnknownEventType",
    "by_schema_name",
    "by_type",
    "for_service",
    "json_schema",
    "subject_for",
]

STREAM = "CASELINE"
"""The one JetStream stream (file storage) that carries every event."""

SUBJECTS = "caseline.>"
"""The stream's subjects."""

DEADLETTER_PREFIX = "caseline.deadletter."
"""Dead letters go to `caseline.deadletter.<consumer>`; they fall inside `SUBJECTS`."""

DUPLICATE_WINDOW_SECONDS = 120
"""The stream's `Nats-Msg-Id` de-duplication window (SPEC §4: at least two minutes)."""

SERVICES = ("intake", "judicial", "assessment", "programmes", "ledger")
"""Every service, as named in `source` and in subjects."""

EVENT_TYPES: tuple[type[CatalogueEvent], ...] = (
    *intake.EVENTS,
    IntakeEntryVoided,
    *judicial.EVENTS,
    JudicialEntryVoided,
    *assessment.EVENTS,
    AssessmentEntryVoided,
    *programmes.EVENTS,
    ProgrammesEntryVoided,
)
"""Every event model of the catalogue, grouped by service."""

_BY_TYPE = {cls.type_name(): cls for cls in EVENT_TYPES}
_BY_SCHEMA_NAME = {cls.schema_name(): cls for cls in EVENT_TYPES}
if len(_BY_TYPE) != len(EVENT_TYPES):  # pragma: no cover - a catalogue editing mistake
    raise RuntimeError("two catalogue models claim the same event type")


class UnknownEventType(KeyError):  # noqa: N818 - the name is the published contract
    """No model of the catalogue has this event type or schema name."""


def by_type(type_name: str) -> type[CatalogueEvent]:
    """The model of a CloudEvents `type`, e.g. `caseline.intake.ArrestRecorded.v1`."""
    try:
        return _BY_TYPE[type_name]
    except KeyError:
        raise UnknownEventType(type_name) from None


def by_schema_name(name: str) -> type[CatalogueEvent]:
    """The model of a schema name, e.g. `intake.ArrestRecorded.v1` (`GET /schemas/{name}`)."""
    try:
        return _BY_SCHEMA_NAME[name]
    except KeyError:
        raise UnknownEventType(name) from None


def for_service(service: str) -> tuple[type[CatalogueEvent], ...]:
    """The models a service produces (none for the ledger); ValueError for an unknown service."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return tuple(cls for cls in EVENT_TYPES if cls.service == service)


def subject_for(event: type[CatalogueEvent] | CatalogueEvent, subject_id: UUID | str) -> str:
    """The NATS subject `caseline.<service>.<EventName>.<subject_id>` of an event."""
    cls = event if isinstance(event, type) else type(event)
    token = str(subject_id)
    if not token or any(c in token for c in ".*> \t\r\n"):
        raise ValueError(f"{token!r} cannot be a NATS subject token")
    return f"caseline.{cls.service}.{cls.event_name}.{token}"


def json_schema(
    cls: type[CatalogueEvent], *, ref_template: str = "#/$defs/{model}"
) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an event's payload, `$id` being its `dataschema`."""
    schema = cls.model_json_schema(ref_template=ref_template)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = cls.dataschema()
    schema["title"] = cls.schema_name()
    return schema
