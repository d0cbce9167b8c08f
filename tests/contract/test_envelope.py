"""Every event survives the envelope; saved envelopes keep parsing; bad ones are refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from shared.events import (
    CatalogueEvent,
    EnvelopeError,
    HearingScheduled,
    SessionAttended,
    build_envelope,
    by_type,
    parse_envelope,
)
from shared.events.registry import EVENT_TYPES

from .samples import CASE_ID, SAMPLES, subject_of

PAYLOADS = Path(__file__).parent / "payloads"
EVENT_ID = UUID("a0b1c2d3-e4f5-4a6b-8c7d-8e9f0a1b2c3d")
RECORDED_AT = datetime(2025, 2, 3, 7, 0, tzinfo=UTC)


def _sample(type_name: str) -> CatalogueEvent:
    return by_type(type_name).model_validate(SAMPLES[type_name])


def _envelope_bytes(type_name: str, **overrides: Any) -> bytes:
    event = _sample(type_name)
    envelope = build_envelope(
        event,
        event_id=EVENT_ID,
        subject=subject_of(type_name),
        actor="u-1",
        agency="ml-police",
        recorded_at=RECORDED_AT,
    )
    document = json.loads(envelope.to_json_bytes())
    document.update(overrides)
    return json.dumps(document).encode()


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.schema_name())
def test_every_event_round_trips_through_the_envelope(cls: type[CatalogueEvent]) -> None:
    event = _sample(cls.type_name())
    envelope = build_envelope(
        event,
        event_id=EVENT_ID,
        subject=subject_of(cls.type_name()),
        actor="u-1",
        agency="ml-police",
        recorded_at=RECORDED_AT,
        correlation_id=EVENT_ID,
    )

    parsed_envelope, parsed_event = parse_envelope(envelope.to_json_bytes())

    assert parsed_event == event
    assert type(parsed_event) is cls
    assert parsed_envelope == envelope


@pytest.mark.parametrize("path", sorted(PAYLOADS.glob("*.json")), ids=lambda path: path.stem)
def test_saved_envelopes_keep_parsing(path: Path) -> None:
    envelope, event = parse_envelope(path.read_bytes())

    assert envelope.type == type(event).type_name()
    assert path.stem == type(event).schema_name()


def test_every_event_type_has_a_saved_envelope() -> None:
    saved = {path.stem for path in PAYLOADS.glob("*.json")}

    assert saved == {cls.schema_name() for cls in EVENT_TYPES}


def test_envelope_carries_the_spec_attributes() -> None:
    document = json.loads(_envelope_bytes("caseline.intake.ArrestRecorded.v1"))

    assert document["specversion"] == "1.0"
    assert document["source"] == "/caseline/intake"
    assert document["type"] == "caseline.intake.ArrestRecorded.v1"
    assert document["dataschema"] == "urn:caseline:schema:intake.ArrestRecorded.v1"
    assert document["datacontenttype"] == "application/json"
    assert document["subject"] == str(CASE_ID)
    assert document["recordedtime"] == "2025-02-03T07:00:00Z"


def test_envelope_time_is_when_it_happened_in_utc() -> None:
    document = json.loads(_envelope_bytes("caseline.intake.DetaineeAdmitted.v1"))

    assert document["time"] == "2025-02-07T13:20:00Z"


def test_envelope_time_falls_back_to_the_recording_time() -> None:
    document = json.loads(_envelope_bytes("caseline.judicial.HearingScheduled.v1"))

    assert HearingScheduled.time_field is None
    assert document["time"] == document["recordedtime"]


def test_a_day_without_time_happened_from_its_start() -> None:
    document = json.loads(_envelope_bytes("caseline.programmes.SessionAttended.v1"))

    assert SessionAttended.time_field == "session_date"
    assert document["time"] == "2025-04-03T00:00:00Z"


def test_unset_optional_attributes_are_left_out() -> None:
    document = json.loads(_envelope_bytes("caseline.intake.ArrestRecorded.v1"))

    assert not {"causationid", "correlationid", "traceparent", "tracestate"} & document.keys()


def test_envelope_json_is_compact_utf8() -> None:
    envelope = build_envelope(
        _sample("caseline.intake.CustodyStarted.v1"),
        event_id=EVENT_ID,
        subject=CASE_ID,
        actor="u-1",
        agency="ml-police",
        recorded_at=RECORDED_AT,
    )

    raw = envelope.to_json_bytes()

    compact = json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False)
    assert raw == compact.encode()
    assert "Sévaré".encode() in raw


def test_a_catalogue_object_is_its_own_subject() -> None:
    event = _sample("caseline.programmes.ProgrammeCreated.v1")

    with pytest.raises(ValueError, match="programme_id"):
        build_envelope(
            event,
            event_id=EVENT_ID,
            subject=CASE_ID,
            actor="u-1",
            agency="ml-dap",
            recorded_at=RECORDED_AT,
        )


def test_malformed_json_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="malformed JSON"):
        parse_envelope(b'{"specversion": "1.0",')


def test_a_json_value_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="not a JSON object"):
        parse_envelope(b"[1, 2]")


def test_an_unknown_type_is_refused() -> None:
    raw = _envelope_bytes("caseline.intake.ArrestRecorded.v1", type="caseline.intake.Escaped.v1")

    with pytest.raises(EnvelopeError, match=r"unknown event type 'caseline\.intake\.Escaped\.v1'"):
        parse_envelope(raw)


def test_a_missing_attribute_is_named() -> None:
    document = json.loads(_envelope_bytes("caseline.intake.ArrestRecorded.v1"))
    del document["recordedtime"]

    with pytest.raises(EnvelopeError, match="missing attribute 'recordedtime'"):
        parse_envelope(json.dumps(document).encode())


def test_an_unknown_attribute_is_named() -> None:
    raw = _envelope_bytes("caseline.intake.ArrestRecorded.v1", correlationId=str(EVENT_ID))

    with pytest.raises(EnvelopeError, match="unknown attribute 'correlationId'"):
        parse_envelope(raw)


def test_a_naive_envelope_time_is_refused() -> None:
    raw = _envelope_bytes("caseline.intake.ArrestRecorded.v1", time="2025-02-03T05:40:00")

    with pytest.raises(EnvelopeError, match="invalid attribute 'time'"):
        parse_envelope(raw)


TRACE_ID, PARENT_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.mark.parametrize(
    "traceparent",
    [
        f"01-{TRACE_ID}-{PARENT_ID}-01",
        f"ff-{TRACE_ID}-{PARENT_ID}-01",
        f"00-{'0' * 32}-{PARENT_ID}-01",
        f"00-{TRACE_ID}-{'0' * 16}-01",
        f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",
        f"00-{TRACE_ID}-{PARENT_ID}-01-extra",
        f"00-{TRACE_ID}-{PARENT_ID}-01\n",
        "not a trace context",
    ],
    ids=["version-01", "version-ff", "zero-trace", "zero-parent", "uppercase", "extra-field",
         "newline", "garbage"],
)  # fmt: skip
def test_a_malformed_traceparent_is_refused(traceparent: str) -> None:
    raw = _envelope_bytes("caseline.intake.ArrestRecorded.v1", traceparent=traceparent)

    with pytest.raises(EnvelopeError, match="invalid attribute 'traceparent'"):
        parse_envelope(raw)


def test_a_version_00_traceparent_is_accepted() -> None:
    traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    raw = _envelope_bytes("caseline.intake.ArrestRecorded.v1", traceparent=traceparent)

    envelope, _ = parse_envelope(raw)

    assert envelope.traceparent == traceparent


def test_a_source_of_another_service_is_refused() -> None:
    raw = _envelope_bytes("caseline.intake.ArrestRecorded.v1", source="/caseline/judicial")

    with pytest.raises(EnvelopeError, match="source '/caseline/judicial' does not match"):
        parse_envelope(raw)


def test_a_dataschema_of_another_type_is_refused() -> None:
    raw = _envelope_bytes(
        "caseline.intake.ArrestRecorded.v1",
        dataschema="urn:caseline:schema:intake.CustodyStarted.v1",
    )

    with pytest.raises(EnvelopeError, match=r"dataschema .* does not match"):
        parse_envelope(raw)


def test_an_invalid_payload_is_refused_naming_the_field() -> None:
    data = dict(SAMPLES["caseline.intake.ArrestRecorded.v1"])
    data["person"] = {**data["person"], "sex": "unknown"}
    raw = _envelope_bytes("caseline.intake.ArrestRecorded.v1", data=data)

    with pytest.raises(EnvelopeError, match=r"invalid payload for \S+: person\.sex"):
        parse_envelope(raw)


def test_a_catalogue_object_under_another_subject_is_refused() -> None:
    raw = _envelope_bytes("caseline.programmes.ProgrammeCreated.v1", subject=str(CASE_ID))

    with pytest.raises(EnvelopeError, match="must be the payload's programme_id"):
        parse_envelope(raw)


def test_envelope_error_carries_the_reason() -> None:
    with pytest.raises(EnvelopeError) as caught:
        parse_envelope(b"not json")

    assert caught.value.reason.startswith("malformed JSON")
    assert isinstance(caught.value, ValueError)
