"""A method a resource does not serve is a 405 problem that lists, in `Allow`, what it serves."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.testclient import TestClient

from shared.kit.http import create_service_app
from shared.kit.problems import PROBLEM_JSON
from shared.kit.settings import Settings

router = APIRouter()


@router.post("/things")
def add_thing() -> dict[str, str]:
    return {}


@router.get("/things/{thing_id}")
def thing(thing_id: str) -> dict[str, str]:
    return {"id": thing_id}


def _client() -> TestClient:
    async def start(_: object) -> None:
        return None

    app = create_service_app("things", Settings(environment="test"), routers=[router], start=start)
    return TestClient(app)


def test_a_405_lists_every_method_served_at_the_path() -> None:
    client = _client()

    answer = client.request("TRACE", "/audit")

    assert answer.status_code == 405
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["status"] == 405
    assert set(answer.headers["allow"].split(", ")) == {"GET"}


def test_a_405_for_an_unsupported_method_with_a_body_comes_before_its_media_type() -> None:
    client = _client()

    answer = client.put("/things", content=b"x", headers={"Content-Type": "text/plain"})

    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
