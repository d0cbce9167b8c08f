"""Enrolment refuses, with the reason and recording nothing, whoever a rule keeps out; the facts
the rules use (risk, placement, facility, release) arrive from the other services over the bus.
"""

from __future__ import annotations

from uuid import uuid4

import pytest

from tests.programmes.conftest import (
    KOULIKORO,
    create_programme,
    enrol,
    programme_state,
    rule_of,
)


def _refused(client, headers, programme_id, case_id, rule):
    before = programme_state(client, headers, programme_id)

    response = enrol(client, headers, programme_id, case_id)

    assert response.status_code == 409, response.text
    assert rule_of(response) == rule
    assert programme_state(client, headers, programme_id) == before
    return response.json()["detail"]


def test_risk_above_the_maximum_is_refused_until_a_newer_lower_risk_is_countersigned(
    client, feed, social_worker
):
    case_id = feed.case()
    feed.risk(case_id, "high")
    programme_id = create_programme(client, social_worker, max_risk_level="moderate")

    detail = _refused(client, social_worker, programme_id, case_id, "risk-above-maximum")
    feed.risk(case_id, "moderate")
    accepted = enrol(client, social_worker, programme_id, case_id)

    assert "moderate" in detail
    assert accepted.status_code == 201, accepted.text


def test_a_submitted_risk_counts_only_once_countersigned(client, feed, social_worker):
    case_id = feed.case()
    feed.risk(case_id, "high")
    feed.risk(case_id, "low", countersign=False)
    programme_id = create_programme(client, social_worker, max_risk_level="low")

    _refused(client, social_worker, programme_id, case_id, "risk-above-maximum")


def test_without_a_countersigned_risk_a_programme_with_a_maximum_refuses(
    client, feed, social_worker
):
    case_id = feed.case()
    programme_id = create_programme(client, social_worker, max_risk_level="high")

    detail = _refused(client, social_worker, programme_id, case_id, "risk-not-assessed")

    assert "countersigned" in detail


def test_a_full_programme_refuses_the_next_enrolment(client, feed, social_worker):
    first, second = feed.case(), feed.case()
    programme_id = create_programme(client, social_worker, capacity=1)
    assert enrol(client, social_worker, programme_id, first).status_code == 201

    detail = _refused(client, social_worker, programme_id, second, "capacity-full")

    assert "1 places" in detail


def test_a_person_held_in_another_facility_is_refused_until_transferred_there(
    client, feed, social_worker
):
    case_id = feed.case(facility=KOULIKORO)
    programme_id = create_programme(client, social_worker)

    detail = _refused(client, social_worker, programme_id, case_id, "other-facility")
    feed.transfer(case_id, KOULIKORO, "Maison Centrale d'Arrêt de Bamako")
    accepted = enrol(client, social_worker, programme_id, case_id)

    assert "Bamako" in detail
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize("whose_placement", ["the candidate's", "the participant's"])
def test_a_person_kept_apart_from_a_participant_is_refused(
    client, feed, social_worker, whose_placement
):
    participant, candidate = feed.case(), feed.case()
    if whose_placement == "the candidate's":
        feed.keep_apart(candidate, participant)
    else:
        feed.keep_apart(participant, uuid4(), candidate)
    programme_id = create_programme(client, social_worker)
    assert enrol(client, social_worker, programme_id, participant).status_code == 201

    _refused(client, social_worker, programme_id, candidate, "keep-apart")


def test_a_released_person_is_refused_except_by_reintegration_programmes(
    client, feed, social_worker
):
    case_id = feed.case()
    feed.release(case_id)
    vocational = create_programme(client, social_worker)
    reintegration = create_programme(
        client, social_worker, kind="reintegration", title="Return to Douentza", facility=None
    )

    detail = _refused(client, social_worker, vocational, case_id, "person-released")
    accepted = enrol(client, social_worker, reintegration, case_id)

    assert "reintegration" in detail
    assert accepted.status_code == 201, accepted.text


def test_enrolling_someone_already_taking_part_is_refused(client, feed, social_worker):
    case_id = feed.case()
    programme_id = create_programme(client, social_worker)
    assert enrol(client, social_worker, programme_id, case_id).status_code == 201

    _refused(client, social_worker, programme_id, case_id, "already-enrolled")


def test_a_case_programmes_never_heard_of_is_not_found(client, feed, social_worker):
    programme_id = create_programme(client, social_worker)

    response = enrol(client, social_worker, programme_id, uuid4())

    assert response.status_code == 404
    assert programme_state(client, social_worker, programme_id) == (1, 0)


def test_an_enrolment_dated_in_the_future_is_refused(client, feed, social_worker):
    case_id = feed.case()
    programme_id = create_programme(client, social_worker)

    response = client.post(
        f"/programmes/{programme_id}/enrolments",
        json={"case_id": str(case_id), "enrolled_at": "2999-01-01T09:00:00Z"},
        headers=social_worker,
    )

    assert response.status_code == 409
    assert rule_of(response) == "future-time"
