"""The registry maps event type, model, NATS subject and schema one to one."""

from __future__ import annotations

from uuid import UUID

import pytest

from shared.events import (
    DEADLETTER_PREFIX,
    EVENT_TYPES,
    SERVICES,
    STREAM,
    SUBJECTS,
    ArrestRecorded,
    IntakeEntryVoided,
    ReleaseOrdered,
    UnknownEventType,
    by_schema_name,
    by_type,
    for_service,
    subject_for,
)

CASE_ID = UUID("0b7e5c1e-4f7a-4d3c-9a55-2f0a3c6d8e01")


def test_bus_names_are_those_of_the_spec() -> None:
    assert STREAM == "CASELINE"
    assert SUBJECTS == "caseline.>"
    assert DEADLETTER_PREFIX == "caseline.deadletter."
    assert SERVICES == ("intake", "judicial", "assessment", "programmes", "ledger")


def test_a_type_finds_its_model() -> None:
    assert by_type("caseline.judicial.ReleaseOrdered.v1") is ReleaseOrdered


def test_a_schema_name_finds_its_model() -> None:
    assert by_schema_name("intake.EntryVoided.v1") is IntakeEntryVoided


def test_an_unknown_type_is_a_key_error() -> None:
    with pytest.raises(UnknownEventType):
        by_type("caseline.intake.Escaped.v1")
    with pytest.raises(KeyError):
        by_schema_name("intake.Escaped.v1")


def test_every_model_is_found_by_its_type_and_schema_name() -> None:
    for cls in EVENT_TYPES:
        assert by_type(cls.type_name()) is cls
        assert by_schema_name(cls.schema_name()) is cls


def test_services_produce_their_own_events() -> None:
    assert ArrestRecorded in for_service("intake")
    assert IntakeEntryVoided in for_service("intake")
    assert all(cls.service == "judicial" for cls in for_service("judicial"))
    assert for_service("ledger") == ()
    assert sum(len(for_service(s)) for s in SERVICES) == len(EVENT_TYPES)


def test_an_unknown_service_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown service"):
        for_service("police")


def test_subject_follows_service_event_and_case() -> None:
    assert subject_for(ArrestRecorded, CASE_ID) == f"caseline.intake.ArrestRecorded.{CASE_ID}"
    assert subject_for(IntakeEntryVoided, "c1") == "caseline.intake.EntryVoided.c1"


def test_subject_of_an_instance_is_that_of_its_class() -> None:
    event = ReleaseOrdered.model_validate(
        {
            "release_order_id": str(CASE_ID),
            "kind": "bail",
            "effective_at": "2026-01-01T00:00:00Z",
        }
    )

    assert subject_for(event, CASE_ID) == subject_for(ReleaseOrdered, CASE_ID)


@pytest.mark.parametrize("token", ["", "a.b", "*", ">", "a b"])
def test_a_subject_id_must_be_one_nats_token(token: str) -> None:
    with pytest.raises(ValueError, match="NATS subject token"):
        subject_for(ArrestRecorded, token)
