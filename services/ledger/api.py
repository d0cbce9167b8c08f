"""The ledger's HTTP routes: timelines, verification, export, the global feed and event schemas.

Routes only translate; every stored entry they return goes through `visibility` (`visible_entries`,
or `timeline_json` for the timeline, which can be a thousand entries and is written as bytes).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BeforeValidator, Field

from services.ledger.application import LedgerApplication
from services.ledger.visibility import (
    PLACEMENT,
    feed_view,
    require_full_record,
    timeline_json,
    unseen_cases,
    visible_types,
)
from shared.events import by_schema_name, json_schema
from shared.kit.auth import CurrentUser
from shared.kit.errors import NotFoundError
from shared.kit.params import QUERY_TEXT_PATTERN, InstantQuery, rfc3339_text
from shared.kit.runtime import application
from shared.kit.scope import scope_of

__all__ = ["LedgerApp", "router"]

LedgerApp = Annotated[LedgerApplication, Depends(application)]
PlainText = Annotated[str, Field(json_schema_extra={"pattern": QUERY_TEXT_PATTERN})]
router = APIRouter(tags=["ledger"])


_JSON_OBJECT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}}
}


@router.get("/cases/{case_id}/timeline", response_model=None, responses=_JSON_OBJECT)
def timeline(
    case_id: UUID,
    ledger: LedgerApp,
    user: CurrentUser,
    types: Annotated[list[PlainText] | None, Query(max_length=50)] = None,
    since: InstantQuery = None,
    until: InstantQuery = None,
    as_of: Annotated[
        AwareDatetime | None,
        BeforeValidator(rfc3339_text),
        Query(description="the record as it stood at this recorded time"),
    ] = None,
) -> Response:
    """Every event of the case in ledger order, with its chain position and hashes."""
    entries = ledger.timeline(
        str(case_id),
        types=types or (),
        since=since,
        until=until,
        as_of=as_of,
        visible=visible_types(user.role),
    )
    placements = [
        (e.type, e.as_dict()["event"].get("data")) for e in entries if e.type == PLACEMENT
    ]
    unseen = unseen_cases(scope_of(user), placements, ledger.access)
    body = timeline_json(user, str(case_id), entries, ledger.cipher, unseen)
    return Response(body, media_type="application/json")


@router.get("/cases/{case_id}/verify")
def verify(case_id: UUID, ledger: LedgerApp, user: CurrentUser) -> dict[str, Any]:
    """Recompute the case's hash chain and check it against the latest signed checkpoint."""
    return ledger.verify_case(str(case_id)).body()


@router.get("/cases/{case_id}/export")
def export(case_id: UUID, ledger: LedgerApp, user: CurrentUser) -> Response:
    """The case's evidence bundle: entries, chain, signed checkpoint, proofs and public key."""
    require_full_record(user)
    data = ledger.export(str(case_id))
    return Response(
        data,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="case-{case_id}.bundle.json"'},
    )


@router.get("/events")
def feed(
    ledger: LedgerApp,
    user: CurrentUser,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The global feed in ledger order, for partners that cannot use NATS."""
    entries = ledger.feed(after, limit)
    next_after = entries[-1]["ledger_seq"] if entries else after
    # `next_after` moves past what the caller may not see as well.
    shown = feed_view(user, entries, ledger.access, ledger.cipher)
    return {"entries": shown, "next_after": next_after}


@router.get("/schemas/{name}")
def schema(
    name: Annotated[str, Path(json_schema_extra={"pattern": QUERY_TEXT_PATTERN})],
) -> dict[str, Any]:
    """The JSON Schema of an event type, e.g. `intake.ArrestRecorded.v1`."""
    try:
        model = by_schema_name(name)
    except KeyError:
        raise NotFoundError("no event type {name!r}", name=name) from None
    return json_schema(model)
