"""The services' own views obey the ledger's visibility table (`shared.kit.redaction`)."""

from __future__ import annotations

from typing import Any

import pytest

from services.assessment.queries import ASSESSMENT_VIEW_SOURCES
from services.assessment.queries import CASE_VIEW_SOURCES as ASSESSMENT_CASE
from services.intake.queries import CASE_VIEW_SOURCES as INTAKE_CASE
from services.judicial.queries import CASE_VIEW_SOURCES as JUDICIAL_CASE
from services.programmes.queries import CASE_VIEW_SOURCES as PROGRAMMES_CASE
from services.programmes.queries import REFERRAL_VIEW_SOURCES
from shared.events import EVENT_TYPES
from shared.kit.redaction import Entries, Source, redact_view, undeclared_keys
from shared.permissions import ROLES, may_see

ARREST = "caseline.intake.ArrestRecorded.v1"
ALL_SOURCES = {
    "intake case": INTAKE_CASE,
    "judicial case": JUDICIAL_CASE,
    "assessment case": ASSESSMENT_CASE,
    "assessment": ASSESSMENT_VIEW_SOURCES,
    "programmes case": PROGRAMMES_CASE,
    "referral": REFERRAL_VIEW_SOURCES,
}
INTAKE_VIEW: dict[str, Any] = {
    "case_id": "c",
    "status": "admitted",
    "version": 4,
    "person": {"full_name": "A", "date_of_birth": "2000-01-01", "aliases": ["B"]},
    "arrest": {"grounds": "membership", "location": "Gao", "arresting_unit": "Brigade"},
    "evidence": [{"item_id": "E1", "description": "a phone"}],
    "facility": "Prison",
    "entries": [{"type": "ArrestRecorded"}, {"type": "EvidenceLogged"}],
}


@pytest.mark.parametrize("name", sorted(ALL_SOURCES))
def test_every_source_names_a_catalogue_type(name: str) -> None:
    types = {m.type_name() for m in EVENT_TYPES}

    named = {s.type for s in ALL_SOURCES[name].values() if isinstance(s, Source)}
    parts = {
        t for s in ALL_SOURCES[name].values() if isinstance(s, Source) for t in s.parts.values()
    }

    assert named | parts <= types


def test_a_social_worker_sees_no_arrest_grounds_and_no_evidence() -> None:
    shown = redact_view(INTAKE_VIEW, "social_worker", INTAKE_CASE)

    assert "grounds" not in shown["arrest"]
    assert shown["arrest"]["location"] == "Gao"
    assert "evidence" not in shown
    assert [e["type"] for e in shown["entries"]] == ["ArrestRecorded"]


def test_police_see_the_evidence_chain_and_the_grounds() -> None:
    shown = redact_view(INTAKE_VIEW, "police", INTAKE_CASE)

    assert shown["evidence"] == INTAKE_VIEW["evidence"]
    assert shown["arrest"]["grounds"] == "membership"


def test_a_key_no_source_declares_is_left_out() -> None:
    view = {**INTAKE_VIEW, "secret": "x"}

    shown = redact_view(view, "auditor", INTAKE_CASE)

    assert "secret" not in shown
    assert undeclared_keys(view, INTAKE_CASE) == {"secret"}


def test_the_prison_registry_reads_no_rationale_and_no_ratings() -> None:
    view = {
        "case_id": "c",
        "placement": {"security_level": "high", "rationale": "why", "keep_separate_from": []},
        "assessments": [{"assessment_id": "a", "ratings": {"i1": {"rating": 2}}}],
    }

    shown = redact_view(view, "prison_registry", ASSESSMENT_CASE)

    assert shown["placement"] == {"security_level": "high", "keep_separate_from": []}
    assert "assessments" not in shown


def test_civil_society_reads_no_legal_basis_of_a_referral() -> None:
    view = {"case_id": "c", "referral_id": "r", "reason": "job", "legal_basis": "art. 12"}

    shown = redact_view(view, "civil_society", REFERRAL_VIEW_SOURCES)

    assert shown == {"case_id": "c", "referral_id": "r", "reason": "job"}


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("name", sorted(ALL_SOURCES))
def test_no_role_keeps_a_key_of_a_type_it_may_not_see(name: str, role: str) -> None:
    sources = ALL_SOURCES[name]
    view = {key: {"x": 1} for key, s in sources.items() if not isinstance(s, Entries)}

    shown = redact_view(view, role, sources)

    for key in shown:
        source = sources[key]
        assert not isinstance(source, Source) or may_see(role, source.type), key
