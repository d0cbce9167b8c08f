"""Placement decisions and the conflicts they reveal: people to keep apart held in one facility."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.assessment.conftest import Service
from tests.assessment.test_assessments import assert_refused


def place(service: Service, case_id: UUID, *apart: UUID, level: str = "high") -> Any:
    body = {
        "security_level": level,
        "keep_separate_from": [str(c) for c in apart],
        "rationale": "Former commander of the other; risk of pressure to re-join.",
    }
    return service.client.post(
        f"/cases/{case_id}/placement",
        json=body,
        headers=service.prison(case_id),
    )


def conflicts(service: Service, facility: str | None = None) -> list[set[str]]:
    params = {"facility": facility} if facility else {}
    r = service.client.get("/placements/conflicts", params=params, headers=service.headers())
    assert r.status_code == 200, r.text
    return [set(item["case_ids"]) for item in r.json()["items"]]


def test_people_to_keep_apart_in_one_facility_are_a_conflict(service: Service) -> None:
    a, b = service.open_case("Prison A"), service.open_case("Prison A")

    r = place(service, a, b)

    assert r.status_code == 201, r.text
    assert {str(a), str(b)} in conflicts(service, "Prison A")
    view = service.case(a)["placement"]
    assert view["security_level"] == "high"
    assert view["decided_by"] == "dir-1"


def test_a_director_cannot_name_a_person_held_in_another_prison(service: Service) -> None:
    a = service.open_case("Prison A2")
    elsewhere = service.open_case("Prison B2")

    r = place(service, a, elsewhere)

    assert r.status_code == 404, r.text
    assert service.case(a)["placement"] is None


def test_a_transfer_apart_ends_the_conflict(service: Service) -> None:
    a, b = service.open_case("Prison C"), service.open_case("Prison C")
    place(service, a, b)

    service.transfer(b, "Prison D")

    assert conflicts(service, "Prison C") == []
    assert conflicts(service, "Prison D") == []


def test_a_release_ends_the_conflict(service: Service) -> None:
    a, b = service.open_case("Prison E"), service.open_case("Prison E")
    place(service, b, a)

    service.release(a)

    assert conflicts(service, "Prison E") == []


def test_a_later_placement_replaces_the_earlier_one(service: Service) -> None:
    a, b = service.open_case("Prison F"), service.open_case("Prison F")
    place(service, a, b)

    place(service, a, level="medium")

    assert conflicts(service, "Prison F") == []
    assert service.case(a)["placement"]["security_level"] == "medium"


def test_a_pair_is_listed_once_when_both_sides_ask_for_it(service: Service) -> None:
    a, b = service.open_case("Prison G"), service.open_case("Prison G")

    place(service, a, b)
    place(service, b, a)

    [item] = service.client.get(
        "/placements/conflicts", params={"facility": "Prison G"}, headers=service.headers()
    ).json()["items"]
    assert item["required_by"] == sorted([str(a), str(b)])


def test_keeping_a_person_apart_from_themselves_is_refused(service: Service) -> None:
    a = service.open_case("Prison H")
    before = service.event_count()

    assert_refused(place(service, a, a), 409, "self-separation")
    assert service.event_count() == before


def test_keeping_apart_from_an_unknown_case_is_refused(service: Service) -> None:
    a = service.open_case("Prison H")

    r = place(service, a, UUID("00000000-0000-4000-8000-000000000001"))

    # As for a case of another prison: the answer does not tell whether the case exists.
    assert_refused(r, 404, "not-found")


def test_only_a_prison_director_decides_placement(service: Service) -> None:
    a = service.open_case("Prison H")

    r = service.client.post(
        f"/cases/{a}/placement",
        json={"security_level": "medium", "rationale": "x"},
        headers=service.headers(),
    )

    assert r.status_code == 403
