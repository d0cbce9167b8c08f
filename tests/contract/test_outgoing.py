"""The relay's message, built from the stored JSON, is the envelope of the decoded event, byte for byte.

The relay and reconciliation copy what the store holds instead of decoding it through the models;
this checks, for every catalogue type as it is really stored (sealed, transcoded), that nothing on
the bus changes because of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import DomainEvent

from services.intake.application import IntakeApplication
from shared.events import CLOUDEVENTS_JSON, CatalogueEvent, build_envelope, by_type, parse_envelope
from shared.events.registry import EVENT_TYPES
from shared.kit.bus import Bus
from shared.kit.domain import Meta
from shared.kit.origins import development_key, origin_keys
from shared.kit.outgoing import outgoing_all, recorded
from shared.kit.relay import RefusedEventError, outgoing
from shared.kit.settings import Settings

from .samples import SAMPLES, subject_of

WEST_AFRICA = timezone(timedelta(hours=1))


@dataclass(frozen=True)
class Recorded(DomainEvent):
    """A stored event as a service records it: a catalogue payload and its `Meta`."""

    data: CatalogueEvent
    meta: Meta


@dataclass(frozen=True)
class Noted(DomainEvent):
    """An internal event: what a service noted, with no catalogue payload."""

    facility: str


@pytest.fixture(scope="module")
def app(servers):  # type: ignore[no-untyped-def]
    from shared.kit.testing import fresh_database

    settings = Settings(
        environment="test",
        database_url=fresh_database(servers.database_url),
        nats_url=servers.nats_url,
        subject_prefix="t.",
        pool_size=2,
    )
    application = IntakeApplication(settings)
    yield application
    application.shutdown()


def _stored(app: IntakeApplication, data: CatalogueEvent, meta: Meta) -> bytes:
    event = Recorded(
        originator_id=uuid4(),
        originator_version=1,
        timestamp=datetime.now(tz=WEST_AFRICA),
        data=data,
        meta=meta,
    )
    return app.mapper.to_stored_event(event).state


def _meta(type_name: str, **overrides: object) -> Meta:
    values: dict[str, object] = {
        "event_id": uuid4(),
        "subject": subject_of(type_name),
        "actor": "user-1",
        "agency": "police-agency",
        "recorded_at": datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=WEST_AFRICA),
        "correlation_id": uuid4(),
        "causation_id": None,
        "traceparent": None,
    }
    values.update(overrides)
    return Meta(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("type_name", [cls.type_name() for cls in EVENT_TYPES])
@pytest.mark.parametrize("traced", [False, True], ids=["untraced", "traced"])
def test_the_message_is_the_envelope_of_the_decoded_event(app, type_name, traced):  # type: ignore[no-untyped-def]
    cls = by_type(type_name)
    trace = {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"} if traced else {}
    meta = _meta(type_name, causation_id=uuid4() if traced else None, **trace)
    state = _stored(app, cls.model_validate(SAMPLES[type_name]), meta)
    bus = Bus(app.settings, "test")

    message = outgoing(bus, cls.service, state)

    if cls.service != "intake":
        # Stored by intake's mapper, but checked as the owning service's relay would.
        assert outgoing(bus, "intake", state) is None
        assert recorded("intake", state) is None
    # What reconciliation reads without building the message names the same event.
    assert recorded(cls.service, state) == (meta.event_id, meta.subject, meta.recorded_at)
    assert message is not None
    decoded = app.decode_sealed(_as_stored(app, state))
    expected = build_envelope(
        decoded.data,
        event_id=meta.event_id,
        subject=meta.subject,
        actor=meta.actor,
        agency=meta.agency,
        recorded_at=meta.recorded_at,
        causation_id=meta.causation_id,
        correlation_id=meta.correlation_id,
        traceparent=meta.traceparent,
        personaldata=getattr(decoded, "personal", None),
    ).to_json_bytes()
    # The service's development key signs it, after every other attribute.
    signed = development_key(cls.service).sign(json.loads(expected))
    assert message.body == json.dumps(signed, separators=(",", ":"), ensure_ascii=False).encode()
    assert origin_keys(app.settings).problem(json.loads(message.body), cls.service) is None
    assert message.subject == bus.subject(cls, meta.subject)
    assert message.event_id == meta.event_id
    assert message.case == meta.subject
    assert message.recorded_at == meta.recorded_at
    assert message.headers["Nats-Msg-Id"] == str(meta.event_id)
    assert message.headers["Content-Type"] == CLOUDEVENTS_JSON
    assert message.headers["Caseline-Correlation-Id"] == str(meta.correlation_id)
    assert message.headers.get("traceparent") == meta.traceparent
    parse_envelope(message.body)  # and the catalogue accepts it as it is


def test_an_internal_event_is_not_published(app):  # type: ignore[no-untyped-def]
    noted = Noted(
        originator_id=uuid4(),
        originator_version=1,
        timestamp=datetime.now(tz=WEST_AFRICA),
        facility="MCA Bamako",
    )
    state = app.mapper.to_stored_event(noted).state
    assert outgoing(Bus(app.settings, "test"), "intake", state) is None
    assert recorded("intake", state) is None


def test_a_stored_event_without_its_meta_is_refused_not_skipped(app):  # type: ignore[no-untyped-def]
    type_name = "caseline.intake.CustodyStarted.v1"
    meta = _meta(type_name)
    state = _stored(app, by_type(type_name).model_validate(SAMPLES[type_name]), meta)
    stored = json.loads(state)
    del stored["meta"]["_data_"]
    broken = json.dumps(stored).encode()

    for read in (
        lambda s: outgoing(Bus(app.settings, "test"), "intake", s),
        lambda s: recorded("intake", s),
    ):
        with pytest.raises(RefusedEventError, match="malformed stored event"):
            read(broken)


def test_a_catalogue_object_must_be_its_own_subject(app):  # type: ignore[no-untyped-def]
    type_name = "caseline.programmes.ProgrammeCreated.v1"
    cls = by_type(type_name)
    state = _stored(
        app, cls.model_validate(SAMPLES[type_name]), _meta(type_name, subject=str(UUID(int=7)))
    )
    with pytest.raises(ValueError, match="must be the payload's"):
        outgoing(Bus(app.settings, "test"), "programmes", state)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"traceparent": "not-a-trace"}, "invalid attribute 'traceparent'"),
        ({"traceparent": "00-" + "0" * 32 + "-" + "b" * 16 + "-01"}, "invalid attribute 'traceparent'"),
        ({"actor": ""}, "invalid attribute 'actor'"),
        ({"subject": "case.with.dots"}, "invalid attribute 'subject'"),
    ],
    ids=["garbage-traceparent", "zero-trace-id", "blank-actor", "subject-with-dots"],
)  # fmt: skip
def test_a_stored_event_the_catalogue_refuses_is_not_made_a_message(app, overrides, reason):  # type: ignore[no-untyped-def]
    type_name = "caseline.intake.CustodyStarted.v1"
    meta = _meta(type_name, **overrides)
    state = _stored(app, by_type(type_name).model_validate(SAMPLES[type_name]), meta)

    with pytest.raises(RefusedEventError, match=reason) as refused:
        outgoing(Bus(app.settings, "test"), "intake", state)

    assert refused.value.event_id == str(meta.event_id)


def test_a_stored_payload_the_catalogue_refuses_is_not_made_a_message(app):  # type: ignore[no-untyped-def]
    type_name = "caseline.intake.CustodyStarted.v1"
    meta = _meta(type_name)
    state = _stored(app, by_type(type_name).model_validate(SAMPLES[type_name]), meta)
    # As a payload stored under a rule the catalogue has since tightened would read.
    tampered = state.replace(b'"max_hours":', b'"max_hours_":')

    with pytest.raises(RefusedEventError, match="invalid payload"):
        outgoing(Bus(app.settings, "test"), "intake", tampered)


def _as_stored(app: IntakeApplication, state: bytes):  # type: ignore[no-untyped-def]
    from eventsourcing.persistence import StoredEvent

    return StoredEvent(originator_id=uuid4(), originator_version=1, topic=_topic(), state=state)


def _topic() -> str:
    from eventsourcing.utils import get_topic

    return get_topic(Recorded)


def test_a_batch_is_the_messages_one_by_one_up_to_the_first_refused(app):  # type: ignore[no-untyped-def]
    type_name = "caseline.intake.CustodyStarted.v1"
    event = by_type(type_name).model_validate(SAMPLES[type_name])
    good = [_stored(app, event, _meta(type_name)) for _ in range(40)]  # signed on every core
    refused = _stored(app, event, _meta(type_name, traceparent="not-a-trace"))
    bus = Bus(app.settings, "test")

    whole, none_refused = outgoing_all(bus, "intake", good)
    cut, why = outgoing_all(bus, "intake", [*good[:3], refused, *good[3:]])

    assert none_refused is None
    assert whole == [outgoing(bus, "intake", state) for state in good]  # Ed25519 is deterministic
    keys = origin_keys(app.settings)
    assert all(keys.problem(json.loads(m.body), "intake") is None for m in whole if m)
    assert cut == whole[:3]  # nothing after the refused one
    assert why is not None and "traceparent" in why.reason
