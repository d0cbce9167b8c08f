"""What programmes learns over the bus follows the other services' record, voidings included,
and reaches each reader as their role may see it.
"""

from __future__ import annotations

from shared.events import AssessmentEntryVoided
from tests.programmes.conftest import create_programme, enrol, publish, unique
from tests.support import auth


def test_a_release_voided_by_intake_is_forgotten(client, feed, social_worker):
    case_id = feed.case()
    release_id = feed.release(case_id)
    programme_id = create_programme(client, social_worker)

    feed.void_intake(case_id, release_id)
    enrolled = enrol(client, social_worker, programme_id, case_id)

    assert feed.view(case_id)["released_at"] is None
    assert enrolled.status_code == 201, enrolled.text


def test_a_voided_countersignature_gives_back_the_previous_risk(client, feed, settings):
    case_id = feed.case()
    feed.risk(case_id, "moderate")
    countersigned = feed.risk(case_id, "high")

    voided = AssessmentEntryVoided(voided_event_id=countersigned, reason="Wrong person assessed")
    publish(settings, (voided, case_id))

    assert feed.wait(case_id, risk="moderate")


def test_civil_society_sees_only_its_own_people_and_never_their_risk(
    client, feed, settings, social_worker
):
    theirs, others = feed.case(name="Moussa Diallo"), feed.case(name="Oumar Sidibé")
    feed.risk(theirs, "low")
    agency = unique("NGO")
    programme_id = create_programme(client, social_worker, provider_agency=agency)
    enrol(client, social_worker, programme_id, theirs)
    ngo = auth(settings, "civil_society", sub="fatou", agency=agency)

    listed = client.get("/cases", headers=ngo).json()
    own = client.get(f"/cases/{theirs}", headers=ngo)
    other = client.get(f"/cases/{others}", headers=ngo)

    assert [c["full_name"] for c in listed["items"]] == ["Moussa Diallo"]
    assert own.status_code == 200
    assert "risk" not in own.json()
    assert "keep_separate_from" not in own.json()
    assert other.status_code == 404
