"""The HTTP middleware of every service (`shared.kit.middleware`), on a service app of the kit with
routes of its own: an answer sent in many parts is audited with every case it carried, a read
the audit cannot record is refused with none of its answer, and an error no handler answered is
still a problem with the request's correlation id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import psycopg
from fastapi import APIRouter, FastAPI
from fastapi.responses import StreamingResponse

from shared.kit.http import create_service_app
from shared.kit.lifecycle import ServiceParts
from shared.kit.settings import Settings
from tests.support import auth, running

INSPECTION = {"Caseline-Purpose": "inspection of the reads"}
CASES = sorted(str(uuid4()) for _ in range(300))
PADDING = "x" * 4096


def _parts() -> Iterator[bytes]:
    """A JSON list of every case, in parts that split its ids, well over a megabyte in all."""
    document = json.dumps(
        {"items": [{"case_id": c, "note": PADDING} for c in CASES]}, separators=(",", ":")
    ).encode()
    for at in range(0, len(document), 1000):
        yield document[at : at + 1000]


router = APIRouter()


@router.get("/streamed")
def streamed() -> StreamingResponse:
    return StreamingResponse(_parts(), media_type="application/json")


@router.get("/broken")
def broken() -> None:
    raise RuntimeError("a route that fails")


@router.post("/down")
def down(body: dict[str, str]) -> None:
    raise TimeoutError("the database did not answer")


async def _nothing(parts: ServiceParts) -> None:
    return None


def _app(settings: Settings) -> FastAPI:
    return create_service_app("intake", settings, routers=[router], start=_nothing)


def _entries(client: Any, settings: Settings, actor: str) -> list[dict[str, Any]]:
    headers = {**auth(settings, "auditor", sub="inspector"), **INSPECTION}
    answer = client.get("/audit", params={"actor": actor}, headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["entries"])


def test_an_answer_sent_in_many_parts_is_audited_with_every_case_it_carried(settings):
    with running(_app(settings)) as client:
        answer = client.get("/streamed", headers=auth(settings, "police", sub="streamer"))
        [entry] = _entries(client, settings, "streamer")

    assert answer.status_code == 200
    assert len(answer.content) > 1_000_000
    assert [item["case_id"] for item in answer.json()["items"]] == CASES
    assert answer.headers["caseline-correlation-id"]
    assert (entry["route"], entry["outcome"], entry["case_ids"]) == (
        "GET /streamed",
        "allowed",
        CASES,
    )


def test_a_read_the_audit_cannot_record_is_refused_with_none_of_its_answer(settings):
    correlation = str(uuid4())
    with running(_app(settings)) as client:
        with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
            conn.execute(
                "CREATE FUNCTION intake.refuse_unrecordable() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN IF NEW.actor = 'unrecordable' THEN RAISE EXCEPTION 'refused';"
                " END IF; RETURN NEW; END $$;"
                " CREATE TRIGGER refuse_unrecordable BEFORE INSERT ON intake.read_audit"
                " FOR EACH ROW EXECUTE FUNCTION intake.refuse_unrecordable()"
            )
        answer = client.get(
            "/streamed",
            headers={
                **auth(settings, "police", sub="unrecordable"),
                "Caseline-Correlation-Id": correlation,
            },
        )
        recorded = _entries(client, settings, "unrecordable")

    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "the read could not be audited, so it was refused"
    assert answer.headers["caseline-correlation-id"] == correlation
    assert not any(case_id in answer.text for case_id in CASES)
    assert recorded == []


def test_an_error_no_handler_answered_is_a_problem_with_the_correlation_id(settings):
    correlation = str(uuid4())
    sent = {"Caseline-Correlation-Id": correlation}
    with running(_app(settings)) as client:
        broken = client.get("/broken", headers={**auth(settings, "police", sub="b"), **sent})
        down = client.post("/down", json={"a": "b"}, headers={**auth(settings, "police"), **sent})
        [entry] = _entries(client, settings, "b")

    assert (broken.status_code, down.status_code) == (500, 503)
    for answer, slug in ((broken, "internal"), (down, "unavailable")):
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == f"https://caseline.example/problems/{slug}"
        assert answer.headers["caseline-correlation-id"] == correlation
    assert (entry["route"], entry["outcome"]) == ("GET /broken", "refused:500")
