"""The synthetic case path, from arrest to follow-up, as a list of steps over the public APIs.

Each step is a SPEC §7 route with a body built from a case's own synthetic facts. A step runs only
when its service is installed and serves the route (from its OpenAPI document); its body keeps only
the fields the route's request schema names, so the path grows as the services land.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import (
    ArrestRecorded,
    AssessmentCountersigned,
    AssessmentStarted,
    AssessmentSubmitted,
    CatalogueEvent,
    ChargesFiled,
    CustodyStarted,
    DetaineeAdmitted,
    DetaineeReleased,
    EvidenceLogged,
    FamilyContactRecorded,
    FollowUpRecorded,
    HearingHeld,
    HearingScheduled,
    IndicatorRated,
    InstrumentPublished,
    NeedsAssessed,
    ParticipantCompleted,
    ParticipantEnrolled,
    PlacementDecided,
    PreTrialDetentionOrdered,
    ProgrammeCreated,
    ReferralAccepted,
    ReferralMade,
    ReintegrationPlanAgreed,
    ReleaseOrdered,
    SentenceImposed,
    SessionAttended,
    VerdictDelivered,
)
from shared.permissions import COMMAND_ROLES

__all__ = [
    "CASE_PATH",
    "REPEATABLE",
    "SETUP",
    "Case",
    "Step",
    "arrest_body",
    "available_steps",
    "population_path",
]

_ROLE_PREFERENCE = (
    "police", "prosecutor", "judge", "prison_registry", "assessor", "social_worker",
    "prison_director", "civil_society", "religious_counsellor", "admin",
)  # fmt: skip
_NAMES = ("Moussa", "Aminata", "Oumar", "Fatoumata", "Ibrahim", "Mariam", "Boubacar", "Kadiatou")
_FAMILIES = ("Traoré", "Diallo", "Maïga", "Cissé", "Ag Intalla", "Touré", "Coulibaly", "Sangaré")
_PLACES = ("Sévaré checkpoint", "Gao road", "Ménaka market", "Mopti port", "Tombouctou airport")
INDICATORS = ("ideology", "network", "grievance")


@dataclass
class Case:
    """One synthetic person's case: the ids the answers gave, and the times of the story."""

    number: int
    ids: dict[str, str] = field(default_factory=dict)
    t0: datetime = field(default_factory=lambda: datetime.now(UTC))

    def at(self, days: float = 0, hours: float = 0) -> str:
        return (self.t0 + timedelta(days=days, hours=hours)).isoformat().replace("+00:00", "Z")

    def day(self, days: float) -> str:
        return (self.t0 + timedelta(days=days)).date().isoformat()

    @classmethod
    def new(cls, number: int, shared_ids: dict[str, str]) -> Case:
        # Arrested 120 to 700 days ago, so every later step of the story lies in the past.
        rng = random.Random(number)
        t0 = datetime.now(UTC) - timedelta(days=rng.uniform(120, 700))
        return cls(number, dict(shared_ids), t0.replace(microsecond=0))


@dataclass(frozen=True)
class Step:
    """One command: a route, the event it records, its body, and the ids its answer carries."""

    service: str
    path: str
    event: type[CatalogueEvent]
    body: Callable[[Case], dict[str, Any]]
    captures: tuple[str, ...] = ()
    after_reaction: bool = False  # may be refused (404/409) until another service's reaction
    population: bool = False  # part of the short path that fills the store
    only_if: Callable[[Case], bool] | None = None  # taken only for the cases it holds for
    sub: str | None = None  # the acting person, when it must differ (four-eyes)
    as_role: str | None = None  # the role, when the first allowed one is not the right one

    @property
    def role(self) -> str:
        if self.as_role is not None:
            return self.as_role
        allowed = COMMAND_ROLES[self.event.type_name()]
        return next(r for r in _ROLE_PREFERENCE if r in allowed)

    @property
    def name(self) -> str:
        return f"{self.service}.{self.event.event_name}"


def arrest_body(c: Case) -> dict[str, Any]:
    rng = random.Random(c.number)
    return {
        "person": {
            "full_name": f"{rng.choice(_NAMES)} {rng.choice(_FAMILIES)} (synthetic {c.number})",
            "sex": rng.choice(("male", "female")),
            "nationality": rng.choice(("ML", "BF", "NE")),
            "languages": ["Bambara", "French"],
            "date_of_birth": f"{rng.randint(1970, 2004)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        },
        "arrested_at": c.at(),
        "location": rng.choice(_PLACES),
        "arresting_unit": "Gendarmerie nationale, brigade (synthetic)",
        "grounds": "Suspected membership of an armed group (synthetic benchmark data)",
        "returning_foreign_fighter": rng.random() < 0.1,
    }


def _instrument(_: Case) -> dict[str, Any]:
    labels = [{"value": 0, "label": "absent"}, {"value": 2, "label": "present"}]
    scale = {"min": 0, "max": 2, "labels": labels}
    indicators = [{"id": i, "text": f"Indicator {i}", "scale": scale} for i in INDICATORS]
    return {
        "title": "Structured risk and needs guide (synthetic)",
        "version": 1,
        "assessment_kind": "risk",
        "domains": [{"id": "core", "title": "Core", "indicators": indicators}],
    }


def _programme(_: Case) -> dict[str, Any]:
    return {
        "kind": "vocational",
        "title": "Vocational training, welding (synthetic)",
        "provider_agency": "social_worker-agency",
        "capacity": 10_000,
    }


def _rating(indicator: str) -> Callable[[Case], dict[str, Any]]:
    return lambda c: {
        "indicator_id": indicator,
        "rating": c.number % 3,
        "assessment_id": c.ids.get("assessment_id"),
    }


SETUP: tuple[Step, ...] = (
    Step("assessment", "/instruments", InstrumentPublished, _instrument, ("instrument_id",)),
    Step("programmes", "/programmes", ProgrammeCreated, _programme, ("programme_id",)),
)
"""Steps each load worker runs once before its cases (what their cases refer to)."""

CASE_PATH: tuple[Step, ...] = (
    Step("intake", "/cases", ArrestRecorded, arrest_body, ("case_id",), population=True),
    Step("intake", "/cases/{case_id}/custody", CustodyStarted, lambda c: {
        "started_at": c.at(hours=1), "legal_basis": "Garde à vue, terrorism offences",
        "location": "Brigade (synthetic)"}, population=True),
    Step("intake", "/cases/{case_id}/evidence", EvidenceLogged, lambda c: {
        "item_id": f"SCEL-{c.number}", "description": "Mobile telephone, sealed bag",
        "collected_by": "Adjudant (synthetic)", "collected_at": c.at(hours=2)}),
    Step("judicial", "/cases/{case_id}/charges", ChargesFiled, lambda c: {
        "offences": [{"code": "ART-2", "description": "Association de malfaiteurs terroriste",
                      "law_ref": "Loi 2008-025, art. 2"}],
        "prosecutor": "Procureur (synthetic)", "filed_at": c.at(days=2)}, after_reaction=True),
    Step("judicial", "/cases/{case_id}/detention-orders", PreTrialDetentionOrdered, lambda c: {
        "ordered_by": "Juge d'instruction (synthetic)", "ordered_at": c.at(days=2, hours=4),
        "expires_at": c.at(days=2 + 180), "legal_basis": "Code de procédure pénale"},
        after_reaction=True),
    Step("intake", "/cases/{case_id}/admission", DetaineeAdmitted, lambda c: {
        "facility": "Maison Centrale d'Arrêt de Bamako", "admitted_at": c.at(days=3),
        "warrant_ref": f"MD-{c.number}"}, population=True),
    Step("assessment", "/cases/{case_id}/assessments", AssessmentStarted, lambda c: {
        "instrument_id": c.ids.get("instrument_id"), "instrument_version": 1,
        "assessor": "Psychologue (synthetic)", "started_at": c.at(days=10)},
        ("assessment_id",), after_reaction=True),
    *(Step("assessment", "/cases/{case_id}/assessments/{assessment_id}/ratings", IndicatorRated,
           _rating(i)) for i in INDICATORS),
    Step("assessment", "/cases/{case_id}/assessments/{assessment_id}/submission",
         AssessmentSubmitted, lambda c: {
             "overall_risk": "moderate", "rationale": "Structured judgement (synthetic)",
             "next_review_by": c.at(days=190), "submitted_at": c.at(days=11)}),
    Step("assessment", "/cases/{case_id}/assessments/{assessment_id}/countersignature",
         AssessmentCountersigned, lambda c: {"countersigned_by": "Second assessor (synthetic)"},
         sub="bench-countersigner"),
    Step("assessment", "/cases/{case_id}/needs", NeedsAssessed, lambda c: {
        "literacy": "basic", "languages": ["Bambara"], "education_level": "koranic",
        "vocational_interests": ["welding"], "skills": ["farming"], "assessed_at": c.at(days=12)}),
    Step("assessment", "/cases/{case_id}/placement", PlacementDecided, lambda c: {
        "security_level": "medium", "rationale": "Moderate risk (synthetic)",
        "decided_by": "Directeur (synthetic)", "decided_at": c.at(days=13)}),
    Step("intake", "/cases/{case_id}/family-contacts", FamilyContactRecorded, lambda c: {
        "kind": "visit", "with_whom": "Mother (synthetic)", "relationship": "mother",
        "at": c.at(days=20)}),
    Step("judicial", "/cases/{case_id}/hearings", HearingScheduled, lambda c: {
        "court": "Pôle judiciaire spécialisé, Bamako", "scheduled_for": c.at(days=60),
        "purpose": "Trial"}, ("hearing_id",)),
    Step("judicial", "/cases/{case_id}/hearings/{hearing_id}/held", HearingHeld, lambda c: {
        "held_at": c.at(days=60), "outcome_summary": "Heard; verdict delivered (synthetic)"}),
    Step("judicial", "/cases/{case_id}/verdict", VerdictDelivered, lambda c: {
        "outcome": "convicted", "court": "Pôle judiciaire spécialisé, Bamako",
        "delivered_at": c.at(days=60, hours=3)}),
    Step("judicial", "/cases/{case_id}/sentence", SentenceImposed, lambda c: {
        "term_days": 60, "starts_on": c.day(2), "credit_for_time_served_days": 58,
        "imposed_at": c.at(days=60, hours=4)}),
    Step("judicial", "/cases/{case_id}/release-orders", ReleaseOrdered, lambda c: {
        "kind": "sentence_served", "effective_at": c.at(days=62), "ordered_at": c.at(days=61)},
        ("release_order_id",)),
    Step("programmes", "/programmes/{programme_id}/enrolments", ParticipantEnrolled, lambda c: {
        "case_id": c.ids.get("case_id"), "enrolled_at": c.at(days=30)}, after_reaction=True),
    Step("programmes", "/programmes/{programme_id}/sessions", SessionAttended, lambda c: {
        "attendees": [c.ids.get("case_id")], "session_date": c.day(31),
        "facilitator": "Formateur (synthetic)"}),
    Step("programmes", "/programmes/{programme_id}/completions", ParticipantCompleted, lambda c: {
        "case_id": c.ids.get("case_id"), "completed_at": c.at(days=50)}),
    Step("programmes", "/cases/{case_id}/referrals", ReferralMade, lambda c: {
        "to_agency": "civil_society-agency", "reason": "Family reconnection", "consent": "given"},
        ("referral_id",)),
    Step("programmes", "/cases/{case_id}/referrals/{referral_id}/acceptance", ReferralAccepted,
         lambda c: {"by_agency": "civil_society-agency"}, as_role="civil_society"),
    Step("programmes", "/cases/{case_id}/reintegration-plan", ReintegrationPlanAgreed, lambda c: {
        "goals": ["Employment in welding"], "community_contact": "Village chief (synthetic)",
        "agreed_at": c.at(days=55)}),
    Step("intake", "/cases/{case_id}/release", DetaineeReleased, lambda c: {
        "released_at": c.at(days=62), "release_order_id": c.ids.get("release_order_id")},
        after_reaction=True),
    Step("programmes", "/cases/{case_id}/follow-ups", FollowUpRecorded, lambda c: {
        "at": c.at(days=92), "status": "on_track", "note": "Working; family support (synthetic)"},
        after_reaction=True),
)  # fmt: skip
"""The whole path of one case from arrest to post-release follow-up (SPEC §7 routes)."""

REPEATABLE = ("intake.FamilyContactRecorded", "intake.EvidenceLogged", "intake.DetaineeAdmitted")
"""Steps that can be recorded many times on one case, in order of preference (the long timeline)."""


HELD_IN_CUSTODY_EVERY = 10


def population_path(path: list[Step]) -> list[Step]:
    """The short path that fills the store: arrest, custody, admission; one case in ten is never
    admitted, so its custody limit passes and judicial's overdue list has real breaches in it."""
    steps = [s for s in path if s.population]
    return [
        dataclasses.replace(s, only_if=lambda c: c.number % HELD_IN_CUSTODY_EVERY != 0)
        if s.event is DetaineeAdmitted
        else s
        for s in steps
    ]


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def available_steps(
    steps: tuple[Step, ...], openapi: dict[str, dict[str, Any]]
) -> tuple[list[Step], dict[str, str]]:
    """The steps the running services serve, and why each other step is left out."""
    kept: list[Step] = []
    left: dict[str, str] = {}
    for step in steps:
        doc = openapi.get(step.service)
        if doc is None:
            left[step.name] = "service not installed"
            continue
        post = next(
            (
                ops.get("post")
                for p, ops in doc.get("paths", {}).items()
                if _shape(p) == _shape(step.path)
            ),
            None,
        )
        if post is None:
            left[step.name] = f"no route POST {step.path} yet"
            continue
        kept.append(_fitted(step, post, doc))
    return kept, left


def _fitted(step: Step, post: dict[str, Any], doc: dict[str, Any]) -> Step:
    """The step with a body reduced to what the route's request schema names."""
    schema = (
        post.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    )
    schema = _resolve(schema, doc)
    properties = set(schema.get("properties", {}))
    if not properties:
        return step
    original = step.body

    def body(case: Case) -> dict[str, Any]:
        return {k: v for k, v in original(case).items() if k in properties and v is not None}

    return dataclasses.replace(step, body=body)


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = doc
        for part in ref[2:].split("/"):
            node = node.get(part, {})
        return _resolve(node, doc)
    for key in ("allOf", "anyOf", "oneOf"):
        if schema.get(key):
            return _resolve(schema[key][0], doc)
    return schema
