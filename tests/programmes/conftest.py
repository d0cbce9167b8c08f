"""Fixtures of the programmes tests: the service running, and a feeder that publishes on the bus
the intake and assessment events programmes learns from, as those services would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import nats
import psycopg
import pytest

from services.programmes.inbound import CONSUMER
from services.programmes.service import create_app
from shared.events import (
    ArrestRecorded,
    AssessmentCountersigned,
    AssessmentSubmitted,
    CatalogueEvent,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
    IntakeEntryVoided,
    PlacementDecided,
    build_envelope,
    subject_for,
)
from shared.kit.clock import Clock
from shared.kit.settings import Settings
from shared.kit.testing import TEST_STREAM_BYTES, Servers, fresh_database
from tests.support import auth, eventually, running
from tests.support.bus import signed

BAMAKO = "Maison Centrale d'Arrêt de Bamako"
KOULIKORO = "Centre de détention de Koulikoro"
NGO = "ONG Jeunesse et Avenir"


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    """A moment in the past, relative to the real clock (the services refuse future times)."""
    return datetime.now(UTC) - timedelta(days=days, hours=hours, minutes=minutes)


def publish(settings: Settings, *events: tuple[CatalogueEvent, UUID | str]) -> list[UUID]:
    """Publish catalogue events of other services on the test's stream, in order; their ids."""
    ids = [uuid4() for _ in events]

    async def go() -> None:
        nc = await nats.connect(settings.nats_url)
        js = nc.jetstream()
        for event_id, (event, subject_id) in zip(ids, events, strict=True):
            envelope = build_envelope(
                event,
                event_id=event_id,
                subject=subject_id,
                actor="feeder",
                agency=f"{type(event).service}-agency",
                recorded_at=datetime.now(UTC),
            )
            await js.publish(
                settings.subject_prefix + subject_for(event, subject_id),
                signed(envelope),
                stream=settings.stream,
                headers={"Nats-Msg-Id": str(event_id)},
            )
        await nc.drain()

    asyncio.run(go())
    return ids


class Feeder:
    """Plays intake and assessment on the bus, and waits until programmes has noted it."""

    def __init__(self, settings: Settings, client: Any) -> None:
        self.settings = settings
        self.client = client
        # An assessor sees every unsealed case and every key the feeder waits on; a social worker
        # would not see the risk level (the visibility table keeps assessments from them).
        self.reader = auth(settings, "assessor", sub="feeder-reader", agency="ministry")

    def case(self, facility: str | None = BAMAKO, name: str = "Amadou Traoré") -> UUID:
        """A new case: arrested and, unless `facility` is None, admitted there."""
        case_id = uuid4()
        events: list[tuple[CatalogueEvent, UUID]] = [(arrest_event(name), case_id)]
        if facility is not None:
            events.append((admission_event(facility), case_id))
        publish(self.settings, *events)
        self.wait(case_id, full_name=name, facility=facility)
        return case_id

    def risk(self, case_id: UUID, level: str, countersign: bool = True) -> UUID:
        """A submitted (and, by default, countersigned) risk assessment at `level`."""
        assessment_id = uuid4()
        submitted = AssessmentSubmitted(
            assessment_id=assessment_id,
            overall_risk=level,
            rationale="Structured professional judgement on the instrument's domains.",
            next_review_by=datetime.now(UTC) + timedelta(days=180),
        )
        events: list[tuple[CatalogueEvent, UUID]] = [(submitted, case_id)]
        if countersign:
            signature = AssessmentCountersigned(
                assessment_id=assessment_id, countersigned_by="Dr Coulibaly"
            )
            events.append((signature, case_id))
        ids = publish(self.settings, *events)
        if countersign:
            self.wait(case_id, risk=level)
        else:
            self.settle(case_id, ids[-1])
        return ids[-1]

    def transfer(self, case_id: UUID, from_facility: str, to_facility: str) -> None:
        event = DetaineeTransferred(
            from_facility=from_facility,
            to_facility=to_facility,
            transferred_at=ago(hours=1),
            reason="Court appearance",
        )
        publish(self.settings, (event, case_id))
        self.wait(case_id, facility=to_facility)

    def keep_apart(self, case_id: UUID, *others: UUID) -> None:
        event = PlacementDecided(
            security_level="high",
            keep_separate_from=others,
            rationale="Recruiter of the other detainees before arrest.",
            decided_by="Directeur de la MCA",
        )
        publish(self.settings, (event, case_id))
        self.wait(case_id, keep_separate_from=sorted(str(o) for o in others))

    def release(self, case_id: UUID, at: datetime | None = None) -> UUID:
        released = DetaineeReleased(released_at=at or ago(hours=1), release_order_id=uuid4())
        [event_id] = publish(self.settings, (released, case_id))
        self.wait(case_id, released_at=released.released_at.isoformat())
        return event_id

    def void_intake(self, case_id: UUID, event_id: UUID) -> None:
        voided = IntakeEntryVoided(voided_event_id=event_id, reason="Entered on the wrong case")
        [void_id] = publish(self.settings, (voided, case_id))
        self.settle(case_id, void_id)

    def view(self, case_id: UUID) -> dict[str, Any]:
        return self.client.get(f"/cases/{case_id}", headers=self.reader).json()

    def wait(self, case_id: UUID, **expected: Any) -> dict[str, Any]:
        def noted() -> Any:
            view = self.view(case_id)
            return all(view.get(k) == v for k, v in expected.items()) and view

        return eventually(noted, timeout=10)

    def settle(self, case_id: UUID, event_id: UUID) -> None:
        """Wait until programmes has processed a message that changes nothing it shows."""

        def processed() -> bool:
            with psycopg.connect(self.settings.database.conninfo()) as conn:
                # Its case-facts consumer's record: the access facts' consumer notes a
                # voiding too, and may have done so first.
                row = conn.execute(
                    "SELECT 1 FROM programmes.inbound WHERE consumer = %s AND event_id = %s",
                    (CONSUMER, event_id),
                ).fetchone()
            return row is not None

        eventually(processed, timeout=10)


def arrest_event(name: str) -> ArrestRecorded:
    return ArrestRecorded(
        person={"full_name": name, "sex": "male", "nationality": "Mali"},
        arrested_at=ago(days=200),
        location="Sévaré checkpoint, Mopti region",
        arresting_unit="Gendarmerie brigade de Sévaré",
        grounds="Suspected membership of an armed terrorist group",
        returning_foreign_fighter=False,
    )


def admission_event(facility: str) -> DetaineeAdmitted:
    return DetaineeAdmitted(facility=facility, admitted_at=ago(days=190), warrant_ref="MD-2026-1")


@pytest.fixture(scope="module")
def settings(servers: Servers) -> Settings:
    """One database, stream and subject prefix per test module: tests tell their data apart by
    fresh ids (cases, programmes, agencies), so the service starts once per module."""
    run = uuid4().hex[:10]
    return Settings(
        environment="test",
        database_url=fresh_database(servers.database_url),
        nats_url=servers.nats_url,
        stream=f"CASELINE_{run}",
        delivery_stream_max_bytes=TEST_STREAM_BYTES,
        subject_prefix=f"t{run}.",
        pool_size=4,
        relay_poll_seconds=0.05,
    )


@contextmanager
def programmes_service(settings: Settings, clock: Clock | None = None) -> Iterator[Any]:
    """The programmes service, running, ready (its stream exists) before a test feeds it."""
    with running(create_app(settings, clock or Clock())) as client:
        eventually(lambda: client.get("/readyz").status_code == 200, timeout=10)
        yield client


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[Any]:
    with programmes_service(settings) as client:
        yield client


@pytest.fixture
def feed(settings: Settings, client: Any) -> Feeder:
    return Feeder(settings, client)


@pytest.fixture
def social_worker(settings: Settings) -> dict[str, str]:
    return auth(settings, "social_worker", sub="aminata", agency="ministry")


def unique(label: str) -> str:
    """A name no other test of the module uses (an agency, a facility)."""
    return f"{label} {uuid4().hex[:8]}"


def programme_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "vocational",
        "title": "Motorcycle mechanics workshop",
        "provider_agency": NGO,
        "capacity": 10,
        "facility": BAMAKO,
        "attendance_threshold": 2,
    }
    body.update(overrides)
    return body


def create_programme(client: Any, headers: dict[str, str], **overrides: Any) -> str:
    response = client.post("/programmes", json=programme_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["programme_id"])


def enrol(
    client: Any, headers: dict[str, str], programme_id: str, case_id: UUID, at: str = ""
) -> Any:
    return client.post(
        f"/programmes/{programme_id}/enrolments",
        json={"case_id": str(case_id), "enrolled_at": at or ago(days=30).isoformat()},
        headers=headers,
    )


def link_organisation(client: Any, headers: dict[str, str], agency: str, case_id: UUID) -> None:
    """Make the person one the organisation works with: enrolled (by `headers`, a social worker)
    in a programme it provides, so that it may see the case and its rules are what answer it."""
    programme_id = create_programme(client, headers, provider_agency=agency)
    enrolled = enrol(client, headers, programme_id, case_id)
    assert enrolled.status_code == 201, enrolled.text


def rule_of(response: Any) -> str:
    """The rule a 409 problem names (the last segment of its `type`)."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return str(response.json()["type"]).rsplit("/", 1)[-1]


def programme_state(client: Any, headers: dict[str, str], programme_id: str) -> tuple[int, int]:
    """The programme's version and its number of enrolments ever: what a refusal must not move."""
    version = client.get(f"/programmes/{programme_id}", headers=headers).json()["version"]
    summary = client.get(f"/programmes/{programme_id}/summary", headers=headers).json()
    return version, summary["enrolled"]
