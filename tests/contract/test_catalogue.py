"""The catalogue holds every event of SPEC §5, each well described."""

from __future__ import annotations

import pytest

from shared.events.base import CatalogueEvent
from shared.events.registry import EVENT_TYPES

from .samples import SAMPLES

EXPECTED_TYPES = {
    "caseline.intake.ArrestRecorded.v1",
    "caseline.intake.CustodyStarted.v1",
    "caseline.intake.CustodyExtended.v1",
    "caseline.intake.EvidenceLogged.v1",
    "caseline.intake.DetaineeTransferred.v1",
    "caseline.intake.DetaineeAdmitted.v1",
    "caseline.intake.FamilyContactRecorded.v1",
    "caseline.intake.DetaineeReleased.v1",
    "caseline.intake.PersonalDataErased.v1",
    "caseline.intake.PersonLinkProposed.v1",
    "caseline.intake.PersonLinkConfirmed.v1",
    "caseline.intake.PersonLinkRejected.v1",
    "caseline.intake.EntryVoided.v1",
    "caseline.judicial.ChargesFiled.v1",
    "caseline.judicial.PreTrialDetentionOrdered.v1",
    "caseline.judicial.PreTrialDetentionRenewed.v1",
    "caseline.judicial.DetentionDeadlineBreached.v1",
    "caseline.judicial.HearingScheduled.v1",
    "caseline.judicial.HearingHeld.v1",
    "caseline.judicial.HearingAdjourned.v1",
    "caseline.judicial.VerdictDelivered.v1",
    "caseline.judicial.SentenceImposed.v1",
    "caseline.judicial.ReleaseOrdered.v1",
    "caseline.judicial.CaseSealed.v1",
    "caseline.judicial.ErasureOrdered.v1",
    "caseline.judicial.EntryVoided.v1",
    "caseline.assessment.InstrumentPublished.v1",
    "caseline.assessment.AssessmentDue.v1",
    "caseline.assessment.AssessmentStarted.v1",
    "caseline.assessment.IndicatorRated.v1",
    "caseline.assessment.AssessmentSubmitted.v1",
    "caseline.assessment.AssessmentCountersigned.v1",
    "caseline.assessment.NeedsAssessed.v1",
    "caseline.assessment.PlacementDecided.v1",
    "caseline.assessment.EntryVoided.v1",
    "caseline.programmes.ProgrammeCreated.v1",
    "caseline.programmes.ParticipantEnrolled.v1",
    "caseline.programmes.SessionAttended.v1",
    "caseline.programmes.ParticipantCompleted.v1",
    "caseline.programmes.ParticipantWithdrawn.v1",
    "caseline.programmes.ReferralMade.v1",
    "caseline.programmes.ReferralAccepted.v1",
    "caseline.programmes.ReferralDeclined.v1",
    "caseline.programmes.ReintegrationPlanAgreed.v1",
    "caseline.programmes.FollowUpRecorded.v1",
    "caseline.programmes.EntryVoided.v1",
}


def test_every_event_of_the_spec_is_in_the_catalogue() -> None:
    types = [cls.type_name() for cls in EVENT_TYPES]

    assert len(types) == len(set(types))
    assert set(types) == EXPECTED_TYPES


def test_every_event_type_has_a_sample_payload() -> None:
    assert set(SAMPLES) == EXPECTED_TYPES


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.schema_name())
def test_every_event_states_its_business_fact_in_one_line(cls: type[CatalogueEvent]) -> None:
    doc = cls.__doc__ or ""

    assert doc.strip()
    assert "\n" not in doc.strip()


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.schema_name())
def test_every_time_field_is_a_field_of_the_event(cls: type[CatalogueEvent]) -> None:
    assert cls.time_field is None or cls.time_field in cls.model_fields


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.schema_name())
def test_event_models_are_named_after_their_event(cls: type[CatalogueEvent]) -> None:
    assert cls.__name__.endswith(cls.event_name)
    assert cls.event_name == "EntryVoided" or cls.__name__ == cls.event_name
