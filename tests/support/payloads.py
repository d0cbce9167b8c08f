"""Request bodies the tests send most: an arrest and an admission, with fields to override."""

from __future__ import annotations

from typing import Any

__all__ = ["OUSMANE_ARABIC", "OUSMANE_LATIN", "admission_payload", "arrest_payload"]


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


# One person under two spellings, as registrars write them: Latin with a date of birth, then
# Arabic script with the father's name only (the person registry's and re-arrest's tests).
OUSMANE_LATIN: dict[str, Any] = {
    "full_name": "Ousmane Ag Alhassane",
    "sex": "male",
    "nationality": "ML",
    "date_of_birth": "1991-04-02",
    "father_name": "Mohamed Ag Alhassane",
}
OUSMANE_ARABIC: dict[str, Any] = {
    "full_name": "عثمان أغ الحسن",
    "sex": "male",
    "nationality": "ML",
    "father_name": "محمد أغ الحسن",
}
