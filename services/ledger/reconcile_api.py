"""The ledger's reconciliation route: which of these event ids does the ledger not hold?

Each event-sourced service asks it periodically (`shared.kit.reconcile`), so the ledger is the
authority that decides what was lost between a service's store and the ledger.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.ledger.api import LedgerApp
from services.ledger.requests import MissingQuestion
from shared.kit.auth import current_user, require_role
from shared.kit.service_auth import service_caller

__all__ = ["router"]

# Services ask with their own service token (`shared.kit.service_auth`); auditors may ask too.
_ASKERS = ("auditor",)

router = APIRouter(prefix="/reconcile", tags=["reconciliation"])


@router.post("/missing")
def missing(body: MissingQuestion, request: Request, ledger: LedgerApp) -> dict[str, list[str]]:
    """The given event ids that are not in the ledger, in the order given (a publishing service,
    with its service token, or an auditor)."""
    if service_caller(request, "reconcile") is None:
        require_role(current_user(request), *_ASKERS)
    return {"missing": [str(i) for i in ledger.missing(body.event_ids)]}
