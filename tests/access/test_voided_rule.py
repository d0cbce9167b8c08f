"""The rule for voidings, without servers: `may_see_entry` shows an `EntryVoided` only to roles
that may see the voided entry's type, and a service's `entries` list (`redact_view`) applies it
through the links the list carries — `voided_by` (intake, assessment) or only `voided` (judicial).
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.kit.redaction import Entries, redact_view
from shared.permissions import ROLES, may_see, may_see_entry

VOID = "caseline.intake.EntryVoided.v1"
EVIDENCE = "caseline.intake.EvidenceLogged.v1"
CONTACT = "caseline.intake.FamilyContactRecorded.v1"


def _voiding(voided_type: str | None) -> dict[str, Any]:
    return {"voided_event_id": "e-1", "reason": "why", "voided_event_type": voided_type}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_a_voiding_is_seen_only_by_roles_that_see_it_and_what_it_voided(role: str) -> None:
    seen = may_see_entry(role, VOID, _voiding(EVIDENCE))

    assert seen == (may_see(role, VOID) and may_see(role, EVIDENCE))


@pytest.mark.parametrize("role", ["prison_registry", "social_worker", "assessor"])
def test_the_voiding_of_evidence_is_hidden_from_those_who_may_not_see_evidence(role: str) -> None:
    assert not may_see_entry(role, VOID, _voiding(EVIDENCE))
    assert may_see_entry(role, VOID, _voiding(CONTACT)) == may_see(role, CONTACT)


def test_a_voiding_that_names_no_type_is_seen_only_by_those_who_see_its_whole_service() -> None:
    for data in (_voiding(None), {"voided_event_id": "e-1", "reason": "why"}, None):
        assert not may_see_entry("prison_registry", VOID, data)
        assert may_see_entry("police", VOID, data)
        assert may_see_entry("auditor", VOID, data)


def test_a_voiding_naming_another_services_type_counts_as_naming_none() -> None:
    data = _voiding("caseline.programmes.SessionAttended.v1")

    assert not may_see_entry("social_worker", VOID, data)
    assert may_see_entry("judge", VOID, data)


def test_other_entries_are_judged_by_their_type_alone() -> None:
    assert may_see_entry("prison_registry", CONTACT, None)
    assert not may_see_entry("prison_registry", EVIDENCE, None)


# --- the services' entries lists -------------------------------------------------------------


def _intake_entries() -> list[dict[str, Any]]:
    return [
        {"type": "ArrestRecorded", "event_id": "a", "voided": False, "voided_by": None},
        {"type": "EvidenceLogged", "event_id": "ev", "voided": True, "voided_by": "v-ev"},
        {"type": "FamilyContactRecorded", "event_id": "fc", "voided": True, "voided_by": "v-fc"},
        {"type": "EntryVoided", "event_id": "v-ev", "voided": False, "voided_by": None},
        {"type": "EntryVoided", "event_id": "v-fc", "voided": False, "voided_by": None},
    ]


def _shown(items: list[dict[str, Any]], role: str, service: str) -> list[str]:
    view = redact_view({"entries": items}, role, {"entries": Entries(service)})
    return [e["event_id"] for e in view["entries"]]


@pytest.mark.parametrize("role", ["prison_registry", "social_worker"])
def test_entries_leave_out_the_voiding_of_an_entry_left_out(role: str) -> None:
    assert _shown(_intake_entries(), role, "intake") == ["a", "fc", "v-fc"]


def test_entries_keep_the_voiding_of_evidence_for_the_police() -> None:
    assert _shown(_intake_entries(), "police", "intake") == ["a", "ev", "fc", "v-ev", "v-fc"]


def _judicial_entries(voided: str) -> list[dict[str, Any]]:
    """Judicial's shape: a voided entry says `voided`, not by which voiding."""
    return [
        {"type": "ChargesFiled", "event_id": "c", "voided": voided == "c"},
        {"type": "HearingHeld", "event_id": "h", "voided": voided == "h"},
        {"type": "EntryVoided", "event_id": "v", "voided": False},
    ]


def test_unlinked_voidings_are_left_out_while_any_voided_entry_is_hidden() -> None:
    assert _shown(_judicial_entries("h"), "assessor", "judicial") == ["c"]
    assert _shown(_judicial_entries("c"), "assessor", "judicial") == ["c", "v"]
    assert _shown(_judicial_entries("h"), "judge", "judicial") == ["c", "h", "v"]


def test_a_voiding_no_entry_of_the_list_accounts_for_is_left_out_unless_all_is_seen() -> None:
    items = [{"type": "ArrestRecorded", "event_id": "a", "voided": False, "voided_by": None},
             {"type": "EntryVoided", "event_id": "v", "voided": False, "voided_by": None}]  # fmt: skip

    assert _shown(items, "prison_registry", "intake") == ["a"]
    assert _shown(items, "police", "intake") == ["a", "v"]
