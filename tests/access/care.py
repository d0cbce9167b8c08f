"""The states assessment's and programmes' commands need, built through their APIs (and, for a
release programmes must know of, intake's event on the bus): one preparer per command route.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import DetaineeReleased
from tests.access.world import HOUR, Attempt, Entry, World, ago

__all__ = [
    "ASSESSMENT",
    "ASSESSMENT_VOIDS",
    "PROGRAMMES",
    "PROGRAMMES_VOIDS",
    "agency_of",
    "instrument",
    "programme",
    "referral",
    "started",
]

Prepare = Callable[[World, str], Attempt]
Target = Callable[[World], Entry]
"""Records an entry a role may void."""

ASSESSOR = "assessor-awa"
MINISTRY = "Ministère de la Solidarité"


# --- assessment --------------------------------------------------------------------------


def _instrument_body(kind: str) -> dict[str, Any]:
    indicator = {"id": "I1", "text": "Stated intent to rejoin", "scale": {"min": 0, "max": 2}}
    domain = {"id": "D1", "title": "Ideology", "indicators": [indicator]}
    return {"title": f"Access test {kind} tool", "domains": [domain], "assessment_kind": kind}


def instrument(world: World) -> str:
    """A one-indicator risk instrument, published once per world (assessments use it)."""
    if "instrument" not in world.shared:
        answer = world.recorded("assessment", "/instruments", _instrument_body("risk"), "admin")
        world.shared["instrument"] = str(answer["instrument_id"])
    return str(world.shared["instrument"])


_NEEDS = {
    "literacy": "basic",
    "languages": ["Fulfulde", "Bambara"],
    "education_level": "koranic",
    "vocational_interests": ["tailoring"],
    "skills": ["herding"],
}
_PLACEMENT = {"security_level": "high", "rationale": "Recruiter before arrest."}


def _assessment(world: World, case_id: str, path: str, body: dict[str, Any], **who: Any) -> Attempt:
    probe = world.version_of("assessment", f"/cases/{case_id}")
    return Attempt("assessment", f"/cases/{case_id}/{path}", body, probe, **who)


def started(world: World, case_id: str) -> str:
    body = {"instrument_id": instrument(world)}
    path = f"/cases/{case_id}/assessments"
    return str(world.recorded("assessment", path, body, "assessor", sub=ASSESSOR)["assessment_id"])


def _rated(world: World, case_id: str, assessment_id: str) -> None:
    path = f"/cases/{case_id}/assessments/{assessment_id}/ratings"
    world.recorded(
        "assessment", path, {"indicator_id": "I1", "rating": 1}, "assessor", sub=ASSESSOR
    )


def _submission() -> dict[str, Any]:
    review = (datetime.now(UTC) + timedelta(days=180)).isoformat()
    return {
        "overall_risk": "moderate",
        "rationale": "Coerced recruitment.",
        "next_review_by": review,
    }


def _instrument_versions(world: World) -> Callable[[], int]:
    def versions() -> int:
        items = world.view("assessment", "/instruments")["items"]
        return sum(len(i["versions"]) for i in items)

    return versions


def _publish_instrument(world: World, role: str) -> Attempt:
    body = _instrument_body("needs")
    return Attempt("assessment", "/instruments", body, _instrument_versions(world))


def _start(world: World, role: str) -> Attempt:
    body = {"instrument_id": instrument(world)}
    return _assessment(world, world.fresh_case(), "assessments", body, sub=ASSESSOR)


def _rate(world: World, role: str) -> Attempt:
    case_id = world.fresh_case()
    path = f"assessments/{started(world, case_id)}/ratings"
    body = {"indicator_id": "I1", "rating": 2, "evidence_note": "Interview in Fulfulde."}
    return _assessment(world, case_id, path, body, sub=ASSESSOR)


def _submit(world: World, role: str) -> Attempt:
    case_id = world.fresh_case()
    assessment_id = started(world, case_id)
    _rated(world, case_id, assessment_id)
    path = f"assessments/{assessment_id}/submission"
    return _assessment(world, case_id, path, _submission(), sub=ASSESSOR)


def _countersign(world: World, role: str) -> Attempt:
    case_id = world.held_case()
    assessment_id = started(world, case_id)
    _rated(world, case_id, assessment_id)
    path = f"/cases/{case_id}/assessments/{assessment_id}/submission"
    world.recorded("assessment", path, _submission(), "assessor", sub=ASSESSOR)
    # Four eyes: a different person countersigns.
    path = f"assessments/{assessment_id}/countersignature"
    return _assessment(world, case_id, path, {}, sub="second-pair-of-eyes")


def _needs(world: World, role: str) -> Attempt:
    return _assessment(world, world.fresh_case(), "needs", _NEEDS)


def _place(world: World, role: str) -> Attempt:
    return _assessment(world, world.held_case(), "placement", _PLACEMENT)


ASSESSMENT: dict[str, Prepare] = {
    "/instruments": _publish_instrument,
    "/cases/{case_id}/assessments": _start,
    "/cases/{case_id}/assessments/{assessment_id}/ratings": _rate,
    "/cases/{case_id}/assessments/{assessment_id}/submission": _submit,
    "/cases/{case_id}/assessments/{assessment_id}/countersignature": _countersign,
    "/cases/{case_id}/needs": _needs,
    "/cases/{case_id}/placement": _place,
}


def _assessment_entry(path: str, body: dict[str, Any], role: str) -> Target:
    def record(world: World) -> Entry:
        # A held person's case: the test facility's director may see it (and act as its role).
        case_id = world.held_case()
        answer = world.recorded("assessment", f"/cases/{case_id}/{path}", body, role)
        return Entry(str(answer["event_id"]), world.version_of("assessment", f"/cases/{case_id}"))

    return record


def _instrument_entry(world: World) -> Entry:
    answer = world.recorded("assessment", "/instruments", _instrument_body("needs"), "admin")
    return Entry(str(answer["event_id"]), _instrument_versions(world))


ASSESSMENT_VOIDS: dict[str, tuple[str, Target]] = {
    "assessor": ("NeedsAssessed", _assessment_entry("needs", _NEEDS, "assessor")),
    "social_worker": ("NeedsAssessed", _assessment_entry("needs", _NEEDS, "social_worker")),
    "prison_director": (
        "PlacementDecided",
        _assessment_entry("placement", _PLACEMENT, "prison_director"),
    ),
    "admin": ("InstrumentPublished", _instrument_entry),
}
"""Voiding role → the entry type it voids in the matrix, and how to record one."""


# --- programmes --------------------------------------------------------------------------


def agency_of(role: str) -> str:
    """A fresh organisation for one state: its own programmes, referrals and people."""
    return f"ONG {role} {uuid.uuid4().hex[:8]}"


def programme(world: World, provider: str) -> str:
    """A programme run by `provider` (anywhere, for any risk, complete without attendance)."""
    body = {**_catalogue(provider), "attendance_threshold": 0}
    answer = world.recorded("programmes", "/programmes", body, "social_worker", agency=MINISTRY)
    return str(answer["programme_id"])


def _catalogue(provider: str) -> dict[str, Any]:
    return {
        "kind": "vocational",
        "title": "Motorcycle mechanics workshop",
        "provider_agency": provider,
        "capacity": 10,
    }


def _session_body(case_id: str) -> dict[str, Any]:
    today = datetime.now(UTC).date().isoformat()
    return {"session_date": today, "facilitator": "Imam Cissé", "attendees": [case_id]}


def _enrolled(world: World, provider: str) -> tuple[str, str]:
    programme_id, case_id = programme(world, provider), world.fresh_case()
    body = {"case_id": case_id, "enrolled_at": ago(timedelta(days=2))}
    path = f"/programmes/{programme_id}/enrolments"
    world.recorded("programmes", path, body, "social_worker", agency=MINISTRY)
    return programme_id, case_id


def _on_programme(
    world: World, programme_id: str, path: str, body: dict[str, Any], agency: str
) -> Attempt:
    probe = world.version_of("programmes", f"/programmes/{programme_id}")
    return Attempt("programmes", f"/programmes/{programme_id}/{path}", body, probe, agency=agency)


def _on_case(world: World, case_id: str, path: str, body: dict[str, Any], agency: str) -> Attempt:
    probe = world.version_of("programmes", f"/cases/{case_id}")
    return Attempt("programmes", f"/cases/{case_id}/{path}", body, probe, agency=agency)


def referral(world: World, case_id: str, to_agency: str, by: str = MINISTRY) -> dict[str, Any]:
    body = {"to_agency": to_agency, "reason": "Vocational training", "consent": "given"}
    path = f"/cases/{case_id}/referrals"
    return world.recorded("programmes", path, body, "social_worker", agency=by)


def _create(world: World, role: str) -> Attempt:
    agency = agency_of(role)
    probe = world.total_of("programmes", "/programmes")
    return Attempt("programmes", "/programmes", _catalogue(agency), probe, agency=agency)


def _accepted(world: World, case_id: str, agency: str) -> None:
    """A referral of the case to `agency`, accepted by it: the person is the organisation's."""
    referral_id = referral(world, case_id, agency)["referral_id"]
    path = f"/cases/{case_id}/referrals/{referral_id}/acceptance"
    world.recorded("programmes", path, {}, "civil_society", agency=agency)


def _enrol(world: World, role: str) -> Attempt:
    agency = agency_of(role)
    programme_id, case_id = programme(world, agency), world.fresh_case()
    # An organisation enrols only a person referred to it and accepted (never any case id).
    _accepted(world, case_id, agency)
    body = {"case_id": case_id, "enrolled_at": ago()}
    return _on_programme(world, programme_id, "enrolments", body, agency)


def _participant(path: str, body: dict[str, Any]) -> Prepare:
    def prepare(world: World, role: str) -> Attempt:
        agency = agency_of(role)
        programme_id, case_id = _enrolled(world, agency)
        return _on_programme(world, programme_id, path, {**body, "case_id": case_id}, agency)

    return prepare


def _session(world: World, role: str) -> Attempt:
    agency = agency_of(role)
    programme_id, case_id = _enrolled(world, agency)
    return _on_programme(world, programme_id, "sessions", _session_body(case_id), agency)


def _refer(world: World, role: str) -> Attempt:
    body = {"to_agency": agency_of("receiver"), "reason": "Family mediation", "consent": "given"}
    return _on_case(world, world.fresh_case(), "referrals", body, MINISTRY)


def _answer(outcome: str) -> Prepare:
    def prepare(world: World, role: str) -> Attempt:
        agency, case_id = agency_of(role), world.fresh_case()
        referral_id = referral(world, case_id, agency)["referral_id"]
        return _on_case(world, case_id, f"referrals/{referral_id}/{outcome}", {}, agency)

    return prepare


def _plan(world: World, role: str) -> Attempt:
    body = {"goals": ["Open a repair shop"], "community_contact": "Village chief, Douentza"}
    return _on_case(world, world.fresh_case(), "reintegration-plan", body, MINISTRY)


def _follow_up(world: World, role: str) -> Attempt:
    agency, case_id = agency_of(role), world.fresh_case()
    # Civil society follows up only the people it works with: here, one referred to it.
    _accepted(world, case_id, agency)
    released = DetaineeReleased(
        released_at=datetime.now(UTC) - 2 * HOUR, release_order_id=uuid.uuid4()
    )
    world.publish(released, case_id)
    world.until(lambda: world.view("programmes", f"/cases/{case_id}")["released_at"])
    body = {"at": ago(), "status": "on_track", "note": "Working at his uncle's garage."}
    return _on_case(world, case_id, "follow-ups", body, agency)


PROGRAMMES: dict[str, Prepare] = {
    "/programmes": _create,
    "/programmes/{programme_id}/enrolments": _enrol,
    "/programmes/{programme_id}/sessions": _session,
    "/programmes/{programme_id}/completions": _participant("completions", {}),
    "/programmes/{programme_id}/withdrawals": _participant("withdrawals", {"reason": "Moved"}),
    "/cases/{case_id}/referrals": _refer,
    "/cases/{case_id}/referrals/{referral_id}/acceptance": _answer("acceptance"),
    "/cases/{case_id}/referrals/{referral_id}/declination": _answer("declination"),
    "/cases/{case_id}/reintegration-plan": _plan,
    "/cases/{case_id}/follow-ups": _follow_up,
}


def _created_entry(role: str) -> Target:
    def record(world: World) -> Entry:
        agency = agency_of(role)
        answer = world.recorded(
            "programmes", "/programmes", _catalogue(agency), role, agency=agency
        )
        probe = world.version_of("programmes", f"/programmes/{answer['programme_id']}")
        return Entry(str(answer["event_id"]), probe, agency)

    return record


def _referral_entry(world: World) -> Entry:
    agency, case_id = agency_of("referrer"), world.fresh_case()
    answer = referral(world, case_id, agency_of("receiver"), by=agency)
    probe = world.version_of("programmes", f"/cases/{case_id}")
    return Entry(str(answer["event_id"]), probe, agency)


def _session_entry(world: World) -> Entry:
    agency = agency_of("religious_counsellor")
    programme_id, case_id = _enrolled(world, agency)
    path, body = f"/programmes/{programme_id}/sessions", _session_body(case_id)
    answer = world.recorded("programmes", path, body, "religious_counsellor", agency=agency)
    probe = world.version_of("programmes", f"/programmes/{programme_id}")
    return Entry(str(answer["event_id"]), probe, agency)


PROGRAMMES_VOIDS: dict[str, tuple[str, Target]] = {
    "social_worker": ("ReferralMade", _referral_entry),
    "civil_society": ("ProgrammeCreated", _created_entry("civil_society")),
    "religious_counsellor": ("SessionAttended", _session_entry),
    "admin": ("ProgrammeCreated", _created_entry("admin")),
}
"""Voiding role → the entry type it voids in the matrix, and how to record one (the voiding
user acts for the agency that recorded it)."""
