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


# The modules whose tests take longest (`pytest --durations`), longest first. Run first, they
# overlap the many short tests the other workers take meanwhile; run last, as their place in the
# alphabet would have it, the suite ends with one worker busy and the others idle.
LONG_FIRST = (
    "tests/security/test_fuzz.py",
    "tests/e2e/test_up.py",
    "tests/unit/test_judicial_case.py",
    "tests/agencies/test_agency_consumer_example.py",
    "tests/faults/test_nats_outage.py",
    "tests/deploy/test_local_stack.py",
    "tests/deploy/test_nats_cluster.py",
    "tests/unit/test_programmes_casefile.py",
    "tests/deploy/test_agency_deliveries.py",
    "tests/unit/test_intake_case.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long modules first, each kept whole (its module fixtures set up once), then the
    rest in collection order."""
    gone = [path for path in LONG_FIRST if not (config.rootpath / path).is_file()]
    if gone:
        raise pytest.UsageError(f"tests/conftest.py LONG_FIRST names modules that are gone: {gone}")
    rank = {path: at for at, path in enumerate(LONG_FIRST)}

    def place(item: pytest.Item) -> int:
        return rank.get(item.nodeid.split("::", 1)[0], len(LONG_FIRST))

    items.sort(key=place)  # stable: each module's tests keep their order
