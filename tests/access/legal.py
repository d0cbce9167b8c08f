"""The states intake's and judicial's commands need, built through their APIs (and, for a release
order intake must know of, judicial's event on the bus): one preparer per command route.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import ErasureOrdered, ReleaseOrdered
from tests.access.world import HOUR, Attempt, Entry, World, ago
from tests.support import TEST_FACILITY, admission_payload, arrest_payload

__all__ = ["INTAKE", "INTAKE_VOIDS", "JUDICIAL", "JUDICIAL_VOIDS"]

Prepare = Callable[[World, str], Attempt]
Target = Callable[[World], Entry]
"""Records an entry a role may void."""

DAY = timedelta(days=1)


# --- intake ------------------------------------------------------------------------------


def _intake_version(world: World, case_id: str) -> Callable[[], int]:
    return world.version_of("intake", f"/cases/{case_id}")


def _custody_body() -> dict[str, Any]:
    return {"started_at": ago(2 * HOUR), "legal_basis": "CPP art. 76 al. 3: terrorism"}


def _custody(world: World, case_id: str) -> None:
    world.recorded("intake", f"/cases/{case_id}/custody", _custody_body(), "police")


def _extension(world: World, case_id: str) -> dict[str, Any]:
    until = world.view("intake", f"/cases/{case_id}")["custody"]["until"]
    extended = datetime.fromisoformat(until) + HOUR
    return {
        "extended_until": extended.isoformat(),
        "authorised_by": "Procureur",
        "reason": "Inquiry",
    }


def _evidence() -> dict[str, Any]:
    return {
        "item_id": f"S-{uuid.uuid4().hex[:6]}",
        "description": "Mobile phone, sealed",
        "collected_by": "Adjudant Keita",
        "collected_at": ago(),
    }


_TRANSFER = {
    "from_facility": TEST_FACILITY,
    "to_facility": "MCA Mopti",
    "reason": "Space",
}
_FAMILY = {"kind": "visit", "with_whom": "Awa Traoré", "relationship": "sister"}
_ERASURE = "Order of the investigating judge to erase the file"


def _held(world: World) -> str:
    """A case whose person the test facility holds: its prison staff may act on it."""
    case_id = world.intake_case()
    body = admission_payload(admitted_at=ago(2 * HOUR))
    world.recorded("intake", f"/cases/{case_id}/admission", body, "prison_registry")
    return case_id


def _intake_attempt(world: World, path: str, body: dict[str, Any], case_id: str) -> Attempt:
    return Attempt("intake", f"/cases/{case_id}/{path}", body, _intake_version(world, case_id))


def _arrest(world: World, role: str) -> Attempt:
    body = arrest_payload(arrested_at=ago(3 * HOUR))
    return Attempt("intake", "/cases", body, world.total_of("intake", "/cases"))


def _start_custody(world: World, role: str) -> Attempt:
    return _intake_attempt(world, "custody", _custody_body(), world.intake_case())


def _extend_custody(world: World, role: str) -> Attempt:
    case_id = world.intake_case()
    _custody(world, case_id)
    return _intake_attempt(world, "custody/extensions", _extension(world, case_id), case_id)


def _log_evidence(world: World, role: str) -> Attempt:
    return _intake_attempt(world, "evidence", _evidence(), world.intake_case())


def _transfer(world: World, role: str) -> Attempt:
    body = {**_TRANSFER, "transferred_at": ago()}
    return _intake_attempt(world, "transfers", body, _held(world))


def _admit(world: World, role: str) -> Attempt:
    body = admission_payload(admitted_at=ago())
    return _intake_attempt(world, "admission", body, world.intake_case())


def _family_contact(world: World, role: str) -> Attempt:
    return _intake_attempt(world, "family-contacts", {**_FAMILY, "at": ago()}, _held(world))


def _release_order(world: World, case_id: str) -> str:
    """A release order judicial made for the case (on the bus), once intake knows it."""
    order_id = uuid.uuid4()
    order = ReleaseOrdered(
        release_order_id=order_id, kind="bail", effective_at=datetime.now(UTC) - 2 * HOUR
    )
    world.publish(order, case_id)
    world.until(
        lambda: any(
            o["release_order_id"] == str(order_id)
            for o in world.view("intake", f"/cases/{case_id}")["release_orders"]
        )
    )
    return str(order_id)


def _release(world: World, role: str) -> Attempt:
    case_id = _held(world)
    body = {"released_at": ago(), "release_order_id": _release_order(world, case_id)}
    return _intake_attempt(world, "release", body, case_id)


def _ordered_erasure(world: World) -> tuple[str, str]:
    """A released person's case with an erasure order judicial made (on the bus), once intake
    knows it: (case_id, erasure_order_id)."""
    case_id = _held(world)
    body = {"released_at": ago(), "release_order_id": _release_order(world, case_id)}
    world.recorded("intake", f"/cases/{case_id}/release", body, "prison_registry")
    order_id = uuid.uuid4()
    order = ErasureOrdered(
        erasure_order_id=order_id,
        order_reference="TGI Bamako n° 2031/17",
        legal_basis="Loi 2013-015 art. 12",
        ordered_by="Juge d'instruction",
    )
    world.publish(order, case_id)
    world.until(
        lambda: any(
            o["erasure_order_id"] == str(order_id)
            for o in world.view("intake", f"/cases/{case_id}")["erasure_orders"]
        )
    )
    return case_id, str(order_id)


def _requested_erasure(world: World) -> tuple[str, str]:
    """An erasure requested by one admin, for a second (`admin-1`, the matrix's) to confirm."""
    case_id, order_id = _ordered_erasure(world)
    body = {"erasure_order_id": order_id, "reason": _ERASURE}
    world.recorded("intake", f"/cases/{case_id}/erasure-requests", body, "admin", sub="requester")
    return case_id, order_id


def _request_erasure(world: World, role: str) -> Attempt:
    case_id, order_id = _ordered_erasure(world)
    body = {"erasure_order_id": order_id, "reason": _ERASURE}
    return _intake_attempt(world, "erasure-requests", body, case_id)


def _erase(world: World, role: str) -> Attempt:
    case_id, order_id = _requested_erasure(world)
    return _intake_attempt(world, "erasure", {"erasure_order_id": order_id}, case_id)


def _erasure(world: World) -> Entry:
    case_id, order_id = _requested_erasure(world)
    path = f"/cases/{case_id}/erasure"
    answer = world.recorded("intake", path, {"erasure_order_id": order_id}, "admin")
    return Entry(str(answer["event_id"]), _intake_version(world, case_id))


def _person_of(world: World, case_id: str) -> str:
    return str(world.view("intake", f"/cases/{case_id}")["person_id"])


def _propose_link(world: World, role: str) -> Attempt:
    # Both cases held at the test facility: its registry sees the person it links to.
    case_id, other = _held(world), _held(world)
    body = {"kind": "link", "person_id": _person_of(world, other), "reason": "Same father"}
    return _intake_attempt(world, "person-links", body, case_id)


def _proposed_link(world: World, role: str) -> tuple[str, str]:
    """A link proposed by another person of a kind `role` may answer: (case_id, link_id)."""
    case_id, other = _held(world), _held(world)
    proposer = role if role in ("police", "prison_registry") else "prison_registry"
    body = {"kind": "link", "person_id": _person_of(world, other), "reason": "Same father"}
    path = f"/cases/{case_id}/person-links"
    answer = world.recorded("intake", path, body, proposer, sub="proposer")
    return case_id, str(answer["link_id"])


def _confirm_link(world: World, role: str) -> Attempt:
    case_id, link_id = _proposed_link(world, role)
    return _intake_attempt(world, f"person-links/{link_id}/confirmation", {}, case_id)


def _reject_link(world: World, role: str) -> Attempt:
    case_id, link_id = _proposed_link(world, role)
    body = {"reason": "Another mother"}
    return _intake_attempt(world, f"person-links/{link_id}/rejection", body, case_id)


INTAKE: dict[str, Prepare] = {
    "/cases": _arrest,
    "/cases/{case_id}/custody": _start_custody,
    "/cases/{case_id}/custody/extensions": _extend_custody,
    "/cases/{case_id}/evidence": _log_evidence,
    "/cases/{case_id}/transfers": _transfer,
    "/cases/{case_id}/admission": _admit,
    "/cases/{case_id}/family-contacts": _family_contact,
    "/cases/{case_id}/release": _release,
    "/cases/{case_id}/erasure-requests": _request_erasure,
    "/cases/{case_id}/erasure": _erase,
    "/cases/{case_id}/person-links": _propose_link,
    "/cases/{case_id}/person-links/{link_id}/confirmation": _confirm_link,
    "/cases/{case_id}/person-links/{link_id}/rejection": _reject_link,
}


def _intake_entry(path: str, role: str, body: Callable[[World, str], dict[str, Any]]) -> Target:
    def record(world: World) -> Entry:
        # A custody runs only before an admission; other entries are on a held person's case,
        # whom the test facility's staff may see (and so be refused as for their role).
        free = path.startswith("custody") or path == "admission"
        case_id = world.intake_case() if free else _held(world)
        if path == "custody/extensions":
            _custody(world, case_id)
        answer = world.recorded("intake", f"/cases/{case_id}/{path}", body(world, case_id), role)
        return Entry(str(answer["event_id"]), _intake_version(world, case_id))

    return record


def _admission_of_a_prison(world: World) -> Entry:
    """An admission a prison's registry recorded, for its director to void (who supervises it)."""
    prison, case_id = f"prison {uuid.uuid4().hex[:8]}", world.intake_case()
    body = admission_payload(admitted_at=ago())
    path = f"/cases/{case_id}/admission"
    answer = world.recorded("intake", path, body, "prison_registry", agency=prison)
    return Entry(str(answer["event_id"]), _intake_version(world, case_id), prison)


INTAKE_VOIDS: dict[str, tuple[str, Target]] = {
    "police": ("EvidenceLogged", _intake_entry("evidence", "police", lambda w, c: _evidence())),
    "prosecutor": (
        "CustodyExtended",
        _intake_entry("custody/extensions", "prosecutor", _extension),
    ),
    "prison_registry": (
        "DetaineeAdmitted",
        _intake_entry(
            "admission", "prison_registry", lambda w, c: admission_payload(admitted_at=ago())
        ),
    ),
    "social_worker": (
        "FamilyContactRecorded",
        _intake_entry("family-contacts", "social_worker", lambda w, c: {**_FAMILY, "at": ago()}),
    ),
    "admin": ("PersonalDataErased", _erasure),
    "prison_director": ("DetaineeAdmitted", _admission_of_a_prison),
}
"""Voiding role → the entry type it voids in the matrix, and how to record one."""


# --- judicial ----------------------------------------------------------------------------

_OFFENCE = {
    "code": "TERR-1",
    "description": "Membership of a terrorist group",
    "law_ref": "Loi n° 2008-025 art. 3",
}


def _detention_order() -> dict[str, Any]:
    return {
        "ordered_by": "Juge d'instruction",
        "ordered_at": ago(HOUR / 2),
        "legal_basis": "CPP art. 135",
    }


def _charges(world: World, case_id: str) -> dict[str, Any]:
    body = {"offences": [_OFFENCE], "prosecutor": "Procureur du pôle", "filed_at": ago(HOUR)}
    return world.recorded("judicial", f"/cases/{case_id}/charges", body, "prosecutor")


def _order(world: World, case_id: str) -> None:
    world.recorded("judicial", f"/cases/{case_id}/detention-orders", _detention_order(), "judge")


def _hearing(world: World, case_id: str) -> dict[str, Any]:
    body = {
        "court": "Pôle judiciaire spécialisé, Bamako",
        "scheduled_for": (datetime.now(UTC) + DAY).isoformat(),
        "purpose": "Review of detention",
    }
    return world.recorded("judicial", f"/cases/{case_id}/hearings", body, "judge")


def _verdict() -> dict[str, Any]:
    return {
        "outcome": "convicted",
        "court": "Cour d'assises spéciale, Bamako",
        "delivered_at": ago(HOUR / 6),
        "offences_proven": ["TERR-1"],
    }


def _judicial(world: World, case_id: str, path: str, body: dict[str, Any]) -> Attempt:
    probe = world.version_of("judicial", f"/cases/{case_id}")
    return Attempt("judicial", f"/cases/{case_id}/{path}", body, probe)


def _file_charges(world: World, role: str) -> Attempt:
    body = {"offences": [_OFFENCE], "prosecutor": "Procureur du pôle", "filed_at": ago()}
    return _judicial(world, world.fresh_case(), "charges", body)


def _order_detention(world: World, role: str) -> Attempt:
    case_id = world.fresh_case()
    _charges(world, case_id)
    return _judicial(world, case_id, "detention-orders", _detention_order())


def _renew_detention(world: World, role: str) -> Attempt:
    case_id = world.fresh_case()
    _charges(world, case_id)
    _order(world, case_id)
    body = {"renewed_by": "Juge d'instruction", "renewed_at": ago(HOUR / 6)}
    return _judicial(world, case_id, "detention-orders/renewals", body)


def _schedule_hearing(world: World, role: str) -> Attempt:
    body = {
        "court": "Pôle judiciaire spécialisé, Bamako",
        "scheduled_for": (datetime.now(UTC) + DAY).isoformat(),
        "purpose": "First appearance",
    }
    return _judicial(world, world.fresh_case(), "hearings", body)


def _close_hearing(outcome: str, body: Callable[[], dict[str, Any]]) -> Prepare:
    def prepare(world: World, role: str) -> Attempt:
        case_id = world.fresh_case()
        hearing_id = _hearing(world, case_id)["hearing_id"]
        return _judicial(world, case_id, f"hearings/{hearing_id}/{outcome}", body())

    return prepare


def _deliver_verdict(world: World, role: str) -> Attempt:
    case_id = world.fresh_case()
    _charges(world, case_id)
    return _judicial(world, case_id, "verdict", _verdict())


def _impose_sentence(world: World, role: str) -> Attempt:
    case_id = world.fresh_case()
    _charges(world, case_id)
    world.recorded("judicial", f"/cases/{case_id}/verdict", _verdict(), "judge")
    starts = (datetime.now(UTC) - 400 * DAY).date().isoformat()
    body = {"term_days": 365, "starts_on": starts, "credit_for_time_served_days": 120}
    return _judicial(world, case_id, "sentence", body)


def _order_release(world: World, role: str) -> Attempt:
    body = {"kind": "bail", "effective_at": ago(HOUR / 12)}
    return _judicial(world, world.fresh_case(), "release-orders", body)


def _order_erasure(world: World, role: str) -> Attempt:
    body = {"order_reference": "TGI Bamako n° 2031/17", "legal_basis": "Loi 2013-015 art. 12"}
    return _judicial(world, world.fresh_case(), "erasure-orders", body)


def _seal(world: World, role: str) -> Attempt:
    return _judicial(world, world.fresh_case(), "seal", {"reason": "Sealed by order of the court"})


JUDICIAL: dict[str, Prepare] = {
    "/cases/{case_id}/charges": _file_charges,
    "/cases/{case_id}/detention-orders": _order_detention,
    "/cases/{case_id}/detention-orders/renewals": _renew_detention,
    "/cases/{case_id}/hearings": _schedule_hearing,
    "/cases/{case_id}/hearings/{hearing_id}/held": _close_hearing(
        "held", lambda: {"held_at": ago(HOUR / 12), "outcome_summary": "Detention maintained."}
    ),
    "/cases/{case_id}/hearings/{hearing_id}/adjourned": _close_hearing(
        "adjourned", lambda: {"reason": "Defence counsel absent"}
    ),
    "/cases/{case_id}/verdict": _deliver_verdict,
    "/cases/{case_id}/sentence": _impose_sentence,
    "/cases/{case_id}/release-orders": _order_release,
    "/cases/{case_id}/seal": _seal,
    "/cases/{case_id}/erasure-orders": _order_erasure,
}


def _judicial_entry(record: Callable[[World, str], dict[str, Any]]) -> Target:
    def target(world: World) -> Entry:
        case_id = world.fresh_case()
        probe = world.version_of("judicial", f"/cases/{case_id}")
        return Entry(str(record(world, case_id)["event_id"]), probe)

    return target


JUDICIAL_VOIDS: dict[str, tuple[str, Target]] = {
    "prosecutor": ("ChargesFiled", _judicial_entry(_charges)),
    "judge": ("HearingScheduled", _judicial_entry(_hearing)),
}
"""Voiding role → the entry type it voids in the matrix, and how to record one."""
