"""Shared fixtures: authorised HTTP headers of the roles most tests act as (the helpers all
tests share are in `tests/support`)."""

from __future__ import annotations

import os

import pytest

from shared.kit.settings import Settings
from tests.support import auth

# The CLI speaks the locale's language: the tests read English unless one asks for another.
os.environ["CASELINE_LANG"] = "en"


@pytest.fixture
def police(settings: Settings) -> dict[str, str]:
    return auth(settings, "police")


@pytest.fixture
def registry(settings: Settings) -> dict[str, str]:
    return auth(settings, "prison_registry")


@pytest.fixture
def auditor(settings: Settings) -> dict[str, str]:
    return auth(settings, "auditor")
