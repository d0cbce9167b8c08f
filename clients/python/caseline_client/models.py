"""Typed payloads of Caseline's event catalogue, generated from its JSON Schemas by
`caseline client-models`. Do not edit: regenerate. Every field is optional, since a delivery
leaves out the fields the receiving agency's role may not see."""

from __future__ import annotations

from typing import Literal, TypedDict


class AccompanyingPerson(TypedDict, total=False):
    "A family member arrested or received with the person (e.g. a returning fighter's child)."

    date_of_birth: str | None
    full_name: str  # required by the catalogue
    minor: bool | None
    relationship: str  # required by the catalogue
    sex: Literal["male", "female"] | None


class Domain(TypedDict, total=False):
    "A group of indicators of an instrument (e.g. 'ideology', 'social ties')."

    id: str  # required by the catalogue
    indicators: list[Indicator]  # required by the catalogue
    title: str  # required by the catalogue


class Indicator(TypedDict, total=False):
    "One rated item of an instrument."

    guidance: str | None
    id: str  # required by the catalogue
    scale: Scale  # required by the catalogue
    text: str  # required by the catalogue


class NextOfKin(TypedDict, total=False):
    "A person to inform, as given by the detainee on admission."

    contact: str | None
    full_name: str  # required by the catalogue
    relationship: str  # required by the catalogue


class Offence(TypedDict, total=False):
    "One offence charged."

    code: str  # required by the catalogue
    description: str  # required by the catalogue
    law_ref: str  # required by the catalogue


class Person(TypedDict, total=False):
    "The arrested person as identified at arrest."

    aliases: list[str]
    date_of_birth: str | None
    date_of_birth_estimated: bool
    father_name: str | None
    full_name: str  # required by the catalogue
    identity_document: str | None
    languages: list[str]
    minor: bool | None
    mother_name: str | None
    nationality: str  # required by the catalogue
    place_of_origin: str | None
    sex: Literal["male", "female"]  # required by the catalogue


class PropertyItem(TypedDict, total=False):
    "A personal belonging taken into safekeeping on admission (Mandela Rule 7(c))."

    description: str  # required by the catalogue
    quantity: int


class Scale(TypedDict, total=False):
    "The integer range an indicator is rated on, with optional labels for its values."

    labels: list[ScalePoint]
    max: int  # required by the catalogue
    min: int  # required by the catalogue


class ScalePoint(TypedDict, total=False):
    "The meaning of one value of a rating scale."

    label: str  # required by the catalogue
    value: int  # required by the catalogue


class AssessmentCountersignedV1(TypedDict, total=False):
    "A second professional, not the assessor, countersigned a submitted assessment."

    assessment_id: str  # required by the catalogue
    countersigned_by: str  # required by the catalogue
    note: str | None


class AssessmentDueV1(TypedDict, total=False):
    "An assessment fell due (on admission, or when a review comes round)."

    assessment_kind: Literal["risk", "needs"]  # required by the catalogue
    due_by: str  # required by the catalogue
    trigger: str  # required by the catalogue


class AssessmentStartedV1(TypedDict, total=False):
    "An assessor started an assessment with a given instrument version."

    assessment_id: str  # required by the catalogue
    assessor: str  # required by the catalogue
    instrument_id: str  # required by the catalogue
    instrument_version: int  # required by the catalogue
    started_at: str | None


class AssessmentSubmittedV1(TypedDict, total=False):
    "The assessor submitted a structured professional judgement of risk."

    assessment_id: str  # required by the catalogue
    next_review_by: str  # required by the catalogue
    overall_risk: Literal["low", "moderate", "high"]  # required by the catalogue
    rationale: str  # required by the catalogue
    submitted_at: str | None


class AssessmentEntryVoidedV1(TypedDict, total=False):
    "An assessment entry was voided (subject: the voided entry's case or instrument)."

    reason: str  # required by the catalogue
    voided_event_id: str  # required by the catalogue
    voided_event_type: str | None


class IndicatorRatedV1(TypedDict, total=False):
    "The assessor rated one indicator of an assessment in progress."

    assessment_id: str  # required by the catalogue
    evidence_note: str | None
    indicator_id: str  # required by the catalogue
    rating: int  # required by the catalogue


class InstrumentPublishedV1(TypedDict, total=False):
    "A new version of a structured assessment instrument was published."

    assessment_kind: Literal["risk", "needs"] | None
    description: str | None
    domains: list[Domain]  # required by the catalogue
    instrument_id: str  # required by the catalogue
    title: str  # required by the catalogue
    version: int  # required by the catalogue


class NeedsAssessedV1(TypedDict, total=False):
    "The person's education, skills and needs were assessed."

    assessed_at: str | None
    education_level: Literal[
        "none", "koranic", "primary", "secondary", "vocational", "higher"
    ]  # required by the catalogue
    family_situation: str | None
    health_needs: str | None
    languages: list[str]  # required by the catalogue
    literacy: Literal["none", "basic", "functional"]  # required by the catalogue
    skills: list[str]  # required by the catalogue
    vocational_interests: list[str]  # required by the catalogue


class PlacementDecidedV1(TypedDict, total=False):
    "A security classification and housing decision was made."

    decided_at: str | None
    decided_by: str  # required by the catalogue
    facility: str | None
    housing_unit: str | None
    keep_separate_from: list[str]
    rationale: str  # required by the catalogue
    security_level: Literal["minimum", "medium", "high", "maximum"]  # required by the catalogue


class ArrestRecordedV1(TypedDict, total=False):
    "A person was arrested; this opens the case."

    accompanying_family: list[AccompanyingPerson]
    arrested_at: str  # required by the catalogue
    arresting_unit: str  # required by the catalogue
    grounds: str  # required by the catalogue
    location: str  # required by the catalogue
    minor_at_facts: bool | None
    person: Person  # required by the catalogue
    person_id: str | None
    report_ref: str | None
    returning_foreign_fighter: bool  # required by the catalogue


class CustodyExtendedV1(TypedDict, total=False):
    "An authorised extension of police custody."

    authorised_at: str | None
    authorised_by: str  # required by the catalogue
    extended_until: str  # required by the catalogue
    reason: str  # required by the catalogue


class CustodyStartedV1(TypedDict, total=False):
    "Police custody (garde \u00e0 vue) began."

    legal_basis: str  # required by the catalogue
    location: str | None
    max_hours: int  # required by the catalogue
    started_at: str  # required by the catalogue


class DetaineeAdmittedV1(TypedDict, total=False):
    "The person was admitted to a prison (Mandela Rule 7 record)."

    admitted_at: str  # required by the catalogue
    facility: str  # required by the catalogue
    health_screening: str | None
    injuries_observed: str | None
    next_of_kin: list[NextOfKin]
    property_inventory: list[PropertyItem]
    quarter: Literal["adults", "minors"] | None
    register_number: str | None
    warrant_ref: str  # required by the catalogue


class DetaineeReleasedV1(TypedDict, total=False):
    "The person left custody under a release order."

    destination: str | None
    release_order_id: str  # required by the catalogue
    released_at: str  # required by the catalogue


class DetaineeTransferredV1(TypedDict, total=False):
    "The person was moved between places of detention."

    escort: str | None
    from_facility: str  # required by the catalogue
    reason: str  # required by the catalogue
    to_facility: str  # required by the catalogue
    to_quarter: Literal["adults", "minors"] | None
    transferred_at: str  # required by the catalogue


class IntakeEntryVoidedV1(TypedDict, total=False):
    "An intake entry was voided (subject: the voided entry's case)."

    reason: str  # required by the catalogue
    voided_event_id: str  # required by the catalogue
    voided_event_type: str | None


class EvidenceLoggedV1(TypedDict, total=False):
    "An item of evidence was collected or handed over (chain of custody)."

    collected_at: str  # required by the catalogue
    collected_by: str  # required by the catalogue
    description: str  # required by the catalogue
    handed_to: str | None
    item_id: str  # required by the catalogue
    storage_location: str | None


class FamilyContactRecordedV1(TypedDict, total=False):
    "The detainee had a visit, a call or a letter from family."

    at: str  # required by the catalogue
    duration_minutes: int | None
    kind: Literal["visit", "call", "letter"]  # required by the catalogue
    note: str | None
    relationship: str  # required by the catalogue
    with_whom: str  # required by the catalogue


class PersonLinkConfirmedV1(TypedDict, total=False):
    "A second person confirmed a proposed link: the case names `person_id` from now on."

    confirmed_by: str  # required by the catalogue
    kind: Literal["link", "unlink"]  # required by the catalogue
    link_id: str  # required by the catalogue
    person_id: str  # required by the catalogue


class PersonLinkProposedV1(TypedDict, total=False):
    "A registrar proposed the person the case names; nothing changes until a second confirms."

    kind: Literal["link", "unlink"]  # required by the catalogue
    link_id: str  # required by the catalogue
    match_reasons: list[str]
    person_id: str  # required by the catalogue
    proposed_by: str  # required by the catalogue
    reason: str  # required by the catalogue


class PersonLinkRejectedV1(TypedDict, total=False):
    "A proposed link was rejected: the case's person does not change."

    link_id: str  # required by the catalogue
    reason: str  # required by the catalogue
    rejected_by: str  # required by the catalogue


class PersonalDataErasedV1(TypedDict, total=False):
    "The case's personal data was erased by destroying its key (an addition to SPEC \u00a75)."

    erasure_order_id: str | None
    legal_basis: str | None
    reason: str  # required by the catalogue


class CaseSealedV1(TypedDict, total=False):
    "The case was sealed after a final acquittal or dismissal, or by order."

    reason: str  # required by the catalogue
    sealed_by: str  # required by the catalogue


class ChargesFiledV1(TypedDict, total=False):
    "The prosecutor filed charges."

    court: str | None
    filed_at: str  # required by the catalogue
    offences: list[Offence]  # required by the catalogue
    prosecutor: str  # required by the catalogue


class DetentionDeadlineBreachedV1(TypedDict, total=False):
    "Detention ran past its legal limit with no renewal, verdict or release."

    deadline_kind: Literal["custody", "pre_trial"]  # required by the catalogue
    detected_at: str  # required by the catalogue
    expired_at: str  # required by the catalogue


class JudicialEntryVoidedV1(TypedDict, total=False):
    "A judicial entry was voided (subject: the voided entry's case)."

    reason: str  # required by the catalogue
    voided_event_id: str  # required by the catalogue
    voided_event_type: str | None


class ErasureOrderedV1(TypedDict, total=False):
    "A court ordered the erasure of the person's personal data (an addition to SPEC \u00a75)."

    erasure_order_id: str  # required by the catalogue
    legal_basis: str  # required by the catalogue
    order_reference: str  # required by the catalogue
    ordered_at: str | None
    ordered_by: str  # required by the catalogue


class HearingAdjournedV1(TypedDict, total=False):
    "A scheduled hearing was adjourned."

    adjourned_at: str | None
    hearing_id: str  # required by the catalogue
    new_date: str | None
    reason: str  # required by the catalogue


class HearingHeldV1(TypedDict, total=False):
    "A scheduled hearing took place."

    defence_counsel: str | None
    hearing_id: str  # required by the catalogue
    held_at: str  # required by the catalogue
    outcome_summary: str  # required by the catalogue
    presiding_judge: str | None


class HearingScheduledV1(TypedDict, total=False):
    "A hearing was scheduled."

    court: str  # required by the catalogue
    hearing_id: str  # required by the catalogue
    purpose: str  # required by the catalogue
    scheduled_for: str  # required by the catalogue


class PreTrialDetentionOrderedV1(TypedDict, total=False):
    "A judge ordered detention pending trial."

    expires_at: str  # required by the catalogue
    legal_basis: str  # required by the catalogue
    ordered_at: str  # required by the catalogue
    ordered_by: str  # required by the catalogue
    warrant_ref: str | None


class PreTrialDetentionRenewedV1(TypedDict, total=False):
    "A judge renewed pre-trial detention."

    expires_at: str  # required by the catalogue
    reason: str | None
    renewed_at: str  # required by the catalogue
    renewed_by: str  # required by the catalogue


class ReleaseOrderedV1(TypedDict, total=False):
    "A judge ordered the person's release."

    conditions: list[str]
    effective_at: str  # required by the catalogue
    kind: Literal[
        "acquittal", "dismissal", "sentence_served", "conditional", "bail"
    ]  # required by the catalogue
    ordered_at: str | None
    ordered_by: str | None
    release_order_id: str  # required by the catalogue


class SentenceImposedV1(TypedDict, total=False):
    "The court imposed a custodial sentence."

    conditions: list[str]
    credit_for_time_served_days: int  # required by the catalogue
    imposed_at: str | None
    release_date: str | None
    starts_on: str  # required by the catalogue
    term_days: int  # required by the catalogue


class VerdictDeliveredV1(TypedDict, total=False):
    "The court delivered its verdict."

    court: str  # required by the catalogue
    delivered_at: str  # required by the catalogue
    offences_proven: list[str]
    outcome: Literal["convicted", "acquitted", "dismissed"]  # required by the catalogue


class ProgrammesEntryVoidedV1(TypedDict, total=False):
    "A programmes entry was voided (subject: the voided entry's case or programme)."

    reason: str  # required by the catalogue
    voided_event_id: str  # required by the catalogue
    voided_event_type: str | None


class FollowUpRecordedV1(TypedDict, total=False):
    "A released person was followed up."

    at: str  # required by the catalogue
    note: str  # required by the catalogue
    status: Literal[
        "on_track", "concern", "lost_contact", "reoffended"
    ]  # required by the catalogue


class ParticipantCompletedV1(TypedDict, total=False):
    "The person completed a programme."

    certificate_ref: str | None
    completed_at: str  # required by the catalogue
    programme_id: str  # required by the catalogue


class ParticipantEnrolledV1(TypedDict, total=False):
    "The person was enrolled in a programme."

    enrolled_at: str  # required by the catalogue
    programme_id: str  # required by the catalogue


class ParticipantWithdrawnV1(TypedDict, total=False):
    "The person left a programme before completing it."

    programme_id: str  # required by the catalogue
    reason: str  # required by the catalogue
    withdrawn_at: str  # required by the catalogue


class ProgrammeCreatedV1(TypedDict, total=False):
    "A programme was added to the catalogue."

    attendance_threshold: int
    capacity: int  # required by the catalogue
    description: str | None
    ends_on: str | None
    facility: str | None
    kind: Literal[
        "vocational",
        "psychological",
        "religious_dialogue",
        "community_dialogue",
        "education",
        "family_reconnection",
        "reintegration",
    ]  # required by the catalogue
    max_risk_level: Literal["low", "moderate", "high"] | None
    programme_id: str  # required by the catalogue
    provider_agency: str  # required by the catalogue
    starts_on: str | None
    title: str  # required by the catalogue


class ReferralAcceptedV1(TypedDict, total=False):
    "The receiving agency accepted a referral."

    by_agency: str  # required by the catalogue
    reason: str | None
    referral_id: str  # required by the catalogue


class ReferralDeclinedV1(TypedDict, total=False):
    "The receiving agency declined a referral."

    by_agency: str  # required by the catalogue
    reason: str | None
    referral_id: str  # required by the catalogue


class ReferralMadeV1(TypedDict, total=False):
    "The person was referred to another agency, with consent or on a stated legal basis."

    consent: Literal["given", "legal_basis"]  # required by the catalogue
    legal_basis: str | None
    reason: str  # required by the catalogue
    referral_id: str  # required by the catalogue
    to_agency: str  # required by the catalogue


class ReintegrationPlanAgreedV1(TypedDict, total=False):
    "A reintegration plan was agreed with the person."

    agreed_at: str | None
    community_contact: str  # required by the catalogue
    employment: str | None
    goals: list[str]  # required by the catalogue
    housing: str | None
    mentor: str | None


class SessionAttendedV1(TypedDict, total=False):
    "The person attended one session of a programme."

    facilitator: str  # required by the catalogue
    programme_id: str  # required by the catalogue
    session_date: str  # required by the catalogue
    session_id: str | None
    topic: str | None


EVENT_TYPES: dict[str, type] = {
    "caseline.assessment.AssessmentCountersigned.v1": AssessmentCountersignedV1,
    "caseline.assessment.AssessmentDue.v1": AssessmentDueV1,
    "caseline.assessment.AssessmentStarted.v1": AssessmentStartedV1,
    "caseline.assessment.AssessmentSubmitted.v1": AssessmentSubmittedV1,
    "caseline.assessment.EntryVoided.v1": AssessmentEntryVoidedV1,
    "caseline.assessment.IndicatorRated.v1": IndicatorRatedV1,
    "caseline.assessment.InstrumentPublished.v1": InstrumentPublishedV1,
    "caseline.assessment.NeedsAssessed.v1": NeedsAssessedV1,
    "caseline.assessment.PlacementDecided.v1": PlacementDecidedV1,
    "caseline.intake.ArrestRecorded.v1": ArrestRecordedV1,
    "caseline.intake.CustodyExtended.v1": CustodyExtendedV1,
    "caseline.intake.CustodyStarted.v1": CustodyStartedV1,
    "caseline.intake.DetaineeAdmitted.v1": DetaineeAdmittedV1,
    "caseline.intake.DetaineeReleased.v1": DetaineeReleasedV1,
    "caseline.intake.DetaineeTransferred.v1": DetaineeTransferredV1,
    "caseline.intake.EntryVoided.v1": IntakeEntryVoidedV1,
    "caseline.intake.EvidenceLogged.v1": EvidenceLoggedV1,
    "caseline.intake.FamilyContactRecorded.v1": FamilyContactRecordedV1,
    "caseline.intake.PersonLinkConfirmed.v1": PersonLinkConfirmedV1,
    "caseline.intake.PersonLinkProposed.v1": PersonLinkProposedV1,
    "caseline.intake.PersonLinkRejected.v1": PersonLinkRejectedV1,
    "caseline.intake.PersonalDataErased.v1": PersonalDataErasedV1,
    "caseline.judicial.CaseSealed.v1": CaseSealedV1,
    "caseline.judicial.ChargesFiled.v1": ChargesFiledV1,
    "caseline.judicial.DetentionDeadlineBreached.v1": DetentionDeadlineBreachedV1,
    "caseline.judicial.EntryVoided.v1": JudicialEntryVoidedV1,
    "caseline.judicial.ErasureOrdered.v1": ErasureOrderedV1,
    "caseline.judicial.HearingAdjourned.v1": HearingAdjournedV1,
    "caseline.judicial.HearingHeld.v1": HearingHeldV1,
    "caseline.judicial.HearingScheduled.v1": HearingScheduledV1,
    "caseline.judicial.PreTrialDetentionOrdered.v1": PreTrialDetentionOrderedV1,
    "caseline.judicial.PreTrialDetentionRenewed.v1": PreTrialDetentionRenewedV1,
    "caseline.judicial.ReleaseOrdered.v1": ReleaseOrderedV1,
    "caseline.judicial.SentenceImposed.v1": SentenceImposedV1,
    "caseline.judicial.VerdictDelivered.v1": VerdictDeliveredV1,
    "caseline.programmes.EntryVoided.v1": ProgrammesEntryVoidedV1,
    "caseline.programmes.FollowUpRecorded.v1": FollowUpRecordedV1,
    "caseline.programmes.ParticipantCompleted.v1": ParticipantCompletedV1,
    "caseline.programmes.ParticipantEnrolled.v1": ParticipantEnrolledV1,
    "caseline.programmes.ParticipantWithdrawn.v1": ParticipantWithdrawnV1,
    "caseline.programmes.ProgrammeCreated.v1": ProgrammeCreatedV1,
    "caseline.programmes.ReferralAccepted.v1": ReferralAcceptedV1,
    "caseline.programmes.ReferralDeclined.v1": ReferralDeclinedV1,
    "caseline.programmes.ReferralMade.v1": ReferralMadeV1,
    "caseline.programmes.ReintegrationPlanAgreed.v1": ReintegrationPlanAgreedV1,
    "caseline.programmes.SessionAttended.v1": SessionAttendedV1,
}
"""Event type → its payload class."""
