"""Bad input never hurts: every malformed request gets the right problem and records nothing."""

from __future__ import annotations

import jwt
import pytest

from services.intake.service import create_app as intake_app
from tests.support import admission_payload, arrest_payload, auth, running

PROBLEM = "application/problem+json"


@pytest.fixture
def intake(settings):
    with running(intake_app(settings)) as client:
        yield client


def _count(client, headers) -> int:
    return client.get("/cases", headers=headers).json()["total"]


def _assert_problem(response, status: int, mentions: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    assert mentions in response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in arrest_payload().items() if k != "grounds"}, "grounds"),
        (arrest_payload(arrested_at="2026-11-01T06:30:00"), "arrested_at"),
        (arrest_payload(arrested_at=1767225600), "arrested_at"),
        (arrest_payload(person={**arrest_payload()["person"], "sex": "unknown"}), "person.sex"),
        (arrest_payload(grounds="x" * 1_000_000), "grounds"),
        (arrest_payload(returning_foreign_fighter="yes"), "returning_foreign_fighter"),
        (arrest_payload(surprise="field"), "surprise"),
    ],
    ids=[
        "missing",
        "naive-time",
        "numeric-time",
        "bad-enum",
        "1MB-string",
        "bool-as-text",
        "extra",
    ],
)
def test_an_invalid_field_is_named_in_a_422_and_nothing_is_recorded(intake, settings, body, field):
    police = auth(settings, "police")

    response = intake.post("/cases", json=body, headers=police)

    _assert_problem(response, 422, field)
    assert any(e["field"] == field for e in response.json()["errors"])
    assert _count(intake, police) == 0


def test_malformed_json_is_a_400(intake, settings):
    police = auth(settings, "police")

    response = intake.post(
        "/cases", content=b'{"person": {', headers={**police, "Content-Type": "application/json"}
    )

    _assert_problem(response, 400, "JSON")
    assert _count(intake, police) == 0


def test_a_wrong_content_type_is_a_415(intake, settings):
    police = auth(settings, "police")

    response = intake.post(
        "/cases", content=b"person=x", headers={**police, "Content-Type": "text/plain"}
    )

    _assert_problem(response, 415, "application/json")
    assert _count(intake, police) == 0


def test_an_unknown_case_is_a_404(intake, settings):
    registry = auth(settings, "prison_registry")

    response = intake.post(
        "/cases/0b7c7f7e-5f34-4a51-9a43-1a2b3c4d5e6f/admission",
        json=admission_payload(),
        headers=registry,
    )

    _assert_problem(response, 404, "0b7c7f7e-5f34-4a51-9a43-1a2b3c4d5e6f")


def test_a_malformed_case_id_is_a_422(intake, settings):
    response = intake.post(
        "/cases/not-a-uuid/admission",
        json=admission_payload(),
        headers=auth(settings, "prison_registry"),
    )

    _assert_problem(response, 422, "case_id")


@pytest.mark.parametrize(
    "make_header",
    [
        lambda s: {},
        lambda s: {"Authorization": "Bearer not-a-token"},
        lambda s: {"Authorization": "Basic dXNlcjpwYXNz"},
        lambda s: {
            "Authorization": "Bearer "
            + jwt.encode(
                {"sub": "x", "agency": "a", "role": "police", "iss": "caseline", "aud": "caseline",
                 "exp": 4102444800},
                "another-key-entirely-0123456789abcdef",
                algorithm="HS256",
            )
        },
        lambda s: {
            "Authorization": "Bearer "
            + jwt.encode(
                {"sub": "x", "agency": "a", "role": "police", "iss": "caseline", "aud": "caseline",
                 "exp": 4102444800},
                None,
                algorithm="none",
            )
        },
        lambda s: {
            "Authorization": "Bearer "
            + jwt.encode(
                {"sub": "x", "agency": "a", "role": "police", "iss": "caseline", "aud": "caseline",
                 "exp": 1000},
                s.jwt_key(),
                algorithm="HS256",
            )
        },
        lambda s: {
            "Authorization": "Bearer "
            + jwt.encode(
                {"sub": "x", "agency": "a", "role": "warlord", "iss": "caseline", "aud": "caseline",
                 "exp": 4102444800},
                s.jwt_key(),
                algorithm="HS256",
            )
        },
        lambda s: {
            "Authorization": "Bearer "
            + jwt.encode(
                {"sub": "x", "role": "police", "iss": "caseline", "aud": "caseline", "exp": 4102444800},
                s.jwt_key(),
                algorithm="HS256",
            )
        },
    ],
    ids=["none", "garbage", "basic", "wrong-key", "alg-none", "expired", "unknown-role", "no-agency"],
)  # fmt: skip
def test_no_or_a_bad_token_is_a_terse_401_and_nothing_is_recorded(intake, settings, make_header):
    response = intake.post("/cases", json=arrest_payload(), headers=make_header(settings))

    _assert_problem(response, 401, "a valid bearer token is required")
    assert response.headers["www-authenticate"] == "Bearer"
    assert _count(intake, auth(settings, "auditor")) == 0


def test_a_role_that_does_not_do_the_work_is_a_403(intake, settings):
    response = intake.post("/cases", json=arrest_payload(), headers=auth(settings, "civil_society"))

    _assert_problem(response, 403, "civil_society")
    assert _count(intake, auth(settings, "auditor")) == 0


def test_a_stale_if_match_is_a_412_and_nothing_is_recorded(intake, settings):
    police, registry = auth(settings, "police"), auth(settings, "prison_registry")
    case_id = intake.post("/cases", json=arrest_payload(), headers=police).json()["case_id"]

    response = intake.post(
        f"/cases/{case_id}/admission",
        json=admission_payload(),
        headers={**registry, "If-Match": '"7"'},
    )

    _assert_problem(response, 412, "version 1")
    assert intake.get(f"/cases/{case_id}", headers=police).json()["version"] == 1
