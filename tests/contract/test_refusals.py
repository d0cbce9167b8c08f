"""Payload models refuse what the contract does not allow, whatever the entry point."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from shared.events import by_type

from .samples import SAMPLES

ARREST = "caseline.intake.ArrestRecorded.v1"
CUSTODY = "caseline.intake.CustodyStarted.v1"
SENTENCE = "caseline.judicial.SentenceImposed.v1"
REFERRAL = "caseline.programmes.ReferralMade.v1"
INSTRUMENT = "caseline.assessment.InstrumentPublished.v1"
VERDICT = "caseline.judicial.VerdictDelivered.v1"
DETENTION = "caseline.judicial.PreTrialDetentionOrdered.v1"
BREACH = "caseline.judicial.DetentionDeadlineBreached.v1"
PROGRAMME = "caseline.programmes.ProgrammeCreated.v1"


def _with(type_name: str, **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(SAMPLES[type_name]), **changes}


def _refused(type_name: str, payload: dict[str, Any], field: str) -> None:
    cls = by_type(type_name)
    with pytest.raises(ValidationError) as in_python:
        cls.model_validate(payload)
    with pytest.raises(ValidationError) as in_json:
        cls.model_validate_json(json.dumps(payload))
    for caught in (in_python, in_json):
        assert field in {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}


def test_a_naive_datetime_is_refused() -> None:
    _refused(ARREST, _with(ARREST, arrested_at="2025-02-03T05:40:00"), "arrested_at")


def test_a_numeric_time_is_refused() -> None:
    _refused(ARREST, _with(ARREST, arrested_at=1738561200), "arrested_at")


def test_a_numeric_date_is_refused() -> None:
    _refused(SENTENCE, _with(SENTENCE, starts_on=1738561200), "starts_on")


def test_an_unknown_enum_value_is_refused() -> None:
    payload = _with(ARREST)
    payload["person"]["sex"] = "unknown"

    _refused(ARREST, payload, "person.sex")


def test_an_unknown_field_is_refused() -> None:
    _refused(CUSTODY, _with(CUSTODY, officer="Keita"), "officer")


def test_an_unknown_nested_field_is_refused() -> None:
    payload = _with(ARREST)
    payload["person"]["tribe"] = "x"

    _refused(ARREST, payload, "person.tribe")


def test_a_one_megabyte_string_is_refused() -> None:
    _refused(ARREST, _with(ARREST, grounds="x" * 1_000_000), "grounds")


def test_a_blank_name_is_refused() -> None:
    _refused(CUSTODY, _with(CUSTODY, legal_basis="   "), "legal_basis")


def test_a_control_character_is_refused() -> None:
    _refused(CUSTODY, _with(CUSTODY, legal_basis="art.\x00 12"), "legal_basis")


@pytest.mark.parametrize("value", ["true", 1, None])
def test_a_bool_must_be_a_bool(value: object) -> None:
    _refused(ARREST, _with(ARREST, returning_foreign_fighter=value), "returning_foreign_fighter")


@pytest.mark.parametrize("value", ["48", 48.5, True, "48.0"])
def test_an_int_must_be_an_int(value: object) -> None:
    _refused(CUSTODY, _with(CUSTODY, max_hours=value), "max_hours")


def test_an_int_out_of_bounds_is_refused() -> None:
    _refused(CUSTODY, _with(CUSTODY, max_hours=0), "max_hours")


def test_a_missing_field_is_refused() -> None:
    payload = _with(CUSTODY)
    del payload["started_at"]

    _refused(CUSTODY, payload, "started_at")


def test_a_referral_on_legal_basis_must_state_it() -> None:
    _refused(REFERRAL, _with(REFERRAL, consent="legal_basis", legal_basis=None), "")


def test_a_referral_on_legal_basis_with_it_stated_is_accepted() -> None:
    payload = _with(REFERRAL, consent="legal_basis", legal_basis="Child protection code, art. 12")

    assert by_type(REFERRAL).model_validate(payload)


def test_a_scale_must_run_from_low_to_high() -> None:
    payload = _with(INSTRUMENT)
    payload["domains"][0]["indicators"][0]["scale"] = {"min": 3, "max": 3}

    _refused(INSTRUMENT, payload, "domains.0.indicators.0.scale")


def test_a_scale_label_must_lie_on_the_scale() -> None:
    payload = _with(INSTRUMENT)
    payload["domains"][0]["indicators"][0]["scale"] = {
        "min": 0,
        "max": 2,
        "labels": [{"value": 5, "label": "off the scale"}],
    }

    _refused(INSTRUMENT, payload, "domains.0.indicators.0.scale")


def test_indicator_ids_are_unique_across_an_instrument() -> None:
    payload = _with(INSTRUMENT)
    payload["domains"][1]["indicators"][0]["id"] = "I1"

    _refused(INSTRUMENT, payload, "")


def test_an_instrument_version_travels_as_version() -> None:
    event = by_type(INSTRUMENT).model_validate(SAMPLES[INSTRUMENT])

    assert event.model_dump(mode="json")["version"] == 2
    assert "instrument_version" not in event.model_dump(mode="json")


def test_an_acquittal_proves_no_offence() -> None:
    _refused(VERDICT, _with(VERDICT, outcome="acquitted"), "")


def test_a_detention_order_expires_after_it_is_made() -> None:
    _refused(DETENTION, _with(DETENTION, expires_at="2025-02-07T10:00:00Z"), "")


def test_a_breach_is_not_detected_before_the_deadline() -> None:
    _refused(BREACH, _with(BREACH, detected_at="2026-08-07T10:00:00Z"), "")


def test_a_programme_ends_after_it_starts() -> None:
    _refused(PROGRAMME, _with(PROGRAMME, ends_on="2025-03-01"), "")


def test_events_are_immutable() -> None:
    event = by_type(CUSTODY).model_validate(SAMPLES[CUSTODY])

    with pytest.raises(ValidationError):
        event.max_hours = 96  # type: ignore[misc]
