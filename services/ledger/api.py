"""The ledger's HTTP routes: timelines, verification, the global feed and the event schemas."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from pydantic import AwareDatetime

from shared.events import by_schema_name, json_schema
from shared.kit.auth import CurrentUser
from shared.kit.errors import NotFoundError

from services.ledger.store import LedgerStore

__all__ = ["router"]


def _store(request: Request) -> LedgerStore:
    return request.app.state.parts.application  # type: ignore[no-any-return]


Store = Annotated[LedgerStore, Depends(_store)]
AwareInstantQuery = Annotated[AwareDatetime | None, Query()]
router = APIRouter(tags=["ledger"])


@router.get("/cases/{case_id}/timeline")
def timeline(
    case_id: UUID,
    store: Store,
    user: CurrentUser,
    types: Annotated[list[str] | None, Query(max_length=50)] = None,
    since: AwareInstantQuery = None,
    until: AwareInstantQuery = None,
    as_of: AwareInstantQuery = None,
) -> dict[str, Any]:
    """Every event of the case in ledger order, with its chain position and hashes."""
    entries = store.timeline(str(case_id), types=types or (), since=since, until=until, as_of=as_of)
    if not entries and not store.timeline(str(case_id), limit=1):
        raise NotFoundError(f"no case {case_id} in the ledger")
    return {"case_id": str(case_id), "entries": entries}


@router.get("/cases/{case_id}/verify")
def verify(case_id: UUID, store: Store, user: CurrentUser) -> dict[str, Any]:
    """Recompute the case's hash chain from the stored bytes."""
    result = store.verify(str(case_id))
    if result.events == 0:
        raise NotFoundError(f"no case {case_id} in the ledger")
    return result.body()


@router.get("/events")
def feed(
    store: Store,
    user: CurrentUser,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The global feed in ledger order, for partners that cannot use NATS."""
    entries = store.feed(after, limit)
    return {"entries": entries, "next_after": entries[-1]["ledger_seq"] if entries else after}


@router.get("/schemas/{name}")
def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of an event type, e.g. `intake.ArrestRecorded.v1`."""
    try:
        model = by_schema_name(name)
    except KeyError:
        raise NotFoundError(f"no event type {name!r}") from None
    return json_schema(model)

