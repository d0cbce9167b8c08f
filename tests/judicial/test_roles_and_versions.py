"""Every judicial command is refused (403) to the roles that do not do that work, records nothing;
commands honour `If-Match` (412 when stale) and `Idempotency-Key` (a retry records nothing)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.permissions import COMMAND_ROLES, ROLES
from tests.judicial.pathway import HOUR, iso


def commands(stack, hearing_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    now = iso(stack.now())
    offence = {"code": "T-1", "description": "Terrorism", "law_ref": "Loi 2008-025"}
    return {
        "ChargesFiled": ("charges", {"offences": [offence], "prosecutor": "P", "filed_at": now}),
        "PreTrialDetentionOrdered": (
            "detention-orders",
            {"ordered_by": "J", "ordered_at": now, "legal_basis": "CPP art. 135"},
        ),
        "PreTrialDetentionRenewed": (
            "detention-orders/renewals",
            {"renewed_by": "J", "renewed_at": now},
        ),
        "HearingScheduled": ("hearings", {"court": "C", "scheduled_for": now, "purpose": "Trial"}),
        "HearingHeld": (
            f"hearings/{hearing_id}/held",
            {"held_at": now, "outcome_summary": "Heard"},
        ),
        "HearingAdjourned": (f"hearings/{hearing_id}/adjourned", {"reason": "Counsel absent"}),
        "VerdictDelivered": (
            "verdict",
            {"outcome": "acquitted", "court": "C", "delivered_at": now},
        ),
        "SentenceImposed": (
            "sentence",
            {"term_days": 10, "starts_on": "2026-01-01", "credit_for_time_served_days": 0},
        ),
        "ReleaseOrdered": ("release-orders", {"kind": "bail", "effective_at": now}),
        "CaseSealed": ("seal", {"reason": "Order of the court"}),
    }


@pytest.mark.parametrize(
    "event",
    [
        "ChargesFiled",
        "PreTrialDetentionOrdered",
        "PreTrialDetentionRenewed",
        "HearingScheduled",
        "HearingHeld",
        "HearingAdjourned",
        "VerdictDelivered",
        "SentenceImposed",
        "ReleaseOrdered",
        "CaseSealed",
    ],
)
def test_each_command_is_refused_to_roles_that_do_not_do_that_work(stack, event):
    case_id = stack.charged_case()
    path, body = commands(stack, str(uuid.uuid4()))[event]
    allowed = COMMAND_ROLES[f"caseline.judicial.{event}.v1"]
    before = stack.version(stack.judicial, case_id)

    statuses = {
        role: stack.post(stack.judicial, f"/cases/{case_id}/{path}", role, body).status_code
        for role in sorted(ROLES - allowed)
    }

    assert set(statuses.values()) == {403}, statuses
    assert stack.version(stack.judicial, case_id) == before


def test_the_deadlines_are_not_shown_to_roles_outside_the_detention_chain(stack):
    statuses = {
        role: stack.judicial.get("/deadlines", headers=stack.h(role)).status_code
        for role in ("civil_society", "religious_counsellor", "assessor", "social_worker")
    }

    assert set(statuses.values()) == {403}, statuses


def test_a_stale_if_match_is_refused_and_records_nothing(stack):
    case_id = stack.charged_case()
    version = stack.version(stack.judicial, case_id)
    stack.order_detention(case_id)

    stale = stack.post(
        stack.judicial, f"/cases/{case_id}/hearings", "judge",
        {"court": "C", "scheduled_for": iso(stack.now() + HOUR), "purpose": "Trial"},
        **{"If-Match": f'"{version}"'},
    )  # fmt: skip

    assert stale.status_code == 412, stale.text
    assert stack.version(stack.judicial, case_id) == version + 1


def test_the_case_view_carries_its_version_as_etag(stack):
    case_id = stack.charged_case()

    response = stack.judicial.get(f"/cases/{case_id}", headers=stack.h("judge"))

    assert response.headers["ETag"] == f'"{response.json()["version"]}"'


def test_a_retried_command_returns_the_first_answer_and_records_nothing(stack):
    case_id = stack.charged_case()
    body = {"court": "C", "scheduled_for": iso(stack.now() + HOUR), "purpose": "Trial"}
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}

    first = stack.post(stack.judicial, f"/cases/{case_id}/hearings", "judge", body, **key)
    again = stack.post(stack.judicial, f"/cases/{case_id}/hearings", "judge", body, **key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(stack.view(stack.judicial, case_id)["hearings"]) == 1
