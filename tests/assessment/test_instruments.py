"""Instruments as data: the shipped default, immutable versions, assessments kept on theirs."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.assessment import queries
from services.assessment.instruments import (
    DEFAULT_INSTRUMENT,
    load_instrument,
    publish_instrument_file,
)
from tests.assessment.conftest import Service
from tests.assessment.test_assessments import assert_refused

FACILITY = "Prison centrale de Mopti"
DEFAULT = load_instrument(DEFAULT_INSTRUMENT)


def admin(service: Service) -> dict[str, str]:
    return service.headers("admin", "admin-1")


def next_version_body(**overrides: Any) -> dict[str, Any]:
    """The default instrument with one more domain and a wider scale on BA1."""
    body = DEFAULT.model_dump(mode="json", exclude={"instrument_id", "instrument_version"})
    body.pop("version", None)
    body["domains"][0]["indicators"][0]["scale"] = {"min": 0, "max": 3}
    body["domains"].append(
        {
            "id": "RL",
            "title": "Release plan",
            "indicators": [
                {"id": "RL1", "text": "A place to live on release.", "scale": {"min": 0, "max": 2}}
            ],
        }
    )
    body.update(instrument_id=str(DEFAULT.instrument_id), **overrides)
    return body


def test_the_default_instrument_is_published_once_and_labelled_illustrative(
    fresh_service: Service,
) -> None:
    again = publish_instrument_file(fresh_service.app)

    listed = fresh_service.client.get("/instruments", headers=fresh_service.headers()).json()
    assert again is None
    assert listed["default_instrument_id"] == str(DEFAULT.instrument_id)
    assert [v["version"] for v in listed["items"][0]["versions"]] == [1]
    assert listed["items"][0]["versions"][0]["published_by"] == "system"
    assert "not validated" in listed["items"][0]["title"]
    url = f"/instruments/{DEFAULT.instrument_id}/versions/1"
    document = fresh_service.client.get(url, headers=fresh_service.headers()).json()
    assert "Not validated" in document["description"]
    assert {d["title"] for d in document["domains"]} >= {
        "Beliefs and attitudes",
        "Context and intent",
        "History and capability",
        "Commitment and motivation",
        "Protective and resilience factors",
        "Needs",
    }


def test_a_published_version_cannot_be_published_again(fresh_service: Service) -> None:
    before = fresh_service.event_count()
    original = queries.instrument_version(fresh_service.app, DEFAULT.instrument_id, 1)

    r = fresh_service.client.post(
        "/instruments",
        json=next_version_body(version=1, title="Changed"),
        headers=admin(fresh_service),
    )

    assert_refused(r, 409, "instrument-version-immutable")
    assert fresh_service.event_count() == before
    assert queries.instrument_version(fresh_service.app, DEFAULT.instrument_id, 1) == original


def test_a_version_gap_is_refused(fresh_service: Service) -> None:
    r = fresh_service.client.post(
        "/instruments", json=next_version_body(version=3), headers=admin(fresh_service)
    )

    assert_refused(r, 409, "instrument-version-sequence")


def test_only_admins_and_prison_directors_publish_instruments(fresh_service: Service) -> None:
    r = fresh_service.client.post(
        "/instruments", json=next_version_body(), headers=fresh_service.headers()
    )

    assert r.status_code == 403


def test_an_instrument_with_duplicate_indicator_ids_is_invalid(fresh_service: Service) -> None:
    body = next_version_body()
    body["domains"][1]["indicators"][0]["id"] = "BA1"

    r = fresh_service.client.post("/instruments", json=body, headers=admin(fresh_service))

    assert r.status_code == 422, r.text


def test_a_new_instrument_without_an_id_starts_at_version_1(fresh_service: Service) -> None:
    body = next_version_body(title="Needs interview guide", assessment_kind="needs")
    del body["instrument_id"]

    r = fresh_service.client.post("/instruments", json=body, headers=admin(fresh_service))

    assert r.status_code == 201, r.text
    assert r.json()["instrument_version"] == "1"
    assert r.headers["location"] == f"/instruments/{r.json()['instrument_id']}/versions/1"


def test_publishing_v2_leaves_v1_assessments_as_they_were(fresh_service: Service) -> None:
    s = fresh_service
    case_id = s.open_case(FACILITY)
    done = s.complete(case_id, "moderate")
    pending = s.start(case_id)
    v1_document = queries.instrument_version(s.app, DEFAULT.instrument_id, 1)
    done_before = s.client.get(f"/cases/{case_id}/assessments/{done}", headers=s.headers()).json()

    published = s.client.post("/instruments", json=next_version_body(), headers=admin(s))

    assert published.status_code == 201, published.text
    assert published.json()["instrument_version"] == "2"
    assert queries.instrument_version(s.app, DEFAULT.instrument_id, 1) == v1_document
    done_after = s.client.get(f"/cases/{case_id}/assessments/{done}", headers=s.headers()).json()
    assert {k: v for k, v in done_after.items() if k != "version"} == {
        k: v for k, v in done_before.items() if k != "version"
    }
    assert done_after["instrument_version"] == 1
    # The assessment begun on v1 is finished on v1: v2's new indicator is not asked of it...
    assert_refused(s.rate(case_id, pending, "RL1", 1), 409, "unknown-indicator")
    assert_refused(s.rate(case_id, pending, "BA1", 3), 409, "rating-out-of-scale")
    s.rate_all(case_id, pending)
    assert s.submit(case_id, pending, "low").status_code == 201
    assert s.countersign(case_id, pending).status_code == 201
    assert s.case(case_id)["current_risk"]["instrument_version"] == 1


def test_new_assessments_use_the_latest_version(fresh_service: Service) -> None:
    s = fresh_service
    case_id = s.open_case(FACILITY)
    s.client.post("/instruments", json=next_version_body(), headers=admin(s))

    started = s.start(case_id)
    superseded = s.client.post(
        f"/cases/{case_id}/assessments", json={"instrument_version": 1}, headers=s.headers()
    )

    assessment = s.client.get(f"/cases/{case_id}/assessments/{started}", headers=s.headers()).json()
    assert assessment["instrument_version"] == 2
    assert "RL1" in assessment["unrated"]
    assert s.rate(case_id, started, "BA1", 3).status_code == 201
    assert_refused(superseded, 409, "superseded-instrument")


def test_a_published_instrument_cannot_be_voided(fresh_service: Service) -> None:
    event_id = queries.instruments(fresh_service.app)["items"][0]["versions"][0]["event_id"]

    r = fresh_service.client.post(
        f"/entries/{event_id}/void", json={"reason": "typo"}, headers=admin(fresh_service)
    )

    assert_refused(r, 409, "entry-not-voidable")
    assert queries.instrument_version(fresh_service.app, UUID(str(DEFAULT.instrument_id)), 1)
