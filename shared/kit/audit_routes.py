"""The auditors' routes of every service: its read audit, by case, reader or time, and its head.

`GET /audit/head` is also what the ledger anchors (`services.ledger.anchors`), read as itself.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from shared.kit.audit import AUDIT_READERS, AuditLog
from shared.kit.auth import current_user
from shared.kit.errors import ForbiddenError, UnavailableError
from shared.kit.params import InstantQuery, query_text
from shared.kit.scope import ID_PATTERN, canonical_id

__all__ = ["audit_router"]

audit_router = APIRouter(tags=["audit"])


def _audit_of(request: Request) -> AuditLog:
    user = current_user(request)
    if user.role not in AUDIT_READERS:
        raise ForbiddenError("only auditors read the read audit")
    return _log(request)


def _log(request: Request) -> AuditLog:
    audit = request.app.state.parts.audit
    if audit is None:
        raise UnavailableError("the read audit is not available")
    return audit  # type: ignore[no-any-return]


@audit_router.get("/audit")
def read_audit(
    request: Request,
    case_id: Annotated[
        str | None, Query(max_length=64, json_schema_extra={"pattern": ID_PATTERN})
    ] = None,
    actor: Annotated[str | None, query_text(300)] = None,
    since: InstantQuery = None,
    until: InstantQuery = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Who read this service, which cases, when, and why (auditors only). `case_id` (in any
    spelling of its pattern) finds the reads whose path named the case and those whose answer
    carried it."""
    audit = _audit_of(request)
    wanted = canonical_id(case_id) if case_id is not None else None
    entries = audit.entries(wanted, actor, after, limit, since, until)
    return {"entries": entries, "next_after": entries[-1]["seq"] if entries else after}


@audit_router.get("/audit/head")
def audit_head(
    request: Request, seq: Annotated[int | None, Query(ge=1, le=2**62)] = None
) -> dict[str, Any]:
    """The chain's last `seq` and `hash` and, with `seq`, the hash of that entry (auditors, and
    the ledger as itself): what the ledger anchors, and how it sees an anchored entry still stands."""
    if getattr(request.state, "service_caller", None) is not None:  # admitted by the read guard
        return _log(request).head(seq)
    return _audit_of(request).head(seq)


@audit_router.get("/audit/verify")
def verify_read_audit(request: Request) -> dict[str, Any]:
    """Recompute the read audit's hash chain (auditors only)."""
    return _audit_of(request).verify()
