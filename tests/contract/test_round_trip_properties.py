"""Property: any valid payload of representative models survives the envelope unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events import (
    AccompanyingPerson,
    ArrestRecorded,
    CatalogueEvent,
    ChargesFiled,
    Consent,
    Domain,
    FollowUpRecorded,
    FollowUpStatus,
    Indicator,
    InstrumentPublished,
    Offence,
    Person,
    ReferralMade,
    Scale,
    ScalePoint,
    SessionAttended,
    Sex,
    build_envelope,
    parse_envelope,
)

PROPERTY = settings(max_examples=50, database=None, suppress_health_check=[HealthCheck.too_slow])
RECORDED_AT = datetime(2025, 2, 3, 7, 0, tzinfo=UTC)

texts = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40).filter(
    str.strip
)
codes = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,10}", fullmatch=True)
offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(
    lambda quarters: timezone(timedelta(minutes=15 * quarters))
)
# Hypothesis takes naive bounds and makes each example aware with one of `timezones`.
instants = st.datetimes(
    min_value=datetime(1950, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=offsets,
)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1))
optional_days = st.none() | days


@st.composite
def scales(draw: st.DrawFn) -> Scale:
    low = draw(st.integers(-10, 9))
    high = draw(st.integers(low + 1, 10))
    values = draw(st.lists(st.integers(low, high), unique=True, max_size=5))
    return Scale(min=low, max=high, labels=tuple(ScalePoint(value=v, label="l") for v in values))


@st.composite
def instruments(draw: st.DrawFn) -> InstrumentPublished:
    ids = draw(st.lists(codes, min_size=2, max_size=6, unique=True))
    indicators = [Indicator(id=i, text=draw(texts), scale=draw(scales())) for i in ids[1:]]
    domain = Domain(id=ids[0], title=draw(texts), indicators=tuple(indicators))
    return InstrumentPublished(
        instrument_id=draw(st.uuids()),
        version=draw(st.integers(1, 10_000)),
        title=draw(texts),
        domains=(domain,),
    )


people = st.builds(
    Person,
    full_name=texts,
    aliases=st.lists(texts, max_size=3).map(tuple),
    date_of_birth=optional_days,
    sex=st.sampled_from(Sex),
    nationality=texts,
    languages=st.lists(texts, max_size=3).map(tuple),
    place_of_origin=st.none() | texts,
)
arrests = st.builds(
    ArrestRecorded,
    person=people,
    arrested_at=instants,
    location=texts,
    arresting_unit=texts,
    grounds=texts,
    returning_foreign_fighter=st.booleans(),
    accompanying_family=st.lists(
        st.builds(AccompanyingPerson, full_name=texts, relationship=texts, minor=st.booleans()),
        max_size=3,
    ).map(tuple),
)
charges = st.builds(
    ChargesFiled,
    offences=st.lists(
        st.builds(Offence, code=texts, description=texts, law_ref=texts), min_size=1, max_size=4
    ).map(tuple),
    prosecutor=texts,
    filed_at=instants,
)
referrals = st.builds(
    ReferralMade,
    referral_id=st.uuids(),
    to_agency=texts,
    reason=texts,
    consent=st.just(Consent.LEGAL_BASIS),
    legal_basis=texts,
) | st.builds(
    ReferralMade,
    referral_id=st.uuids(),
    to_agency=texts,
    reason=texts,
    consent=st.just(Consent.GIVEN),
)
sessions = st.builds(SessionAttended, programme_id=st.uuids(), session_date=days, facilitator=texts)
follow_ups = st.builds(
    FollowUpRecorded, at=instants, status=st.sampled_from(FollowUpStatus), note=texts
)
events = st.one_of(arrests, charges, referrals, sessions, follow_ups, instruments())


@PROPERTY
@given(event=events, event_id=st.uuids())
def test_any_valid_payload_round_trips_through_the_envelope(
    event: CatalogueEvent, event_id: UUID
) -> None:
    subject = getattr(event, type(event).subject_name, event_id)
    envelope = build_envelope(
        event,
        event_id=event_id,
        subject=subject,
        actor="u-1",
        agency="ml-police",
        recorded_at=RECORDED_AT,
    )

    parsed_envelope, parsed_event = parse_envelope(envelope.to_json_bytes())

    assert parsed_event == event
    assert parsed_envelope.time == envelope.time


@PROPERTY
@given(event=events)
def test_a_payload_dump_revalidates_to_the_same_event(event: CatalogueEvent) -> None:
    dumped = event.model_dump_json()

    assert type(event).model_validate_json(dumped) == event
