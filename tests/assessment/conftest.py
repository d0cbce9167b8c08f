"""Fixtures of the assessment tests: a running service with its clock, and small helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.assessment import queries
from services.assessment.application import AssessmentApplication
from services.assessment.service import create_app
from shared.events import ArrestRecorded, DetaineeAdmitted, DetaineeReleased, DetaineeTransferred
from shared.kit.access_facts import access_ops
from shared.kit.clock import Clock
from shared.kit.settings import Settings
from shared.kit.store import CommandContext
from shared.kit.testing import TEST_STREAM_BYTES, Servers, fresh_database
from tests.support import auth, eventually, running

ASSESSOR = "assessor-awa"
SECOND = "assessor-boubacar"


@dataclass
class Service:
    """The assessment service under test: its HTTP client, application, clock and settings."""

    client: Any
    app: AssessmentApplication
    clock: Clock
    settings: Settings
    held: dict[UUID, str] = field(default_factory=dict)
    """Where the helpers hold each person now (the facility of the prison staff who act)."""

    def headers(
        self,
        role: str = "assessor",
        sub: str = ASSESSOR,
        *,
        facility: str | None = None,
        **extra: str,
    ) -> dict[str, str]:
        return {**auth(self.settings, role, sub=sub, facility=facility), **extra}

    def prison(
        self, case_id: UUID, role: str = "prison_director", sub: str = "dir-1"
    ) -> dict[str, str]:
        """Headers of prison staff of the facility that holds the person now."""
        return self.headers(role, sub, facility=self.held[case_id])

    def open_case(self, facility: str | None = None, admitted_at: datetime | None = None) -> UUID:
        """A case as intake's events would open it (arrest, then admission when a facility)."""
        case_id = uuid4()
        now = self.clock.now()
        self.app.open_case(case_id, now - timedelta(days=2), CommandContext.system())
        # The arrest's link needs only the agency that recorded it.
        self.learn(ArrestRecorded.type_name(), case_id, "police-agency", None)
        if facility is not None:
            at = admitted_at or now
            self.app.note_custody(
                case_id, "admitted", facility, at, CommandContext.system(), due_on_admission=True
            )
            admitted = DetaineeAdmitted(facility=facility, admitted_at=at, warrant_ref="MD-TEST")
            self.learn(DetaineeAdmitted.type_name(), case_id, "prison_registry-agency", admitted)
            self.held[case_id] = facility
        return case_id

    def transfer(self, case_id: UUID, to: str) -> None:
        """The person moved to another facility, as intake's transfer would say."""
        now = self.clock.now()
        self.app.note_custody(case_id, "transferred", to, now, CommandContext.system())
        moved = DetaineeTransferred(
            from_facility=self.held[case_id], to_facility=to, transferred_at=now, reason="Security"
        )
        self.learn(DetaineeTransferred.type_name(), case_id, "prison_registry-agency", moved)
        self.held[case_id] = to

    def release(self, case_id: UUID) -> None:
        """The person left custody, as intake's release would say."""
        now = self.clock.now()
        self.app.note_custody(case_id, "released", None, now, CommandContext.system())
        released = DetaineeReleased(released_at=now, release_order_id=uuid4())
        self.learn(DetaineeReleased.type_name(), case_id, "prison_registry-agency", released)
        self.held.pop(case_id, None)

    def learn(self, type_name: str, case_id: UUID, agency: str, data: Any) -> None:
        """Record the access facts intake's event brings over the bus, which the helpers, calling
        the reactions directly, bypass."""
        ops = access_ops(type_name, str(case_id), uuid4(), agency, data)
        self.app.record_inbound_only("access", uuid4(), ops)

    def indicators(self) -> list[str]:
        instrument = queries.instruments(self.app)["items"][0]
        doc = queries.instrument_version(
            self.app, UUID(instrument["instrument_id"]), instrument["latest_version"]
        )
        return [i["id"] for d in doc["domains"] for i in d["indicators"]]

    def start(self, case_id: UUID, sub: str = ASSESSOR, **body: Any) -> str:
        r = self.client.post(
            f"/cases/{case_id}/assessments", json=body, headers=self.headers(sub=sub)
        )
        assert r.status_code == 201, r.text
        return str(r.json()["assessment_id"])

    def rate_all(
        self, case_id: UUID, assessment_id: str, sub: str = ASSESSOR, rating: int = 1
    ) -> None:
        for indicator in self.indicators():
            self.rate(case_id, assessment_id, indicator, rating, sub=sub)

    def rate(
        self, case_id: UUID, assessment_id: str, indicator: str, rating: int, sub: str = ASSESSOR
    ) -> Any:
        return self.client.post(
            f"/cases/{case_id}/assessments/{assessment_id}/ratings",
            json={
                "indicator_id": indicator,
                "rating": rating,
                "evidence_note": "Interview in Bambara.",
            },
            headers=self.headers(sub=sub),
        )

    def submit(
        self,
        case_id: UUID,
        assessment_id: str,
        risk: str = "moderate",
        days: int = 180,
        sub: str = ASSESSOR,
    ) -> Any:
        body = {
            "overall_risk": risk,
            "rationale": "Coerced recruitment; strong family support; no stated intent.",
            "next_review_by": (self.clock.now() + timedelta(days=days)).isoformat(),
        }
        return self.client.post(
            f"/cases/{case_id}/assessments/{assessment_id}/submission",
            json=body,
            headers=self.headers(sub=sub),
        )

    def countersign(
        self, case_id: UUID, assessment_id: str, sub: str = SECOND, role: str = "assessor"
    ) -> Any:
        return self.client.post(
            f"/cases/{case_id}/assessments/{assessment_id}/countersignature",
            json={},
            headers=self.headers(role=role, sub=sub),
        )

    def complete(self, case_id: UUID, risk: str = "moderate", days: int = 180) -> str:
        assessment_id = self.start(case_id)
        self.rate_all(case_id, assessment_id)
        assert self.submit(case_id, assessment_id, risk, days).status_code == 201
        assert self.countersign(case_id, assessment_id).status_code == 201
        return assessment_id

    def case(self, case_id: UUID) -> dict[str, Any]:
        r = self.client.get(f"/cases/{case_id}", headers=self.headers())
        assert r.status_code == 200, r.text
        return dict(r.json())

    def event_count(self) -> int:
        table = self.app.store.events_table_name
        return int(self.app.fetch(f"SELECT count(*) FROM {{schema}}.{table}")[0][0])


@contextmanager
def serving(settings: Settings) -> Iterator[Service]:
    """The assessment service running (relay, reactions), with the default instrument published."""
    clock = Clock()
    with running(create_app(settings, clock=clock)) as client:
        app = client.app.state.parts.application
        eventually(lambda: queries.instruments(app)["items"], timeout=20)
        yield Service(client, app, clock, settings)


@pytest.fixture(scope="module")
def module_settings(servers: Servers) -> Settings:
    """Settings of one module's own database, stream and subject prefix (tests use own cases)."""
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


@pytest.fixture(scope="module")
def service(module_settings: Settings) -> Iterator[Service]:
    """One running service per test module; each test works on cases of its own."""
    with serving(module_settings) as running_service:
        yield running_service


@pytest.fixture
def fresh_service(settings: Settings) -> Iterator[Service]:
    """A running service on a database of its own, for tests about service-wide state."""
    with serving(settings) as running_service:
        yield running_service


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
