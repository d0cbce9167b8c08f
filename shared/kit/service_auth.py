"""Narrow service identities: how one service calls another without a human role.

A service calls another (reconciliation asks the ledger which events it lacks; the ledger reads each
service's read-audit head to anchor it) with a short-lived JWT signed by its own Ed25519 signing key
(the key that signs what it publishes, `shared.kit.origins`), verified against the service public
keys every process already trusts. Such a token names one service and one call, and lives minutes:

- it is not a human token: it carries no role and `current_user` refuses it (its key is not the
  tokens' key, its type and audience differ), so it can read no case and record nothing;
- it holds only the calls `shared.permissions.SERVICE_CALLS` gives its service (the ledger may read
  audit heads, not ask reconciliation questions; no service may read another's audit head);
- it needs no shared secret, so it works the same when human tokens come from an identity provider
  (`CASELINE_JWT_PUBLIC_KEY`) and the services hold no key able to mint them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from fastapi import Request

from shared.kit.auth import AuthenticationError, User, bearer_token
from shared.kit.errors import ForbiddenError
from shared.kit.origins import origin_keys, service_key
from shared.kit.settings import Settings
from shared.permissions import SERVICE_CALLS

__all__ = [
    "SERVICE_ROLE",
    "SERVICE_TOKEN_TYPE",
    "mint_service_token",
    "service_caller",
    "service_user",
]

SERVICE_TOKEN_TYPE = "caseline-service+jwt"
SERVICE_ROLE = "service"
"""The role a service caller is recorded with in a read audit; it is no role of `ROLES`."""
_LIFETIME = timedelta(minutes=2)
_MAX_LIFETIME = timedelta(minutes=5)
_MAX_TOKEN = 4096


def _audience(call: str) -> str:
    return f"caseline-call:{call}"


def _issuer(service: str) -> str:
    return f"caseline-service:{service}"


def mint_service_token(
    settings: Settings, service: str, call: str, now: datetime | None = None
) -> str:
    """A token naming `service` for one `call`, signed with the service's own key."""
    if service not in SERVICE_CALLS.get(call, frozenset()):
        raise ValueError(f"{service} makes no {call!r} call")
    key = service_key(settings, service)
    issued = now or datetime.now(UTC)
    claims = {
        "iss": _issuer(service),
        "sub": f"service:{service}",
        "aud": _audience(call),
        "iat": issued,
        "nbf": issued - timedelta(seconds=5),
        "exp": issued + _LIFETIME,
    }
    headers = {"kid": key.key_id, "typ": SERVICE_TOKEN_TYPE}
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers=headers)


def _bearer(request: Request) -> str | None:
    token = bearer_token(request)
    return token if token is not None and len(token) <= _MAX_TOKEN else None


def service_caller(request: Request, call: str) -> str | None:
    """The service calling `call` with a service token, or None when the bearer is no service
    token (a human caller: the route checks it as usual). A service token that does not verify is
    a 401; a valid one of a service that may not make this call is a 403."""
    token = _bearer(request)
    if token is None:
        return None
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    if header.get("typ") != SERVICE_TOKEN_TYPE:
        return None
    settings: Settings = request.app.state.settings
    known = origin_keys(settings).live(str(header.get("kid")))
    if known is None:
        raise AuthenticationError()
    service, public = known
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public,
            algorithms=["EdDSA"],
            audience=_audience(call),
            issuer=_issuer(service),
            options={"require": ["iss", "sub", "aud", "iat", "exp"]},
            leeway=5,
        )
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
        raise AuthenticationError() from None
    lifetime = float(claims["exp"]) - float(claims["iat"])
    if claims.get("sub") != f"service:{service}" or lifetime > _MAX_LIFETIME.total_seconds():
        raise AuthenticationError()
    if service not in SERVICE_CALLS.get(call, frozenset()):
        raise ForbiddenError("the {service} service may not make this call", service=service)
    return service


def service_user(service: str) -> User:
    """How a service caller appears in a read audit."""
    return User(sub=f"service:{service}", agency="caseline", role=SERVICE_ROLE)
