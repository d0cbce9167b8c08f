"""A whole case through the public HTTP APIs of intake and judicial, from arrest to release, and
its one timeline in the ledger: every step in order, the release linked to the order it executes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.ledger.service import create_app as ledger_app
from shared.kit.clock import Clock
from tests.judicial.pathway import HOUR, Stack, iso, stack_of
from tests.support import eventually, running

MINUTE = timedelta(minutes=1)


class Walk:
    """Posts each step and waits until the ledger holds it, so the timeline order is the walk's."""

    def __init__(self, stack: Stack, ledger: Any) -> None:
        self.stack, self.ledger, self.case_id = stack, ledger, ""
        self.events: list[str] = []

    def step(self, client: Any, path: str, role: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.stack.post(client, path.format(case=self.case_id), role, body)
        assert response.status_code == 201, response.text
        answer = dict(response.json())
        self.case_id = self.case_id or answer["case_id"]
        new = answer.get("event_ids", [answer["event_id"]])
        self.events += new
        eventually(lambda: set(new) <= {e["event"]["id"] for e in self.timeline()}, timeout=15)
        return answer

    def timeline(self) -> list[dict[str, Any]]:
        response = self.ledger.get(
            f"/cases/{self.case_id}/timeline", headers=self.stack.h("auditor")
        )
        return list(response.json()["entries"]) if response.status_code == 200 else []


def walk_the_case(s: Stack, w: Walk) -> None:
    now, intake, judicial = s.now(), s.intake, s.judicial
    w.step(intake, "/cases", "police", _arrest(now))
    w.step(intake, "/cases/{case}/custody", "police", _custody(now))
    w.step(intake, "/cases/{case}/custody/extensions", "prosecutor", _extension(now))
    w.step(intake, "/cases/{case}/evidence", "police", _evidence(now))
    w.step(intake, "/cases/{case}/evidence", "police", _evidence(now, handed_to="Greffe du pôle"))
    w.step(intake, "/cases/{case}/transfers", "police", _transfer(now))
    s.judicial_learnt(w.case_id, lambda v: v["custody"] is not None)
    w.step(judicial, "/cases/{case}/charges", "prosecutor", _charges(now))
    w.step(judicial, "/cases/{case}/detention-orders", "judge", _order(now))
    w.step(intake, "/cases/{case}/admission", "prison_registry", _admission(now))
    w.step(judicial, "/cases/{case}/detention-orders/renewals", "judge", _renewal(now))
    first = w.step(judicial, "/cases/{case}/hearings", "judge", _hearing(now, 1))
    w.step(
        judicial,
        f"/cases/{{case}}/hearings/{first['hearing_id']}/adjourned",
        "judge",
        _adjourned(now),
    )
    second = w.step(judicial, "/cases/{case}/hearings", "judge", _hearing(now, 2))
    w.step(judicial, f"/cases/{{case}}/hearings/{second['hearing_id']}/held", "judge", _held(now))
    w.step(judicial, "/cases/{case}/verdict", "judge", _verdict(now))
    w.step(judicial, "/cases/{case}/sentence", "judge", _sentence(now))
    order = w.step(judicial, "/cases/{case}/release-orders", "judge", _release_order(now))
    s.intake_knows_order(w.case_id, order["release_order_id"])
    w.step(
        intake, "/cases/{case}/release", "prison_registry", _release(now, order["release_order_id"])
    )


def test_a_whole_case_reaches_the_ledger_in_order_with_its_causation(settings):
    with stack_of(settings, Clock()) as s, running(ledger_app(settings)) as ledger:
        walk = Walk(s, ledger)

        walk_the_case(s, walk)

        timeline = walk.timeline()
        judicial_view = s.judicial_learnt(walk.case_id, lambda v: v["released_at"] is not None)
        verified = ledger.get(f"/cases/{walk.case_id}/verify", headers=s.h("auditor")).json()
    events = [e["event"] for e in timeline]
    assert [e["id"] for e in events] == walk.events
    assert [e["type"].split(".")[2] for e in events] == [
        "ArrestRecorded", "CustodyStarted", "CustodyExtended", "EvidenceLogged", "EvidenceLogged",
        "DetaineeTransferred", "ChargesFiled", "PreTrialDetentionOrdered", "DetaineeAdmitted",
        "PreTrialDetentionRenewed", "HearingScheduled", "HearingAdjourned", "HearingScheduled",
        "HearingHeld", "VerdictDelivered", "SentenceImposed", "ReleaseOrdered", "DetaineeReleased",
    ]  # fmt: skip
    by_type = {e["type"].split(".")[2]: e for e in events}
    assert by_type["DetaineeReleased"]["causationid"] == by_type["ReleaseOrdered"]["id"]
    assert by_type["CustodyStarted"]["data"]["max_hours"] == 48
    assert by_type["SentenceImposed"]["data"]["release_date"] == _expected_release_date(s)
    assert judicial_view["stage"] == "released"
    assert judicial_view["release_orders"][0]["executed"] is True
    assert verified["ok"] is True
    assert verified["events"] == len(walk.events)


def _expected_release_date(s: Stack) -> str:
    starts = (s.now() - timedelta(days=400)).date()
    return (starts + timedelta(days=365 - 120)).isoformat()


def _arrest(now: Any) -> dict[str, Any]:
    from tests.support import arrest_payload

    return arrest_payload(arrested_at=iso(now - 3 * HOUR))


def _custody(now: Any) -> dict[str, Any]:
    return {"started_at": iso(now - 2 * HOUR), "legal_basis": "CPP art. 76 al. 3: terrorism"}


def _extension(now: Any) -> dict[str, Any]:
    return {
        "extended_until": iso(now + 94 * HOUR),
        "authorised_by": "Procureur du pôle judiciaire spécialisé",
        "reason": "Exploitation of seized telephones",
        "authorised_at": iso(now - HOUR),
    }


def _evidence(now: Any, handed_to: str | None = None) -> dict[str, Any]:
    body = {
        "item_id": "SCELLE-2026-117",
        "description": "Mobile telephone, sealed bag",
        "collected_by": "Adjudant Keita",
        "collected_at": iso(now - (90 if handed_to else 110) * MINUTE),
    }
    return {**body, "handed_to": handed_to} if handed_to else body


def _transfer(now: Any) -> dict[str, Any]:
    return {
        "from_facility": "Brigade de gendarmerie de Sévaré",
        "to_facility": "Pôle judiciaire spécialisé, Bamako",
        "transferred_at": iso(now - 80 * MINUTE),
        "reason": "Presentation to the specialised pole",
    }


def _charges(now: Any) -> dict[str, Any]:
    offence = {
        "code": "TERR-1",
        "description": "Membership of a terrorist group",
        "law_ref": "Loi n° 2008-025",
    }
    return {
        "offences": [offence],
        "prosecutor": "Procureur du pôle",
        "filed_at": iso(now - 70 * MINUTE),
    }


def _order(now: Any) -> dict[str, Any]:
    return {
        "ordered_by": "Juge d'instruction",
        "ordered_at": iso(now - 60 * MINUTE),
        "legal_basis": "CPP art. 135",
    }


def _admission(now: Any) -> dict[str, Any]:
    return {
        "facility": "Maison Centrale d'Arrêt de Bamako",
        "admitted_at": iso(now - 55 * MINUTE),
        "warrant_ref": "MD-2026-0042",
    }


def _renewal(now: Any) -> dict[str, Any]:
    return {
        "renewed_by": "Juge d'instruction",
        "renewed_at": iso(now - 50 * MINUTE),
        "reason": "Investigation continues",
    }


def _hearing(now: Any, n: int) -> dict[str, Any]:
    return {
        "court": "Cour d'assises spéciale",
        "scheduled_for": iso(now - (45 - n) * MINUTE),
        "purpose": "Trial",
    }


def _adjourned(now: Any) -> dict[str, Any]:
    return {"reason": "Defence counsel absent", "new_date": iso(now - 40 * MINUTE)}


def _held(now: Any) -> dict[str, Any]:
    return {
        "held_at": iso(now - 35 * MINUTE),
        "outcome_summary": "Evidence heard; deliberation",
        "defence_counsel": "Me Diarra",
    }


def _verdict(now: Any) -> dict[str, Any]:
    return {
        "outcome": "convicted",
        "court": "Cour d'assises spéciale",
        "delivered_at": iso(now - 30 * MINUTE),
        "offences_proven": ["TERR-1"],
    }


def _sentence(now: Any) -> dict[str, Any]:
    starts = (now - timedelta(days=400)).date().isoformat()
    return {"term_days": 365, "starts_on": starts, "credit_for_time_served_days": 120}


def _release_order(now: Any) -> dict[str, Any]:
    return {
        "kind": "sentence_served",
        "effective_at": iso(now - 20 * MINUTE),
        "ordered_by": "Juge de l'application des peines",
    }


def _release(now: Any, order_id: str) -> dict[str, Any]:
    return {
        "released_at": iso(now - 10 * MINUTE),
        "release_order_id": order_id,
        "destination": "Family, Mopti",
    }
