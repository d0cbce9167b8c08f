"""Shared fixtures: sample payloads and authorised HTTP headers."""

from __future__ import annotations

from typing import Any

import pytest

from shared.kit.settings import Settings
from shared.kit.testing import token_for


def arrest_payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "person": {
            "full_name": "Amadou Test Traoré",
            "sex": "male",
            "nationality": "Mali",
            "languages": ["Bambara", "French"],
        },
        "arrested_at": "2026-11-01T06:30:00Z",
        "location": "Sévaré checkpoint, Mopti region",
        "arresting_unit": "Gendarmerie brigade de Sévaré",
        "grounds": "Suspected membership of an armed terrorist group",
        "returning_foreign_fighter": False,
    }
    body.update(overrides)
    return body


def admission_payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "facility": "Maison Centrale d'Arrêt de Bamako",
        "admitted_at": "2026-11-03T10:00:00Z",
        "warrant_ref": "MD-2026-0042",
    }
    body.update(overrides)
    return body


def auth(settings: Settings, role: str, **kw: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(settings, role, **kw)}"}


@pytest.fixture
def police(settings: Settings) -> dict[str, str]:
    return auth(settings, "police")


@pytest.fixture
def registry(settings: Settings) -> dict[str, str]:
    return auth(settings, "prison_registry")


@pytest.fixture
def auditor(settings: Settings) -> dict[str, str]:
    return auth(settings, "auditor")
