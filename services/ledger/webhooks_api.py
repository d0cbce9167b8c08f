"""The agencies' webhook endpoints over HTTP: registration and secret rotation by an admin; the
endpoint's state and a replay from a `ledger_seq` by an admin or by the agency itself.

A replay is self-service because it re-sends only what the agency may see anyway, to the endpoint
an admin registered. A secret is shown once, in the answer that made it, and never again.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Path, Request, Response

from services.ledger.requests import EndpointRequest, ReplayRequest
from services.ledger.webhooks import Webhooks
from shared.kit.auth import CurrentUser, User, require_role
from shared.kit.errors import ForbiddenError, InvalidFieldsError, UnavailableError

__all__ = ["router"]

router = APIRouter(prefix="/agencies/{agency}/webhook", tags=["webhooks"])
AgencyId = Annotated[
    str, Path(min_length=1, max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
]


def webhooks_of(request: Request) -> Webhooks:
    webhooks: Webhooks | None = request.app.state.parts.extras.get("webhooks")
    if webhooks is None:
        raise UnavailableError("webhooks are not running")
    return webhooks


WebhooksDep = Annotated[Webhooks, Depends(webhooks_of)]


def _checked_url(url: str, production: bool) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidFieldsError("url: {exc}", exc=exc) from None
    if not parsed.host or parsed.userinfo:
        raise InvalidFieldsError("url: a host is needed, and no user or password in it")
    if production and parsed.scheme != "https":
        raise InvalidFieldsError("url: production delivers over https only")
    return str(parsed)


def _admin_or_the_agency(user: User, agency: str) -> None:
    if user.role != "admin" and user.agency != agency:
        raise ForbiddenError("only an admin or agency {agency} may do this", agency=agency)


@router.put("", responses={201: {"description": "registered; the secret is shown this once"}})
def set_endpoint(
    agency: AgencyId,
    body: EndpointRequest,
    webhooks: WebhooksDep,
    user: CurrentUser,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """Register the agency's endpoint (201 with its secret, shown once) or move it (200)."""
    require_role(user, "admin")
    production = request.app.state.settings.environment == "production"
    url = _checked_url(body.url, production)
    secret = webhooks.set_endpoint(agency, url)
    if secret is None:
        return {"agency": agency, "url": url}
    response.status_code = 201
    return {"agency": agency, "url": url, "secret": secret}


@router.get("")
def show_endpoint(agency: AgencyId, webhooks: WebhooksDep, user: CurrentUser) -> dict[str, Any]:
    """The endpoint, its counts by state and its parked entries (never its secret)."""
    _admin_or_the_agency(user, agency)
    return webhooks.show(agency)


@router.post("/secret")
def rotate_secret(agency: AgencyId, webhooks: WebhooksDep, user: CurrentUser) -> dict[str, Any]:
    """A new secret, shown once; the old one signs beside it for the configured overlap."""
    require_role(user, "admin")
    secret = webhooks.rotate_secret(agency)
    until = webhooks.show(agency)["previous_secret_until"]
    return {"agency": agency, "secret": secret, "previous_secret_until": until}


@router.post("/replay", status_code=202)
def replay(
    agency: AgencyId, body: ReplayRequest, webhooks: WebhooksDep, user: CurrentUser
) -> dict[str, Any]:
    """Send again, as new messages, what the agency may see from `from_ledger_seq` on; parked
    entries in that range go again too."""
    _admin_or_the_agency(user, agency)
    queued = webhooks.replay(agency, body.from_ledger_seq)
    return {"agency": agency, "from_ledger_seq": body.from_ledger_seq, "queued": queued}
