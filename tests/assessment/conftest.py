"""Fixtures of the assessment tests: a running service with its clock, and small helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.assessment.application import AssessmentApplication
from services.assessment.service import create_app
from shared.kit.clock import Clock
from shared.kit.settings import Settings
from shared.kit.store import CommandContext
from shared.kit.testing import Servers, eventually, fresh_database, running
from tests.conftest import auth

ASSESSOR = "assessor-awa"
SECOND = "assessor-boubacar"


@dataclass
class Service:
    """The assessment service under test: its HTTP client, application, clock and settings."""

    client: Any
    app: AssessmentApplication
    clock: Clock
    settings: Settings

    def headers(self, role: str = "assessor", sub: str = ASSESSOR, **extra: str) -> dict[str, str]:
        return {**auth(self.settings, role, sub=sub), **extra}

    def open_case(self, facility: str | None = None, admitted_at: datetime | None = None) -> UUID:
        """A case as intake's events would open it (arrest, then admission when a facility)."""
        case_id = uuid4()
        now = self.clock.now()
        self.app.open_case(case_id, now - timedelta(days=2), CommandContext.system())
        if facility is not None:
            self.app.note_custody(
                case_id,
                "admitted",
                facility,
                admitted_at or now,
                CommandContext.system(),
                due_on_admission=True,
            )
        return case_id

    def indicators(self) -> list[str]:
        instrument = self.app.instruments()["items"][0]
        doc = self.app.instrument_version(
            UUID(instrument["instrument_id"]), instrument["latest_version"]
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
        eventually(lambda: app.instruments()["items"], timeout=20)
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
