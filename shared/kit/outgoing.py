"""What a service publishes for one stored event: its CloudEvents envelope, subject and headers,
built from the stored JSON, validated against the catalogue and signed with the service's key
(`outgoing`). The relay and reconciliation both publish through here, so neither can send what the
ledger would refuse; stored events stay unsigned.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple
from uuid import UUID

from shared.events import CLOUDEVENTS_JSON, CatalogueEvent, EnvelopeError, validate_envelope
from shared.events.registry import UnknownEventType, by_type
from shared.kit.bus import Bus
from shared.kit.origins import service_key
from shared.kit.recorder import MetaTranscoding

__all__ = ["Outgoing", "Recorded", "RefusedEventError", "outgoing", "outgoing_all", "recorded"]


class Outgoing(NamedTuple):
    """What the relay publishes for one stored event: its facts, the subject, body and headers."""

    event_id: UUID
    case: str  # the envelope's `subject`: the case (or catalogue object) the event is about
    recorded_at: datetime
    subject: str
    body: bytes
    headers: dict[str, str]


class RefusedEventError(ValueError):
    """A stored event whose envelope the catalogue refuses: published, it would only be
    dead-lettered by the ledger and by every service reacting to it."""

    def __init__(self, event_id: str, reason: str) -> None:
        super().__init__(f"event {event_id}: {reason}")
        self.event_id = event_id
        self.reason = reason


_ENVELOPE_ORDER = (
    "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema",
    "recordedtime", "actor", "agency", "causationid", "correlationid", "traceparent",
    "personaldata", "data",
)  # fmt: skip


_EventClass = type[CatalogueEvent]  # named apart: inside `_Kind`, `type` is a field


class _Kind(NamedTuple):
    """What the envelope takes from an event's class, looked up once per type."""

    service: str
    type: str
    source: str
    dataschema: str
    subject_field: str | None  # a catalogue object is its own subject: its id field
    time_field: str | None
    cls: _EventClass


@functools.cache
def _kind(type_name: str) -> _Kind | None:
    try:
        cls = by_type(type_name)
    except UnknownEventType:
        return None
    own_subject = cls.subject_name if cls.subject_name in cls.model_fields else None
    return _Kind(
        cls.service, cls.type_name(), f"/caseline/{cls.service}", cls.dataschema(), own_subject,
        cls.time_field, cls,
    )  # fmt: skip


def outgoing(bus: Bus, service: str, state: bytes) -> Outgoing | None:
    """The message for one stored event, or None when it is internal (not this service's own);
    `RefusedEventError` when the catalogue refuses its envelope (nothing may publish it).

    Built straight from the stored JSON: the payload is stored as the envelope carries it
    (sealed, `model_dump(mode="json")`), so the relay and reconciliation, which both publish
    through here, copy it instead of decoding it. The result is the envelope `build_envelope`
    gives for the decoded event, byte for byte (tested).
    """
    unsigned = _unsigned(bus, service, state)
    return None if unsigned is None else _signed(bus, service, [unsigned])[0]


def outgoing_all(
    bus: Bus, service: str, states: Sequence[bytes]
) -> tuple[list[Outgoing | None], RefusedEventError | None]:
    """`outgoing` for each stored event in order, up to the first the catalogue refuses (given
    beside them: nothing after it may leave before it), their signatures made together."""
    unsigned: list[_Unsigned | None] = []
    refused = None
    for state in states:
        try:
            unsigned.append(_unsigned(bus, service, state))
        except RefusedEventError as error:
            refused = error
            break
    signed = iter(_signed(bus, service, [u for u in unsigned if u is not None]))
    return [None if u is None else next(signed) for u in unsigned], refused


class _Unsigned(NamedTuple):
    """A message validated and ready to sign: its envelope, and the message without a body."""

    envelope: dict[str, Any]
    message: Outgoing


def _unsigned(bus: Bus, service: str, state: bytes) -> _Unsigned | None:
    own = _own(service, state)
    if own is None:
        return None
    kind, data, meta, personal = own
    try:
        return _message(bus, kind, data, meta, personal)
    except EnvelopeError as error:
        raise RefusedEventError(str(meta.get("event_id")), error.reason) from None
    except (KeyError, TypeError, ValueError) as error:
        raise RefusedEventError(
            str(meta.get("event_id")), f"malformed stored event: {error!r}"
        ) from None


def _signed(bus: Bus, service: str, unsigned: Sequence[_Unsigned]) -> list[Outgoing]:
    """The messages with their bodies: each envelope signed last by `service`, over what is
    published (every consumer checks it came from this service), a batch's signatures made
    together."""
    signed = service_key(bus.settings, service).sign_all([u.envelope for u in unsigned])
    return [
        u.message._replace(body=json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode())
        for u, d in zip(unsigned, signed, strict=True)
    ]


class Recorded(NamedTuple):
    """A stored event this service publishes, as its envelope will name it."""

    event_id: UUID
    case: str  # the envelope's `subject`
    recorded_at: datetime


def recorded(service: str, state: bytes) -> Recorded | None:
    """The id, case and recording time of a stored event `outgoing` would publish, None for an internal
    one, read without building, validating or signing its envelope (reconciliation asks the
    ledger about every event, and needs the message only of those it lacks);
    `RefusedEventError` when even these cannot be read."""
    own = _own(service, state)
    if own is None:
        return None
    meta = own[2]
    try:
        return Recorded(
            UUID(meta["event_id"]),
            str(meta["subject"]),
            datetime.fromisoformat(meta["recorded_at"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise RefusedEventError(
            str(meta.get("event_id")), f"malformed stored event: {error!r}"
        ) from None


def _own(service: str, state: bytes) -> tuple[_Kind, dict[str, Any], dict[str, Any], Any] | None:
    """A stored event's kind, payload, meta and sealed personal data, when it is one of this
    service's catalogue events (a service publishes only its own)."""
    stored = json.loads(state)
    tagged, tagged_meta = stored.get("data"), stored.get("meta")
    if not (isinstance(tagged, dict) and isinstance(tagged_meta, dict)):
        return None
    if tagged_meta.get("_type_") != MetaTranscoding.name:
        return None
    kind = _kind(str(tagged.get("_type_", "")))
    if kind is None or kind.service != service:
        return None
    data, meta = tagged.get("_data_"), tagged_meta.get("_data_")
    if not (isinstance(data, dict) and isinstance(meta, dict)):
        event_id = meta.get("event_id") if isinstance(meta, dict) else None
        raise RefusedEventError(str(event_id), "malformed stored event: no payload or meta")
    return kind, data, meta, stored.get("personal")


def _message(
    bus: Bus, kind: _Kind, data: dict[str, Any], meta: dict[str, Any], personal: Any
) -> _Unsigned:
    case = meta["subject"]
    if kind.subject_field is not None and str(data.get(kind.subject_field)) != case:
        raise EnvelopeError(f"subject {case!r} must be the payload's {kind.subject_field}")
    recorded_at = datetime.fromisoformat(meta["recorded_at"])
    happened = data.get(kind.time_field) if kind.time_field else None
    envelope = {
        "specversion": "1.0",
        "id": meta["event_id"],
        "source": kind.source,
        "type": kind.type,
        "subject": case,
        "time": _utc(_instant(happened) if happened else recorded_at),
        "datacontenttype": "application/json",
        "dataschema": kind.dataschema,
        "recordedtime": _utc(recorded_at),
        "actor": meta["actor"],
        "agency": meta["agency"],
        "causationid": meta.get("causation_id"),
        "correlationid": meta.get("correlation_id"),
        "traceparent": meta.get("traceparent"),
        "personaldata": personal,
        "data": data,
    }
    body = {k: envelope[k] for k in _ENVELOPE_ORDER if envelope[k] is not None}
    # What the ledger and every reaction will check: were it refused there, it would be lost.
    validate_envelope(body)
    headers = {"Nats-Msg-Id": meta["event_id"], "Content-Type": CLOUDEVENTS_JSON}
    if envelope["traceparent"]:
        headers["traceparent"] = envelope["traceparent"]
    if envelope["correlationid"]:
        headers["Caseline-Correlation-Id"] = envelope["correlationid"]
    message = Outgoing(
        event_id=UUID(meta["event_id"]),
        case=case,
        recorded_at=recorded_at,
        subject=bus.subject(kind.cls, case),
        body=b"",
        headers=headers,
    )
    return _Unsigned(body, message)


def _instant(value: str) -> datetime:
    # A payload time is an RFC 3339 moment, or a calendar day, which happened from its start
    # (as `CatalogueEvent.occurred_at` says).
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
    return datetime.fromisoformat(value)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
