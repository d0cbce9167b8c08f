"""The routes of the event-sourced services as the access tests know them: each command route and
the catalogue event it records (SPEC §7), and each read route. A route missing here fails a test.
"""

from __future__ import annotations

from shared.permissions import PERSON_SEARCHERS, SERVICE_READERS, STATS_READERS, may_see

SERVICES = ("intake", "judicial", "assessment", "programmes")
"""The event-sourced services, which take commands."""

READ_SERVICES = (*SERVICES, "ledger")
"""Every service that answers reads: the event-sourced ones and the ledger."""

_VOID = "/entries/{event_id}/void"

COMMAND_ROUTES: dict[str, dict[str, str]] = {
    "intake": {
        "/cases": "ArrestRecorded",
        "/cases/{case_id}/custody": "CustodyStarted",
        "/cases/{case_id}/custody/extensions": "CustodyExtended",
        "/cases/{case_id}/evidence": "EvidenceLogged",
        "/cases/{case_id}/transfers": "DetaineeTransferred",
        "/cases/{case_id}/admission": "DetaineeAdmitted",
        "/cases/{case_id}/family-contacts": "FamilyContactRecorded",
        "/cases/{case_id}/release": "DetaineeReleased",
        "/cases/{case_id}/erasure-requests": "PersonalDataErased",
        "/cases/{case_id}/erasure": "PersonalDataErased",
        "/cases/{case_id}/person-links": "PersonLinkProposed",
        "/cases/{case_id}/person-links/{link_id}/confirmation": "PersonLinkConfirmed",
        "/cases/{case_id}/person-links/{link_id}/rejection": "PersonLinkRejected",
        _VOID: "EntryVoided",
    },
    "judicial": {
        "/cases/{case_id}/charges": "ChargesFiled",
        "/cases/{case_id}/detention-orders": "PreTrialDetentionOrdered",
        "/cases/{case_id}/detention-orders/renewals": "PreTrialDetentionRenewed",
        "/cases/{case_id}/hearings": "HearingScheduled",
        "/cases/{case_id}/hearings/{hearing_id}/held": "HearingHeld",
        "/cases/{case_id}/hearings/{hearing_id}/adjourned": "HearingAdjourned",
        "/cases/{case_id}/verdict": "VerdictDelivered",
        "/cases/{case_id}/sentence": "SentenceImposed",
        "/cases/{case_id}/release-orders": "ReleaseOrdered",
        "/cases/{case_id}/seal": "CaseSealed",
        "/cases/{case_id}/erasure-orders": "ErasureOrdered",
        _VOID: "EntryVoided",
    },
    "assessment": {
        "/instruments": "InstrumentPublished",
        "/cases/{case_id}/assessments": "AssessmentStarted",
        "/cases/{case_id}/assessments/{assessment_id}/ratings": "IndicatorRated",
        "/cases/{case_id}/assessments/{assessment_id}/submission": "AssessmentSubmitted",
        "/cases/{case_id}/assessments/{assessment_id}/countersignature": "AssessmentCountersigned",
        "/cases/{case_id}/needs": "NeedsAssessed",
        "/cases/{case_id}/placement": "PlacementDecided",
        _VOID: "EntryVoided",
    },
    "programmes": {
        "/programmes": "ProgrammeCreated",
        "/programmes/{programme_id}/enrolments": "ParticipantEnrolled",
        "/programmes/{programme_id}/sessions": "SessionAttended",
        "/programmes/{programme_id}/completions": "ParticipantCompleted",
        "/programmes/{programme_id}/withdrawals": "ParticipantWithdrawn",
        "/cases/{case_id}/referrals": "ReferralMade",
        "/cases/{case_id}/referrals/{referral_id}/acceptance": "ReferralAccepted",
        "/cases/{case_id}/referrals/{referral_id}/declination": "ReferralDeclined",
        "/cases/{case_id}/reintegration-plan": "ReintegrationPlanAgreed",
        "/cases/{case_id}/follow-ups": "FollowUpRecorded",
        _VOID: "EntryVoided",
    },
}
"""Service → command route → the catalogue event it records (SPEC §7, voiding on every service,
and intake's erasure in two steps and judicial's erasure order, additions to SPEC §5)."""

_AUDIT = ("/audit", "/audit/head", "/audit/verify")

READ_ROUTES: dict[str, tuple[str, ...]] = {
    "intake": ("/cases", "/cases/{case_id}", "/persons", *_AUDIT),
    "judicial": ("/cases", "/cases/{case_id}", "/deadlines", *_AUDIT),
    "assessment": (
        "/cases",
        "/cases/{case_id}",
        "/cases/{case_id}/assessments/{assessment_id}",
        "/instruments",
        "/instruments/{instrument_id}/versions/{version}",
        "/reviews",
        "/placements/conflicts",
        *_AUDIT,
    ),
    "programmes": (
        "/programmes",
        "/programmes/{programme_id}",
        "/programmes/{programme_id}/summary",
        "/cases",
        "/cases/{case_id}",
        "/cases/{case_id}/referrals/{referral_id}",
        "/referrals",
        "/follow-ups",
        *_AUDIT,
    ),
    "ledger": (
        "/cases/{case_id}/timeline",
        "/cases/{case_id}/verify",
        "/cases/{case_id}/export",
        "/events",
        "/checkpoints/latest",
        "/checkpoints/key",
        "/checkpoints/{size}",
        "/proofs/inclusion",
        "/proofs/consistency",
        "/audit/cases/{case_id}",
        *_AUDIT,
    ),
}
"""Service → its guarded `GET` routes (health, readiness and metrics are open to all)."""

OPERATOR_ROUTES: dict[str, dict[str, frozenset[str]]] = {
    "ledger": {
        "/deliveries/parked": frozenset({"admin", "auditor"}),
        "/deliveries/agencies": frozenset({"admin", "auditor"}),
        # An agency's own people may look at their endpoint too (`agency` = theirs).
        "/agencies/{agency}/webhook": frozenset({"admin"}),
        # Aggregate statistics: no case, no agency; the M&E roles.
        "/stats": STATS_READERS,
    },
}
"""Service → guarded `GET` routes that name no case (operators' views of the deliveries, naming an
agency; the statistics) → the roles that read them: `tests/access/test_operator_routes.py`."""

UNGUARDED = ("/healthz", "/readyz", "/metrics")
"""The open `GET` routes every service has (in its OpenAPI document)."""

UNGUARDED_PAGES = (
    "/openapi.json", "/docs", "/docs/oauth2-redirect", "/docs/assets/{name}", "/redoc",
)  # fmt: skip
"""The framework's own pages: the API's description, no record."""

CONSOLE_PAGES = (
    "/console", "/console/app.js", "/console/console.css", "/console/bundle-viewer.html",
    "/console/messages/{lang}.json", "/console/stats", "/console/stats.js", "/console/registry",
    "/console/registry.js", "/console/config.json",
)  # fmt: skip
"""The ledger's console: pages, scripts and catalogues, no record (each call they make is guarded)."""

UNGUARDED_ROUTES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(READ_SERVICES, (*UNGUARDED, *UNGUARDED_PAGES)),
    "ledger": (*UNGUARDED, *UNGUARDED_PAGES, "/schemas/{name}", *CONSOLE_PAGES),
}
"""Service → the `GET` routes no read guard checks nor audits: they serve no case (the ledger's
JSON Schemas of the event types are public)."""

FULL_RECORD_ROLES = frozenset({"auditor", "judge"})
"""Roles that may take a case's whole stored record away (the ledger's evidence bundle)."""

_ONE_ASSESSMENT = ("AssessmentStarted", "IndicatorRated", "AssessmentSubmitted")

NARROWED_READERS: dict[tuple[str, str], frozenset[str]] = {
    **{(s, r): frozenset({"auditor"}) for s in READ_SERVICES for r in _AUDIT},
    ("judicial", "/deadlines"): frozenset(
        {"judge", "prosecutor", "police", "prison_registry", "prison_director", "auditor", "admin"}
    ),
    ("ledger", "/cases/{case_id}/export"): FULL_RECORD_ROLES,
    # One assessment shows its ratings one by one: for those who may see them.
    ("assessment", "/cases/{case_id}/assessments/{assessment_id}"): frozenset(
        role
        for role in SERVICE_READERS["assessment"]
        if all(may_see(role, f"caseline.assessment.{n}.v1") for n in _ONE_ASSESSMENT)
    ),
    ("ledger", "/audit/cases/{case_id}"): frozenset({"auditor"}),
    ("intake", "/persons"): PERSON_SEARCHERS,
}
"""Read routes that allow fewer roles than the service's readers, by a check of their own."""

PARTY_READERS: dict[tuple[str, str], frozenset[str]] = {
    ("programmes", "/cases/{case_id}/referrals/{referral_id}"): frozenset({"auditor", "admin"}),
}
"""Read routes of a thing between agencies (a referral): only its parties see it (404 to the
others), and these roles whatever their agency."""


def event_type(service: str, route: str) -> str:
    """The catalogue type a command route records, e.g. `caseline.intake.ArrestRecorded.v1`."""
    return f"caseline.{service}.{COMMAND_ROUTES[service][route]}.v1"
