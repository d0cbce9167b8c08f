"""Tokens for the tests' callers: a role's bearer token, as headers, with its facility."""

from __future__ import annotations

from typing import Any

from shared.kit.auth import mint_token
from shared.kit.settings import Settings

__all__ = ["TEST_FACILITY", "auth", "token_for"]

TEST_FACILITY = "Maison Centrale d'Arrêt de Bamako"
"""The facility of the tests' prison officers unless they name another (and of their admissions)."""

_FACILITY_ROLES = frozenset({"prison_registry", "prison_director"})


def token_for(
    settings: Settings,
    role: str,
    sub: str | None = None,
    agency: str | None = None,
    facility: str | None = None,
) -> str:
    if facility is None and role in _FACILITY_ROLES:
        facility = TEST_FACILITY
    return mint_token(
        settings,
        sub=sub or f"{role}-1",
        agency=agency or f"{role}-agency",
        role=role,
        facility=facility,
    )


def auth(settings: Settings, role: str, **kw: Any) -> dict[str, str]:
    """The `Authorization` header of a token for `role` (`sub`, `agency`, `facility` in `kw`)."""
    return {"Authorization": f"Bearer {token_for(settings, role, **kw)}"}
