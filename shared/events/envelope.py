"""The CloudEvents 1.0 structured-mode envelope of every event (SPEC §3): build, encode, parse.

Parsing refuses, with a reason naming what is wrong, anything the catalogue does not describe.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_serializer,
    with_config,
)
from pydantic_core import ErrorDetails
from typing_extensions import TypedDict

from shared.events.base import CatalogueEvent, Instant
from shared.events.registry import SERVICES, UnknownEventType, by_type

__all__ = [
    "CLOUDEVENTS_JSON",
    "ENVELOPE_MAX_BYTES",
    "ENVELOPE_MAX_DEPTH",
    "Envelope",
    "EnvelopeError",
    "build_envelope",
    "is_traceparent",
    "load_envelope",
    "parse_envelope",
    "validate_envelope",
]

CLOUDEVENTS_JSON = "application/cloudevents+json"
"""The content type of a structured-mode CloudEvent, as on the bus and in the ledger's feed."""

ENVELOPE_MAX_BYTES = 8 * 1024 * 1024
"""The largest envelope accepted: the bus's `max_payload` (deploy/nats), so nothing a service
could publish is refused, and a hand-made message cannot make a consumer decode more."""

ENVELOPE_MAX_DEPTH = 32
"""The deepest nesting of objects and arrays accepted, the envelope's own object counted. The
catalogue's deepest envelope needs 9 (an instrument's labelled scale: envelope, data, domains,
domain, indicators, indicator, scale, labels, label); deeper is no event, and a document nested
near the interpreter's recursion limit would fail canonicalisation, hashing and signing."""

_SERVICE = "|".join(SERVICES)
_TOKEN = r"^[^\s.*>]+$"  # one NATS subject token: no dots, wildcards or whitespace


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcInstant = Annotated[Instant, AfterValidator(_to_utc)]

_TRACEPARENT = r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
_TRACEPARENT_RE = re.compile(_TRACEPARENT)
_ZERO_TRACE, _ZERO_PARENT = "0" * 32, "0" * 16


def is_traceparent(value: object) -> bool:
    """Whether `value` is a W3C Trace Context `traceparent` of version 00: lowercase hex ids, a
    trace id and a parent id that are not all zero (the standard's invalid values)."""
    return (
        isinstance(value, str)
        and _TRACEPARENT_RE.fullmatch(value) is not None
        and value[3:35] != _ZERO_TRACE
        and value[36:52] != _ZERO_PARENT
    )


def _trace_context(value: str) -> str:
    if not is_traceparent(value):
        raise ValueError("the trace id and the parent id must not be all zero")
    return value


TraceParent = Annotated[
    str, StringConstraints(pattern=_TRACEPARENT), AfterValidator(_trace_context)
]
"""A W3C `traceparent` of version 00 (other versions and shapes are refused, not passed on)."""


class EnvelopeError(ValueError):
    """An envelope the catalogue cannot accept; `reason` says what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@with_config(ConfigDict(extra="forbid", strict=True))
class _Sealed(TypedDict):
    """What `shared.events.personal.seal_values` makes, nothing else: a ciphertext has no
    nesting of its own for a hand-made message to fill."""

    alg: Literal["AES-256-GCM"]
    kid: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    fields: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.]{1,200}$")]]
    ct: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]*={0,2}$")]


SealedPersonalData = Annotated[
    dict[str, Any],
    GetPydanticSchema(lambda _, handler: handler.generate_schema(_Sealed)),
    # The published schema stays the open object it was (deploy/asyncapi.yaml).
    WithJsonSchema({"additionalProperties": True, "type": "object"}),
]
"""The `personaldata` extension, validated as the sealed ciphertext structure (`_Sealed`) and
still a plain dictionary for its readers."""


class Envelope(BaseModel):
    """One CloudEvents 1.0 event in structured JSON mode, with Caseline's extensions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: UUID = Field(description="Unique forever; also the NATS `Nats-Msg-Id`.")
    source: str = Field(pattern=rf"^/caseline/({_SERVICE})$")
    type: str = Field(min_length=1, max_length=200, description="`caseline.<service>.<Event>.vN`")
    subject: str = Field(
        min_length=1, max_length=100, pattern=_TOKEN, description="The case (or catalogue) id."
    )
    time: UtcInstant = Field(description="When it happened in the world.")
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str = Field(min_length=1, max_length=200, description="The payload's schema URN.")
    recordedtime: UtcInstant = Field(description="When the service recorded it.")
    actor: str = Field(min_length=1, max_length=200, description="User id, or `system`.")
    agency: str = Field(min_length=1, max_length=200)
    causationid: UUID | None = None
    correlationid: UUID | None = None
    traceparent: TraceParent | None = Field(
        default=None, description="W3C Trace Context, version 00; ids not all zero."
    )
    tracestate: str | None = Field(default=None, max_length=512)
    personaldata: SealedPersonalData | None = Field(
        default=None,
        title="Personaldata",
        description="Extension: the payload's personal fields, encrypted under the case's key "
        "(crypto-shredding); `data` holds placeholders for them.",
    )
    data: dict[str, Any]
    originkeyid: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{16}$",
        description="Extension: the id of the publishing service's Ed25519 key (required by every "
        "consumer).",
    )
    originsig: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9+/]{86}==$",
        description="Extension: the publishing service's Ed25519 signature, base64, of the RFC 8785 "
        "canonical envelope without `originkeyid` and `originsig` (required by every consumer).",
    )

    @field_serializer("time", "recordedtime", when_used="json")
    def _rfc3339_utc(self, value: datetime) -> str:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def to_json_bytes(self) -> bytes:
        """Compact UTF-8 JSON, optional attributes that are None left out."""
        body = {k: v for k, v in self.model_dump(mode="json").items() if v is not None}
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def build_envelope(
    event: CatalogueEvent,
    *,
    event_id: UUID,
    subject: UUID | str,
    actor: str,
    agency: str,
    recorded_at: datetime,
    causation_id: UUID | None = None,
    correlation_id: UUID | None = None,
    traceparent: str | None = None,
    personaldata: dict[str, Any] | None = None,
) -> Envelope:
    """Wrap a payload for the bus; `time` is the payload's own time, else `recorded_at`."""
    cls = type(event)
    _check_subject(event, str(subject))
    return Envelope(
        id=event_id,
        source=f"/caseline/{cls.service}",
        type=cls.type_name(),
        subject=str(subject),
        time=event.occurred_at() or recorded_at,
        dataschema=cls.dataschema(),
        recordedtime=recorded_at,
        actor=actor,
        agency=agency,
        causationid=causation_id,
        correlationid=correlation_id,
        traceparent=traceparent,
        personaldata=personaldata,
        data=event.model_dump(mode="json"),
    )


def parse_envelope(raw: bytes) -> tuple[Envelope, CatalogueEvent]:
    """Decode and validate an envelope and its payload; EnvelopeError says why not."""
    return validate_envelope(load_envelope(raw))


def load_envelope(raw: bytes) -> dict[str, Any]:
    """The JSON object of an envelope, not yet validated; EnvelopeError when it is not one, or
    when it is larger or nested deeper than any envelope of the catalogue."""
    if len(raw) > ENVELOPE_MAX_BYTES:
        raise EnvelopeError(f"envelope larger than {ENVELOPE_MAX_BYTES} bytes: {len(raw)}")
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError
        raise EnvelopeError(f"malformed JSON: {error}") from None
    if not isinstance(document, dict):
        raise EnvelopeError("malformed envelope: not a JSON object")
    # No deeper than the brackets it has: most envelopes are measured by two byte counts (at
    # memchr speed), only those with more brackets than the bound are walked.
    if raw.count(b"{") + raw.count(b"[") > ENVELOPE_MAX_DEPTH and _deeper_than(
        document, ENVELOPE_MAX_DEPTH
    ):
        raise EnvelopeError(f"malformed envelope: nested deeper than {ENVELOPE_MAX_DEPTH} levels")
    return document


def _deeper_than(document: dict[str, Any], limit: int) -> bool:
    """Whether objects and arrays nest more than `limit` levels (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, level = stack.pop()
        for child in node.values() if type(node) is dict else node:
            if type(child) is dict or type(child) is list:
                if level == limit:
                    return True
                stack.append((child, level + 1))
    return False


def validate_envelope(document: dict[str, Any]) -> tuple[Envelope, CatalogueEvent]:
    """Validate a loaded envelope and its payload against the catalogue (`document` is only
    read); EnvelopeError says why not."""
    try:
        envelope = Envelope.model_validate(document)
    except ValidationError as error:
        raise EnvelopeError("; ".join(_attribute_reason(e) for e in error.errors())) from None
    try:
        cls = by_type(envelope.type)
    except UnknownEventType:
        raise EnvelopeError(f"unknown event type {envelope.type!r}") from None
    if envelope.source != f"/caseline/{cls.service}":
        raise EnvelopeError(f"source {envelope.source!r} does not match type {envelope.type!r}")
    if envelope.dataschema != cls.dataschema():
        raise EnvelopeError(
            f"dataschema {envelope.dataschema!r} does not match type {envelope.type!r}"
        )
    try:
        event = cls.model_validate(envelope.data)
    except ValidationError as error:
        problems = "; ".join(_field_problem(e) for e in error.errors())
        raise EnvelopeError(f"invalid payload for {envelope.type}: {problems}") from None
    try:
        _check_subject(event, envelope.subject)
    except ValueError as error:
        raise EnvelopeError(str(error)) from None
    return envelope, event


def _check_subject(event: CatalogueEvent, subject: str) -> None:
    # Catalogue objects (a programme, an instrument) are their own subject: the id must agree.
    field = type(event).subject_name
    if field in type(event).model_fields and str(getattr(event, field)) != subject:
        raise ValueError(f"subject {subject!r} must be the payload's {field}")


def _attribute_reason(error: ErrorDetails) -> str:
    name = ".".join(str(part) for part in error["loc"]) or "envelope"
    if error["type"] == "missing":
        return f"missing attribute {name!r}"
    if error["type"] == "extra_forbidden":
        return f"unknown attribute {name!r}"
    return f"invalid attribute {name!r}: {error['msg']}"


def _field_problem(error: ErrorDetails) -> str:
    name = ".".join(str(part) for part in error["loc"]) or "payload"
    return f"{name}: {error['msg']}"
