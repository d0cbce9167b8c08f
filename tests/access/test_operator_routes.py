"""The operators' views of the agencies' deliveries, swept over every role: who reads them (the
roles `OPERATOR_ROUTES` names, and an agency's own people for its webhook), that everyone else
gets a 403, and that every read, allowed or refused, is in the ledger's read audit.

Over real PostgreSQL and NATS, with a registry of two agencies.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.ledger.service import create_app
from shared.kit.settings import Settings
from shared.permissions import ROLES
from tests.access.routes import OPERATOR_ROUTES
from tests.access.sweep import get_routes
from tests.support import auth, running
from tests.support.database import settings_with

PURPOSE = {"Caseline-Purpose": "operator route sweep"}
OWN, OTHER = "police-a", "police-b"


@pytest.fixture(scope="module")
def ledger(servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Any]]:
    from shared.kit.testing import settings_for

    registry = Path(tmp_path_factory.mktemp("agencies")) / "agencies.yaml"
    registry.write_text(
        f"agencies:\n  - id: {OWN}\n    role: police\n  - id: {OTHER}\n    role: police\n"
    )
    settings = settings_with(settings_for(servers), agencies_file=str(registry))
    with running(create_app(settings)) as client:
        made = client.put(f"/agencies/{OWN}/webhook", json={"url": "http://127.0.0.1:9/hook"},
                          headers=auth(settings, "admin"))  # fmt: skip
        assert made.status_code == 201, made.text
        yield settings, client


def test_the_operator_routes_are_the_ledgers_guarded_routes_naming_no_case():
    assert set(OPERATOR_ROUTES["ledger"]) <= set(get_routes("ledger"))


@pytest.mark.parametrize("route", sorted(OPERATOR_ROUTES["ledger"]))
def test_only_the_named_roles_read_an_operator_route_and_every_read_is_audited(ledger, route):
    settings, client = ledger
    path = route.format(agency=OWN)
    answers = {
        role: client.get(
            path, headers={**auth(settings, role, agency=OTHER), **PURPOSE}
        ).status_code
        for role in sorted(ROLES)
    }
    own = client.get(path, headers={**auth(settings, "police", agency=OWN), **PURPOSE}).status_code
    audit = client.get(
        "/audit", params={"limit": 1000}, headers={**auth(settings, "auditor"), **PURPOSE}
    ).json()["entries"]

    readers = OPERATOR_ROUTES["ledger"][route]
    assert {r for r, status in answers.items() if status != 403} == readers
    assert all(answers[r] == 200 for r in readers), answers
    assert own == (200 if "{agency}" in route else 403)
    audited = [e for e in audit if e["route"] == f"GET {route}"]
    assert len(audited) >= len(ROLES) + 1
    assert {e["outcome"] for e in audited} >= {"allowed", "refused:403"}
