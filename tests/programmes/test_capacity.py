"""Capacity holds under concurrency: enrolments race on the programme's version, and the losers
reload and answer by the rules, never with a server error.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from uuid import UUID, uuid4

from tests.programmes.conftest import (
    BAMAKO,
    admission_event,
    arrest_event,
    create_programme,
    enrol,
    publish,
    rule_of,
)


def test_fifty_simultaneous_enrolments_into_ten_places_leave_exactly_ten(
    client, feed, settings, social_worker
):
    cases = [uuid4() for _ in range(50)]
    facts = [(arrest_event("Participant"), admission_event(BAMAKO))] * len(cases)
    publish(settings, *[(e, c) for c, pair in zip(cases, facts, strict=True) for e in pair])
    feed.wait(cases[-1], facility=BAMAKO)
    programme_id = create_programme(client, social_worker, capacity=10)
    start = Barrier(len(cases))

    def attempt(case_id: UUID) -> tuple[int, str]:
        start.wait()
        response = enrol(client, social_worker, programme_id, case_id)
        return response.status_code, rule_of(response) if response.status_code != 201 else ""

    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        outcomes = list(pool.map(attempt, cases))
    summary = client.get(f"/programmes/{programme_id}/summary", headers=social_worker).json()
    programme = client.get(f"/programmes/{programme_id}", headers=social_worker).json()

    assert sorted(outcomes).count((201, "")) == 10
    assert sorted(outcomes)[10:] == [(409, "capacity-full")] * 40
    assert summary["enrolled"] == summary["attending"] == 10
    assert programme["places_left"] == 0
    assert programme["version"] == 11
