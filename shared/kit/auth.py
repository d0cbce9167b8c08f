"""Bearer-token authentication (SPEC §8 claims) and the per-command role check.

Development and tests use HS256 with `CASELINE_JWT_SECRET`; the compose stack and production verify
with a public key only (`CASELINE_JWT_PUBLIC_KEY`: an identity provider's EdDSA or RS256 key, or the
token issuer's Ed25519 key, whose private half `CASELINE_TOKEN_SIGNING_KEY` only `caseline token`
holds), so that no service can mint a person's token. Every failure is the same terse 401.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from shared.kit.ed25519 import private_key, public_key
from shared.kit.errors import CaselineError, ForbiddenError
from shared.kit.settings import Settings
from shared.permissions import COMMAND_ROLES, ROLES, VOID_SUPERVISORS

__all__ = [
    "AuthenticationError",
    "CurrentUser",
    "User",
    "bearer_token",
    "current_user",
    "decode_token",
    "mint_token",
    "require_command",
    "require_role",
    "require_voider",
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
    facility: str | None = None
    """The facility a prison officer works at (the `facility` claim; SPEC §8 scoping)."""


def mint_token(
    settings: Settings,
    *,
    sub: str,
    agency: str,
    role: str,
    ttl_minutes: float = 60,
    now: datetime | None = None,
    facility: str | None = None,
) -> str:
    """A signed token: EdDSA with the token issuer's key (`CASELINE_TOKEN_SIGNING_KEY`) when one
    is configured, else HS256 with the shared secret (development and tests)."""
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
    if facility is not None:
        claims["facility"] = facility
    if settings.token_signing_key is not None:
        issuer = private_key(settings.token_signing_key.get_secret_value(), _ISSUER_KEY)
        return jwt.encode(claims, issuer, algorithm="EdDSA")
    return jwt.encode(claims, settings.jwt_key(), algorithm="HS256")


_ISSUER_KEY = "CASELINE_TOKEN_SIGNING_KEY"


def verifying_key(text: str) -> Any:
    """An identity provider's PEM public key as PyJWT takes it, or a base64 raw Ed25519 key."""
    text = text.strip()
    return text if text.startswith("-----BEGIN") else public_key(text, "CASELINE_JWT_PUBLIC_KEY")


_VERIFIED_LIMIT = 4096
_verified: dict[tuple[str, ...], tuple[User, float]] = {}
_verified_lock = threading.Lock()


def decode_token(token: str, settings: Settings) -> User:
    """Check signature, `exp`, `nbf`, `iss`, `aud` and the claims (in production also `iat` and
    the token's lifetime); raise 401 on any failure.

    A token verified once is remembered (at most 4,096, the oldest forgotten first) with its
    expiry, under the very token text and everything it was checked against (key, audience,
    issuer, environment, lifetime limit): a client's next request with it costs a look-up and
    an expiry check, not a signature's; a key rotated or a setting changed checks it afresh, and
    an expired token is refused as if it had not been seen."""
    remembered = (
        token,
        settings.jwt_public_key or settings.jwt_key(),
        settings.jwt_audience,
        settings.jwt_issuer,
        settings.environment,
        str(settings.jwt_max_ttl_minutes),
    )
    with _verified_lock:
        known = _verified.get(remembered)
    if known is not None:
        user, expires = known
        if time.time() <= expires + _LEEWAY:
            return user
        with _verified_lock:
            _verified.pop(remembered, None)
        raise AuthenticationError()
    user, expires = _verify(token, settings)
    with _verified_lock:
        if len(_verified) >= _VERIFIED_LIMIT:
            del _verified[next(iter(_verified))]
        _verified[remembered] = (user, expires)
    return user


_LEEWAY = 5
"""Seconds of clock skew allowed on `exp` and `nbf`."""


def _verify(token: str, settings: Settings) -> tuple[User, float]:
    """The caller a token names and when it expires, its signature and claims checked."""
    if settings.jwt_public_key:
        key: Any = verifying_key(settings.jwt_public_key)
        algorithms = ["EdDSA", "RS256"]
    else:
        key = settings.jwt_key()
        algorithms = ["HS256"]
    production = settings.environment == "production"
    try:
        if jwt.get_unverified_header(token).get("typ") == "caseline-service+jwt":
            raise AuthenticationError()  # a service's token names no person (shared.kit.service_auth)
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": [*_REQUIRED_CLAIMS, *(["iat"] if production else [])]},
            leeway=_LEEWAY,
        )
        expires = float(claims["exp"])
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
        raise AuthenticationError() from None
    if production and not _lives_within(claims, settings.jwt_max_ttl_minutes):
        raise AuthenticationError()
    sub, agency, role = claims.get("sub"), claims.get("agency"), claims.get("role")
    if not all(isinstance(v, str) and 0 < len(v) <= 200 for v in (sub, agency, role)):
        raise AuthenticationError()
    if role not in ROLES:
        raise AuthenticationError()
    facility = claims.get("facility")
    if facility is not None and not (isinstance(facility, str) and 0 < len(facility) <= 200):
        raise AuthenticationError()
    return User(sub=str(sub), agency=str(agency), role=str(role), facility=facility), expires


def _lives_within(claims: dict[str, Any], minutes: float) -> bool:
    """Whether the token was issued to live (`exp` - `iat`) no longer than `minutes`: a stolen
    token is of use only that long, whatever expiry its issuer chose."""
    try:
        lifetime = float(claims["exp"]) - float(claims["iat"])
    except (KeyError, TypeError, ValueError):
        return False
    return lifetime <= minutes * 60


def bearer_token(request: Request) -> str | None:
    """The request's bearer token (`Authorization: Bearer …`), or None when it has none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def current_user(request: Request) -> User:
    """FastAPI dependency: the caller of this request, or 401."""
    token = bearer_token(request)
    if token is None:
        raise AuthenticationError()
    user = decode_token(token, request.app.state.settings)
    request.state.user = user
    return user


async def _caller(request: Request) -> User:
    # Async, so that FastAPI runs it on the event loop: a sync dependency costs a thread hop
    # each request, more than the check itself (the token is mostly remembered).
    return current_user(request)


CurrentUser = Annotated[User, Depends(_caller)]


def require_role(user: User, *roles: str) -> None:
    """403 unless the caller has one of `roles`."""
    if user.role not in roles:
        raise ForbiddenError("role {role!r} may not do this", role=user.role)


def require_command(user: User, event_type: str | type[Any]) -> None:
    """403 unless the permission table lets the caller's role record this event type."""
    name = event_type if isinstance(event_type, str) else event_type.type_name()
    allowed = COMMAND_ROLES.get(name, frozenset())
    if user.role not in allowed:
        raise ForbiddenError(
            "role {role!r} may not record {kind}", role=user.role, kind=name.split(".")[2]
        )


def require_voider(role: str, agency: str, entry_type: str, recorded_for: str | None) -> None:
    """403 unless the caller may void an entry of `entry_type` recorded for the agency
    `recorded_for`: corrections stay with their author (SPEC §5) — a role that records the type,
    or one that supervises it (`VOID_SUPERVISORS`), acting for that same agency. An automatic
    entry (`recorded_for` None) belongs to no agency: the service's own rules say whether it can
    be voided at all."""
    name = entry_type.split(".")[2] if entry_type.count(".") >= 2 else entry_type
    may = COMMAND_ROLES.get(entry_type, frozenset()) | VOID_SUPERVISORS.get(entry_type, frozenset())
    if role not in may:
        raise ForbiddenError("role {role!r} may not void {name}", role=role, name=name)
    if recorded_for is not None and agency != recorded_for:
        raise ForbiddenError("only the agency that recorded this {name} may void it", name=name)
