"""Who may record what: the one permission table every service loads (SPEC §8).

Keys are catalogue event types; values are the roles that do that work. Automatic events (recorded
by the services themselves) allow no role. Visibility of event types for reads lives beside it.
"""

from __future__ import annotations

__all__ = ["COMMAND_ROLES", "ROLES"]

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
        # Voiding is allowed to those who may record something in that service; the service
        # then checks the role may record the voided entry's own type.
        table[f"caseline.{service}.EntryVoided.v1"] = frozenset().union(*events.values())
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
    "police": {},
}
"""Role → event type → dotted payload fields removed before the role sees the entry."""


def may_see(role: str, event_type: str) -> bool:
    visible = VISIBLE_TYPES.get(role, frozenset())
    return visible == ALL or event_type in visible


__all__ += ["ALL", "REDACTED_FIELDS", "VISIBLE_TYPES", "may_see"]


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

__all__ += ["SEALED_CASE_READERS", "SERVICE_READERS"]
