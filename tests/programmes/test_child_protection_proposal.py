"""When intake finds the person a minor at the arrest, programmes' view of the case proposes a
referral to child protection; the proposal records nothing (a referral still needs consent or a
stated legal basis)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.service import create_app as intake_app
from services.programmes.service import create_app as programmes_app
from shared.kit.testing import Servers, settings_for
from tests.support import arrest_payload, auth, eventually, running


@pytest.fixture(scope="module")
def services(servers: Servers) -> Iterator[tuple[Any, Any, Any]]:
    settings = settings_for(servers)
    with running(intake_app(settings)) as intake, running(programmes_app(settings)) as programmes:
        yield settings, intake, programmes


def _arrested(services: tuple[Any, Any, Any], **person: Any) -> dict[str, Any]:
    """Programmes' view of a case opened by intake for this person, once it has learnt it."""
    settings, intake, programmes = services
    at = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    body = arrest_payload(
        person={"full_name": "Issa Test Cissé", "sex": "male", "nationality": "ML", **person},
        arrested_at=at,
    )
    created = intake.post("/cases", json=body, headers=auth(settings, "police"))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    reader = auth(settings, "social_worker")

    def learnt() -> Any:
        r = programmes.get(f"/cases/{case_id}", headers=reader)
        return r.json() if r.status_code == 200 and r.json().get("full_name") else None

    return dict(eventually(learnt, timeout=15))


def test_a_minors_case_shows_a_proposed_child_protection_referral(services):
    view = _arrested(services, minor=True)

    [proposal] = view["proposed_referrals"]

    assert proposal["kind"] == "child_protection"
    assert "consent" in proposal["requires"]
    assert view["referrals"] == []


def test_an_adults_case_proposes_no_referral(services):
    view = _arrested(services, date_of_birth="1990-05-01")

    assert view["proposed_referrals"] == []
