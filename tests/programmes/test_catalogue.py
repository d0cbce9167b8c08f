"""The programme catalogue: who adds programmes, and how staff find them."""

from __future__ import annotations

from tests.programmes.conftest import create_programme, programme_body, unique
from tests.support import auth


def test_a_programme_is_created_and_found_by_kind_and_facility(client, social_worker):
    prison, elsewhere = unique("Prison"), unique("Prison")
    sewing = create_programme(client, social_worker, title="Sewing", facility=prison)
    create_programme(
        client, social_worker, kind="psychological", title="Trauma support", facility=prison
    )
    create_programme(client, social_worker, title="Carpentry", facility=elsewhere)

    found = client.get(
        "/programmes", params={"kind": "vocational", "facility": prison}, headers=social_worker
    ).json()
    one = client.get(f"/programmes/{sewing}", headers=social_worker)

    assert [p["programme_id"] for p in found["items"]] == [sewing]
    assert found["items"][0]["places_left"] == 10
    assert one.json()["title"] == "Sewing"
    assert one.headers["etag"] == '"1"'


def test_creating_answers_the_new_programme_id_and_where_it_lives(client, social_worker):
    created = client.post("/programmes", json=programme_body(), headers=social_worker)

    body = created.json()
    assert created.status_code == 201
    assert created.headers["location"] == f"/programmes/{body['programme_id']}"
    assert body["version"] == 1


def test_civil_society_creates_programmes_only_for_its_own_organisation(client, settings):
    agency, prison = unique("NGO"), unique("Prison")
    ngo = auth(settings, "civil_society", sub="fatou", agency=agency)

    other = client.post(
        "/programmes",
        json=programme_body(provider_agency="Another NGO", facility=prison),
        headers=ngo,
    )
    own = client.post(
        "/programmes", json=programme_body(provider_agency=agency, facility=prison), headers=ngo
    )
    listed = client.get("/programmes", params={"facility": prison}, headers=ngo).json()

    assert other.status_code == 403
    assert own.status_code == 201
    assert [p["provider_agency"] for p in listed["items"]] == [agency]


def test_a_programme_that_ends_before_it_starts_is_refused(client, social_worker):
    prison = unique("Prison")
    body = programme_body(starts_on="2026-06-01", ends_on="2026-03-01", facility=prison)

    refused = client.post("/programmes", json=body, headers=social_worker)
    listed = client.get("/programmes", params={"facility": prison}, headers=social_worker)

    assert refused.status_code == 422
    assert "ends_on" in refused.text
    assert listed.json()["total"] == 0


def test_the_police_may_not_create_a_programme(client, settings):
    refused = client.post("/programmes", json=programme_body(), headers=auth(settings, "police"))

    assert refused.status_code == 403
