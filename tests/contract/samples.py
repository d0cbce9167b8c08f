"""One realistic payload per event type, as JSON would carry it (synthetic people and places)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.events.registry import by_type

CASE_ID = UUID("0b7e5c1e-4f7a-4d3c-9a55-2f0a3c6d8e01")
PROGRAMME_ID = "5f3c2a10-8d4e-4b6f-a1c2-7e9d0b1a2c3d"
INSTRUMENT_ID = "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
ASSESSMENT_ID = "c4d5e6f7-1a2b-4c3d-9e8f-7a6b5c4d3e2f"
HEARING_ID = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
RELEASE_ORDER_ID = "7d6c5b4a-3e2f-4a1b-9c8d-6e5f4a3b2c1d"
REFERRAL_ID = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"

_LIKERT = {
    "min": 0,
    "max": 2,
    "labels": [
        {"value": 0, "label": "absent"},
        {"value": 1, "label": "partly present"},
        {"value": 2, "label": "present"},
    ],
}


def _voided(event_id: str, voided_type: str) -> dict[str, Any]:
    return {
        "voided_event_id": event_id,
        "reason": "Recorded on the wrong case file; recorded anew on the right one.",
        "voided_event_type": voided_type,
    }


SAMPLES: dict[str, dict[str, Any]] = {
    "caseline.intake.ArrestRecorded.v1": {
        "person": {
            "full_name": "Moussa Diarra",
            "aliases": ["Abou Souleymane"],
            "date_of_birth": "1994-03-12",
            "date_of_birth_estimated": True,
            "sex": "male",
            "nationality": "ML",
            "languages": ["Bambara", "Fulfulde", "French"],
            "place_of_origin": "Douentza, Mopti region",
            "identity_document": None,
        },
        "arrested_at": "2025-02-03T05:40:00Z",
        "location": "Checkpoint at the northern entrance of Sévaré",
        "arresting_unit": "Gendarmerie nationale, brigade de Sévaré",
        "grounds": "Suspected membership of an armed group; weapons found in the vehicle.",
        "returning_foreign_fighter": False,
        "accompanying_family": [
            {
                "full_name": "Awa Diarra",
                "relationship": "daughter",
                "date_of_birth": None,
                "sex": "female",
                "minor": True,
            }
        ],
        "report_ref": "PV-2025-0112/BS",
    },
    "caseline.intake.CustodyStarted.v1": {
        "started_at": "2025-02-03T06:15:00Z",
        "legal_basis": "Code de procédure pénale, garde à vue for terrorism offences",
        "max_hours": 48,
        "location": "Brigade de Sévaré",
    },
    "caseline.intake.CustodyExtended.v1": {
        "extended_until": "2025-02-07T06:15:00Z",
        "authorised_by": "Procureur, pôle judiciaire spécialisé",
        "reason": "Analysis of seized telephones still in progress.",
        "authorised_at": "2025-02-05T05:30:00Z",
    },
    "caseline.intake.EvidenceLogged.v1": {
        "item_id": "SCEL-2025-0412",
        "description": "Mobile telephone, black, cracked screen, sealed bag",
        "collected_by": "Adjudant Keita",
        "collected_at": "2025-02-03T05:55:00Z",
        "handed_to": "Brigade d'investigation judiciaire, Bamako",
        "storage_location": "Evidence room B, shelf 4",
    },
    "caseline.intake.DetaineeTransferred.v1": {
        "from_facility": "Brigade de Sévaré",
        "to_facility": "Maison centrale d'arrêt de Bamako",
        "transferred_at": "2025-02-07T04:00:00Z",
        "reason": "Committal by the specialised judicial pole",
        "escort": "Garde nationale",
    },
    "caseline.intake.DetaineeAdmitted.v1": {
        "facility": "Maison centrale d'arrêt de Bamako",
        "admitted_at": "2025-02-07T14:20:00+01:00",
        "warrant_ref": "MD-PJS-2025-031",
        "register_number": "E-2025-1187",
        "health_screening": "Seen by the nurse; no acute condition; malaria test negative.",
        "property_inventory": [
            {"description": "Wristwatch", "quantity": 1},
            {"description": "Banknotes, CFA francs 5,000", "quantity": 3},
        ],
        "next_of_kin": [
            {
                "full_name": "Fatoumata Diarra",
                "relationship": "mother",
                "contact": "+223 70 00 00 00",
            }
        ],
        "injuries_observed": None,
    },
    "caseline.intake.FamilyContactRecorded.v1": {
        "kind": "visit",
        "with_whom": "Fatoumata Diarra",
        "relationship": "mother",
        "at": "2025-03-01T10:00:00Z",
        "duration_minutes": 30,
        "note": None,
    },
    "caseline.intake.DetaineeReleased.v1": {
        "released_at": "2027-08-15T09:00:00Z",
        "release_order_id": RELEASE_ORDER_ID,
        "destination": "Family home in Sévaré, with the reintegration programme",
    },
    "caseline.intake.PersonalDataErased.v1": {
        "reason": "Order of the specialised court after a final acquittal (sample)",
        "legal_basis": "Data-protection law, right to erasure",
        "erasure_order_id": "8e7d6c5b-4a3f-4e2d-9c1b-0a9f8e7d6c5b",
    },
    "caseline.intake.PersonLinkProposed.v1": {
        "link_id": "4b3a2c1d-0e9f-4a8b-8c7d-6e5f4a3b2c1d",
        "kind": "link",
        "person_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "proposed_by": "u-0002",
        "reason": "Same father and birth year as the earlier case (sample)",
        "match_reasons": [
            "name: 3 of 3 tokens (3 by sound)",
            "father's name: 1 of 1 tokens (1 by sound)",
        ],
    },
    "caseline.intake.PersonLinkConfirmed.v1": {
        "link_id": "4b3a2c1d-0e9f-4a8b-8c7d-6e5f4a3b2c1d",
        "kind": "link",
        "person_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "confirmed_by": "u-0003",
    },
    "caseline.intake.PersonLinkRejected.v1": {
        "link_id": "4b3a2c1d-0e9f-4a8b-8c7d-6e5f4a3b2c1d",
        "rejected_by": "u-0003",
        "reason": "Different mother; not the same person (sample)",
    },
    "caseline.intake.EntryVoided.v1": _voided(
        "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "caseline.intake.FamilyContactRecorded.v1"
    ),
    "caseline.judicial.ChargesFiled.v1": {
        "offences": [
            {
                "code": "ASSOC-TERR",
                "description": "Association de malfaiteurs, entreprise terroriste",
                "law_ref": "Loi n°2008-025, art. 7",
            },
            {
                "code": "ARMS-ILLEGAL",
                "description": "Illegal possession of firearms",
                "law_ref": "Code pénal, art. 210",
            },
        ],
        "prosecutor": "Procureur de la République, pôle judiciaire spécialisé",
        "filed_at": "2025-02-07T09:00:00Z",
        "court": "Pôle judiciaire spécialisé, Bamako",
    },
    "caseline.judicial.PreTrialDetentionOrdered.v1": {
        "ordered_by": "Juge d'instruction, cabinet 2",
        "ordered_at": "2025-02-07T11:00:00Z",
        "expires_at": "2026-02-07T11:00:00Z",
        "legal_basis": "Code de procédure pénale, détention provisoire",
        "warrant_ref": "MD-PJS-2025-031",
    },
    "caseline.judicial.PreTrialDetentionRenewed.v1": {
        "renewed_by": "Juge d'instruction, cabinet 2",
        "renewed_at": "2026-02-02T10:00:00Z",
        "expires_at": "2026-08-07T11:00:00Z",
        "reason": "Investigation abroad pending",
    },
    "caseline.judicial.DetentionDeadlineBreached.v1": {
        "deadline_kind": "pre_trial",
        "expired_at": "2026-08-07T11:00:00Z",
        "detected_at": "2026-08-07T11:00:24Z",
    },
    "caseline.judicial.HearingScheduled.v1": {
        "hearing_id": HEARING_ID,
        "court": "Cour d'assises spéciale, Bamako",
        "scheduled_for": "2026-05-12T08:30:00Z",
        "purpose": "Trial",
    },
    "caseline.judicial.HearingHeld.v1": {
        "hearing_id": HEARING_ID,
        "held_at": "2026-06-02T08:45:00Z",
        "outcome_summary": "Witnesses heard; deliberation set for the afternoon.",
        "presiding_judge": "Président de la cour d'assises spéciale",
        "defence_counsel": "Me Coulibaly",
    },
    "caseline.judicial.HearingAdjourned.v1": {
        "hearing_id": HEARING_ID,
        "reason": "Interpreter for Fulfulde absent",
        "new_date": "2026-06-02T08:30:00Z",
        "adjourned_at": "2026-05-12T09:10:00Z",
    },
    "caseline.judicial.VerdictDelivered.v1": {
        "outcome": "convicted",
        "court": "Cour d'assises spéciale, Bamako",
        "delivered_at": "2026-06-02T17:30:00Z",
        "offences_proven": ["ARMS-ILLEGAL"],
    },
    "caseline.judicial.SentenceImposed.v1": {
        "term_days": 1095,
        "starts_on": "2026-06-02",
        "credit_for_time_served_days": 485,
        "conditions": ["Participation in a disengagement programme"],
        "release_date": "2028-01-31",
        "imposed_at": "2026-06-02T17:45:00Z",
    },
    "caseline.judicial.ReleaseOrdered.v1": {
        "release_order_id": RELEASE_ORDER_ID,
        "kind": "conditional",
        "effective_at": "2027-08-15T08:00:00Z",
        "conditions": [
            "Report monthly to the gendarmerie of Sévaré",
            "Follow the reintegration plan",
        ],
        "ordered_by": "Juge de l'application des peines",
        "ordered_at": "2027-08-10T10:00:00Z",
    },
    "caseline.judicial.CaseSealed.v1": {
        "reason": "Acquittal final after the appeal period",
        "sealed_by": "system",
    },
    "caseline.judicial.ErasureOrdered.v1": {
        "erasure_order_id": "8e7d6c5b-4a3f-4e2d-9c1b-0a9f8e7d6c5b",
        "order_reference": "TGI Bamako, ordonnance n° 2031/17",
        "legal_basis": "Loi n° 2013-015 sur la protection des données, art. 12",
        "ordered_by": "Juge d'instruction du pôle spécialisé",
        "ordered_at": "2028-01-04T10:00:00Z",
    },
    "caseline.judicial.EntryVoided.v1": _voided(
        "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a", "caseline.judicial.HearingScheduled.v1"
    ),
    "caseline.assessment.InstrumentPublished.v1": {
        "instrument_id": INSTRUMENT_ID,
        "version": 2,
        "title": "Sahel structured risk assessment",
        "domains": [
            {
                "id": "ideology",
                "title": "Beliefs and attitudes",
                "indicators": [
                    {
                        "id": "I1",
                        "text": "Commitment to an ideology justifying violence",
                        "scale": _LIKERT,
                        "guidance": "Rate on what the person says and does, not on the charge.",
                    }
                ],
            },
            {
                "id": "social",
                "title": "Social ties",
                "indicators": [
                    {
                        "id": "S1",
                        "text": "Family support for disengagement",
                        "scale": {"min": 0, "max": 2, "labels": []},
                        "guidance": None,
                    },
                    {
                        "id": "S2",
                        "text": "Contact with members of the armed group",
                        "scale": _LIKERT,
                        "guidance": None,
                    },
                ],
            },
        ],
        "assessment_kind": "risk",
        "description": None,
    },
    "caseline.assessment.AssessmentDue.v1": {
        "assessment_kind": "risk",
        "due_by": "2025-03-09T13:20:00Z",
        "trigger": "admission",
    },
    "caseline.assessment.AssessmentStarted.v1": {
        "assessment_id": ASSESSMENT_ID,
        "instrument_id": INSTRUMENT_ID,
        "instrument_version": 2,
        "assessor": "Mme Sidibé, psychologist",
        "started_at": "2025-02-20T09:00:00Z",
    },
    "caseline.assessment.IndicatorRated.v1": {
        "assessment_id": ASSESSMENT_ID,
        "indicator_id": "I1",
        "rating": 1,
        "evidence_note": "Expresses doubt about the group's leaders in two interviews.",
    },
    "caseline.assessment.AssessmentSubmitted.v1": {
        "assessment_id": ASSESSMENT_ID,
        "overall_risk": "moderate",
        "rationale": "Loosening commitment, strong family support, continued contacts.",
        "next_review_by": "2025-08-20T00:00:00Z",
        "submitted_at": None,
    },
    "caseline.assessment.AssessmentCountersigned.v1": {
        "assessment_id": ASSESSMENT_ID,
        "countersigned_by": "M. Traoré, senior assessor",
        "note": None,
    },
    "caseline.assessment.NeedsAssessed.v1": {
        "literacy": "basic",
        "languages": ["Bambara", "Fulfulde"],
        "education_level": "koranic",
        "vocational_interests": ["mechanics", "livestock"],
        "skills": ["herding", "motorcycle repair"],
        "family_situation": "Married, two children living with his mother.",
        "health_needs": None,
        "assessed_at": "2025-02-21T10:00:00Z",
    },
    "caseline.assessment.PlacementDecided.v1": {
        "security_level": "high",
        "keep_separate_from": ["6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"],
        "rationale": "Moderate risk; former unit commander held in the same prison.",
        "decided_by": "Prison director, Maison centrale d'arrêt de Bamako",
        "facility": "Maison centrale d'arrêt de Bamako",
        "housing_unit": "Block C",
        "decided_at": None,
    },
    "caseline.assessment.EntryVoided.v1": _voided(
        "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", "caseline.assessment.IndicatorRated.v1"
    ),
    "caseline.programmes.ProgrammeCreated.v1": {
        "programme_id": PROGRAMME_ID,
        "kind": "vocational",
        "title": "Motorcycle mechanics workshop",
        "provider_agency": "ONG Jeunesse et Avenir",
        "capacity": 12,
        "max_risk_level": "moderate",
        "facility": "Maison centrale d'arrêt de Bamako",
        "attendance_threshold": 20,
        "description": "Twenty practical sessions leading to a certificate.",
        "starts_on": "2025-04-01",
        "ends_on": "2025-07-31",
    },
    "caseline.programmes.ParticipantEnrolled.v1": {
        "programme_id": PROGRAMME_ID,
        "enrolled_at": "2025-03-25T09:00:00Z",
    },
    "caseline.programmes.SessionAttended.v1": {
        "programme_id": PROGRAMME_ID,
        "session_date": "2025-04-03",
        "facilitator": "Ibrahim Maïga",
        "session_id": "8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b",
        "topic": "Two-stroke engines",
    },
    "caseline.programmes.ParticipantCompleted.v1": {
        "programme_id": PROGRAMME_ID,
        "completed_at": "2025-07-31T15:00:00Z",
        "certificate_ref": "JA-MEC-2025-007",
    },
    "caseline.programmes.ParticipantWithdrawn.v1": {
        "programme_id": PROGRAMME_ID,
        "withdrawn_at": "2025-05-10T09:00:00Z",
        "reason": "Transferred to another prison",
    },
    "caseline.programmes.ReferralMade.v1": {
        "referral_id": REFERRAL_ID,
        "to_agency": "Centre de santé mentale, Bamako",
        "reason": "Symptoms of post-traumatic stress",
        "consent": "given",
        "legal_basis": None,
    },
    "caseline.programmes.ReferralAccepted.v1": {
        "referral_id": REFERRAL_ID,
        "by_agency": "Centre de santé mentale, Bamako",
        "reason": None,
    },
    "caseline.programmes.ReferralDeclined.v1": {
        "referral_id": REFERRAL_ID,
        "by_agency": "Centre de santé mentale, Bamako",
        "reason": "No capacity before next quarter",
    },
    "caseline.programmes.ReintegrationPlanAgreed.v1": {
        "goals": ["Open a repair shop", "Reconcile with the village elders"],
        "employment": "Apprenticeship at a garage in Sévaré",
        "housing": "Family compound",
        "mentor": "Imam of the Sévaré neighbourhood mosque",
        "community_contact": "Village chief's council, Douentza",
        "agreed_at": "2027-07-20T10:00:00Z",
    },
    "caseline.programmes.FollowUpRecorded.v1": {
        "at": "2027-11-15T10:00:00Z",
        "status": "on_track",
        "note": "Working at the garage; reports monthly as ordered.",
    },
    "caseline.programmes.EntryVoided.v1": _voided(
        "6f7a8b9c-0d1e-4f2a-9b3c-4d5e6f7a8b9c", "caseline.programmes.SessionAttended.v1"
    ),
}
"""Payloads by event `type`, as the HTTP APIs and the bus carry them."""


def subject_of(type_name: str) -> str:
    """The envelope subject a sample goes under: the catalogue object it creates, else the case."""
    field = by_type(type_name).subject_name
    return str(SAMPLES[type_name].get(field, CASE_ID))
