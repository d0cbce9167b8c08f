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
