"""Bearer-token authentication (SPEC §8 claims) and the per-command role check.

Development and tests use HS256 with `CASELINE_JWT_SECRET`; production may configure an EdDSA or
RS256 public key (`CASELINE_JWT_PUBLIC_KEY`). Every failure is the same terse 401.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from shared.kit.errors import CaselineError, ForbiddenError
from shared.kit.settings import Settings
from shared.permissions import COMMAND_ROLES, ROLES

__all__ = [
    "AuthenticationError",
    "CurrentUser",
    "User",
    "current_user",
    "decode_token",
    "mint_token",
    "require_command",
    "require_role",
]

_REQUIRED_CLAIMS = ["sub", "agency", "role", "exp", "iss", "aud"]


class AuthenticationError(CaselineError):
    """No token, or a token that is not valid; the detail never says which part failed."""

    status = 401
    title = "Unauthorized"
    slug = "unauthorized"

    def __init__(self) -> None:
        super().__init__("a valid bearer token is required")


@dataclass(frozen=True)
class User:
    """The authenticated caller: who, for which agency, in which role."""

    sub: str
    agency: str
    role: str


def mint_token(
    settings: Settings,
    *,
    sub: str,
    agency: str,
    role: str,
    ttl_minutes: float = 60,
    now: datetime | None = None,
) -> str:
    """A signed HS256 token for development and tests."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(sorted(ROLES))}")
    issued = now or datetime.now(UTC)
    claims = {
        "sub": sub,
        "agency": agency,
        "role": role,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued,
        "nbf": issued - timedelta(seconds=5),
        "exp": issued + timedelta(minutes=ttl_minutes),
    }
    return jwt.encode(claims, settings.jwt_key(), algorithm="HS256")


def decode_token(token: str, settings: Settings) -> User:
    """Check signature, `exp`, `nbf`, `iss`, `aud` and the claims; raise 401 on any failure."""
    if settings.jwt_public_key:
        key: Any = settings.jwt_public_key
        algorithms = ["EdDSA", "RS256"]
    else:
        key = settings.jwt_key()
        algorithms = ["HS256"]
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": _REQUIRED_CLAIMS},
            leeway=5,
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        raise AuthenticationError() from None
    sub, agency, role = claims.get("sub"), claims.get("agency"), claims.get("role")
    if not all(isinstance(v, str) and 0 < len(v) <= 200 for v in (sub, agency, role)):
        raise AuthenticationError()
    if role not in ROLES:
        raise AuthenticationError()
    return User(sub=str(sub), agency=str(agency), role=str(role))


def current_user(request: Request) -> User:
    """FastAPI dependency: the caller of this request, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError()
    user = decode_token(token.strip(), request.app.state.settings)
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_role(user: User, *roles: str) -> None:
    """403 unless the caller has one of `roles`."""
    if user.role not in roles:
        raise ForbiddenError(f"role {user.role!r} may not do this")


def require_command(user: User, event_type: str | type[Any]) -> None:
    """403 unless the permission table lets the caller's role record this event type."""
    name = event_type if isinstance(event_type, str) else event_type.type_name()
    allowed = COMMAND_ROLES.get(name, frozenset())
    if user.role not in allowed:
        raise ForbiddenError(f"role {user.role!r} may not record {name.split('.')[2]}")
