"""Shared fixtures: authorised HTTP headers of the roles most tests act as, and the ledger's two
database roles (the helpers all tests share are in `tests/support`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shared.kit.settings import Settings
from tests.support import auth
from tests.support.database import ledger_role

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


@pytest.fixture(params=["owner", "ledger role"])
def ledger_settings(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    """The database's owner, or the insert-and-read-only role the ledger runs as in production
    (`caseline ledger-role`), which may still move the deliveries' position."""
    if request.param == "owner":
        yield settings
        return
    with ledger_role(settings) as restricted:
        yield restricted
