"""The fast tier: domain and application tests on in-memory persistence, with no server.

`servers` is replaced here by a fixture that fails: a test of this tier that asks, directly or
through `settings`, for PostgreSQL or NATS belongs to the real-server tier instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn

import pytest

from services.assessment.application import AssessmentApplication
from services.intake.application import IntakeApplication
from services.judicial.application import JudicialApplication
from services.programmes.application import ProgrammesApplication
from shared.kit.clock import Clock
from shared.kit.settings import Settings


@pytest.fixture(scope="session")
def servers() -> NoReturn:
    pytest.fail("the fast tier (tests/unit) runs without PostgreSQL or NATS")


@pytest.fixture
def memory_settings() -> Settings:
    """Settings of a test process: no database or bus is configured, none is used."""
    return Settings(environment="test")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def intake(memory_settings: Settings, clock: Clock) -> Iterator[IntakeApplication]:
    app = IntakeApplication(memory_settings, clock, in_memory=True)
    yield app
    app.shutdown()


@pytest.fixture
def judicial(memory_settings: Settings, clock: Clock) -> Iterator[JudicialApplication]:
    app = JudicialApplication(memory_settings, clock, in_memory=True)
    yield app
    app.shutdown()


@pytest.fixture
def assessment(memory_settings: Settings, clock: Clock) -> Iterator[AssessmentApplication]:
    app = AssessmentApplication(memory_settings, clock, in_memory=True)
    yield app
    app.shutdown()


@pytest.fixture
def programmes(memory_settings: Settings, clock: Clock) -> Iterator[ProgrammesApplication]:
    app = ProgrammesApplication(memory_settings, clock, in_memory=True)
    yield app
    app.shutdown()
