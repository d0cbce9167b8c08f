"""A voiding is seen only by those who may see what it voided: an `EntryVoided` names the voided
entry's type and id and says why, so a role that may not see evidence must not see the voiding of
evidence either — not in the ledger's timeline, its feed, the agencies' deliveries, nor in the
entries of intake's case view — while the voiding of an entry it may see stays visible, with its
reason. Real intake and ledger on PostgreSQL and NATS, with a registry of agencies.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from shared.kit.testing import Servers
from tests.access.world import HOUR, World, ago, world_settings
from tests.support import TEST_FACILITY, admission_payload, eventually, running
from tests.support.bus import stored_deliveries

pytestmark = pytest.mark.timeout(240)

BRIGADE = "brigade-x"
AGENCIES = {BRIGADE: "police", "prison-x": "prison_registry", "social-x": "social_worker",
            "inspection-x": "auditor"}  # fmt: skip
HIDDEN_REASON = "mk-void: phone of informant Y logged on the wrong case"
SHOWN_REASON = "mk-void: visit recorded on the wrong day"
BLIND = ("prison_registry", "social_worker")
"""Roles that may read intake's case and the ledger's timeline but not evidence."""
VOID = "caseline.intake.EntryVoided.v1"


@dataclass(frozen=True)
class Case:
    """The case: its evidence and the voiding of it, a family contact and the voiding of it."""

    case_id: str
    evidence: str
    evidence_void: str
    contact: str
    contact_void: str


def _registry(path: Path) -> str:
    lines = ["agencies:"]
    for agency, role in AGENCIES.items():
        lines.append(f"  - id: {agency}\n    role: {role}")
        if role == "prison_registry":
            lines.append(f'    facility: "{TEST_FACILITY}"')
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def world(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    registry = _registry(tmp_path_factory.mktemp("registry") / "agencies.yaml")
    settings = world_settings(servers).model_copy(update={"agencies_file": registry})
    with running(intake_app(settings)) as intake, running(ledger_app(settings)) as ledger:
        for client in (intake, ledger):
            eventually(lambda c=client: c.get("/readyz").status_code == 200, timeout=20)
        yield World(settings, {"intake": intake, "ledger": ledger})


@pytest.fixture(scope="module")
def case(world: World) -> Case:
    police = {"agency": BRIGADE}
    case_id = world.intake_case(agency=BRIGADE)
    evidence = {"item_id": "S-1", "description": "mk-evidence-desc", "collected_by": "K",
                "collected_at": ago(2 * HOUR)}  # fmt: skip
    evidence_id = world.recorded("intake", f"/cases/{case_id}/evidence", evidence, "police",
                                 **police)["event_id"]  # fmt: skip
    admission = admission_payload(admitted_at=ago(HOUR))
    world.recorded("intake", f"/cases/{case_id}/admission", admission, "prison_registry")
    contact = {"kind": "visit", "with_whom": "Awa Traoré", "relationship": "sister", "at": ago()}
    contact_id = world.recorded("intake", f"/cases/{case_id}/family-contacts", contact,
                                "prison_registry")["event_id"]  # fmt: skip
    evidence_void = world.recorded("intake", f"/entries/{evidence_id}/void",
                                   {"reason": HIDDEN_REASON}, "police", **police)  # fmt: skip
    contact_void = world.recorded("intake", f"/entries/{contact_id}/void",
                                  {"reason": SHOWN_REASON}, "prison_registry")  # fmt: skip
    world.until(lambda: len(_timeline(world, case_id, "auditor")) == 6)
    return Case(case_id, evidence_id, evidence_void["event_id"], contact_id,
                contact_void["event_id"])  # fmt: skip


def _timeline(world: World, case_id: str, role: str, **who: Any) -> list[dict[str, Any]]:
    response = world.get("ledger", f"/cases/{case_id}/timeline", role, **who)
    assert response.status_code == 200, response.text
    return list(response.json()["entries"])


def _feed(world: World, case_id: str, role: str, **who: Any) -> list[dict[str, Any]]:
    out, after = [], 0
    while True:
        response = world.clients["ledger"].get(
            "/events", params={"after": after, "limit": 1000}, headers=world.headers(role, **who)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        out += [e for e in body["entries"] if e["event"]["subject"] == case_id]
        if body["next_after"] == after:
            return out
        after = body["next_after"]


def _view_entries(world: World, case_id: str, role: str, **who: Any) -> list[dict[str, Any]]:
    response = world.get("intake", f"/cases/{case_id}", role, **who)
    assert response.status_code == 200, response.text
    return list(response.json()["entries"])


def _ids(entries: list[dict[str, Any]]) -> set[str]:
    return {str(e["event"]["id"]) for e in entries}


def _reason(entries: list[dict[str, Any]], event_id: str) -> str:
    (entry,) = [e for e in entries if e["event"]["id"] == event_id]
    assert entry["event"]["type"] == VOID
    return str(entry["event"]["data"]["reason"])


# --- the ledger's timeline and feed ----------------------------------------------------------


@pytest.mark.parametrize("role", BLIND)
def test_timeline_hides_the_voiding_of_evidence_from_those_who_may_not_see_evidence(
    world: World, case: Case, role: str
) -> None:
    response = world.get("ledger", f"/cases/{case.case_id}/timeline", role)

    assert response.status_code == 200, response.text
    assert case.evidence_void not in _ids(response.json()["entries"])
    for secret in (HIDDEN_REASON, case.evidence, "EvidenceLogged"):
        assert secret not in response.text


@pytest.mark.parametrize("role", BLIND)
def test_timeline_asked_for_voidings_alone_still_hides_the_voiding_of_evidence(
    world: World, case: Case, role: str
) -> None:
    response = world.clients["ledger"].get(
        f"/cases/{case.case_id}/timeline", params={"types": VOID}, headers=world.headers(role)
    )

    assert response.status_code == 200, response.text
    assert _ids(response.json()["entries"]) == {case.contact_void}


@pytest.mark.parametrize("role", BLIND)
def test_feed_hides_the_voiding_of_evidence_from_those_who_may_not_see_evidence(
    world: World, case: Case, role: str
) -> None:
    entries = _feed(world, case.case_id, role)

    assert case.evidence_void not in _ids(entries)
    assert HIDDEN_REASON not in json.dumps(entries)
    assert case.evidence not in json.dumps(entries)


def test_police_see_the_voiding_of_evidence_with_its_reason(world: World, case: Case) -> None:
    timeline = _timeline(world, case.case_id, "police", agency=BRIGADE)
    feed = _feed(world, case.case_id, "police", agency=BRIGADE)

    assert _reason(timeline, case.evidence_void) == HIDDEN_REASON
    assert _reason(feed, case.evidence_void) == HIDDEN_REASON
    assert case.evidence in _ids(timeline)


@pytest.mark.parametrize("role", BLIND)
def test_the_voiding_of_a_visible_entry_is_seen_with_its_reason(
    world: World, case: Case, role: str
) -> None:
    timeline = _timeline(world, case.case_id, role)
    feed = _feed(world, case.case_id, role)

    assert _reason(timeline, case.contact_void) == SHOWN_REASON
    assert _reason(feed, case.contact_void) == SHOWN_REASON
    assert case.contact in _ids(timeline)


# --- intake's case view ----------------------------------------------------------------------


@pytest.mark.parametrize("role", BLIND)
def test_case_view_entries_hide_the_voiding_of_evidence(
    world: World, case: Case, role: str
) -> None:
    entries = _view_entries(world, case.case_id, role)

    shown = {e["event_id"] for e in entries}
    assert case.evidence_void not in shown
    assert case.evidence not in json.dumps(entries)
    assert {case.contact, case.contact_void} <= shown


def test_case_view_entries_show_the_police_the_voiding_of_evidence(
    world: World, case: Case
) -> None:
    entries = _view_entries(world, case.case_id, "police", agency=BRIGADE)

    by_id = {e["event_id"]: e for e in entries}
    assert by_id[case.evidence]["voided_by"] == case.evidence_void
    assert by_id[case.evidence_void]["type"] == "EntryVoided"


# --- the agencies' deliveries ----------------------------------------------------------------


def _delivered(world: World, case: Case) -> dict[str, list[tuple[str, bytes]]]:
    """Each agency's deliveries of the case, once the auditor's has every entry of it (a reason
    is a personal field: deliveries carry it as a placeholder, so the entries' ids are compared)."""

    def stored() -> dict[str, list[tuple[str, bytes]]] | None:
        by_agency: dict[str, list[tuple[str, bytes]]] = {a: [] for a in AGENCIES}
        for subject, _, body in asyncio.run(stored_deliveries(world.settings)):
            agency = subject.split(".")[1]
            if subject.endswith(case.case_id) and agency in by_agency:
                by_agency[agency].append((subject, body))
        return by_agency if len(by_agency["inspection-x"]) == 6 else None

    return dict(eventually(stored, timeout=60))


def test_agencies_receive_the_voiding_of_evidence_only_where_they_may_see_evidence(
    world: World, case: Case
) -> None:
    delivered = _delivered(world, case)

    for agency in ("prison-x", "social-x"):
        bodies = b"\n".join(body for _, body in delivered[agency])
        assert case.evidence_void.encode() not in bodies, agency
        assert HIDDEN_REASON.encode() not in bodies, agency
        assert case.evidence.encode() not in bodies, agency
        assert case.contact_void.encode() in bodies, agency
    police = b"\n".join(body for _, body in delivered[BRIGADE])
    assert case.evidence_void.encode() in police
