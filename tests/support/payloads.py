"""Request bodies the tests send most: an arrest and an admission, with fields to override."""

from __future__ import annotations

from typing import Any

__all__ = ["admission_payload", "arrest_payload"]


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
