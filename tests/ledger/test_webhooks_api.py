"""The webhook routes of a running ledger: an admin registers and rotates, the agency itself may
look and replay, others may not; a secret is shown once; bodies and URLs are checked (RFC 9457)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.ledger.service import create_app
from shared.kit.settings import Settings
from tests.support import auth, running
from tests.support.database import settings_with

BASE = "/agencies/police-a/webhook"


@pytest.fixture
def ledger(settings: Settings, tmp_path: Path) -> Iterator[Any]:
    registry = tmp_path / "agencies.yaml"
    registry.write_text("agencies:\n  - id: police-a\n    role: police\n")
    with running(create_app(settings_with(settings, agencies_file=str(registry)))) as client:
        yield client


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(ledger, settings):
    admin = auth(settings, "admin")

    made = ledger.put(BASE, json={"url": "http://127.0.0.1:9/hook"}, headers=admin)
    moved = ledger.put(BASE, json={"url": "http://127.0.0.1:9/other"}, headers=admin)
    shown = ledger.get(BASE, headers=admin)

    assert made.status_code == 201
    assert made.json()["secret"].startswith("whsec_")
    assert moved.status_code == 200
    assert "secret" not in moved.json()
    assert shown.json()["url"] == "http://127.0.0.1:9/other"
    assert made.json()["secret"] not in shown.text
    assert "whsec_" not in shown.text


def test_only_an_admin_registers_or_rotates(ledger, settings):
    own = auth(settings, "police", agency="police-a")

    put = ledger.put(BASE, json={"url": "http://127.0.0.1:9/hook"}, headers=own)
    rotate = ledger.post(f"{BASE}/secret", json={}, headers=own)

    assert (put.status_code, rotate.status_code) == (403, 403)
    assert put.headers["content-type"] == "application/problem+json"


def test_the_agency_itself_may_look_and_replay_and_another_may_not(ledger, settings):
    ledger.put(BASE, json={"url": "http://127.0.0.1:9/hook"}, headers=auth(settings, "admin"))
    own = auth(settings, "police", agency="police-a")
    other = auth(settings, "police", agency="police-b")

    replay = ledger.post(f"{BASE}/replay", json={"from_ledger_seq": 1}, headers=own)
    look = ledger.get(BASE, headers=own)
    refused = ledger.get(BASE, headers=other)

    assert replay.status_code == 202
    assert replay.json()["queued"] == 0
    assert look.status_code == 200
    assert refused.status_code == 403


def test_a_rotation_gives_a_new_secret_and_the_time_the_old_one_stops(ledger, settings):
    admin = auth(settings, "admin")
    first = ledger.put(BASE, json={"url": "http://127.0.0.1:9/hook"}, headers=admin).json()

    rotated = ledger.post(f"{BASE}/secret", json={}, headers=admin)

    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (first["secret"], None)
    assert rotated.json()["previous_secret_until"] is not None


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://127.0.0.1/hook"},
        {"url": "http://user:pw@127.0.0.1/hook"},
        {"url": "http://127.0.0.1/hook", "extra": 1},
        {"url": 5},
        {},
    ],
)
def test_a_bad_endpoint_is_refused_with_a_problem(ledger, settings, body):
    answer = ledger.put(BASE, json=body, headers=auth(settings, "admin"))

    assert answer.status_code in (400, 422)
    assert answer.headers["content-type"] == "application/problem+json"


def test_an_unknown_agency_is_a_404(ledger, settings):
    answer = ledger.put(
        "/agencies/nobody/webhook",
        json={"url": "http://127.0.0.1:9/h"},
        headers=auth(settings, "admin"),
    )

    assert answer.status_code == 404
