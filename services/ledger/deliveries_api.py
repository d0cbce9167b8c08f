"""The operators' routes of the agencies' deliveries: the parked messages, and delivering one again.

A delivery an agency did not ack `max_deliver` times is parked (`services.ledger.deliveries`);
`caseline agencies parked` and `caseline agencies redeliver AGENCY SEQ` call these routes. A parked
message is delivered again as its agency may see the entry now: one it may no longer see (its case
sealed since, the person no longer at its facility, its link voided) is not, and the parked row is
closed (409).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from shared.kit.auth import current_user, require_role
from shared.kit.errors import NotFoundError

__all__ = ["router"]

_OPERATORS = ("admin", "auditor")

router = APIRouter(prefix="/deliveries", tags=["deliveries"])


def _deliveries(request: Request) -> Any:
    require_role(current_user(request), *_OPERATORS)
    deliveries = request.app.state.parts.extras.get("deliveries")
    if deliveries is None:
        raise NotFoundError("the ledger delivers to no agency (no registry configured)")
    return deliveries


DeliveriesDep = Annotated[Any, Depends(_deliveries)]


@router.get("/parked")
def parked(deliveries: DeliveriesDep) -> dict[str, list[dict[str, Any]]]:
    """The deliveries parked after their last attempt and not delivered again (admin, auditor)."""
    return {"parked": deliveries.parked()}


@router.get("/agencies")
async def agencies(deliveries: DeliveriesDep) -> dict[str, dict[str, dict[str, float]]]:
    """Each agency's lag, parked messages and last delivery time (admin, auditor)."""
    return {"agencies": await deliveries.observe()}


@router.post("/{agency}/parked/{ledger_seq}/redeliver", status_code=202)
async def redeliver(
    deliveries: DeliveriesDep,
    request: Request,
    agency: Annotated[str, Path(max_length=63)],
    ledger_seq: Annotated[int, Path(ge=1)],
) -> dict[str, Any]:
    """Deliver a parked message again as its agency may see it now, back-off anew (admin)."""
    require_role(current_user(request), "admin")
    # One the agency may no longer see is not delivered again: 409 (`DeliveryWithdrawnError`).
    if not await deliveries.redeliver(agency, ledger_seq):
        raise NotFoundError(
            "no parked delivery {ledger_seq} for agency {agency}",
            ledger_seq=ledger_seq,
            agency=agency,
        )
    return {"agency": agency, "ledger_seq": ledger_seq, "redelivered": True}
