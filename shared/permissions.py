"""Who may record what: the one permission table every service loads (SPEC §8).

Keys are catalogue event types; values are the roles that do that work. Automatic events (recorded
by the services themselves) allow no role. Visibility of event types for reads lives beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["COMMAND_ROLES", "ROLES", "VOID_SUPERVISORS"]

ROLES = frozenset(
    {
        "police",
        "prosecutor",
        "judge",
        "prison_registry",
        "prison_director",
        "assessor",
        "social_worker",
        "civil_society",
        "religious_counsellor",
        "auditor",
        "admin",
    }
)


def _roles(*names: str) -> frozenset[str]:
    unknown = set(names) - ROLES
    if unknown:
        raise ValueError(f"unknown roles {unknown}")
    return frozenset(names)


_INTAKE = {
    "ArrestRecorded": _roles("police"),
    "CustodyStarted": _roles("police"),
    "CustodyExtended": _roles("police", "prosecutor"),
    "EvidenceLogged": _roles("police"),
    "DetaineeTransferred": _roles("police", "prison_registry"),
    "DetaineeAdmitted": _roles("prison_registry"),
    "FamilyContactRecorded": _roles("prison_registry", "social_worker"),
    "DetaineeReleased": _roles("prison_registry"),
    "PersonalDataErased": _roles("admin"),
    # The person registry: police and the prison registry propose; a second person confirms,
    # of the proposer's kind or the prison's director or a judge (`LINK_CONFIRMERS`).
    "PersonLinkProposed": _roles("police", "prison_registry"),
    "PersonLinkConfirmed": _roles("police", "prison_registry", "prison_director", "judge"),
    "PersonLinkRejected": _roles("police", "prison_registry", "prison_director", "judge"),
}
_JUDICIAL = {
    "ChargesFiled": _roles("prosecutor"),
    "PreTrialDetentionOrdered": _roles("judge"),
    "PreTrialDetentionRenewed": _roles("judge"),
    "DetentionDeadlineBreached": _roles(),
    "HearingScheduled": _roles("judge", "prosecutor"),
    "HearingHeld": _roles("judge"),
    "HearingAdjourned": _roles("judge"),
    "VerdictDelivered": _roles("judge"),
    "SentenceImposed": _roles("judge"),
    "ReleaseOrdered": _roles("judge"),
    "CaseSealed": _roles("judge"),
    "ErasureOrdered": _roles("judge"),
}
_ASSESSMENT = {
    "InstrumentPublished": _roles("admin", "prison_director"),
    "AssessmentDue": _roles(),
    "AssessmentStarted": _roles("assessor"),
    "IndicatorRated": _roles("assessor"),
    "AssessmentSubmitted": _roles("assessor"),
    "AssessmentCountersigned": _roles("assessor", "prison_director"),
    "NeedsAssessed": _roles("assessor", "social_worker"),
    "PlacementDecided": _roles("prison_director"),
}
_PROGRAMMES = {
    "ProgrammeCreated": _roles("social_worker", "civil_society", "admin"),
    "ParticipantEnrolled": _roles("social_worker", "civil_society"),
    "SessionAttended": _roles("social_worker", "civil_society", "religious_counsellor"),
    "ParticipantCompleted": _roles("social_worker", "civil_society", "religious_counsellor"),
    "ParticipantWithdrawn": _roles("social_worker", "civil_society"),
    "ReferralMade": _roles("social_worker"),
    "ReferralAccepted": _roles("social_worker", "civil_society"),
    "ReferralDeclined": _roles("social_worker", "civil_society"),
    "ReintegrationPlanAgreed": _roles("social_worker"),
    "FollowUpRecorded": _roles("social_worker", "civil_society"),
}


# --- who may correct what (SPEC §5: corrections stay with their author) --------------------------
# An entry is voided only for the agency that recorded it, by a role that records its type or by a
# supervisor of that type below, of that same agency; never across agencies. Judicial entries have
# no supervisor but those who record them (a judge does not correct the prosecution's filings, nor
# a prosecutor the bench's orders); an assessment's entries stay with its assessor (assessment's
# own rule); programmes' stay with the organisation that recorded them.

_SUPERVISION = (
    # The director answers for what the prison's registry records.
    ("prison_director", "intake",
     ("DetaineeTransferred", "DetaineeAdmitted", "FamilyContactRecorded", "DetaineeReleased")),
    # The prosecutor directs the judicial police and controls custody: where both work for one
    # agency (a specialised judicial pole and its investigators) they correct its police records.
    ("prosecutor", "intake", ("CustodyStarted", "EvidenceLogged", "DetaineeTransferred")),
)  # fmt: skip


def _supervisors() -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for role, service, names in _SUPERVISION:
        for name in names:
            key = f"caseline.{service}.{name}.v1"
            table[key] = table.get(key, frozenset()) | _roles(role)
    return table


VOID_SUPERVISORS: dict[str, frozenset[str]] = _supervisors()
"""Entry type → the roles that may void it, for their own agency, besides those who record it."""


_NOT_VOIDED = frozenset({"PersonLinkProposed", "PersonLinkConfirmed", "PersonLinkRejected"})
"""A person link is undone by an unlink (four eyes again), never voided."""


def _table() -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for service, events in (
        ("intake", _INTAKE),
        ("judicial", _JUDICIAL),
        ("assessment", _ASSESSMENT),
        ("programmes", _PROGRAMMES),
    ):
        for name, roles in events.items():
            table[f"caseline.{service}.{name}.v1"] = roles
        # Voiding is allowed to those who may record (or supervise) something in that service;
        # the kit then checks the role and agency against the voided entry (`require_voider`).
        supervisors = [r for t, r in VOID_SUPERVISORS.items() if t.split(".")[1] == service]
        voidable = [roles for name, roles in events.items() if name not in _NOT_VOIDED]
        table[f"caseline.{service}.EntryVoided.v1"] = frozenset().union(*voidable, *supervisors)
    return table


COMMAND_ROLES: dict[str, frozenset[str]] = _table()


# --- who may see what (SPEC §8) ------------------------------------------------------------------
# Visibility is by event type; within a visible type, some fields are removed for some roles
# (the ledger marks such an entry as redacted). Auditors and admins see everything.

ALL = "*"

_SERVICE_TYPES = {
    "intake": (*_INTAKE, "EntryVoided"),
    "judicial": (*_JUDICIAL, "EntryVoided"),
    "assessment": (*_ASSESSMENT, "EntryVoided"),
    "programmes": (*_PROGRAMMES, "EntryVoided"),
}


def _types(service: str, *names: str) -> frozenset[str]:
    chosen = names or _SERVICE_TYPES[service]
    unknown = set(chosen) - set(_SERVICE_TYPES[service])
    if unknown:
        raise ValueError(f"unknown {service} events {unknown}")
    return frozenset(f"caseline.{service}.{n}.v1" for n in chosen)


_COURT = _types("intake") | _types("judicial") | _types("assessment") | _types("programmes")
_PRISON = (
    _types("intake")
    | _types("judicial")
    | _types("assessment", "AssessmentDue", "AssessmentSubmitted", "AssessmentCountersigned",
             "NeedsAssessed", "PlacementDecided", "InstrumentPublished")
    | _types("programmes")
)  # fmt: skip
_SOCIAL = (
    _types("intake", "ArrestRecorded", "DetaineeAdmitted", "DetaineeTransferred",
           "FamilyContactRecorded", "DetaineeReleased", "EntryVoided")
    | _types("judicial", "VerdictDelivered", "SentenceImposed", "ReleaseOrdered", "CaseSealed")
    | _types("assessment", "AssessmentDue", "NeedsAssessed", "PlacementDecided")
    | _types("programmes")
)  # fmt: skip
_COMMUNITY = _types("intake", "ArrestRecorded", "DetaineeReleased") | _types("programmes")

VISIBLE_TYPES: dict[str, frozenset[str] | str] = {
    "auditor": ALL,
    "admin": ALL,
    "judge": _COURT,
    "prosecutor": _COURT,
    "police": _types("intake")
    | _types("judicial", "ChargesFiled", "PreTrialDetentionOrdered", "PreTrialDetentionRenewed",
             "DetentionDeadlineBreached", "HearingScheduled", "VerdictDelivered", "ReleaseOrdered",
             "CaseSealed"),
    "prison_registry": _PRISON - _types("intake", "EvidenceLogged"),
    "prison_director": _PRISON - _types("intake", "EvidenceLogged"),
    "assessor": (_COURT - _types("intake", "EvidenceLogged"))
    - _types("judicial", "HearingScheduled", "HearingHeld", "HearingAdjourned"),
    "social_worker": _SOCIAL,
    "civil_society": _COMMUNITY,
    "religious_counsellor": _COMMUNITY,
}  # fmt: skip
"""Role → the event types it may see (ALL for every type)."""

_ARREST = "caseline.intake.ArrestRecorded.v1"
_COMMUNITY_HIDDEN_ARREST = (
    "grounds", "arresting_unit", "location", "report_ref", "accompanying_family",
    "person.identity_document", "person.date_of_birth", "person.aliases", "person.place_of_origin",
    "person.father_name", "person.mother_name", "person_id",
)  # fmt: skip

REDACTED_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "civil_society": {
        _ARREST: _COMMUNITY_HIDDEN_ARREST,
        "caseline.intake.DetaineeReleased.v1": ("destination",),
        "caseline.programmes.ReferralMade.v1": ("legal_basis",),
    },
    "religious_counsellor": {
        _ARREST: _COMMUNITY_HIDDEN_ARREST,
        "caseline.intake.DetaineeReleased.v1": ("destination",),
        "caseline.programmes.ReferralMade.v1": ("legal_basis",),
    },
    "social_worker": {_ARREST: ("grounds", "report_ref")},
    # The registry keeps the register; the reasons of a risk judgement are the assessors'.
    "prison_registry": {
        "caseline.assessment.AssessmentSubmitted.v1": ("rationale",),
        "caseline.assessment.PlacementDecided.v1": ("rationale",),
    },
    "police": {},
}
"""Role → event type → dotted payload fields removed before the role sees the entry."""


def may_see(role: str, event_type: str) -> bool:
    visible = VISIBLE_TYPES.get(role, frozenset())
    return visible == ALL or event_type in visible


def is_voiding(event_type: str) -> bool:
    """Whether the type is a service's `EntryVoided` (`caseline.<service>.EntryVoided.v1`)."""
    parts = event_type.split(".")
    return len(parts) == 4 and parts[0] == "caseline" and parts[2] == "EntryVoided"


def may_see_entry(role: str, event_type: str, data: Mapping[str, Any] | None) -> bool:
    """Whether `role` may see an entry of `event_type` whose payload is `data`: the one rule of
    every read and delivery of entries. A voiding names the voided entry's type and id and says
    why, so it is seen only by those who may see its own type and the voided entry's type
    (`voided_event_type`); one that names no type of its own service is seen only by those who
    see every type of that service (fail closed)."""
    if not may_see(role, event_type):
        return False
    if not is_voiding(event_type):
        return True
    service = event_type.split(".")[1]
    voided = data.get("voided_event_type") if isinstance(data, Mapping) else None
    if isinstance(voided, str) and voided.split(".")[:2] == ["caseline", service]:
        return may_see(role, voided)
    if service not in _SERVICE_TYPES:
        return VISIBLE_TYPES.get(role) == ALL
    return all(may_see(role, t) for t in _types(service))


__all__ += ["ALL", "REDACTED_FIELDS", "VISIBLE_TYPES", "is_voiding", "may_see", "may_see_entry"]

LINK_CONFIRMERS: dict[str, frozenset[str]] = {
    "police": _roles("police", "prison_director", "judge"),
    "prison_registry": _roles("prison_registry", "prison_director", "judge"),
}
"""The proposer's role → the roles that may confirm (or reject) its person link."""

PERSON_SEARCHERS = _roles("police", "prison_registry", "prison_director", "judge", "prosecutor")
"""Roles that search the person registry (`GET /persons`)."""

__all__ += ["LINK_CONFIRMERS", "PERSON_SEARCHERS"]


_EVERYONE = ROLES
SERVICE_READERS: dict[str, frozenset[str]] = {
    "intake": _EVERYONE - {"civil_society", "religious_counsellor"},
    "judicial": _roles(
        "judge", "prosecutor", "police", "prison_registry", "prison_director", "assessor",
        "social_worker", "auditor", "admin",
    ),
    "assessment": _roles(
        "assessor", "prison_director", "prison_registry", "judge", "prosecutor", "social_worker",
        "auditor", "admin",
    ),
    "programmes": _EVERYONE - {"police"},
    "ledger": _EVERYONE,
}  # fmt: skip
"""Service → the roles that may read its views (`GET` routes); the ledger filters by type."""

SEALED_CASE_READERS = _roles("auditor", "judge")
"""A sealed case (SPEC §8) is visible only to these roles; to others it does not exist."""

STATS_READERS = _roles("auditor", "admin")
"""The roles that read the ledger's aggregate statistics (`GET /stats`, `caseline stats`): the
auditor role is the monitoring and evaluation officer's and the researcher's; counts only, small
ones suppressed, no case named (docs/statistics.md)."""

__all__ += ["SEALED_CASE_READERS", "SERVICE_READERS", "STATS_READERS"]


# --- what services may ask of each other (no human role: `shared.kit.service_auth`) ------------

SERVICE_CALLS: dict[str, frozenset[str]] = {
    # Reconciliation: which of the events a service published does the ledger lack?
    "reconcile": frozenset({"intake", "judicial", "assessment", "programmes"}),
    # Anchoring: the head of a service's read audit, anchored by the ledger.
    "audit-head": frozenset({"ledger"}),
}
"""Call → the services that may make it with a service token (each over its own signing key)."""

__all__ += ["SERVICE_CALLS"]


# --- which cases (SPEC §8, scoped to the agencies linked to them) -------------------------------
# Roles not named here see every case of the types they may see (sealed ones only if they are
# SEALED_CASE_READERS). The links come from events (`shared.kit.access_facts`), never from a filter.

CASE_SCOPE: dict[str, str] = {
    "police": "agency",
    "prison_registry": "facility",
    "prison_director": "facility",
    "civil_society": "org",
    "religious_counsellor": "org",
}
"""Role → how its cases are chosen: `agency` (the cases its agency's officers recorded an arrest,
custody or evidence for, or transferred), `facility` (the persons held now at the facility its
token names in the `facility` claim), `org` (the persons referred to and accepted by its
organisation, or enrolled in one of its programmes)."""

COMMAND_LINKS: dict[str, tuple[str, ...]] = {
    "caseline.programmes.ReferralAccepted.v1": ("referred",),
    "caseline.programmes.ReferralDeclined.v1": ("referred",),
}
"""Event type → links, besides those that show a case, that let an `org` caller record it:
an organisation answers a referral made to it before the person is linked to it."""

ARRIVAL_TYPES = frozenset({"caseline.intake.DetaineeAdmitted.v1"})
"""Event types a `facility` caller may record on a person no facility holds yet."""

__all__ += ["ARRIVAL_TYPES", "CASE_SCOPE", "COMMAND_LINKS"]

READ_AS: dict[str, str] = {
    "/cases/{case_id}/referrals/{referral_id}": "caseline.programmes.ReferralAccepted.v1",
}
"""Read route → an event type: the route shows a case to whoever may record that type on it
(the organisation a referral is made to reads the referral before the person is linked to it)."""

__all__ += ["READ_AS"]
