"""Every intake command is refused (403) to the roles that do not do that work, records nothing;
commands honour `If-Match` (412 when stale) and `Idempotency-Key` (a retry records nothing)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.permissions import COMMAND_ROLES, ROLES
from tests.judicial.pathway import HOUR, iso


def bodies(stack) -> dict[str, tuple[str, dict[str, Any]]]:
    now = stack.now()
    return {
        "CustodyStarted": (
            "custody",
            {"started_at": iso(now - HOUR), "legal_basis": "CPP art. 76"},
        ),
        "CustodyExtended": (
            "custody/extensions",
            {
                "extended_until": iso(now + 60 * HOUR),
                "authorised_by": "Procureur",
                "reason": "Inquiry",
            },
        ),
        "EvidenceLogged": (
            "evidence",
            {
                "item_id": "S-1",
                "description": "Phone",
                "collected_by": "Keita",
                "collected_at": iso(now),
            },
        ),
        "DetaineeTransferred": (
            "transfers",
            {
                "from_facility": "A",
                "to_facility": "B",
                "transferred_at": iso(now),
                "reason": "Space",
            },
        ),
        "DetaineeAdmitted": (
            "admission",
            {"facility": "MCA Bamako", "admitted_at": iso(now), "warrant_ref": "MD-1"},
        ),
        "FamilyContactRecorded": (
            "family-contacts",
            {"kind": "visit", "with_whom": "Awa", "relationship": "sister", "at": iso(now)},
        ),
        "DetaineeReleased": (
            "release",
            {"released_at": iso(now), "release_order_id": str(uuid.uuid4())},
        ),
    }


@pytest.mark.parametrize(
    "event",
    [
        "CustodyStarted",
        "CustodyExtended",
        "EvidenceLogged",
        "DetaineeTransferred",
        "DetaineeAdmitted",
        "FamilyContactRecorded",
        "DetaineeReleased",
    ],
)
def test_each_command_is_refused_to_roles_that_do_not_do_that_work(stack, event):
    case_id = stack.open_case()
    path, body = bodies(stack)[event]
    allowed = COMMAND_ROLES[f"caseline.intake.{event}.v1"]
    before = stack.version(stack.intake, case_id)

    statuses = {
        role: stack.post(stack.intake, f"/cases/{case_id}/{path}", role, body).status_code
        for role in sorted(ROLES - allowed)
    }

    assert set(statuses.values()) == {403}, statuses
    assert stack.version(stack.intake, case_id) == before


def test_opening_a_case_is_refused_to_all_but_the_police(stack):
    from tests.support import arrest_payload

    statuses = {
        role: stack.post(stack.intake, "/cases", role, arrest_payload()).status_code
        for role in sorted(ROLES - {"police"})
    }

    assert set(statuses.values()) == {403}, statuses


def test_a_stale_if_match_is_refused_and_records_nothing(stack):
    case_id = stack.open_case()
    version = stack.version(stack.intake, case_id)
    stack.admit(case_id)

    stale = stack.post(
        stack.intake, f"/cases/{case_id}/evidence", "police", bodies(stack)["EvidenceLogged"][1],
        **{"If-Match": f'"{version}"'},
    )  # fmt: skip

    assert stale.status_code == 412, stale.text
    assert stack.version(stack.intake, case_id) == version + 1


def test_the_case_view_carries_its_version_as_etag(stack):
    case_id = stack.open_case()

    response = stack.intake.get(f"/cases/{case_id}", headers=stack.h("auditor"))

    assert response.headers["ETag"] == f'"{response.json()["version"]}"'


def test_a_retried_command_returns_the_first_answer_and_records_nothing(stack):
    case_id = stack.open_case()
    path, body = bodies(stack)["CustodyStarted"]
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}

    first = stack.post(stack.intake, f"/cases/{case_id}/{path}", "police", body, **key)
    again = stack.post(stack.intake, f"/cases/{case_id}/{path}", "police", body, **key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert stack.version(stack.intake, case_id) == first.json()["version"]
