"""The ledger's one route in the access matrix, `GET /cases/{case_id}/timeline`, for every role:
every role reads it (the ledger filters by event type), a sealed case only auditors and judges,
and each read is in the ledger's read audit as allowed or refused. The ledger's other routes are
left out while it is being reworked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.ledger.service import create_app
from shared.events import CaseSealed, CustodyStarted
from shared.kit.testing import Servers, eventually, running
from shared.permissions import ROLES
from tests.access.reads import guard_outcome
from tests.access.world import HOUR, World, world_settings

ROUTE = "/cases/{case_id}/timeline"


@pytest.fixture(scope="module")
def ledger(servers: Servers) -> Iterator[World]:
    settings = world_settings(servers)
    with running(create_app(settings)) as client:
        eventually(lambda: client.get("/readyz").status_code == 200, timeout=20)
        yield World(settings, {"ledger": client})


@pytest.fixture(scope="module")
def cases(ledger: World) -> dict[bool, str]:
    """Sealed or not → a case the ledger holds: custody started, and sealed by a judge's order."""
    opened, sealed = str(uuid.uuid4()), str(uuid.uuid4())
    custody = CustodyStarted(
        started_at=datetime.now(UTC) - 2 * HOUR, legal_basis="CPP art. 76", max_hours=48
    )
    for case_id in (opened, sealed):
        ledger.publish(custody, case_id)
    ledger.publish(CaseSealed(reason="Sealed by order of the court", sealed_by="judge-3"), sealed)
    for case_id, count in ((opened, 1), (sealed, 2)):
        ledger.until(lambda c=case_id, n=count: len(_timeline(ledger, c)) == n)
    return {False: opened, True: sealed}


def _timeline(ledger: World, case_id: str) -> list[object]:
    response = ledger.get("ledger", f"/cases/{case_id}/timeline", "auditor", sub="probe")
    return list(response.json().get("entries", [])) if response.status_code == 200 else []


def _read(ledger: World, case_id: str, role: str) -> tuple[int, list[str]]:
    user = f"{role}-{uuid.uuid4().hex[:8]}"
    response = ledger.get("ledger", ROUTE.format(case_id=case_id), role, sub=user)
    entries = ledger.audit("ledger", actor=user)
    assert [(e["route"], e["case_id"]) for e in entries] == [(f"GET {ROUTE}", case_id)]
    return response.status_code, [e["outcome"] for e in entries]


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_role_reads_a_case_timeline_and_the_read_is_audited(ledger, cases, role):
    status, outcomes = _read(ledger, cases[False], role)

    assert (status, outcomes) == (200, [guard_outcome("ledger", ROUTE, role, False)])


SEALED_READERS = sorted(r for r in ROLES if guard_outcome("ledger", ROUTE, r, True) == "allowed")
HIDDEN_FROM = sorted(set(ROLES) - set(SEALED_READERS))


@pytest.mark.parametrize("role", SEALED_READERS)
def test_auditors_and_judges_read_a_sealed_case_timeline(ledger, cases, role):
    status, outcomes = _read(ledger, cases[True], role)

    assert (status, outcomes) == (200, ["allowed"])


@pytest.mark.parametrize("role", HIDDEN_FROM)
def test_a_sealed_case_timeline_does_not_exist_for_other_roles(ledger, cases, role):
    status, outcomes = _read(ledger, cases[True], role)

    assert (status, outcomes) == (404, ["refused:404"])
