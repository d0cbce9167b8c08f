"""The ledger's reconciliation route: which of these event ids does the ledger not hold?

Each event-sourced service asks it periodically (`shared.kit.reconcile`), so the ledger is the
authority that decides what was lost between a service's store and the ledger.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from shared.kit.auth import current_user, require_role
from shared.kit.service_auth import service_caller

__all__ = ["MAX_EVENT_IDS", "router"]

MAX_EVENT_IDS = 5000
# Services ask with their own service token (`shared.kit.service_auth`); auditors may ask too.
_ASKERS = ("auditor",)

router = APIRouter(prefix="/reconcile", tags=["reconciliation"])


class MissingQuestion(BaseModel):
    """Event ids a service recorded and published."""

    model_config = ConfigDict(extra="forbid")

    event_ids: Annotated[list[UUID], Field(max_length=MAX_EVENT_IDS)]


def _store(request: Request) -> Any:
    application = request.app.state.parts.application
    return getattr(application, "store", application)


@router.post("/missing")
def missing(
    body: MissingQuestion, request: Request, store: Annotated[Any, Depends(_store)]
) -> dict[str, list[str]]:
    """The given event ids that are not in the ledger, in the order given (a publishing service,
    with its service token, or an auditor)."""
    if service_caller(request, "reconcile") is None:
        require_role(current_user(request), *_ASKERS)
    asked = list(dict.fromkeys(body.event_ids))
    with store.connection() as conn:
        present = {
            row[0]
            for row in conn.execute(
                "SELECT event_id FROM ledger.entries WHERE event_id = ANY(%s::uuid[])", (asked,)
            )
        }
    return {"missing": [str(i) for i in asked if i not in present]}
