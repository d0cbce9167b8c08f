"""The ledger on its own, fed from the bus: `GET /cases/{case_id}/timeline` for every role, of
a case linked to the reader's agency, facility and organisation by the events the ledger holds:
every role reads it (the ledger filters by event type), a sealed case only auditors and judges,
and each read is in the ledger's read audit as allowed or refused. (`test_hostile_matrix` reads
every ledger route, with the other services running.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.ledger.service import create_app
from shared.events import (
    CaseSealed,
    CatalogueEvent,
    CustodyStarted,
    DetaineeAdmitted,
    ReferralAccepted,
    ReferralMade,
)
from shared.kit.testing import Servers
from shared.permissions import ROLES
from tests.access.reads import READ_AGENCY, guard_outcome
from tests.access.world import HOUR, World, world_settings
from tests.support import TEST_FACILITY, eventually, running

ROUTE = "/cases/{case_id}/timeline"


@pytest.fixture(scope="module")
def ledger(servers: Servers) -> Iterator[World]:
    settings = world_settings(servers)
    with running(create_app(settings)) as client:
        eventually(lambda: client.get("/readyz").status_code == 200, timeout=20)
        yield World(settings, {"ledger": client})


def _linking() -> list[tuple[CatalogueEvent, str]]:
    """Events that link a case to the readers: custody by their agency's police, admission at
    their facility, a referral to their organisation that it accepted (event, recording agency)."""
    now, referral_id = datetime.now(UTC), uuid.uuid4()
    return [
        (
            CustodyStarted(started_at=now - 2 * HOUR, legal_basis="CPP art. 76", max_hours=48),
            READ_AGENCY,
        ),
        (
            DetaineeAdmitted(facility=TEST_FACILITY, admitted_at=now - HOUR, warrant_ref="MD-7"),
            "prison",
        ),
        (
            ReferralMade(
                referral_id=referral_id, to_agency=READ_AGENCY, reason="Mentoring", consent="given"
            ),
            "ministry",
        ),
        (ReferralAccepted(referral_id=referral_id, by_agency=READ_AGENCY), READ_AGENCY),
    ]


@pytest.fixture(scope="module")
def cases(ledger: World) -> dict[bool, str]:
    """Sealed or not → a case the ledger holds, linked to the readers, and sealed by a judge's
    order."""
    opened, sealed = str(uuid.uuid4()), str(uuid.uuid4())
    linking = _linking()
    for case_id in (opened, sealed):
        for event, agency in linking:
            ledger.publish(event, case_id, agency=agency)
    ledger.publish(CaseSealed(reason="Sealed by order of the court", sealed_by="judge-3"), sealed)
    for case_id, count in ((opened, len(linking)), (sealed, len(linking) + 1)):
        ledger.until(lambda c=case_id, n=count: len(_timeline(ledger, c)) == n)
    return {False: opened, True: sealed}


def _timeline(ledger: World, case_id: str) -> list[object]:
    response = ledger.get("ledger", f"/cases/{case_id}/timeline", "auditor", sub="probe")
    return list(response.json().get("entries", [])) if response.status_code == 200 else []


def _read(ledger: World, case_id: str, role: str) -> tuple[int, list[str]]:
    user = f"{role}-{uuid.uuid4().hex[:8]}"
    path = ROUTE.format(case_id=case_id)
    response = ledger.get("ledger", path, role, sub=user, agency=READ_AGENCY)
    entries = ledger.audit("ledger", actor=user)
    assert [(e["route"], e["case_id"]) for e in entries] == [(f"GET {ROUTE}", case_id)]
    return response.status_code, [e["outcome"] for e in entries]


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_role_reads_a_case_timeline_and_the_read_is_audited(ledger, cases, role):
    status, outcomes = _read(ledger, cases[False], role)

    assert (status, outcomes) == (200, [guard_outcome("ledger", ROUTE, role, "own")])


SEALED_READERS = sorted(
    r for r in ROLES if guard_outcome("ledger", ROUTE, r, "sealed") == "allowed"
)
HIDDEN_FROM = sorted(set(ROLES) - set(SEALED_READERS))


@pytest.mark.parametrize("role", SEALED_READERS)
def test_auditors_and_judges_read_a_sealed_case_timeline(ledger, cases, role):
    status, outcomes = _read(ledger, cases[True], role)

    assert (status, outcomes) == (200, ["allowed"])


@pytest.mark.parametrize("role", HIDDEN_FROM)
def test_a_sealed_case_timeline_does_not_exist_for_other_roles(ledger, cases, role):
    status, outcomes = _read(ledger, cases[True], role)

    assert (status, outcomes) == (404, ["refused:404"])
